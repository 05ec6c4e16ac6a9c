"""The DuckDB warehouse: SQL model runner, build and publish."""

from __future__ import annotations

import duckdb
import polars as pl

# Version of the method behind the marts (formulas, windows, risk tiers; docs/methodology.md).
# Bump it when a mart's meaning changes, so snapshots and reports say which method made them.
METHODOLOGY_VERSION = "1.0"


def query_frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None
) -> pl.DataFrame:
    """Run `sql` and return the whole result as a polars DataFrame."""
    return pl.from_arrow(con.sql(sql, params=params).to_arrow_table())


def mart_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Names of the tables in the `marts` schema, sorted."""
    rows = con.execute(
        "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
    ).fetchall()
    return [r[0] for r in rows]
