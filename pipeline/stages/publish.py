"""Publish stage: swap in the gated build as warehouse/tokenrisk.duckdb and export the marts."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from pipeline.errors import GateFailed, TokenriskError
from pipeline.failpoints import failpoint
from pipeline.lake import sha256_file, write_json_atomic, write_parquet_atomic
from pipeline.stages.context import RunContext
from pipeline.warehouse import METHODOLOGY_VERSION, mart_tables, query_frame
from pipeline.warehouse.publish import write_published

log = logging.getLogger("tokenrisk.publish")
KEEP_BUILDS = 3


def build_verdict(build_file: Path) -> str:
    ledger = build_file.with_suffix(".json")
    if not ledger.exists():
        return "unknown"
    return json.loads(ledger.read_text()).get("gate", "unknown")


def latest_build(ctx: RunContext) -> Path:
    """The newest build; refuse if its marts gate did not pass."""
    builds = ctx.lake.builds()
    if not builds:
        raise TokenriskError(
            f"publish: no build under {ctx.lake.root / 'warehouse' / 'builds'}; run build first"
        )
    newest = builds[-1].with_suffix(".duckdb")
    verdict = build_verdict(newest)
    if verdict != "passed" or not newest.exists():
        raise GateFailed(
            f"publish: the newest build {newest.stem} has gate status '{verdict}'; "
            "refusing to publish (fix the data and run build again)"
        )
    return newest


def export_marts(ctx: RunContext, build_file: Path, days: list[date] | None) -> int:
    """Write marts/<table>/date=D/part-0.parquet for the given days (all days when None).

    The files hold every column but `date`, which is the partition key in the path.
    """
    con = duckdb.connect(str(build_file), read_only=True)
    written = 0
    try:
        tables = mart_tables(con)
        for table in tables:
            if days:
                frame = query_frame(
                    con,
                    f"select * from marts.{table} where date between ? and ? order by all",
                    [min(days), max(days)],
                )
            else:
                frame = query_frame(con, f"select * from marts.{table} order by all")
            # hive convention: the partition value lives in the path, not in the file, so
            # pyarrow/pandas/polars/DuckDB readers of the directory agree on its type
            for (day,), part in frame.group_by("date", maintain_order=True):
                write_parquet_atomic(part.drop("date"), ctx.lake.mart_file(table, day))
                written += 1
                failpoint("publish.between_mart_files")
    finally:
        con.close()
    return written


def write_publish_record(ctx: RunContext, build_file: Path, counts: dict[str, int]) -> None:
    """Say what is published: readers match `sha256` to know the record describes their file."""
    write_json_atomic(
        ctx.lake.published_record,
        {
            "run_id": build_file.stem,  # builds are named by the run that made them
            "build": build_file.stem,
            "models": json.loads(build_file.with_suffix(".json").read_text()).get("models"),
            "gate": build_verdict(build_file),
            "published_at": datetime.now(UTC).isoformat(),
            "sha256": sha256_file(ctx.lake.warehouse),
            "tables": counts,
            "storage_version": ctx.settings.storage_version,
            "methodology_version": METHODOLOGY_VERSION,
        },
    )


def prune_builds(ctx: RunContext, keep: int = KEEP_BUILDS) -> None:
    for old in ctx.lake.builds()[:-keep]:
        old.with_suffix(".duckdb").unlink(missing_ok=True)
        old.unlink(missing_ok=True)
    ctx.lake.sync.prune_builds(keep)


def publish(
    ctx: RunContext, build_file: Path | None = None, days: list[date] | None = None
) -> dict[str, int]:
    """Publish `build_file` (default: the newest build, which must have passed its gate)."""
    with ctx.stage_timer("publish") as stat:
        if build_file is not None and ctx.lake.url is not None:
            # builds are named by their run id; the path may be another host's working copy
            build_file = ctx.lake.build_file(build_file.stem)
        ctx.lake.sync.pull_build(build_file.stem if build_file else None)
        build_file = build_file or latest_build(ctx)
        if build_verdict(build_file) != "passed":
            raise GateFailed(
                f"publish: build {build_file.stem} did not pass its gate; nothing published"
            )
        counts = write_published(build_file, ctx.lake.warehouse, ctx.settings.storage_version)
        write_publish_record(ctx, build_file, counts)
        stat["tables"] = counts
        stat["mart_files"] = export_marts(ctx, build_file, days)
        stat["build"] = build_file.stem
        prune_builds(ctx)
    log.info("published %s from build %s", ctx.lake.warehouse, build_file.stem)
    return counts
