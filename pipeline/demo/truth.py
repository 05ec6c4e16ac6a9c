"""The demo market's ground truth under demo_truth/: what really happened, for validation.

`liquidations`: every liquidation order on every simulated venue (the staged `liquidations`
dataset holds only what venues with a public liquidation endpoint report: a subset).
`positions`: true long and short open interest per venue, asset and hour.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from pipeline.demo.market import HOUR_S
from pipeline.demo.perps import PerpMarket
from pipeline.lake import Lake, write_parquet_atomic

TS = pl.Datetime("us", "UTC")


def liquidations(perps: PerpMarket, day: date) -> pl.DataFrame:
    rows = perps.truth_liquidations(day)
    df = pl.DataFrame(
        {
            "ms": np.array(rows["ms"], dtype=np.int64),
            "venue": rows["venue"],
            "asset": rows["asset"],
            "side": rows["side"],
            "price": np.array(rows["price"], dtype=np.float64),
            "qty_base": np.array(rows["qty"], dtype=np.float64),
        },
        schema_overrides={"venue": pl.String, "asset": pl.String, "side": pl.String},
    )
    return (
        df.with_columns(
            ts=pl.from_epoch("ms", time_unit="ms").dt.replace_time_zone("UTC").cast(TS),
            notional_usd=pl.col("price") * pl.col("qty_base"),
        )
        .select("ts", "venue", "asset", "side", "price", "qty_base", "notional_usd")
        .sort("ts", "venue", "asset", "side", "price")
    )


def positions(perps: PerpMarket, day: date) -> pl.DataFrame:
    frames = []
    for venue in perps.venues:
        for asset in perps.market.universe.symbols:
            p = perps.day(venue, asset, day)
            frames.append(
                pl.DataFrame(
                    {
                        "ms": (p.hours + 1) * HOUR_S * 1000,  # at the end of each bar
                        "venue": [venue] * 24,
                        "asset": [asset] * 24,
                        "close": p.close,
                        "long_oi_base": p.long_oi_base,
                        "short_oi_base": p.short_oi_base,
                    }
                )
            )
    return (
        pl.concat(frames)
        .with_columns(ts=pl.from_epoch("ms", time_unit="ms").dt.replace_time_zone("UTC").cast(TS))
        .select("ts", "venue", "asset", "close", "long_oi_base", "short_oi_base")
    )


def write_truth(lake: Lake, perps: PerpMarket, days: list[date]) -> None:
    """Write (or rewrite, identically) the ground truth of `days`."""
    for day in days:
        write_parquet_atomic(liquidations(perps, day), lake.demo_truth_file("liquidations", day))
        write_parquet_atomic(positions(perps, day), lake.demo_truth_file("positions", day))
