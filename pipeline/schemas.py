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
    # --- watch-list datasets (issue 9) ---
    # Deribit options book summary of one currency, aggregated over every listed option at the
    # snapshot time `ts`; 24h volumes and open interest as notional (contracts x underlying price)
    "options_activity": {
        "ts": TS,
        "venue": STR,
        "asset": STR,
        "n_instruments": pl.Int64(),
        "volume_base": F64,
        "volume_usd": F64,
        "put_volume_usd": F64,
        "call_volume_usd": F64,
        "open_interest_base": F64,
        "open_interest_usd": F64,
        "put_open_interest_usd": F64,
        "call_open_interest_usd": F64,
        "mark_iv_oi_weighted": F64,
    },
    # Deribit volatility index (DVOL, annualised implied volatility in percent) candles
    "options_volatility": {
        "ts": TS,
        "venue": STR,
        "asset": STR,
        "resolution": STR,
        "open": F64,
        "high": F64,
        "low": F64,
        "close": F64,
    },
    # one row per commit on a protocol repository's default branch (ts = committer date)
    "developer_activity": {
        "ts": TS,
        "asset": STR,
        "repo": STR,
        "sha": STR,
        "author": STR,
        "is_merge": pl.Boolean(),
    },
    # Coin Metrics network data: active addresses and transactions of one UTC day
    "onchain_activity": {
        "date": pl.Date(),
        "asset": STR,
        "source": STR,
        "active_addresses": F64,
        "tx_count": F64,
    },
    # curated reference table (reference/capex_guidance.csv) as known on `as_of_date`
    "capex_guidance": {
        "as_of_date": pl.Date(),
        "company": STR,
        "ticker": STR,
        "fiscal_period": STR,
        "capex_guidance_usd": F64,
        "capex_guidance_low_usd": F64,
        "capex_guidance_high_usd": F64,
        "announcement_date": pl.Date(),
        "source_title": STR,
        "source_url": STR,
        "note": STR,
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
    # --- watch-list datasets (issue 9) ---
    "options_activity": ["ts", "venue", "asset"],
    "options_volatility": ["ts", "venue", "asset", "resolution"],
    "developer_activity": ["ts", "repo", "sha"],
    "onchain_activity": ["date", "asset", "source"],
    "capex_guidance": ["as_of_date", "company", "fiscal_period"],
}


def time_column(dataset: str) -> str:
    return KEYS[dataset][0]


# Snapshots of "now" (order books): the nightly run takes them right after the day it
# processes, so a snapshot taken during day D+1 describes day D.
SNAPSHOT_DATASETS = frozenset({"order_book", "options_activity"})


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
