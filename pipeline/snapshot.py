"""`tokenrisk snapshot`: the published marts for a range of days as plain Parquet plus a manifest.

A snapshot directory holds one Parquet file per mart table (`<table>.parquet`, the `date`
column inside, so any reader gets it typed as a date) and `manifest.json`: tables, row
counts, schema with descriptions, sha256 of each file, the run that built the data, its gate
status and the methodology version. Everything is read through one read-only connection, so a
snapshot is one consistent version of the warehouse, and written into a temporary directory
that is renamed into place: a reader never sees half a snapshot.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from importlib.metadata import version
from pathlib import Path

import duckdb
import polars as pl

from pipeline.errors import UsageError
from pipeline.lake import Lake, atomic_dir, sha256_file, write_json_atomic, write_parquet_atomic
from pipeline.warehouse import mart_tables, query_frame
from pipeline.warehouse.status import open_published

SNAPSHOT_FORMAT = 1
MANIFEST = "manifest.json"


def is_snapshot_dir(path: Path) -> bool:
    """True for a directory holding a snapshot manifest and only the files it lists."""
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(manifest, dict) or "snapshot_format" not in manifest:
        return False
    listed = {MANIFEST} | {t.get("file") for t in manifest.get("tables", {}).values()}
    return {p.name for p in path.iterdir()} <= listed


def check_out_dir(lake: Lake, out: Path) -> None:
    """Refuse a target inside the pipeline's own folders or holding anything but a snapshot."""
    folder = lake.managed_folder(out)
    if folder:
        raise UsageError(
            f"--out {out} is inside the data dir's {folder}/ folder, which the pipeline "
            "manages; choose another directory"
        )
    if out.exists():
        if not out.is_dir():
            raise UsageError(f"--out {out} exists and is not a directory")
        if any(out.iterdir()) and not is_snapshot_dir(out):
            raise UsageError(
                f"--out {out} is a non-empty directory that is not a tokenrisk snapshot; "
                "refusing to overwrite it (choose a new or empty directory)"
            )


def table_schemas(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """Per mart table: its description and its columns (name, DuckDB type, description)."""
    out: dict[str, dict] = {
        name: {"description": comment or "", "schema": []}
        for name, comment in con.execute(
            "select table_name, comment from duckdb_tables() where schema_name = 'marts'"
        ).fetchall()
    }
    for table, column, dtype, comment in con.execute(
        "select table_name, column_name, data_type, comment from duckdb_columns() "
        "where schema_name = 'marts' order by table_name, column_index"
    ).fetchall():
        out[table]["schema"].append({"name": column, "type": dtype, "description": comment or ""})
    return out


def read_marts(con: duckdb.DuckDBPyConnection, start: date, end: date) -> dict[str, pl.DataFrame]:
    return {
        table: query_frame(
            con,
            f"select * from marts.{table} where date between ? and ? order by all",
            [start, end],
        )
        for table in mart_tables(con)
    }


def write_snapshot(lake: Lake, start: date, end: date, out: Path) -> dict:
    """Write the snapshot of days `start`..`end` into `out`; returns its manifest."""
    out = out.expanduser().resolve()
    check_out_dir(lake, out)
    with open_published(lake) as (con, provenance):
        frames = read_marts(con, start, end)
        schemas = table_schemas(con)
        span = con.execute("select min(date), max(date) from marts.fct_asset_daily").fetchall()[0]
    if all(frame.is_empty() for frame in frames.values()):
        raise UsageError(
            f"no mart rows between {start} and {end} in the published warehouse "
            f"(days available: {span[0]}..{span[1]})"
        )
    days = sorted({d for f in frames.values() if not f.is_empty() for d in f["date"].to_list()})
    prov = provenance.to_json()
    manifest = {
        "snapshot_format": SNAPSHOT_FORMAT,
        "created_at": datetime.now(UTC).isoformat(),
        "tokenrisk_version": version("tokenrisk"),
        # the version that built these marts (from the publish record), not this code's
        "methodology_version": prov["methodology_version"],
        "start": str(start),
        "end": str(end),
        "first_day": str(days[0]),
        "last_day": str(days[-1]),
        "run_id": prov["run_id"],
        "gate_status": prov["gate_status"],
        "published_at": prov["published_at"],
        "quality": prov["quality"],
        "warehouse": str(lake.warehouse),
        "warehouse_sha256": prov["warehouse_sha256"],
        "tables": {},
    }
    with atomic_dir(out) as tmp:
        for table, frame in frames.items():
            path = tmp / f"{table}.parquet"
            write_parquet_atomic(frame, path)
            manifest["tables"][table] = {
                "file": path.name,
                "rows": frame.height,
                "bytes": path.stat().st_size,
                "sha256": sha256_file(path),
                **schemas[table],
            }
        write_json_atomic(tmp / MANIFEST, manifest)
    return manifest
