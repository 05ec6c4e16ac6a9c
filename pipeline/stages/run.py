"""The whole pipeline, and gates on demand: what `tokenrisk run` and `tokenrisk check` do."""

from __future__ import annotations

import logging
from datetime import date

import duckdb
import polars as pl

from pipeline.errors import ParseError, TokenriskError
from pipeline.quality.gate import GateResult
from pipeline.schemas import SCHEMAS
from pipeline.sources import REGISTRY
from pipeline.stages.build import build, gate_marts, read_staged
from pipeline.stages.context import RunContext
from pipeline.stages.extract import extract
from pipeline.stages.publish import publish
from pipeline.stages.stage import gate_staged, parse_day, quarantine, save_gate_results, stage
from pipeline.warehouse import query_frame

log = logging.getLogger("tokenrisk.run")


def chunks(days: list[date], size: int) -> list[list[date]]:
    """Consecutive runs of at most `size` days: a long backfill extracts and stages one chunk at
    a time, so memory does not grow with the range (each chunk is gated and written whole;
    the warehouse is built and published once, after the last)."""
    return [days[i : i + size] for i in range(0, len(days), size)]


def run_pipeline(ctx: RunContext, days: list[date]) -> dict[str, int]:
    """extract -> stage -> build -> publish, each gated; the manifest records the outcome."""
    try:
        staged_rows: dict[str, int] = ctx.stats.setdefault("staged_rows", {})
        for chunk in chunks(days, ctx.settings.stage_chunk_days):
            extract(ctx, chunk)
            for dataset, rows in stage(ctx, chunk).items():
                staged_rows[dataset] = staged_rows.get(dataset, 0) + rows
        build_file = build(ctx, since=days[0])
        counts = publish(ctx, build_file, days)
    except TokenriskError as exc:
        ctx.write_manifest("failed", error=exc.message, days=[str(days[0]), str(days[-1])])
        raise
    except BaseException as exc:
        ctx.write_manifest("crashed", error=f"{type(exc).__name__}: {exc}")
        raise
    ctx.write_manifest("ok", days=[str(days[0]), str(days[-1])])
    return counts


def check(ctx: RunContext, stage_name: str, days: list[date] | None) -> list[GateResult]:
    """Run one stage's gates on what is on disk now; raise nothing, return the results."""
    try:
        results = _check(ctx, stage_name, days)
    except Exception:
        try:  # the gate results and quarantined rows of a failed check
            ctx.lake.sync.push()
        except TokenriskError as push_error:  # the check's own error is the one to report
            log.warning("push after the failed check: %s", push_error.message)
        raise
    ctx.lake.sync.push()  # the gate results
    return results


def _check(ctx: RunContext, stage_name: str, days: list[date] | None) -> list[GateResult]:
    results: list[GateResult] = []
    if stage_name == "raw":
        if not days:
            raise TokenriskError("check --stage raw needs --date or --start/--end")
        ctx.lake.sync.pull_raw(sorted({(e.source, e.dataset) for e in REGISTRY}), days)
        for entry in REGISTRY:
            for day in days:
                try:
                    parse_day(ctx, entry, day)
                except ParseError as exc:
                    raise TokenriskError(f"check raw: {exc.message}") from None
        return results
    if stage_name == "staged":
        ctx.lake.sync.pull_staged(sorted(SCHEMAS), days)
        for dataset in sorted(SCHEMAS):  # reference tables too
            available = set(ctx.lake.staged_days(dataset))
            wanted = sorted(available & set(days)) if days else sorted(available)
            if not wanted:
                continue
            result = gate_staged(ctx, dataset, read_staged(ctx, dataset, wanted))
            if not result.success:
                quarantine(ctx, result)
            results.append(result)
        save_gate_results(ctx, "staged", results)
        return results
    if stage_name == "marts":
        ctx.lake.sync.pull_published()
        target = ctx.lake.warehouse
        if not target.exists():
            raise TokenriskError(f"check marts: nothing published yet at {target}")
        results = gate_marts(ctx, target)
        save_gate_results(ctx, "marts", results)
        return results
    raise TokenriskError(f"unknown stage {stage_name!r}")


def sector_summary(ctx: RunContext, last_days: int = 10) -> pl.DataFrame:
    """The last days of marts.fct_sector_daily from the published warehouse."""
    con = duckdb.connect(str(ctx.lake.warehouse), read_only=True)
    try:
        return query_frame(
            con,
            """
            select date, sector, n_assets, market_cap_usd, return_1d, return_7d,
                   btc_return_1d, equity_basket_return_1d, drawdown_from_30d_high,
                   corr_btc_30d, best_asset, worst_asset
            from marts.fct_sector_daily
            order by date desc, sector
            limit ?
            """,
            [last_days],
        ).sort("date")
    finally:
        con.close()


def risk_summary(ctx: RunContext) -> pl.DataFrame:
    """The latest day of marts.fct_liquidation_risk_daily, riskiest first."""
    con = duckdb.connect(str(ctx.lake.warehouse), read_only=True)
    try:
        return query_frame(
            con,
            """
            select date, asset, open_interest_usd, oi_to_market_cap, funding_z_30d,
                   est_long_liq_usd_10pct, risk_score, risk_tier, top_drivers
            from marts.fct_liquidation_risk_daily
            where date = (select max(date) from marts.fct_liquidation_risk_daily)
            order by risk_score desc, asset
            """,
        )
    finally:
        con.close()
