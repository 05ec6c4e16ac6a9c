"""What every stage needs: the lake, the universe, settings, the run id and a progress reporter."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import httpx

from pipeline.config import Settings, Universe, load_sources, load_universe
from pipeline.errors import TokenriskError, UsageError
from pipeline.http import HttpClient
from pipeline.lake import Lake, write_json_atomic
from pipeline.sources.base import FetchContext

log = logging.getLogger("tokenrisk")

SOURCE_MODES = ("demo", "live")


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%S%fZ") + "_" + secrets.token_hex(3)


def day_range(start: date, end: date) -> list[date]:
    if end < start:
        raise UsageError(f"--end {end} is before --start {start}")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


class Progress:
    """Progress callbacks; the CLI swaps in a rich progress bar, Airflow keeps the log lines."""

    def start(self, label: str, total: int) -> None:
        log.info("%s: %d steps", label, total)

    def advance(self, n: int = 1) -> None:
        pass

    def stop(self) -> None:
        pass


@dataclass
class RunContext:
    lake: Lake
    settings: Settings
    source_mode: str = "demo"
    universe: Universe = field(default_factory=load_universe)
    run_id: str = field(default_factory=new_run_id)
    progress: Progress = field(default_factory=Progress)
    transport_factory: Callable[[], httpx.BaseTransport] | None = None
    stats: dict = field(default_factory=dict)
    # the run's clock for request builders; None: live runs use the real UTC date, and the demo
    # market replays every day as its own nightly run (today = the day after)
    today: date | None = None
    # the share of each source's rate limit this process may use: Airflow runs several extract
    # tasks per source at once (as many as the source's pool has slots), each at its share
    rate_share: float = 1.0
    _demo: object = field(default=None, repr=False)

    def fetch_context(self, source: str, day: date) -> FetchContext:
        if self.today is not None:
            today = self.today
        elif self.source_mode == "demo":
            today = day + timedelta(days=1)
        else:
            today = datetime.now(UTC).date()
        return FetchContext(
            day=day, today=today, universe=self.universe, cfg=load_sources()[source]
        )

    def __post_init__(self) -> None:
        if self.source_mode not in SOURCE_MODES:
            raise UsageError(
                f"unknown source {self.source_mode!r} (choose one of: {', '.join(SOURCE_MODES)})"
            )

    def http_client(self) -> HttpClient:
        """The one HTTP client of this run: demo market transport or the real network."""
        transport = self.transport_factory() if self.transport_factory else None
        if transport is None and self.source_mode == "demo":
            from pipeline.demo import serve

            transport = serve.demo_transport(self.demo_market())
        sources = load_sources()
        if self.rate_share != 1.0:
            sources = {
                name: cfg.model_copy(
                    update={"rate_limit_per_minute": cfg.rate_limit_per_minute * self.rate_share}
                )
                for name, cfg in sources.items()
            }
        return HttpClient(
            sources,
            transport=transport,
            timeout=self.settings.http_timeout_seconds,
            max_attempts=self.settings.http_max_attempts,
            max_wait=self.settings.http_max_wait_seconds,
            # the demo market has no rate limit to respect; the live APIs do
            pace=self.source_mode == "live",
            sleep=(lambda s: None) if self.source_mode == "demo" else time.sleep,
        )

    def demo_market(self):  # -> pipeline.demo.transport.DemoWorld
        """The demo market of this run (one simulator for the transport and the truth)."""
        if self._demo is None:
            from pipeline.demo import serve

            self._demo = serve.demo_world(self.universe, self.settings)
        return self._demo

    def record_demo_truth(self, days: list[date]) -> None:
        """Demo runs: the simulator writes its ground truth for `days` under demo_truth/."""
        if self.source_mode != "demo":
            return
        from pipeline.demo.truth import write_truth

        write_truth(self.lake, self.demo_market().perps, days)

    @contextmanager
    def stage_timer(self, name: str) -> Iterator[dict]:
        """Time a stage; when it ends (also when it fails), push what it wrote to the store of
        an object-store data dir (a no-op for a local one). A stage run more than once (the
        chunks of a long range) adds up its time."""
        entry: dict = self.stats.setdefault("stages", {}).setdefault(name, {})
        entry["status"] = "running"
        before = entry.get("seconds", 0.0)
        t0 = time.perf_counter()
        try:
            yield entry
            entry["status"] = "ok"
        except Exception as exc:
            entry["status"] = "failed"
            entry["error"] = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            entry["seconds"] = round(before + time.perf_counter() - t0, 3)
            try:  # gate results, quarantined rows and a failed build's ledger are news too
                self.lake.sync.push()
            except Exception as push_error:  # the stage's own error is the one to report
                log.warning("push after the failed %s: %s", name, push_error)
            raise
        entry["seconds"] = round(before + time.perf_counter() - t0, 3)
        t1 = time.perf_counter()
        self.lake.sync.push()
        if self.lake.url is not None:
            entry["push_seconds"] = round(time.perf_counter() - t1, 3)

    def write_manifest(self, status: str, **extra: object) -> None:
        manifest = {
            "run_id": self.run_id,
            "status": status,
            "source": self.source_mode,
            "finished_at": datetime.now(UTC).isoformat(),
            **self.stats,
            **extra,
        }
        write_json_atomic(self.lake.run_manifest(self.run_id), manifest)
        try:
            self.lake.sync.push()
        except TokenriskError as exc:  # a failed run's own error is the one to report
            if status == "ok":
                raise
            log.warning("could not push the manifest of the %s run: %s", status, exc.message)
