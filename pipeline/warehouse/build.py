"""Build the warehouse: run every SQL model, in dependency order, into a new DuckDB file."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import polars as pl

from pipeline.config import Universe, load_risk_model
from pipeline.errors import TokenriskError
from pipeline.lake import Lake
from pipeline.warehouse.models import build_order, discover, load_docs

log = logging.getLogger("tokenrisk.build")


def _quote(text: str) -> str:
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
    for name, doc in docs.items():
        kind = existing.get(name)
        if kind is None:
            continue
        target = f'"{database}".{name}'
        if doc["description"]:
            con.execute(f"COMMENT ON {kind} {target} IS {_quote(doc['description'])}")
        for column, text in doc["columns"].items():
            con.execute(f"COMMENT ON COLUMN {target}.{column} IS {_quote(text)}")


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


def build_warehouse(
    lake: Lake, universe: Universe, target: Path, datasets: list[str]
) -> dict[str, int]:
    """Build every model into `target` (a new file); returns row counts of the tables."""
    missing = [d for d in datasets if not lake.staged_days(d)]
    if missing:
        raise TokenriskError(f"build: no staged data for {missing} in {lake.root}; run stage first")
    models = build_order(discover())
    docs = load_docs()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    con = duckdb.connect(str(target))
    counts: dict[str, int] = {}
    try:
        con.execute(f"SET VARIABLE lake_root = {_quote(str(lake.root))}")
        for schema in ("staging", "intermediate", "marts"):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for name, frame in seed_frames(universe).items():
            con.register("_seed", frame.to_arrow())
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM _seed")
            con.unregister("_seed")
        for model in models:
            kind = "VIEW" if model.materialization == "view" else "TABLE"
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
            log.info("built %s (%s)", model.qualified, kind.lower())
        apply_comments(con, docs)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return counts
