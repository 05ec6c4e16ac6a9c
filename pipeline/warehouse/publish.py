"""Publish: copy the marts into a BI-compatible DuckDB file and swap it in atomically.

The published file is written through `ATTACH ... (STORAGE_VERSION ...)` so that older DuckDB
clients (BI drivers often bundle 1.x) can open it; it is verified read-only before the
`os.replace` that makes it visible. Readers holding the old file keep reading the old file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb

from pipeline.errors import TokenriskError
from pipeline.failpoints import failpoint
from pipeline.lake import fsync_dir
from pipeline.warehouse.build import apply_comments, quote_literal
from pipeline.warehouse.models import load_docs

PUBLISHED_SCHEMAS = ("marts",)


def write_published(build_file: Path, target: Path, storage_version: str) -> dict[str, int]:
    """Write the marts of `build_file` into a new compatible file and swap it over `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".tokenrisk.", suffix=".duckdb.tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # DuckDB must create the file itself
    docs = load_docs()
    try:
        con = duckdb.connect()
        try:
            con.execute(f"ATTACH {quote_literal(str(build_file))} AS build (READ_ONLY)")
            try:
                # storage_version is validated by Settings (vX.Y.Z); paths are quoted
                con.execute(
                    f"ATTACH {quote_literal(str(tmp))} AS published "
                    f"(STORAGE_VERSION {quote_literal(storage_version)})"
                )
            except duckdb.Error as exc:
                raise TokenriskError(
                    f"publish: cannot write storage version {storage_version!r}: "
                    f"{str(exc).splitlines()[0]}"
                ) from None
            tables = con.execute(
                "select schema_name, table_name from duckdb_tables() "
                "where database_name = 'build' and schema_name in ('marts') order by 1, 2"
            ).fetchall()
            counts = {}
            for schema in PUBLISHED_SCHEMAS:
                con.execute(f"CREATE SCHEMA published.{schema}")
            for schema, table in tables:
                name = f"{schema}.{table}"
                con.execute(f"CREATE TABLE published.{name} AS SELECT * FROM build.{name}")
                counts[f"{schema}.{table}"] = con.execute(
                    f"SELECT count(*) FROM published.{schema}.{table}"
                ).fetchone()[0]
            apply_comments(con, {k: v for k, v in docs.items() if k in counts}, "published")
            con.execute("CHECKPOINT published")
            con.execute("DETACH published")
        finally:
            con.close()
        failpoint("publish.before_verify")
        verify_published(tmp, counts)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        failpoint("publish.before_swap")
        os.replace(tmp, target)
        failpoint("publish.after_swap")
        fsync_dir(target.parent)
        return counts
    finally:
        for leftover in (tmp, Path(str(tmp) + ".wal")):
            leftover.unlink(missing_ok=True)


def verify_published(path: Path, counts: dict[str, int]) -> None:
    """Open the candidate read-only, as a BI reader would, and check every table's row count."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        for name, expected in counts.items():
            got = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            if got != expected:
                raise TokenriskError(
                    f"publish: {name} has {got} rows in the new file, expected {expected}"
                )
    finally:
        con.close()
