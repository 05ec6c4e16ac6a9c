"""Reruns in any order and over overlapping ranges give the same staged bytes and marts."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.e2e


def staged_bytes(data: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(data)): p.read_bytes() for p in sorted(data.glob("staged/**/*.parquet"))
    }


def marts(data: Path) -> dict[str, list]:
    con = duckdb.connect(str(data / "warehouse" / "tokenrisk.duckdb"), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts'"
            ).fetchall()
        ]
        return {t: con.execute(f"select * from marts.{t} order by all").fetchall() for t in tables}
    finally:
        con.close()


def test_overlapping_ranges_in_reverse_order_equal_one_run(base, tmp_path):
    # `base` ran 2026-02-01..2026-02-05 at once; here: the later days first, then an overlap
    data = tmp_path / "data"
    run_cli(
        "run", "--start", "2026-02-03", "--end", "2026-02-05", "--data-dir", str(data), check=True
    )
    run_cli(  # staged two days at a time, as a long backfill stages its chunks
        "run",
        "--start",
        "2026-02-01",
        "--end",
        "2026-02-04",
        "--data-dir",
        str(data),
        env={"TOKENRISK_STAGE_CHUNK_DAYS": "2"},
        check=True,
    )
    assert staged_bytes(data) == staged_bytes(base)
    assert marts(data) == marts(base)
    # days 3 and 4 were landed twice: both responses are kept
    raw = list((data / "raw/source=binance/dataset=funding_rates/date=2026-02-03").glob("*.gz"))
    assert len(raw) == 2 * len(
        list((base / "raw/source=binance/dataset=funding_rates/date=2026-02-03").glob("*.gz"))
    )
