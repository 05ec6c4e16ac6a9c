"""The shared HTTP client: retries, Retry-After, timeouts, clear errors, raw landing, secrets."""

from __future__ import annotations

import gzip
import json
from datetime import date

import httpx
import pytest

from pipeline.config import load_sources
from pipeline.errors import SourceError
from pipeline.http import HttpClient, RequestSpec

SPEC = RequestSpec(
    source="coingecko",
    dataset="spot_prices",
    key="TAO",
    day=date(2026, 2, 5),
    url="https://api.coingecko.com/api/v3/coins/bittensor/market_chart/range",
    params={"vs_currency": "usd", "from": "1", "to": "2"},
)


class Script:
    """A transport answering a scripted sequence of responses (or exceptions)."""

    def __init__(self, *steps):
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def client(script, sleeps, **kw) -> HttpClient:
    return HttpClient(
        load_sources(), transport=httpx.MockTransport(script), sleep=sleeps.append, **kw
    )


def test_429_with_retry_after_is_honoured_then_succeeds():
    script = Script(
        httpx.Response(429, headers={"retry-after": "7"}, json={"error": "slow down"}),
        httpx.Response(200, json={"ok": 1}),
    )
    sleeps: list[float] = []
    response = client(script, sleeps, pace=False).get(SPEC)
    assert response.json() == {"ok": 1}
    assert len(script.requests) == 2
    assert sleeps == [7.0]  # waited what the server asked, not the 1 s backoff


def test_5xx_burst_backs_off_exponentially():
    script = Script(
        httpx.Response(503),
        httpx.Response(502),
        httpx.Response(500),
        httpx.Response(200, text="{}"),
    )
    sleeps: list[float] = []
    client(script, sleeps, pace=False).get(SPEC)
    assert sleeps == [1, 2, 4]


def test_timeouts_are_retried_and_then_reported():
    script = Script(*[httpx.ReadTimeout("slow") for _ in range(3)])
    sleeps: list[float] = []
    with pytest.raises(SourceError, match="gave up after 3 attempts: timeout") as info:
        client(script, sleeps, pace=False, max_attempts=3).get(SPEC)
    assert "coingecko/spot_prices TAO 2026-02-05" in info.value.message
    assert len(script.requests) == 3


def test_client_error_is_not_retried_and_names_the_url():
    body = '{"code":-1121,"msg":"Invalid symbol."}'
    script = Script(httpx.Response(400, text=body))
    with pytest.raises(SourceError, match=r"HTTP 400 .*Invalid symbol") as info:
        client(script, [], pace=False).get(SPEC)
    assert SPEC.url in info.value.message
    assert len(script.requests) == 1


def test_ban_longer_than_allowed_wait_fails_at_once():
    script = Script(httpx.Response(418, headers={"retry-after": "7200"}))
    with pytest.raises(SourceError, match="wait 7200s"):
        client(script, [], pace=False, max_wait=120).get(SPEC)


def test_pacing_keeps_calls_under_the_rate_limit():
    script = Script(*[httpx.Response(200, text="{}") for _ in range(3)])
    now = [100.0]
    sleeps: list[float] = []

    def sleep(seconds):
        sleeps.append(seconds)
        now[0] += seconds

    c = HttpClient(
        load_sources(),
        transport=httpx.MockTransport(script),
        sleep=sleep,
        clock=lambda: now[0],
    )
    for _ in range(3):
        c.get(SPEC)
    # coingecko: 30 calls a minute -> one call every 2 s
    assert sleeps == [pytest.approx(2.0), pytest.approx(2.0)]


def test_fetch_and_land_writes_raw_gzip_with_metadata_and_redacts_key(lake):
    secret = "CG-very-secret-key-123"
    script = Script(
        httpx.Response(200, json={"prices": []}, headers={"x-ratelimit-remaining": "9"})
    )
    c = HttpClient(
        load_sources(),
        transport=httpx.MockTransport(script),
        pace=False,
        environ={"COINGECKO_API_KEY": secret},
    )
    _, path = c.fetch_and_land(SPEC, lake, "20260206T003000000000Z_abc", "TAO.000")
    assert script.requests[0].headers["x-cg-demo-api-key"] == secret  # the key is sent...
    raw = path.read_bytes()
    assert secret.encode() not in gzip.decompress(raw)  # ...and never landed
    record = json.loads(gzip.decompress(raw))
    assert record["request"]["url"] == SPEC.url
    assert record["request"]["params"] == dict(SPEC.params)
    assert record["response"]["status"] == 200
    assert record["response"]["headers"]["x-ratelimit-remaining"] == "9"
    assert json.loads(record["response"]["body"]) == {"prices": []}
    assert path.name == "20260206T003000000000Z_abc-TAO.000.json.gz"
    assert "source=coingecko/dataset=spot_prices/date=2026-02-05" in str(path)


def test_raw_landing_never_overwrites(lake):
    script = Script(httpx.Response(200, text="{}"), httpx.Response(200, text='{"other": 1}'))
    c = client(script, [], pace=False)
    _, path = c.fetch_and_land(SPEC, lake, "run1", "TAO.000")
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="never overwrites"):
        c.fetch_and_land(SPEC, lake, "run1", "TAO.000")
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind


GITHUB_SPEC = RequestSpec(
    source="github",
    dataset="developer_activity",
    key="NEAR@near+nearcore",
    day=date(2026, 2, 5),
    url="https://api.github.com/repos/near/nearcore/commits",
)


def test_github_token_is_sent_as_bearer_and_lifts_the_pace():
    script = Script(*[httpx.Response(200, text="[]") for _ in range(2)])
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds):
        sleeps.append(seconds)
        now[0] += seconds

    c = HttpClient(
        load_sources(),
        transport=httpx.MockTransport(script),
        sleep=sleep,
        clock=lambda: now[0],
        environ={"GITHUB_TOKEN": "ghp_fake"},
    )
    c.get(GITHUB_SPEC)
    c.get(GITHUB_SPEC)
    assert script.requests[0].headers["authorization"] == "Bearer ghp_fake"
    assert sleeps == [pytest.approx(1.0)]  # 60 a minute with a token (1 a minute without)


def test_github_exhausted_quota_403_waits_for_the_reset_then_succeeds():
    import time

    reset = str(int(time.time()) + 30)
    limited = httpx.Response(
        403,
        json={"message": "API rate limit exceeded for 1.2.3.4."},
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
    )
    script = Script(limited, httpx.Response(200, text="[]"))
    sleeps: list[float] = []
    assert client(script, sleeps, pace=False).get(GITHUB_SPEC).status_code == 200
    assert 25 <= sleeps[0] <= 31  # until the reset, not the 1 s backoff


def test_github_reset_beyond_the_allowed_wait_stops_with_a_clear_error():
    import time

    reset = str(int(time.time()) + 3000)
    limited = httpx.Response(
        403,
        json={"message": "rate"},
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
    )
    with pytest.raises(SourceError, match=r"HTTP 403, server asks to wait \d+s"):
        client(Script(limited), [], pace=False, max_wait=120).get(GITHUB_SPEC)


def test_other_403_is_not_retried():
    script = Script(httpx.Response(403, json={"message": "Resource not accessible"}))
    with pytest.raises(SourceError, match=r"HTTP 403 .*Resource not accessible"):
        client(script, [], pace=False).get(GITHUB_SPEC)
    assert len(script.requests) == 1
