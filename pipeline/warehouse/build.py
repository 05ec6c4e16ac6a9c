"""Build the warehouse: run every SQL model, in dependency order, into a new DuckDB file."""

from __future__ import annotations

import logging
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl

from pipeline.config import Settings, Universe, load_risk_model
from pipeline.errors import TokenriskError
from pipeline.failpoints import failpoint
from pipeline.lake import Lake
from pipeline.schemas import SCHEMAS, empty
from pipeline.warehouse.models import build_order, discover, load_docs

log = logging.getLogger("tokenrisk.build")


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def apply_comments(
    con: duckdb.DuckDBPyConnection, docs: dict[str, dict], database: str | None = None
) -> None:
    """COMMENT ON every described table/view and column that exists in `database`."""
    database = database or con.execute("select current_database()").fetchone()[0]
    existing = dict(
        con.execute(
            "select schema_name || '.' || table_name, 'TABLE' from duckdb_tables() "
            "where database_name = $db union all "
            "select schema_name || '.' || view_name, 'VIEW' from duckdb_views() "
            "where not internal and database_name = $db",
            {"db": database},
        ).fetchall()
    )
    statements = []
    for name, doc in docs.items():
        kind = existing.get(name)
        if kind is None:
            continue
        target = f'"{database}".{name}'
        if doc["description"]:
            statements.append(f"COMMENT ON {kind} {target} IS {quote_literal(doc['description'])}")
        for column, text in doc["columns"].items():
            statements.append(f"COMMENT ON COLUMN {target}.{column} IS {quote_literal(text)}")
    if statements:  # one call: a few hundred round trips cost a quarter of a small build
        con.execute(";\n".join(statements))


def seed_frames(universe: Universe) -> dict[str, pl.DataFrame]:
    """Configuration the models need, loaded as tables: sectors and the risk model."""
    rows = [(a, s) for s, sector in universe.sectors.items() for a in sector.members]
    risk = load_risk_model()
    params = {**risk["model"], **risk["score"]}
    return {
        "staging.seed_sector_members": pl.DataFrame(rows, schema=["asset", "sector"], orient="row"),
        "staging.seed_leverage_tiers": pl.DataFrame(
            risk["leverage_tiers"], schema={"leverage": pl.Float64, "weight": pl.Float64}
        ),
        "staging.seed_risk_model": pl.DataFrame(
            {k: [float(v)] for k, v in params.items()}
        ).with_columns(methodology_version=pl.lit(risk["methodology_version"])),
    }


# An incremental build recomputes the marts from `since` on, reading staged data from this many
# days earlier: the longest history any model needs plus a margin. The longest chain is the
# watch-list's 30-day change of the risk score: the score 30 days back rests on 30-day windows
# (funding and OI z-scores) and the 14-day look-back of liquidation levels, 60 days in all.
# Rows before `since` are carried over from the published warehouse (or, in a build in
# windows, from the window before). tests/e2e/test_risk_marts.py checks incremental == full.
INCREMENTAL_LOOKBACK_DAYS = 75


def window_start(since: date | None) -> date | None:
    """The first staged day a build from `since` reads (None: a full build reads all)."""
    return since - timedelta(days=INCREMENTAL_LOOKBACK_DAYS) if since else None


def staged_files(
    lake: Lake, datasets: list[str], since: date | None, until: date | None = None
) -> dict[str, list[str]]:
    """The staged partitions the build reads, per canonical dataset: all of them, or the window
    an incremental build from `since` needs, up to `until` (None: the last). Files are listed
    explicitly, so DuckDB reads no other partition. Every dataset in `datasets` must have
    data."""
    first = window_start(since)
    files = {}
    for dataset in SCHEMAS:
        days = [
            d
            for d in lake.staged_days(dataset)
            if (first is None or d >= first) and (until is None or d <= until)
        ]
        files[dataset] = [str(lake.staged_file(dataset, d)) for d in days]
    missing = [d for d in datasets if not files[d]]
    if missing:
        raise TokenriskError(f"build: no staged data for {missing} in {lake.name}; run stage first")
    return files


