"""BI interoperability: older DuckDB and pyarrow, polars and pandas read what we publish."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from pipeline.warehouse.models import discover

pytestmark = pytest.mark.e2e
HERE = Path(__file__).parent
# pyarrow 14 predates numpy 2, so it comes with the numpy it was built for
OLD_CLIENTS = ["duckdb==1.1.3", "pyarrow==14.0.2", "numpy<2"]


def _uv() -> list[str]:
    found = os.environ.get("UV") or shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def read_with(data_dir: Path, packages: list[str]) -> dict:
    cmd = [*_uv(), "run", "--no-project", "--python", sys.executable]
    for p in packages:
        cmd += ["--with", p]
    cmd += ["python", str(HERE / "read_with_old_clients.py"), str(data_dir)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def current(demo_dir) -> dict:
    return read_with(demo_dir, [f"duckdb=={duckdb.__version__}", f"pyarrow=={pa.__version__}"])


def test_duckdb_113_opens_published_warehouse_with_comments(demo_dir, current):
    old = read_with(demo_dir, OLD_CLIENTS)
    assert old["duckdb_version"] == "1.1.3"
    assert set(old["tables"]) == {m.name for m in discover() if m.layer == "marts"}
    for table, got in old["tables"].items():
        assert got["comment"], table
        assert all(got["column_comments"].values()), table
        assert got == current["tables"][table], table  # same rows, same comments as today's DuckDB
        assert len(got["rows"]) > 0


def test_parquet_export_reads_identically_everywhere(demo_dir, current):
    old = read_with(demo_dir, OLD_CLIENTS)
    assert old["parquet"] == current["parquet"]
    assert old["pyarrow_version"] == "14.0.2"
    for table, rows in current["parquet"].items():
        assert old["pyarrow_rows"][table] == len(rows)
        folder = demo_dir / "marts" / table
        glob = str(folder / "*" / "part-0.parquet")
        from_duckdb = pl.from_arrow(
            duckdb.connect()
            .sql(f"select * from read_parquet('{glob}', hive_partitioning = true) order by all")
            .to_arrow_table()
        )
        key = from_duckdb.columns
        from_polars = pl.read_parquet(folder).select(key)
        assert from_polars.sort(key).equals(from_duckdb.sort(key)), table
        from_pandas = pd.read_parquet(folder)  # pandas gets the partition key as a category
        from_pandas["date"] = pd.to_datetime(from_pandas["date"].astype(str)).dt.date
        assert len(from_pandas) == len(rows)
        assert pl.from_pandas(from_pandas[key]).sort(key).equals(from_duckdb.sort(key)), table


def test_default_duckdb_storage_would_not_open_in_old_clients(tmp_path):
    """Why the storage version matters: a default DuckDB 2 file is unreadable by 1.1.3."""
    path = tmp_path / "default.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create table t as select 1 as a")
    con.close()
    script = f"import duckdb; duckdb.connect({str(path)!r}, read_only=True)"
    cmd = [
        *_uv(),
        "run",
        "--no-project",
        "--python",
        sys.executable,
        "--with",
        "duckdb==1.1.3",
        "python",
        "-c",
        script,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    assert "version number" in result.stderr
