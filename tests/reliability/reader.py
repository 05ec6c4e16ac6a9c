"""A BI-style reader: short read-only connections in a loop until told to stop.

Usage: python reader.py WAREHOUSE STOPFILE OUTFILE [parquet-dir]
Writes one line per query to OUTFILE: the row count, or "ERROR <message>".
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import duckdb
import polars as pl

warehouse, stop, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
parquet_dir = Path(sys.argv[4]) if len(sys.argv) > 4 else None
deadline = time.monotonic() + 120  # bounded even if the test dies
with out.open("w") as fh:
    while not stop.exists() and time.monotonic() < deadline:
        try:
            if parquet_dir is not None:
                n = pl.read_parquet(parquet_dir / "**" / "*.parquet").height
            else:
                con = duckdb.connect(str(warehouse), read_only=True)
                try:
                    n = con.execute("select count(*) from marts.fct_sector_daily").fetchone()[0]
                finally:
                    con.close()
            fh.write(f"{n}\n")
        except Exception as exc:
            fh.write(f"ERROR {type(exc).__name__}: {str(exc).splitlines()[0]}\n")
        fh.flush()
