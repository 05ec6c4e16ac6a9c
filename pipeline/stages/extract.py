"""Extract: fetch every (source, dataset, key) for each day and land the responses raw."""

from __future__ import annotations

import logging
from datetime import date

from pipeline.config import load_sources
from pipeline.sources import REGISTRY
from pipeline.sources.base import SourceDataset
from pipeline.stages.context import RunContext

log = logging.getLogger("tokenrisk.extract")


def select_datasets(names: list[str] | None = None) -> list[SourceDataset]:
    if not names:
        return list(REGISTRY)
    from pipeline.errors import UsageError

    known = {e.dataset for e in REGISTRY}
    unknown = sorted(set(names) - known)
    if unknown:
        raise UsageError(f"unknown dataset(s) {unknown} (known: {sorted(known)})")
    return [e for e in REGISTRY if e.dataset in names]


def extract(ctx: RunContext, days: list[date], datasets: list[str] | None = None) -> int:
    """Fetch and land every request of `days`; returns the number of responses landed."""
    entries = select_datasets(datasets)
    sources = load_sources()
    plan = [
        spec
        for day in days
        for entry in entries
        for spec in entry.requests(day, ctx.universe, sources[entry.source])
    ]
    landed = 0
    with ctx.stage_timer("extract") as stat, ctx.http_client() as client:
        ctx.progress.start("extract", len(plan))
        try:
            for spec in plan:
                client.fetch_and_land(spec, ctx.lake, ctx.run_id, page=f"{spec.key}.000")
                landed += 1
                ctx.progress.advance()
        finally:
            ctx.progress.stop()
        stat.update(responses=landed, http_attempts=client.attempts, days=len(days))
    log.info("extract: landed %d responses for %d day(s)", landed, len(days))
    return landed
