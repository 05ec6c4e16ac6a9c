"""GitHub at api.github.com: /repos/{owner}/{repo}/commits of the simulated repositories.

Commits of the `since`/`until` range, newest first, `per_page` (at most 100) a page and
`page` numbers, in the shape of the REST API (commit.author/committer with name, e-mail and
date; `author` the linked account or null; `parents`). Repositories outside
pipeline/config/watchlist.toml answer 404 {"message": "Not Found", ...} as GitHub does.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta

import httpx

from pipeline.config.watchlist import load_watchlist
from pipeline.demo.transport import DemoWorld, Reply, Route
from pipeline.demo.watchlist import Commit, WatchlistSim

SOURCE = "github"
API = "https://api.github.com"
DOCS = "https://docs.github.com/rest/commits/commits#list-commits"


def _user(login: str) -> dict:
    return {
        "login": login,
        "id": zlib.crc32(login.encode()) % 10**8,
        "url": f"{API}/users/{login}",
        "html_url": f"https://github.com/{login}",
        "type": "User",
        "site_admin": False,
    }


def _commit(repo: str, c: Commit) -> dict:
    stamp = c.ts.strftime("%Y-%m-%dT%H:%M:%SZ")
    person = {"name": c.name, "email": c.email, "date": stamp}
    return {
        "sha": c.sha,
        "url": f"{API}/repos/{repo}/commits/{c.sha}",
        "html_url": f"https://github.com/{repo}/commit/{c.sha}",
        "commit": {
            "author": person,
            "committer": person,
            "message": f"demo commit {c.sha[:7]}",
            "comment_count": 0,
        },
        "author": _user(c.login) if c.login else None,
        "committer": _user(c.login) if c.login else None,
        "parents": [{"sha": p, "url": f"{API}/repos/{repo}/commits/{p}"} for p in c.parents],
    }


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def list_commits(world: DemoWorld, request: httpx.Request) -> Reply:
    parts = request.url.path.strip("/").split("/")
    repo = f"{parts[1]}/{parts[2]}"
    try:
        asset = load_watchlist().asset_of_repo(repo)
    except KeyError:
        return Reply(
            SOURCE, repo, None, {"message": "Not Found", "documentation_url": DOCS}, status=404
        )
    configured = next(r for _, r in load_watchlist().repos() if r.lower() == repo.lower())
    p = request.url.params
    try:
        since, until = _time(p["since"]), _time(p["until"])
        per_page = min(100, int(p.get("per_page", 30)))
        page = max(1, int(p.get("page", 1)))
    except (KeyError, ValueError):
        return Reply(
            SOURCE,
            asset,
            None,
            {"message": "Invalid request.", "documentation_url": DOCS},
            status=422,
        )
    sim = WatchlistSim(world.market)
    commits: list[Commit] = []
    day = since.date()
    while day <= until.date():
        commits += [c for c in sim.commits(configured, day) if since <= c.ts <= until]
        day += timedelta(days=1)
    commits.sort(key=lambda c: c.ts, reverse=True)  # newest first, as GitHub lists them
    chunk = commits[(page - 1) * per_page : page * per_page]
    key = f"{asset}@{configured.replace('/', '+')}"
    return Reply(
        SOURCE,
        key,
        since.date(),
        [_commit(configured, c) for c in chunk],
        headers={"x-ratelimit-remaining": "59"},
    )


ROUTES = [Route("api.github.com", "/repos/{owner}/{repo}/commits", list_commits)]
