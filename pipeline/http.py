"""The one HTTP client every source uses.

httpx with an injectable transport (the demo market and the tests plug in here), a per-source
pace that keeps us under each API's rate limit, retries with exponential backoff that honour
`Retry-After` (tenacity), timeouts, and one-line errors. Every response that is parsed is first
landed raw in the lake, with its request metadata and with secrets redacted.
"""

from __future__ import annotations

import base64
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from pipeline.config import SourceConfig
from pipeline.errors import SourceError
from pipeline.lake import Lake

log = logging.getLogger(__name__)

RETRY_STATUSES = {418, 429, 500, 502, 503, 504}
HEADERS_KEPT = (
    "content-type",
    "date",
    "retry-after",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-mbx-used-weight-1m",
    "x-bapi-limit-status",
)
SECRET_NAMES = {"apikey", "api_key", "x-cg-demo-api-key", "x-cg-pro-api-key", "authorization"}
USER_AGENT = "tokenrisk/0.1 (+https://github.com/tokenrisk/tokenrisk)"


@dataclass(frozen=True)
class RequestSpec:
    """One GET request of one source, for one dataset, key (asset/ticker) and UTC day."""

    source: str
    dataset: str
    key: str
    day: date
    url: str
    params: Mapping[str, str] = field(default_factory=dict)
    # the run's clock when the request is issued: recorded in the raw metadata, and the demo
    # market's "now" for snapshot endpoints; the network never sees it
    as_of: datetime | None = None
    binary: bool = False  # the body is bytes (e.g. a zip archive): landed base64-encoded

    def describe(self) -> str:
        return f"{self.source}/{self.dataset} {self.key} {self.day}"


class RetryableError(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _rate_limit_exhausted(response: httpx.Response) -> bool:
    """GitHub answers 403 (not 429) when the hourly quota is used up."""
    return response.status_code == 403 and response.headers.get("x-ratelimit-remaining") == "0"


def _retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        reset = response.headers.get("x-ratelimit-reset")  # epoch seconds (GitHub)
        if reset is None or (not _rate_limit_exhausted(response) and response.status_code != 429):
            return None
        try:
            return max(0.0, float(reset) - datetime.now(UTC).timestamp())
        except ValueError:
            return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = datetime.strptime(value, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
        except ValueError:
            return None
        return max(0.0, (when - datetime.now(UTC)).total_seconds())


def redact(mapping: Mapping[str, str]) -> dict[str, str]:
    return {k: ("***" if k.lower() in SECRET_NAMES else str(v)) for k, v in mapping.items()}


class HttpClient:
    """GET with pacing, retries and raw landing. One instance serves every source of a run."""

    def __init__(
        self,
        sources: Mapping[str, SourceConfig],
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        max_attempts: int = 5,
        max_wait: float = 120.0,
        pace: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._sources = sources
        self._client = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout),
            headers={"user-agent": USER_AGENT},
            follow_redirects=True,
        )
        self._max_attempts = max_attempts
        self._max_wait = max_wait
        self._pace = pace
        self._sleep = sleep
        self._clock = clock
        self._environ = os.environ if environ is None else environ
        self._last_call: dict[str, float] = {}
        self.attempts = 0  # total HTTP attempts, for run statistics

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- pacing and auth -----------------------------------------------------------
    def _wait_for_slot(self, source: str) -> None:
        if not self._pace:
            return
        cfg = self._sources[source]
        rate = cfg.rate_limit_per_minute
        if cfg.keyed_rate_limit_per_minute and self._key(source):
            rate = cfg.keyed_rate_limit_per_minute
        interval = 60.0 / rate
        last = self._last_call.get(source)
        if last is not None:
            remaining = interval - (self._clock() - last)
            if remaining > 0:
                self._sleep(remaining)
        self._last_call[source] = self._clock()

    def _key(self, source: str) -> str | None:
        cfg = self._sources[source]
        return (self._environ.get(cfg.api_key_env) or None) if cfg.api_key_env else None

    def _auth(self, source: str) -> tuple[dict[str, str], dict[str, str]]:
        cfg = self._sources[source]
        key = self._key(source)
        if not key:
            return {}, {}
        headers = {cfg.api_key_header: cfg.api_key_prefix + key} if cfg.api_key_header else {}
        params = {cfg.api_key_param: key} if cfg.api_key_param else {}
        return headers, params

    # -- one attempt ---------------------------------------------------------------
    def _attempt(self, spec: RequestSpec) -> httpx.Response:
        self._wait_for_slot(spec.source)
        headers, auth_params = self._auth(spec.source)
        self.attempts += 1
        try:
            response = self._client.get(
                spec.url,
                params={**spec.params, **auth_params},
                headers=headers,
                extensions={"tokenrisk_as_of": spec.as_of} if spec.as_of else None,
            )
        except httpx.TimeoutException as exc:
            raise RetryableError(f"timeout ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise RetryableError(f"connection error ({type(exc).__name__}: {exc})") from exc
        if response.status_code in RETRY_STATUSES or _rate_limit_exhausted(response):
            retry_after = _retry_after_seconds(response)
            if retry_after is not None and retry_after > self._max_wait:
                raise SourceError(
                    f"{spec.describe()}: HTTP {response.status_code}, server asks to wait "
                    f"{retry_after:.0f}s (more than the {self._max_wait:.0f}s allowed); try later"
                )
            raise RetryableError(f"HTTP {response.status_code}", retry_after)
        if response.status_code >= 400:
            raise SourceError(
                f"{spec.describe()}: HTTP {response.status_code} from {spec.url}: "
                f"{_excerpt(response.text)}"
            )
        return response

    def _wait(self, state: RetryCallState) -> float:
        backoff = wait_exponential(multiplier=1, min=1, max=self._max_wait)(state)
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        return max(backoff, retry_after or 0.0)

    def get(self, spec: RequestSpec) -> httpx.Response:
        """GET `spec` with retries; raise SourceError with a one-line message when it fails."""
        retrying = Retrying(
            stop=stop_after_attempt(self._max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(RetryableError),
            sleep=self._sleep,
            reraise=True,
            before_sleep=lambda s: log.warning(
                "%s: %s, retrying (attempt %d of %d)",
                spec.describe(),
                s.outcome.exception() if s.outcome else "?",
                s.attempt_number,
                self._max_attempts,
            ),
        )
        try:
            return retrying(self._attempt, spec)
        except RetryableError as exc:
            raise SourceError(
                f"{spec.describe()}: gave up after {self._max_attempts} attempts: {exc}"
            ) from None

    def fetch_and_land(
        self, spec: RequestSpec, lake: Lake, run_id: str, page: str = "000"
    ) -> tuple[httpx.Response, Path]:
        """GET `spec` and land the response raw in the lake before anyone parses it."""
        response = self.get(spec)
        path = lake.raw_file(spec.source, spec.dataset, spec.day, run_id, page)
        record = {
            "request": {
                "url": spec.url,
                "params": redact(spec.params),
                "key": spec.key,
                "dataset": spec.dataset,
                "source": spec.source,
                "day": spec.day.isoformat(),
                "as_of": spec.as_of.isoformat() if spec.as_of else None,
            },
            "response": {
                "status": response.status_code,
                "headers": {h: response.headers[h] for h in HEADERS_KEPT if h in response.headers},
                "fetched_at": datetime.now(UTC).isoformat(),
                **(
                    {"body_base64": base64.b64encode(response.content).decode("ascii")}
                    if spec.binary
                    else {"body": response.text}
                ),
            },
        }
        lake.land_raw(path, record)
        return response, path


def _excerpt(text: str, limit: int = 160) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 3] + "..."
