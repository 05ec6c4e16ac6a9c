"""Extract: fetch every (source, dataset, key) for each day and land the responses raw."""

from __future__ import annotations

import logging
from datetime import date

from pipeline.errors import SourceError, UsageError
from pipeline.http import HttpClient, RequestSpec
from pipeline.sources import REGISTRY
from pipeline.sources.base import SourceDataset
from pipeline.stages.context import RunContext

log = logging.getLogger("tokenrisk.extract")


def select_datasets(names: list[str] | None = None) -> list[SourceDataset]:
    if not names:
        return list(REGISTRY)

    known = {e.dataset for e in REGISTRY}
    unknown = sorted(set(names) - known)
    if unknown:
        raise UsageError(f"unknown dataset(s) {unknown} (known: {sorted(known)})")
    return [e for e in REGISTRY if e.dataset in names]


def fetch_pages(
    client: HttpClient, ctx: RunContext, entry: SourceDataset, spec: RequestSpec
) -> int:
    """Fetch one request and every page after it; land each page raw. Returns pages landed."""
    max_pages = ctx.fetch_context(entry.source, spec.day).cfg.max_pages
    pages = 0
    current: RequestSpec | None = spec
    while current is not None:
        if pages >= max_pages:
            raise SourceError(
                f"{spec.describe()}: pagination did not end after {max_pages} pages "
                f"(last request {current.url} {dict(current.params)})"
            )
        response, _ = client.fetch_and_land(
            current, ctx.lake, ctx.run_id, page=f"{spec.key}.{pages:03d}"
        )
        pages += 1
        current = entry.next_page(current, response.text, pages) if entry.next_page else None
    return pages


def plan_requests(
    ctx: RunContext, days: list[date], entries: list[SourceDataset]
) -> list[tuple[SourceDataset, RequestSpec]]:
    return [
        (entry, spec)
        for day in days
        for entry in entries
        for spec in entry.requests(ctx.fetch_context(entry.source, day))
    ]


def extract(
    ctx: RunContext,
    days: list[date],
    datasets: list[str] | None = None,
    sources: list[str] | None = None,
) -> int:
    """Fetch and land every request of `days` (of `sources` only, when given: Airflow lands one
    source/dataset a task); returns the number of responses landed."""
    entries = [e for e in select_datasets(datasets) if sources is None or e.source in sources]
    plan = plan_requests(ctx, days, entries)
    landed = 0
    with ctx.stage_timer("extract") as stat, ctx.http_client() as client:
        ctx.progress.start("extract", len(plan))
        try:
            for entry, spec in plan:
                landed += fetch_pages(client, ctx, entry, spec)
                ctx.progress.advance()
        finally:
            ctx.progress.stop()
        stat.update(responses=landed, http_attempts=client.attempts, days=len(days))
        ctx.record_demo_truth(days)  # inside the stage: pushed with the responses
    log.info("extract: landed %d responses for %d day(s)", landed, len(days))
    return landed
