"""`tokenrisk snapshot` on a synthetic warehouse: files, manifest, checksums, where it may write."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import duckdb
import pandas as pd
import polars as pl
import pytest

from pipeline.errors import UsageError
from pipeline.snapshot import MANIFEST, is_snapshot_dir, write_snapshot
from tests.report.synthetic import ALL_TABLES, RUN_ID, build_data_dir

START, END = date(2026, 2, 3), date(2026, 2, 5)


@pytest.fixture
def lake(tmp_path):
    return build_data_dir(tmp_path / "data")


def read_three_ways(path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The same file through DuckDB, polars and pandas, as polars frames to compare."""
    with duckdb.connect() as con:
        from_duckdb = pl.from_arrow(
            con.sql(f"select * from read_parquet('{path}')").to_arrow_table()
        )
    from_polars = pl.read_parquet(path)
    from_pandas = pl.from_pandas(pd.read_parquet(path))
    return from_duckdb, from_polars, from_pandas


def test_snapshot_holds_every_mart_for_the_range(lake, tmp_path):
    out = tmp_path / "snap"
    manifest = write_snapshot(lake, START, END, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [MANIFEST, *(f"{t}.parquet" for t in ALL_TABLES)]
    )
    assert json.loads((out / MANIFEST).read_text()) == manifest
    assert manifest["run_id"] == RUN_ID and manifest["gate_status"] == "passed"
    assert manifest["methodology_version"] == "1.0"
    assert (manifest["start"], manifest["end"]) == ("2026-02-03", "2026-02-05")
    assert manifest["quality"]["marts"]["failed"] == 0
    entry = manifest["tables"]["fct_asset_daily"]
    assert entry["rows"] == 3 * 7
    assert entry["description"] == "Daily close of every asset."
    assert entry["schema"][0] == {"name": "date", "type": "DATE", "description": "UTC day."}
    assert [c["name"] for c in entry["schema"]][:3] == ["date", "asset", "sector"]
    assert manifest["tables"]["fct_liquidation_levels"]["rows"] == 3 * 6 * 2 * 10
    for table, entry in manifest["tables"].items():
        data = (out / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], table
        assert len(data) == entry["bytes"]


def test_snapshot_reads_back_identically_everywhere(lake, tmp_path):
    manifest = write_snapshot(lake, START, END, tmp_path / "snap")
    with duckdb.connect(str(lake.warehouse), read_only=True) as con:
        for table, entry in manifest["tables"].items():
            expected = pl.from_arrow(
                con.sql(
                    f"select * from marts.{table} where date between ? and ? order by all",
                    params=[START, END],
                ).to_arrow_table()
            )
            from_duckdb, from_polars, from_pandas = read_three_ways(
                tmp_path / "snap" / entry["file"]
            )
            assert from_duckdb.equals(expected), table
            assert from_polars.equals(expected), table
            assert from_duckdb.schema == from_polars.schema == expected.schema, table
            # pandas has no date dtype: it returns datetime.date objects, which polars reads back
            assert from_pandas.equals(expected), table


def test_a_previous_snapshot_is_replaced_anything_else_refused(lake, tmp_path):
    out = tmp_path / "snap"
    write_snapshot(lake, START, END, out)
    second = write_snapshot(lake, END, END, out)  # a snapshot dir: replaced whole
    assert second["tables"]["fct_sector_daily"]["rows"] == 1
    assert is_snapshot_dir(out)

    (out / "my-notes.txt").write_text("keep me")
    assert not is_snapshot_dir(out)
    with pytest.raises(UsageError, match="not a tokenrisk snapshot"):
        write_snapshot(lake, START, END, out)
    assert (out / "my-notes.txt").read_text() == "keep me"

    empty = tmp_path / "empty"
    empty.mkdir()
    write_snapshot(lake, START, END, empty)  # an empty directory is fine
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(UsageError, match="not a directory"):
        write_snapshot(lake, START, END, a_file)


def test_snapshot_refuses_the_pipelines_own_folders(lake):
    for folder in ("marts", "warehouse", "staged"):
        with pytest.raises(UsageError, match=f"inside the data dir's {folder}/ folder"):
            write_snapshot(lake, START, END, lake.root / folder / "snap")
    assert not (lake.root / "marts").exists()


def test_range_without_data_is_a_usage_error(lake, tmp_path):
    with pytest.raises(
        UsageError, match=r"no mart rows .*days available: 2026-01-01\.\.2026-02-09"
    ):
        write_snapshot(lake, date(2025, 1, 1), date(2025, 1, 31), tmp_path / "snap")
    assert not (tmp_path / "snap").exists()
