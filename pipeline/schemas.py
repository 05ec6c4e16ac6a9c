"""Canonical datasets (docs/design.md section 4), declared once for parsers, gates and SQL."""

from __future__ import annotations

import polars as pl

from pipeline.errors import ParseError

TS = pl.Datetime("us", "UTC")

F64 = pl.Float64()
STR = pl.String()

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "spot_prices": {
        "ts": TS,
        "asset": STR,
        "source": STR,
        "price_usd": F64,
        "market_cap_usd": F64,
        "volume_usd": F64,
    },
    "equity_prices": {
        "date": pl.Date(),
        "ticker": STR,
        "open": F64,
        "high": F64,
        "low": F64,
        "close": F64,
        "volume": F64,
    },
    # perpetual futures, one row per venue, asset and bar (hourly); prices in USD per token
    "perp_klines": {
        "ts": TS,
        "venue": STR,
        "asset": STR,
        "interval": STR,
        "open": F64,
        "high": F64,
        "low": F64,
        "close": F64,
        "volume_base": F64,
        "volume_usd": F64,
    },
    # funding_rate is the rate of one funding interval (not annualised), e.g. 0.0001 = 0.01%
    "funding_rates": {
        "ts": TS,
        "venue": STR,
        "asset": STR,
        "funding_rate": F64,
        "interval_hours": F64,
        "mark_price": F64,
    },
    "open_interest": {
        "ts": TS,
        "venue": STR,
        "asset": STR,
        "open_interest_base": F64,
        "open_interest_usd": F64,
    },
    # kind: global_accounts | top_accounts | top_positions
    "long_short_ratio": {
        "ts": TS,
        "venue": STR,
        "asset": STR,
        "kind": STR,
        "long_share": F64,
        "short_share": F64,
        "long_short_ratio": F64,
    },
    "taker_volume": {
        "ts": TS,
        "venue": STR,
        "asset": STR,
        "buy_volume_usd": F64,
        "sell_volume_usd": F64,
    },
    # side is the side of the liquidated position: long or short
    "liquidations": {
        "ts": TS,
        "venue": STR,
        "asset": STR,
        "side": STR,
        "price": F64,
        "qty_base": F64,
        "notional_usd": F64,
    },
    "exchange_flows": {
        "date": pl.Date(),
        "asset": STR,
        "source": STR,
        "inflow_native": F64,
        "outflow_native": F64,
        "reserve_native": F64,
    },
    "order_book": {
        "ts": TS,
        "venue": STR,
        "asset": STR,
        "best_bid": F64,
        "best_ask": F64,
        "spread_bps": F64,
        "bid_depth_usd_1pct": F64,
        "ask_depth_usd_1pct": F64,
    },
}

# Key columns: unique per staged partition; the first one carries the partition day.
KEYS: dict[str, list[str]] = {
    "spot_prices": ["ts", "asset", "source"],
    "equity_prices": ["date", "ticker"],
    "perp_klines": ["ts", "venue", "asset", "interval"],
    "funding_rates": ["ts", "venue", "asset"],
    "open_interest": ["ts", "venue", "asset"],
    "long_short_ratio": ["ts", "venue", "asset", "kind"],
    "taker_volume": ["ts", "venue", "asset"],
    # a venue can report several liquidations of the same size at the same millisecond; the
    # whole row is the key (exact duplicates from overlapping pages are dropped)
    "liquidations": ["ts", "venue", "asset", "side", "price", "qty_base"],
    "exchange_flows": ["date", "asset", "source"],
    "order_book": ["ts", "venue", "asset"],
}


def time_column(dataset: str) -> str:
    return KEYS[dataset][0]


# Snapshots of "now" (order books): the nightly run takes them right after the day it
# processes, so a snapshot taken during day D+1 describes day D.
SNAPSHOT_DATASETS = frozenset({"order_book"})


def day_expr(dataset: str, schema: pl.Schema) -> pl.Expr:
    """The UTC day a row describes: its date column, or the date of its timestamp (for
    snapshots, the day before the one they were taken on)."""
    column = time_column(dataset)
    if schema[column] == pl.Date:
        return pl.col(column)
    if dataset in SNAPSHOT_DATASETS:
        return (pl.col(column) - pl.duration(days=1)).dt.date()
    return pl.col(column).dt.date()


def empty(dataset: str) -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMAS[dataset])


def conform(df: pl.DataFrame, dataset: str) -> pl.DataFrame:
    """Select and cast to the canonical schema, in canonical column order."""
    schema = SCHEMAS[dataset]
    missing = [c for c in schema if c not in df.columns]
    if missing:
        raise ParseError(f"{dataset}: missing canonical columns {missing}")
    return df.select([pl.col(c).cast(t, strict=True) for c, t in schema.items()])
