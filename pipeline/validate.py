"""Validate the liquidation-risk marts against the demo market's ground truth.

The demo market knows every liquidation it caused (demo_truth/liquidations). The marts only see
what the venues publish, so comparing the two tells how well the estimates rank and flag the
liquidations that really followed. Figures (docs/methodology.md, "Validation"):

- spearman_long_10pct: rank correlation between `est_long_liq_usd_10pct` on day t and the true
  long liquidations on day t+1, over asset-days whose price fell at least 5% on t+1;
- spearman_levels: rank correlation between estimated long levels at the end of day t and true
  long liquidations on t+1, per price bucket, over the same asset-days;
- tier_precision: of the asset-days flagged high or extreme, the share whose next-day true
  liquidations (as a share of open interest) are in the top quartile of all asset-days;
- top5_overlap: how many of the five highest risk scores on the eve of the crash are among the
  five assets with the largest true liquidations on the crash day;
- lead_days: for the most levered assets (highest OI / market cap on the eve), how many days
  before the crash their tier had been high or above without a break.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import duckdb
import polars as pl

from pipeline.config import load_risk_model
from pipeline.errors import TokenriskError
from pipeline.lake import Lake
from pipeline.warehouse import query_frame

CRASH_DAY = date(2026, 2, 5)
MIN_FALL = -0.05


def spearman(a: pl.Series, b: pl.Series) -> float | None:
    """Spearman rank correlation (average ranks for ties); None for fewer than 3 pairs."""
    frame = pl.DataFrame({"a": a, "b": b}).drop_nulls()
    if frame.height < 3:
        return None
    value = frame.select(pl.corr("a", "b", method="spearman")).item()
    return None if value is None or math.isnan(value) else float(value)


def read_truth(lake: Lake, days: list[date]) -> pl.DataFrame:
    paths = [lake.demo_truth_file("liquidations", d) for d in days]
    present = [p for p in paths if p.exists()]
    if not present:
        raise TokenriskError(
            f"validate: no demo ground truth under {lake.root / 'demo_truth'}; "
            "run `tokenrisk run --source demo` first"
        )
    return pl.concat([pl.read_parquet(p) for p in present]).with_columns(
        date=pl.col("ts").dt.date()
    )


def validate(lake: Lake, crash_day: date = CRASH_DAY) -> dict:
    """Compute the validation figures from the published warehouse and demo_truth/."""
    lake.sync.pull_published()
    lake.sync.pull_tree(lake.demo_truth_dir)
    if not lake.warehouse.exists():
        raise TokenriskError(f"validate: nothing published at {lake.location(lake.warehouse)}")
    con = duckdb.connect(str(lake.warehouse), read_only=True)
    try:
        risk = query_frame(
            con,
            """
            select r.date, r.asset, r.open_interest_usd, r.est_long_liq_usd_10pct, r.risk_score,
                   r.risk_tier, r.oi_to_market_cap, a.return_1d, a.close_usd
            from marts.fct_liquidation_risk_daily as r
            join marts.fct_asset_daily as a on a.date = r.date and a.asset = r.asset
            order by r.date, r.asset
            """,
        )
        levels = query_frame(
            con,
            "select date, asset, price_level, est_notional_usd from marts.fct_liquidation_levels "
            "where side = 'long'",
        )
    finally:
        con.close()
    bucket = load_risk_model()["model"]["price_bucket"]
    days = sorted(set(risk["date"].to_list()))
    truth = read_truth(lake, days)
    true_daily = truth.group_by("date", "asset").agg(
        true_long_usd=pl.col("notional_usd").filter(pl.col("side") == "long").sum(),
        true_total_usd=pl.col("notional_usd").sum(),
    )
    nxt = true_daily.with_columns(date=pl.col("date") - timedelta(days=1))
    ret_next = risk.select("asset", "return_1d", date=pl.col("date") - timedelta(days=1)).rename(
        {"return_1d": "return_next"}
    )
    pairs = (
        risk.join(nxt, on=["date", "asset"], how="inner")
        .join(ret_next, on=["date", "asset"], how="inner")
        .with_columns(
            true_share=pl.col("true_total_usd") / pl.col("open_interest_usd"),
        )
    )
    falls = pairs.filter(pl.col("return_next") <= MIN_FALL)

    # per price bucket: estimated levels at the end of t vs true long liquidations on t+1
    log_step = math.log(1 + bucket)
    true_buckets = (
        truth.filter(pl.col("side") == "long")
        .with_columns(
            date=pl.col("date") - timedelta(days=1),
            price_level=((pl.col("price").log() / log_step).round() * log_step).exp(),
        )
        .group_by("date", "asset", "price_level")
        .agg(true_usd=pl.col("notional_usd").sum())
    )
    est_buckets = levels.with_columns(
        price_level=((pl.col("price_level").log() / log_step).round() * log_step).exp()
    )
    fall_days = falls.select("date", "asset")
    # only the buckets the price went through on t+1 (down to the lowest true liquidation):
    # levels further down were never tested, so their true liquidations are 0 by construction
    reached = true_buckets.group_by("date", "asset").agg(lowest=pl.col("price_level").min())
    bucket_pairs = (
        est_buckets.join(fall_days, on=["date", "asset"])
        .join(
            true_buckets.join(fall_days, on=["date", "asset"]),
            on=["date", "asset", "price_level"],
            how="full",
            coalesce=True,
        )
        .join(reached, on=["date", "asset"])
        .join(risk.select("date", "asset", "close_usd"), on=["date", "asset"])
        .filter(pl.col("price_level").is_between(pl.col("lowest"), pl.col("close_usd")))
        .fill_null(0.0)
    )

    flagged = pairs.filter(pl.col("risk_tier").is_in(["high", "extreme"]))
    threshold = pairs["true_share"].quantile(0.75) if pairs.height else None
    precision = (
        flagged.filter(pl.col("true_share") >= threshold).height / flagged.height
        if flagged.height and threshold is not None
        else None
    )

    eve = crash_day - timedelta(days=1)
    eve_scores = risk.filter(pl.col("date") == eve).sort("risk_score", descending=True)
    crash_truth = true_daily.filter(pl.col("date") == crash_day).sort(
        "true_total_usd", descending=True
    )
    top_scores = eve_scores["asset"].head(5).to_list()
    top_truth = crash_truth["asset"].head(5).to_list()

    levered = eve_scores.sort("oi_to_market_cap", descending=True)["asset"].head(3).to_list()
    lead = {}
    for asset in levered:
        series = risk.filter((pl.col("asset") == asset) & (pl.col("date") <= eve)).sort(
            "date", descending=True
        )
        n = 0
        for tier in series["risk_tier"]:
            if tier not in ("high", "extreme"):
                break
            n += 1
        lead[asset] = n
    return {
        "asset_days": pairs.height,
        "asset_days_with_fall": falls.height,
        "spearman_long_10pct": spearman(falls["est_long_liq_usd_10pct"], falls["true_long_usd"]),
        "spearman_levels": spearman(bucket_pairs["est_notional_usd"], bucket_pairs["true_usd"]),
        "bucket_pairs": bucket_pairs.height,
        "flagged_asset_days": flagged.height,
        "tier_precision": precision,
        "top5_risk_on_eve": top_scores,
        "top5_true_liquidations_on_crash_day": top_truth,
        "top5_overlap": len(set(top_scores) & set(top_truth)),
        "lead_days_high_or_above": lead,
        "crash_day": crash_day.isoformat(),
        "true_liquidations_crash_day_usd": float(crash_truth["true_total_usd"].sum()),
        "true_long_share_crash_day": float(
            crash_truth["true_long_usd"].sum() / crash_truth["true_total_usd"].sum()
        )
        if crash_truth.height
        else None,
    }