def empty_partition(folder: Path, dataset: str) -> str:
    """A typed, empty Parquet file standing in for a dataset with no staged data yet."""
    path = folder / f"{dataset}.parquet"
    empty(dataset).write_parquet(path)
    return str(path)


def carry_over(con: duckdb.DuckDBPyConnection, base: Path, since: date) -> None:
    """Incremental build: mart rows before `since` come from the published warehouse `base`."""
    con.execute(f"ATTACH {quote_literal(str(base))} AS base (READ_ONLY)")
    try:
        base_tables = {
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() "
                "where database_name = 'base' and schema_name = 'marts'"
            ).fetchall()
        }
        for (table,) in con.execute(
            "select table_name from duckdb_tables() "
            "where database_name = current_database() and schema_name = 'marts' order by 1"
        ).fetchall():
            if table not in base_tables:
                raise TokenriskError(f"build: marts.{table} is not in {base}; build in full")
            con.execute(f"DELETE FROM marts.{table} WHERE date < ?", [since])
            con.execute(
                f"INSERT INTO marts.{table} BY NAME "
                f"SELECT * FROM base.marts.{table} WHERE date < ?",
                [since],
            )
            con.execute(f"CREATE OR REPLACE TABLE marts.{table} AS FROM marts.{table} ORDER BY ALL")
    finally:
        con.execute("DETACH base")


def build_warehouse(
    lake: Lake,
    universe: Universe,
    target: Path,
    datasets: list[str],
    since: date | None = None,
    base: Path | None = None,
    until: date | None = None,
) -> dict[str, int]:
    """Build every model into `target` (a new file); returns row counts of the tables.

    With `since` and `base` (a warehouse built from the same models: the published one, or
    the previous window of a chained build), only the marts from `since` on are recomputed,
    from a window of staged data; older rows are copied. `until`: the last staged day read.
    """
    if (since is None) != (base is None):
        raise ValueError("an incremental build needs both `since` and `base`")
    files = staged_files(lake, datasets, since, until)
    models = build_order(discover())
    docs = load_docs()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    # one thread: parallel aggregation adds floats in a varying order, and a rerun must give
    # the same marts to the last bit (the models are small next to staging; see performance.md)
    # memory_limit: DuckDB spills to disk past it, so a long backfill stays within the machine
    limit = Settings().build_memory_limit
    con = duckdb.connect(str(target), config={"threads": 1, "memory_limit": limit})
    counts: dict[str, int] = {}
    scratch = tempfile.TemporaryDirectory(prefix=".build-", dir=target.parent)
    try:
        for dataset, paths in files.items():
            paths = paths or [empty_partition(Path(scratch.name), dataset)]
            con.execute(f"SET VARIABLE staged_{dataset} = ?", [paths])
        for schema in ("staging", "intermediate", "marts"):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for name, frame in seed_frames(universe).items():
            con.register("_seed", frame.to_arrow())
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM _seed")
            con.unregister("_seed")
        for model in models:
            kind = "VIEW" if model.materialization == "view" else "TABLE"
            started = time.perf_counter()
            try:
                con.execute(f"CREATE {kind} {model.qualified} AS\n{model.sql}")
            except duckdb.Error as exc:
                first = str(exc).splitlines()[0]
                raise TokenriskError(
                    f"build: model {model.qualified} ({model.path.name}) failed: {first}"
                ) from None
            if kind == "TABLE":
                counts[model.qualified] = con.execute(
                    f"SELECT count(*) FROM {model.qualified}"
                ).fetchone()[0]
            log.info(
                "built %s (%s) in %.3f s",
                model.qualified,
                kind.lower(),
                time.perf_counter() - started,
            )
            failpoint("build.between_models")
        if since is not None and base is not None:
            carry_over(con, base, since)
            for name in counts:
                if name.startswith("marts."):
                    counts[name] = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        apply_comments(con, docs)
        con.execute("CHECKPOINT")
    finally:
        con.close()
        scratch.cleanup()
    return counts
