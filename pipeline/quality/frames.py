"""The frames a gate validates, derived from the data: rows plus per-day aggregates."""

from __future__ import annotations

import polars as pl

from pipeline.schemas import KEYS, day_expr

PARTITION = "_partition_date"

# Completeness: rows expected per partition and instrument (venue or source, asset, and kind
# where a dataset has one). Hourly series have 24 points a day; CoinGecko's automatic
# granularity can drop or add one around the day's edges; funding settles every 1-8 hours;
# an order book is one snapshot per nightly run.
EXPECTED_ROWS: dict[str, tuple[int, int]] = {
    "spot_prices": (20, 30),
    "perp_klines": (22, 24),
    "funding_rates": (1, 24),
    "open_interest": (20, 288),  # hourly; the daily archive has 5-minute rows
    "long_short_ratio": (20, 24),
    "taker_volume": (20, 24),
    "order_book": (1, 2),
    "exchange_flows": (1, 1),
    # watch-list (issue 9): one options snapshot, one DVOL candle, one on-chain value a day
    "options_activity": (1, 1),
    "options_volatility": (1, 1),
    "onchain_activity": (1, 1),
}


def instrument_columns(dataset: str) -> list[str]:
    """The columns naming one series of a dataset: who reports it, for what (and which kind)."""
    keys = KEYS[dataset]
    return [c for c in ("venue", "source", "asset", "ticker", "kind") if c in keys]


def staged_frames(
    dataset: str, rows: pl.DataFrame, expected: pl.DataFrame | None = None
) -> dict[str, pl.DataFrame]:
    """`rows` carries the canonical columns plus `_partition_date` (the day it is staged under).

    `expected` lists the series each partition should hold (`_partition_date` plus the
    dataset's instrument columns except `kind`): a series with no row at all counts 0.
    """
    frames = {"rows": rows.with_columns(_ts_date=day_expr(dataset, rows.schema))}
    group = instrument_columns(dataset)
    if dataset in EXPECTED_ROWS:
        counts = rows.group_by(PARTITION, *group).agg(n_points=pl.len())
        if expected is not None and not expected.is_empty():
            present = counts.select(expected.columns).unique()
            missing = expected.join(present, on=expected.columns, how="anti")
            counts = pl.concat(
                [counts, missing.with_columns(n_points=pl.lit(0, pl.UInt32))], how="diagonal"
            )
        frames["daily_counts"] = counts.sort(PARTITION, *group)
    if dataset == "spot_prices":
        frames["hourly_moves"] = (
            rows.filter(pl.col("price_usd") > 0)
            .sort("asset", "ts")
            .with_columns(
                abs_log_return_1h=(pl.col("price_usd").log() - pl.col("price_usd").log().shift(1))
                .abs()
                .over("asset")
            )
            .drop_nulls("abs_log_return_1h")
            .select(PARTITION, "asset", "ts", "abs_log_return_1h")
        )
    if dataset == "open_interest":
        frames["oi_jumps"] = (
            rows.filter(pl.col("open_interest_base") > 0)
            .sort("venue", "asset", "ts")
            .with_columns(
                oi_ratio_1h=(
                    pl.col("open_interest_base") / pl.col("open_interest_base").shift(1)
                ).over("venue", "asset")
            )
            .drop_nulls("oi_ratio_1h")
            .select(PARTITION, "venue", "asset", "ts", "oi_ratio_1h")
        )
    if dataset == "long_short_ratio":
        frames["share_sums"] = rows.select(
            PARTITION,
            "venue",
            "asset",
            "kind",
            "ts",
            share_sum=pl.col("long_share") + pl.col("short_share"),
        )
    return frames


def cross_source_frame(spot: pl.DataFrame, klines: pl.DataFrame) -> pl.DataFrame:
    """Perp closes against the spot price at the same instant (bar end = next hour's point).

    Spot points are a few seconds off the hour (CoinGecko): both sides are truncated to the hour.
    """
    spot_h = (
        spot.filter(pl.col("price_usd") > 0)
        .with_columns(hour=pl.col("ts").dt.truncate("1h"))
        .group_by("hour", "asset")
        .agg(spot_price=pl.col("price_usd").first())
    )
    perp_h = klines.filter(pl.col("interval") == "1h").with_columns(
        hour=(pl.col("ts") + pl.duration(hours=1)).dt.truncate("1h")
    )
    return (
        perp_h.join(spot_h, on=["hour", "asset"], how="inner")
        .with_columns(rel_diff=(pl.col("close") / pl.col("spot_price") - 1).abs())
        .select(PARTITION, "venue", "asset", "hour", "close", "spot_price", "rel_diff")
        .sort("venue", "asset", "hour")
    )
