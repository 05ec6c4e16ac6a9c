"""GitHub commits parser on the published example, demo round trips, pagination, errors."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from pipeline.config import load_sources, load_universe
from pipeline.config.watchlist import load_watchlist
from pipeline.demo.market import DemoMarket
from pipeline.demo.transport import DemoTransport
from pipeline.demo.watchlist import WatchlistSim
from pipeline.errors import ParseError
from pipeline.http import HttpClient
from pipeline.parse_file import parse_file
from pipeline.sources import github
from pipeline.sources.base import FetchContext
from tests.conftest import FIXTURES, run_cli

DAY = date(2026, 2, 5)
# GitHub REST docs, "List commits" example response (tests/fixtures/github/README.md)
DOCS = FIXTURES / "github" / "list_commits_docs_example.json"
KEY = "TAO@octocat+Hello-World"


def ctx_for(day: date = DAY) -> FetchContext:
    return FetchContext(
        day=day,
        today=day + timedelta(days=1),
        universe=load_universe(),
        cfg=load_sources()["github"],
    )


def test_docs_example_is_one_commit_by_octocat():
    rows = github.parse_commits(DOCS.read_text(), KEY)
    assert rows.to_dicts() == [
        {
            "ts": datetime(2011, 4, 14, 16, 0, 49, tzinfo=UTC),
            "asset": "TAO",
            "repo": "octocat/Hello-World",
            "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
            "author": "octocat",
            "is_merge": False,
        }
    ]


def test_commit_without_account_gets_an_opaque_author_and_merges_are_marked():
    doc = json.loads(DOCS.read_text())
    doc[0]["author"] = None
    doc[0]["parents"].append({"sha": "0" * 40, "url": "x"})
    row = github.parse_commits(json.dumps(doc), KEY).row(0, named=True)
    assert row["author"].startswith("email:") and "github.com" not in row["author"]
    assert row["is_merge"] is True


def test_unknown_repository_in_the_body_is_named():
    with pytest.raises(ParseError, match="unknown repository 'octocat/Hello-World'"):
        github.parse_commits(DOCS.read_text(), "")


def test_body_of_another_repository_is_refused():
    with pytest.raises(ParseError, match="belongs to 'octocat/Hello-World', not 'near/nearcore'"):
        github.parse_commits(DOCS.read_text(), "NEAR@near+nearcore")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '{"message": "API rate limit exceeded for 192.0.2.1.", "documentation_url": "x"}',
            "API error: API rate limit exceeded",
        ),
        ('{"message": "Not Found"}', "API error: Not Found"),
        ("<html>", "body is not JSON"),
    ],
)
def test_error_bodies(body, message):
    with pytest.raises(ParseError, match=message):
        github.parse_commits(body, KEY)


@pytest.mark.parametrize("field", ["sha", "parents", "commit"])
def test_missing_field_is_named(field):
    doc = json.loads(DOCS.read_text())
    del doc[0][field]
    with pytest.raises(ParseError, match=f"missing field '{field}'"):
        github.parse_commits(json.dumps(doc), KEY)


def test_missing_commit_date_is_named():
    doc = json.loads(DOCS.read_text())
    del doc[0]["commit"]["committer"]
    with pytest.raises(ParseError, match=r"commit\.committer\.date"):
        github.parse_commits(json.dumps(doc), KEY)


def test_requests_cover_the_day_for_every_configured_repository():
    specs = github.commit_requests(ctx_for())
    assert [s.key for s in specs] == [github.repo_key(a, r) for a, r in load_watchlist().repos()]
    assert specs[0].url == "https://api.github.com/repos/opentensor/subtensor/commits"
    assert dict(specs[0].params) == {
        "since": "2026-02-05T00:00:00Z",
        "until": "2026-02-06T00:00:00Z",
        "per_page": "100",
        "page": "1",
    }


@pytest.fixture(scope="module")
def demo():
    market = DemoMarket.from_config(load_universe())
    client = HttpClient(
        load_sources(), transport=DemoTransport(market), pace=False, sleep=lambda s: None
    )
    yield market, client
    client.close()


def fetch_all(client, spec):
    rows, current, pages = [], spec, 0
    while current is not None:
        body = client.get(current).text
        rows.append(github.parse_commits(body, spec.key))
        pages += 1
        current = github.next_page(current, body, pages)
    return rows, pages


def test_demo_round_trip_equals_the_simulated_commits(demo):
    market, client = demo
    for spec in github.commit_requests(ctx_for()):
        frames, _ = fetch_all(client, spec)
        got = sorted(sha for f in frames for sha in f["sha"].to_list())
        truth = WatchlistSim(market).commits(spec.url.split("/repos/")[1][:-8], DAY)
        assert got == sorted(c.sha for c in truth)


def test_demo_pagination_has_no_gaps_or_duplicates(demo):
    market, client = demo
    spec = github.commit_requests(ctx_for())[0]
    small = spec.__class__(**{**spec.__dict__, "params": {**spec.params, "per_page": "3"}})
    frames, pages = fetch_all(client, small)
    shas = [sha for f in frames for sha in f["sha"].to_list()]
    truth = WatchlistSim(market).commits("opentensor/subtensor", DAY)
    assert pages == len(truth) // 3 + 1
    assert len(shas) == len(set(shas)) == len(truth)


def test_demo_unknown_repository_is_404(demo):
    _, client = demo
    response = client._client.get("https://api.github.com/repos/octocat/Hello-World/commits")
    assert response.status_code == 404
    with pytest.raises(ParseError, match="Not Found"):
        github.parse_commits(response.text, KEY)


def test_parse_file_and_cli_on_the_published_example():
    assert parse_file("github", "developer_activity", DOCS, KEY)["author"].to_list() == ["octocat"]
    result = run_cli(
        "parse", "github", "developer_activity", str(DOCS), "--asset", KEY, "--format", "jsonl"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[0])["sha"].startswith("6dcb09b5")
