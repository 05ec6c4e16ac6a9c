"""GitHub REST API (api.github.com): commits of each AI protocol's core repositories.

Endpoint: GET /repos/{owner}/{repo}/commits?since=<day>T00:00:00Z&until=<next day>T00:00:00Z
&per_page=100&page=N. The list holds the default branch's commits whose commit date falls in
the range, newest first; a full page (100) means there may be more: the next page is page N+1,
and a shorter (or empty) page ends the day. One request per repository per UTC day, so every
day can be backfilled. Repositories come from pipeline/config/watchlist.toml, keyed
`ASSET@owner+name` (a file-name-safe form of owner/name).

Why not /stats/commit_activity or /stats/contributors: those answer a 52-week (or all-time)
history as of "now" with no timestamp of their own, so a day's request cannot be told from
another's, history cannot be backfilled, and GitHub answers 202 while it computes them.

Rows: one per commit (ts = committer date, the date `since`/`until` filter on), with the author
as a GitHub login, or an opaque hash of the author's e-mail when the commit is not linked to a
GitHub account (no e-mail address is stored). Limits: 60 requests an hour without a token;
an optional token raises it to 5000 (config `api_key_env`). A rate-limited request answers
HTTP 403 or 429 with `x-ratelimit-remaining: 0`.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime
from urllib.parse import urlparse

import polars as pl

from pipeline.config.watchlist import load_watchlist
from pipeline.errors import ParseError
from pipeline.http import RequestSpec
from pipeline.schemas import conform, empty
from pipeline.sources.base import FetchContext, SourceDataset, day_bounds, load_json

SOURCE = "github"


def repo_key(asset: str, repo: str) -> str:
    return f"{asset}@{repo.replace('/', '+')}"


def split_key(key: str) -> tuple[str, str]:
    """`ASSET@owner+name` -> (asset, owner/name)."""
    asset, _, repo = key.partition("@")
    if not asset or "+" not in repo:
        raise ParseError(f"github developer_activity: key {key!r} is not ASSET@owner+name")
    return asset, repo.replace("+", "/", 1)


def commit_requests(ctx: FetchContext) -> list[RequestSpec]:
    start, end = day_bounds(ctx.day)
    return [
        RequestSpec(
            source=SOURCE,
            dataset="developer_activity",
            key=repo_key(asset, repo),
            day=ctx.day,
            url=f"{ctx.cfg.base_url}/repos/{repo}/commits",
            params={
                "since": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "until": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "per_page": str(ctx.cfg.page_limit or 100),
                "page": "1",
            },
        )
        for asset, repo in load_watchlist().repos()
        if asset in ctx.universe.symbols
    ]


def next_page(spec: RequestSpec, body: str, pages: int) -> RequestSpec | None:
    """A full page may be followed by more: ask for the next page number."""
    try:
        doc = load_json(body, "github page")
    except ParseError:
        return None
    if not isinstance(doc, list) or len(doc) < int(spec.params["per_page"]):
        return None
    return replace(spec, params={**spec.params, "page": str(int(spec.params["page"]) + 1)})


def _repo_from_url(url: object, where: str) -> str:
    # https://api.github.com/repos/{owner}/{repo}/commits/{sha}
    parts = urlparse(str(url)).path.strip("/").split("/")
    if len(parts) < 4 or parts[0] != "repos" or parts[3] != "commits":
        raise ParseError(f"{where}: field 'url' {url!r} does not name a repository commit")
    return f"{parts[1]}/{parts[2]}"


def _author(item: dict, where: str, i: int) -> str:
    user = item.get("author")
    if isinstance(user, dict) and user.get("login"):
        return str(user["login"])
    # a commit not linked to a GitHub account: an opaque, stable id from the e-mail
    try:
        email = item["commit"]["author"]["email"]
    except (KeyError, TypeError):
        raise ParseError(f"{where}: commit {i} has neither author.login nor its e-mail") from None
    return "email:" + hashlib.sha256(str(email).strip().lower().encode()).hexdigest()[:16]


def parse_commits(body: str | bytes, key: str) -> pl.DataFrame:
    """A page of /repos/{owner}/{repo}/commits -> developer_activity rows, one per commit."""
    where = f"github developer_activity ({key or 'repository from body'})"
    if isinstance(body, bytes):
        raise ParseError(f"{where}: expected a JSON body, got binary data")
    doc = load_json(body, where)
    if isinstance(doc, dict):
        # errors: {"message": "Not Found" | "API rate limit exceeded ...", "documentation_url"}
        raise ParseError(f"{where}: API error: {doc.get('message') or sorted(doc)[:5]}")
    if not isinstance(doc, list):
        raise ParseError(f"{where}: expected a list of commits")
    if not doc:
        return empty("developer_activity")
    asset, repo = split_key(key) if key else ("", "")
    rows = []
    for i, item in enumerate(doc):
        if not isinstance(item, dict):
            raise ParseError(f"{where}: commit {i} is not an object")
        for name in ("sha", "url", "commit", "parents"):
            if name not in item:
                raise ParseError(f"{where}: commit {i} is missing field {name!r}")
        body_repo = _repo_from_url(item["url"], where)
        if not key:
            try:
                asset, repo = load_watchlist().asset_of_repo(body_repo), body_repo
            except KeyError:
                raise ParseError(
                    f"{where}: unknown repository {body_repo!r} (not in watchlist.toml)"
                ) from None
        elif body_repo.lower() != repo.lower():
            raise ParseError(f"{where}: commit {i} belongs to {body_repo!r}, not {repo!r}")
        try:
            committed = item["commit"]["committer"]["date"]
        except (KeyError, TypeError):
            raise ParseError(
                f"{where}: commit {i} is missing field 'commit.committer.date'"
            ) from None
        try:
            ts = datetime.fromisoformat(str(committed).replace("Z", "+00:00"))
        except ValueError:
            raise ParseError(f"{where}: commit {i} date {committed!r} is not ISO 8601") from None
        if not isinstance(item["parents"], list):
            raise ParseError(f"{where}: commit {i} field 'parents' is not a list")
        rows.append(
            {
                "ts": ts,
                "asset": asset,
                "repo": repo,
                "sha": str(item["sha"]),
                "author": _author(item, where, i),
                "is_merge": len(item["parents"]) > 1,
            }
        )
    frame = pl.DataFrame(rows).with_columns(pl.col("ts").dt.convert_time_zone("UTC"))
    return conform(frame, "developer_activity")


DATASETS = [
    SourceDataset(
        SOURCE,
        "developer_activity",
        "GET /repos/{owner}/{repo}/commits?since=..&until=..&per_page=100&page=N",
        commit_requests,
        parse_commits,
        next_page=next_page,
        key_kind="repository (ASSET@owner+name)",
        body_names_key=True,
        notes="60 requests/hour without a token; repositories in config/watchlist.toml",
    )
]
