"""Readers during publishes: 4 DuckDB readers and a Parquet reader loop while the warehouse is
published 10 times, alternating between two builds of different sizes. No reader may see an
error or a row count other than one of the two complete versions."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipeline.config import Settings
from pipeline.lake import Lake
from pipeline.stages.context import RunContext
from pipeline.stages.publish import export_marts
from pipeline.warehouse.publish import write_published

pytestmark = pytest.mark.e2e
READER = Path(__file__).with_name("reader.py")


def count(path: Path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select count(*) from marts.fct_sector_daily").fetchone()[0]
    finally:
        con.close()


def test_readers_never_see_a_half_published_warehouse(base, reference_dir, tmp_path):
    old = base / "warehouse" / "tokenrisk.duckdb"
    new = reference_dir / "warehouse" / "tokenrisk.duckdb"
    sizes = {count(old), count(new)}
    assert len(sizes) == 2
    lake = Lake.at(tmp_path / "data")
    write_published(old, lake.warehouse, "v1.1.0")
    ctx = RunContext(lake=lake, settings=Settings(), source_mode="demo")
    export_marts(ctx, old, None)
    stop = tmp_path / "stop"
    outs = [tmp_path / f"reader{i}.txt" for i in range(5)]
    procs = [
        subprocess.Popen([sys.executable, str(READER), str(lake.warehouse), str(stop), str(out)])
        for out in outs[:4]
    ]
    parquet_dir = lake.root / "marts" / "fct_sector_daily"
    procs.append(
        subprocess.Popen(
            [
                sys.executable,
                str(READER),
                str(lake.warehouse),
                str(stop),
                str(outs[4]),
                str(parquet_dir),
            ]
        )
    )
    try:
        time.sleep(2)  # let the readers start querying
        for i in range(10):
            source = new if i % 2 == 0 else old
            write_published(source, lake.warehouse, "v1.1.0")
            export_marts(ctx, source, None)
    finally:
        stop.touch()
        for p in procs:
            p.wait(timeout=60)
    for out in outs[:4]:
        lines = out.read_text().split()
        assert lines, out
        errors = [line for line in out.read_text().splitlines() if line.startswith("ERROR")]
        assert errors == []
        assert {int(x) for x in lines} <= sizes
    parquet_lines = outs[4].read_text().splitlines()
    assert parquet_lines and not [line for line in parquet_lines if line.startswith("ERROR")]
    # the export only adds whole day files: the reader sees the old days or old + new days
    assert {int(x) for x in parquet_lines} <= sizes
