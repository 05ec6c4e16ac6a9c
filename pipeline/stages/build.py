"""Build stage: verify staged inputs passed their gate, run the SQL models, gate the marts."""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl

from pipeline.errors import GateFailed
from pipeline.lake import sha256_file, write_json_atomic
from pipeline.quality.frames import PARTITION
from pipeline.quality.gate import GateResult, run_checks
from pipeline.quality.suites import mart_suite
from pipeline.schemas import SCHEMAS
from pipeline.sources import datasets as all_datasets
from pipeline.stages.context import RunContext
from pipeline.stages.stage import (
    fail_gate,
    file_sha256,
    gate_staged,
    partition_stamp,
    save_gate_results,
)
from pipeline.warehouse import mart_tables, query_frame
from pipeline.warehouse.build import build_warehouse, window_start
from pipeline.warehouse.models import models_fingerprint

log = logging.getLogger("tokenrisk.build")


def read_staged(ctx: RunContext, dataset: str, days: list[date]) -> pl.DataFrame:
    frames = [
        pl.read_parquet(ctx.lake.staged_file(dataset, d)).with_columns(pl.lit(d).alias(PARTITION))
        for d in days
    ]
    return pl.concat(frames)


def unverified_days(ctx: RunContext, dataset: str, first: date | None = None) -> list[date]:
    """Staged partitions without a passing gate record for their exact current bytes.

    A partition whose size and mtime equal those recorded when it passed is trusted without
    reading it (the nightly build must not re-read all history); otherwise its sha256 decides.
    """
    out = []
    for day in ctx.lake.staged_days(dataset):
        if first is not None and day < first:
            continue
        ledger = ctx.lake.staged_ledger(dataset, day)
        if ledger.exists():
            record = json.loads(ledger.read_text())
            path = ctx.lake.staged_file(dataset, day)
            if record.get("gate") == "passed" and (
                record.get("stamp") == partition_stamp(path)
                or record.get("sha256") == file_sha256(path)
            ):
                continue
        out.append(day)
    return out


def verify_staged_inputs(ctx: RunContext, first: date | None = None) -> None:
    """Refuse to build from a staged partition that has not passed its gate as it is now.

    `first`: the first day the build reads (an incremental build reads a window, so the
    nightly check does not grow with the history)."""
    for dataset in sorted(SCHEMAS):  # reference tables too
        days = unverified_days(ctx, dataset, first)
        if not days:
            continue
        log.info("build: re-checking %d staged partition(s) of %s", len(days), dataset)
        result = gate_staged(ctx, dataset, read_staged(ctx, dataset, days))
        if not result.success:
            raise fail_gate(ctx, result)
        for day in days:
            path = ctx.lake.staged_file(dataset, day)
            write_json_atomic(
                ctx.lake.staged_ledger(dataset, day),
                {
                    "sha256": file_sha256(path),
                    "stamp": partition_stamp(path),
                    "run_id": ctx.run_id,
                    "gate": "passed",
                },
            )


def mart_frames(
    con: duckdb.DuckDBPyConnection, table: str, ctx: RunContext, since: date | None = None
) -> dict[str, pl.DataFrame]:
    """The frames the marts suite of `table` checks: its rows from `since` on (all: None)."""
    since_sql = f"date '{since.isoformat()}'" if since else "date '0001-01-01'"
    rows = query_frame(con, f"select * from marts.{table} where date >= {since_sql} order by all")
    if table == "fct_sector_daily":
        members = {name: len(s.members) for name, s in ctx.universe.sectors.items()}
        rows = rows.with_columns(n_members=pl.col("sector").replace_strict(members, default=None))
        recon = query_frame(
            con,
            f"""
            select s.date, s.sector,
                (s.market_cap_usd - sum(a.market_cap_usd)) / s.market_cap_usd as cap_relative_diff
            from marts.fct_sector_daily as s
            join marts.fct_asset_daily as a on a.date = s.date and a.sector = s.sector
            where s.date >= {since_sql}
            group by s.date, s.sector, s.market_cap_usd
            order by 1, 2
            """,
        )
        return {"rows": rows, "cap_reconciliation": recon}
    if table == "fct_derivatives_daily":
        # the OI-weighted funding must lie between the venues' own annualised funding
        bounds = query_frame(
            con,
            f"""
            with venue as (
                select date, venue, asset, funding_annualized as f
                from intermediate.int_venue_funding_daily
            )
            select d.date, d.asset, d.funding_rate_annualized,
                   min(v.f) - 1e-9 as venue_min, max(v.f) + 1e-9 as venue_max
            from marts.fct_derivatives_daily as d
            join venue as v on v.date = d.date and v.asset = d.asset
            where d.funding_rate_annualized is not null and d.date >= {since_sql}
            group by all
            order by 1, 2
            """,
        )
        return {"rows": rows, "funding_bounds": bounds}
    return {"rows": rows}


def gate_marts(ctx: RunContext, build_file: Path, since: date | None = None) -> list[GateResult]:
    """The marts suites on a build file: the rows from `since` on (the days a build recomputed;
    rows it carried over passed the gate of the build they come from), or all of them."""
    con = duckdb.connect(str(build_file), read_only=True)
    try:
        tables = mart_tables(con)
        results = []
        for table in tables:
            try:
                checks = mart_suite(table, ctx.universe)
            except KeyError:
                continue
            frames = mart_frames(con, table, ctx, since)
            results.append(run_checks("marts", table, frames, checks, "date"))
    finally:
        con.close()
    return results


