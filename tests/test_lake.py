"""The lake: atomic writes, write-once raw files, newest-run selection."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from pipeline.errors import UsageError
from pipeline.lake import Lake, write_bytes_atomic, write_parquet_atomic


def test_atomic_write_leaves_no_temp_file_on_failure(tmp_path):
    target = tmp_path / "x" / "part-0.parquet"
    write_bytes_atomic(target, b"old")

    class Boom(Exception):
        pass

    df = pl.DataFrame({"a": [1]})
    original = pl.DataFrame.write_parquet

    def failing(self, path, **kw):
        original(self, path, **kw)
        raise Boom

    pl.DataFrame.write_parquet = failing
    try:
        with pytest.raises(Boom):
            write_parquet_atomic(df, target)
    finally:
        pl.DataFrame.write_parquet = original
    assert target.read_bytes() == b"old"
    assert [p.name for p in target.parent.iterdir()] == ["part-0.parquet"]


def test_parquet_writes_are_deterministic(tmp_path):
    df = pl.DataFrame({"a": [3, 1, 2], "b": ["x", "y", "z"]})
    write_parquet_atomic(df, tmp_path / "one.parquet")
    write_parquet_atomic(df, tmp_path / "two.parquet")
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "two.parquet").read_bytes()


def test_latest_raw_picks_newest_run_per_key(lake):
    day = date(2026, 2, 5)
    for run, key in [
        ("20260101T000000Z_a", "TAO"),
        ("20260102T000000Z_b", "TAO"),
        ("20260101T000000Z_a", "BTC"),
    ]:
        lake.land_raw(lake.raw_file("coingecko", "spot_prices", day, run, f"{key}.000"), {"k": key})
    latest = lake.latest_raw("coingecko", "spot_prices", day)
    assert sorted(latest) == ["BTC", "TAO"]
    assert latest["TAO"][0].name.startswith("20260102T000000Z_b-TAO")
    assert latest["BTC"][0].name.startswith("20260101T000000Z_a-BTC")


def test_data_dir_that_is_a_file_is_a_usage_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="not a directory"):
        Lake.at(tmp_path / "file")
