"""The DuckDB warehouse: SQL model runner, build and publish."""

from __future__ import annotations

import duckdb
import polars as pl


def query_frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None
) -> pl.DataFrame:
    """Run `sql` and return the whole result as a polars DataFrame."""
    return pl.from_arrow(con.sql(sql, params=params).to_arrow_table())