def stat_mode(since: date | None) -> str:
    return f"incremental:{since}" if since else "full"


def incremental_base(ctx: RunContext, since: date | None) -> tuple[date | None, Path | None]:
    """(since, base) for an incremental build, or (None, None) when it must be a full one:
    nothing published yet, or the published marts came from other models or configuration."""
    if since is None or not ctx.lake.warehouse.exists():
        return None, None
    info = ctx.lake.published_info()
    if info.get("models") != models_fingerprint():
        log.info("build: models changed since the published build; building in full")
        return None, None
    return since, ctx.lake.warehouse


def build_windows(ctx: RunContext, since: date | None) -> list[tuple[date | None, date | None]]:
    """The (first recomputed day, last staged day read) of each window of a build: one window
    (since, None) unless it recomputes more than `build_chunk_days` days."""
    staged = sorted({d for dataset in SCHEMAS for d in ctx.lake.staged_days(dataset)})
    if not staged:
        return [(since, None)]
    first, last = since or staged[0], staged[-1]
    size = ctx.settings.build_chunk_days
    if (last - first).days < size:
        return [(since, None)]
    starts = [first + timedelta(days=i) for i in range(0, (last - first).days + 1, size)]
    # a window reads one staged day past its last: a day's last hourly bar ends at midnight,
    # and its open interest is the next day's first row (the next window recomputes that day)
    ends = [*starts[1:], None]
    return [
        (None if i == 0 and since is None else s, e)
        for i, (s, e) in enumerate(zip(starts, ends, strict=True))
    ]


def build_in_windows(
    ctx: RunContext, target: Path, since: date | None, base: Path | None
) -> tuple[dict[str, int], list, list[GateResult]]:
    """Build into `target`; a long span goes window by window, each window an incremental
    build on the file of the one before (as the nightly build is on the published file), so
    DuckDB's memory follows the window, not the history. Each window but the last is gated
    on the rows it computed before the next one builds on it (the last is gated by `build`).
    Window files are dot-files beside the target, removed once the next window has read them."""
    windows = build_windows(ctx, since)
    previous = base
    counts: dict[str, int] = {}
    results: list[GateResult] = []
    for i, (start, until) in enumerate(windows):
        last = i == len(windows) - 1
        out = target if last else target.with_name(f".{target.stem}.window{i}.duckdb")
        if len(windows) > 1:
            log.info(
                "build: window %d/%d, %s to %s",
                i + 1,
                len(windows),
                start or "start",
                until or "end",
            )
        counts = build_warehouse(
            ctx.lake, ctx.universe, out, all_datasets(), since=start, base=previous, until=until
        )
        if previous is not None and previous != base:
            previous.unlink(missing_ok=True)
        previous = out
        if not last:
            gated = gate_marts(ctx, out, since=start)
            results.extend(gated)
            failed = [r for r in gated if not r.success]
            if failed:
                save_gate_results(ctx, "marts", gated)
                out.unlink(missing_ok=True)
                raise GateFailed(
                    f"{failed[0].describe_failure()} (build window {start or 'start'} to {until})",
                    [r.to_json() for r in failed],
                )
    return counts, windows, results


def build(ctx: RunContext, since: date | None = None) -> Path:
    """Build a new warehouse file and gate its marts; returns its path.

    With `since`, the marts from that day on are recomputed and older rows are carried over
    from the published warehouse (when it was built from the same models), so a nightly build
    costs the same whatever the length of the history.
    """
    ledger = ctx.lake.build_ledger(ctx.run_id)
    with ctx.stage_timer("build") as stat:
        try:
            ctx.lake.sync.pull_published()
            since, base = incremental_base(ctx, since)
            # an incremental build reads the window it recomputes; a full one everything
            first = window_start(since)
            ctx.lake.sync.pull_staged(sorted(SCHEMAS), since=first)
            verify_staged_inputs(ctx, first)
            target = ctx.lake.build_file(ctx.run_id)
            counts, windows, results = build_in_windows(ctx, target, since, base)
        except Exception as exc:
            # record the failed attempt: `publish` must not fall back to an older build
            reason = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            write_json_atomic(ledger, {"run_id": ctx.run_id, "gate": "failed", "error": reason})
            raise
        stat["mode"] = f"incremental from {since}" if since else "full"
        if len(windows) > 1:
            stat["mode"] += f", in {len(windows)} windows of {ctx.settings.build_chunk_days} days"
        stat["tables"] = counts
    with ctx.stage_timer("gate_marts") as stat:
        # the rows this build computed (older ones come from a gated build)
        results += gate_marts(ctx, target, since=windows[-1][0])
        save_gate_results(ctx, "marts", results)
        passed = all(r.success for r in results)
        write_json_atomic(
            ledger,
            {
                "run_id": ctx.run_id,
                "gate": "passed" if passed else "failed",
                "tables": counts,
                "models": models_fingerprint(),
                "mode": stat_mode(since),
                # the first day the marts gate checked (None: all); the DAG re-gates the same
                "gated_from": str(windows[-1][0]) if windows[-1][0] else None,
                "sha256": sha256_file(target),
            },
        )
        stat["checks"] = sum(len(r.checks) for r in results)
        failed = [r for r in results if not r.success]
        if failed:
            raise GateFailed(failed[0].describe_failure(), [r.to_json() for r in failed])
    return target
