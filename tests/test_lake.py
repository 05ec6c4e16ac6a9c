"""The lake: atomic writes, write-once raw files, newest-run selection."""

from __future__ import annotations

import os
import stat
from datetime import date

import polars as pl
import pytest

from pipeline.errors import UsageError
from pipeline.lake import Lake, atomic_dir, sha256_file, write_bytes_atomic, write_parquet_atomic


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


def test_atomic_dir_replaces_a_directory_whole_or_not_at_all(tmp_path):
    target = tmp_path / "snap"
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("one")
    assert [p.name for p in target.iterdir()] == ["a.txt"]
    with atomic_dir(target) as tmp:
        (tmp / "b.txt").write_text("two")
    assert [p.name for p in target.iterdir()] == ["b.txt"]  # the old content is gone

    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "c.txt").write_text("half")
        raise RuntimeError("crash mid-write")
    assert [p.name for p in target.iterdir()] == ["b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["snap"]  # no temp or aside dirs left


def test_managed_folders_of_the_data_dir(lake):
    assert lake.managed_folder(lake.root / "marts" / "x") == "marts"
    assert lake.managed_folder(lake.root / "warehouse") == "warehouse"
    assert lake.managed_folder(lake.root / "reports" / "r.html") is None
    assert lake.managed_folder(lake.root.parent / "elsewhere") is None
    assert lake.report_file(date(2026, 2, 5)).name == "report-2026-02-05.html"


def test_sha256_file(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    assert sha256_file(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_written_files_and_dirs_get_the_usual_permissions(tmp_path):
    """Not the private modes of mkstemp/mkdtemp: BI readers on other accounts must open them."""
    mask = os.umask(0o022)
    try:
        write_bytes_atomic(tmp_path / "f.json", b"{}")
        with atomic_dir(tmp_path / "snap") as tmp:
            write_bytes_atomic(tmp / "a.parquet", b"x")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "f.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "snap").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "snap" / "a.parquet").stat().st_mode) == 0o644
