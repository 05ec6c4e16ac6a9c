"""The frames a gate validates, derived from the data: rows plus per-day aggregates."""

from __future__ import annotations

import polars as pl

from pipeline.schemas import day_expr

PARTITION = "_partition_date"


def staged_frames(dataset: str, rows: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """`rows` carries the canonical columns plus `_partition_date` (the day it is staged under)."""
    frames = {"rows": rows.with_columns(_ts_date=day_expr(dataset, rows.schema))}
    if dataset == "spot_prices":
        frames["daily_counts"] = (
            rows.group_by(PARTITION, "asset").agg(n_points=pl.len()).sort(PARTITION, "asset")
        )
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
    return frames
