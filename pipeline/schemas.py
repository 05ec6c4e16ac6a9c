"""Canonical datasets (docs/design.md section 4), declared once for parsers, gates and SQL."""

from __future__ import annotations

import polars as pl

from pipeline.errors import ParseError

TS = pl.Datetime("us", "UTC")

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "spot_prices": {
        "ts": TS,
        "asset": pl.String(),
        "source": pl.String(),
        "price_usd": pl.Float64(),
        "market_cap_usd": pl.Float64(),
        "volume_usd": pl.Float64(),
    },
    "equity_prices": {
        "date": pl.Date(),
        "ticker": pl.String(),
        "open": pl.Float64(),
        "high": pl.Float64(),
        "low": pl.Float64(),
        "close": pl.Float64(),
        "volume": pl.Float64(),
    },
}

# Key columns: unique per staged partition; the first one carries the partition day.
KEYS: dict[str, list[str]] = {
    "spot_prices": ["ts", "asset", "source"],
    "equity_prices": ["date", "ticker"],
}


def time_column(dataset: str) -> str:
    return KEYS[dataset][0]


def day_expr(dataset: str, schema: pl.Schema) -> pl.Expr:
    """The UTC day of each row: its date column, or the date of its timestamp."""
    column = time_column(dataset)
    return pl.col(column) if schema[column] == pl.Date else pl.col(column).dt.date()


def empty(dataset: str) -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMAS[dataset])


def conform(df: pl.DataFrame, dataset: str) -> pl.DataFrame:
    """Select and cast to the canonical schema, in canonical column order."""
    schema = SCHEMAS[dataset]
    missing = [c for c in schema if c not in df.columns]
    if missing:
        raise ParseError(f"{dataset}: missing canonical columns {missing}")
    return df.select([pl.col(c).cast(t, strict=True) for c, t in schema.items()])
