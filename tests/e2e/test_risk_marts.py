"""The risk marts on the demo run: grain, ground truth, validation figures, incremental builds."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipeline.validate import spearman
from tests.conftest import run_cli

pytestmark = pytest.mark.e2e

RISK_MARTS = {
    "fct_derivatives_daily": ["date", "asset"],
    "fct_exchange_flows_daily": ["date", "asset"],
    "fct_liquidity_daily": ["date", "asset", "venue"],
    "fct_liquidation_levels": ["date", "asset", "side", "price_level"],
    "fct_liquidation_risk_daily": ["date", "asset"],
}


def query(path: Path, sql: str) -> pl.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return pl.from_arrow(con.sql(sql).to_arrow_table())
    finally:
        con.close()


def test_every_risk_mart_has_one_row_per_key_per_day(demo_dir):
    warehouse = demo_dir / "warehouse" / "tokenrisk.duckdb"
    for table, key in RISK_MARTS.items():
        frame = query(warehouse, f"select * from marts.{table}")
        assert frame.height > 0, table
        assert frame.select(key).is_duplicated().sum() == 0, table
    daily = query(
        warehouse, "select date, count(*) as n from marts.fct_liquidation_risk_daily group by 1"
    )
    assert daily.height == 22 and set(daily["n"]) == {7}  # 22 days x 7 assets
    risk = query(warehouse, "select * from marts.fct_liquidation_risk_daily")
    assert risk["risk_score"].is_between(0, 100).all()
    assert set(risk["risk_tier"]) <= {"low", "elevated", "high", "extreme"}


def test_truth_crash_day_and_staged_liquidations_are_a_subset(demo_dir):
    truth = pl.read_parquet(demo_dir / "demo_truth/liquidations/date=2026-02-05/part-0.parquet")
    assert truth.columns == ["ts", "venue", "asset", "side", "price", "qty_base", "notional_usd"]
    total = truth["notional_usd"].sum()
    longs = truth.filter(pl.col("side") == "long")["notional_usd"].sum()
    assert 2.0e9 <= total <= 3.2e9
    assert longs / total > 0.7
    staged = pl.read_parquet(demo_dir / "staged/liquidations/date=2026-02-05/part-0.parquet")
    assert set(staged["venue"]) == {"okx"}  # the only venue publishing liquidations
    okx_truth = truth.filter(pl.col("venue") == "okx")
    assert staged["notional_usd"].sum() == pytest.approx(okx_truth["notional_usd"].sum(), rel=1e-6)
    # open interest falls on the crash day
    oi = query(
        demo_dir / "warehouse" / "tokenrisk.duckdb",
        "select date, sum(open_interest_usd) as oi from marts.fct_derivatives_daily "
        "where date in ('2026-02-04', '2026-02-05') group by 1 order by 1",
    )
    assert oi["oi"][1] < oi["oi"][0]


def test_validation_meets_the_targets(demo_dir, tmp_path):
    out = tmp_path / "validation.json"
    run_cli("validate", "--data-dir", str(demo_dir), "--json", str(out), check=True)
    figures = json.loads(out.read_text())
    assert figures["spearman_long_10pct"] >= 0.6
    assert figures["top5_overlap"] >= 3
    assert figures["asset_days_with_fall"] >= 7  # every asset fell >= 5% on the crash day


def test_spearman_matches_a_hand_computed_value():
    # ranks a: 1 2 3 4 5, b: 2 1 4 3 5 -> d^2 = 1+1+1+1+0 = 4 -> 1 - 6*4/(5*24) = 0.8
    a = pl.Series([10.0, 20.0, 30.0, 40.0, 50.0])
    b = pl.Series([2.0, 1.0, 4.0, 3.0, 5.0])
    assert spearman(a, b) == pytest.approx(0.8)
    assert spearman(a[:2], b[:2]) is None


@pytest.fixture(scope="module")
def long_history(tmp_path_factory) -> Path:
    """A demo run long enough (85 days) that an incremental build's 75-day window excludes data."""
    data = tmp_path_factory.mktemp("long") / "data"
    run_cli(
        "run", "--start", "2025-11-18", "--end", "2026-02-10", "--data-dir", str(data), check=True
    )
    return data


def test_incremental_build_equals_full_rebuild(long_history):
    published = long_history / "warehouse" / "tokenrisk.duckdb"
    info = json.loads((long_history / "warehouse" / "published.json").read_text())
    result = run_cli("build", "--date", "2026-02-09", "--data-dir", str(long_history), check=True)
    assert "incremental from 2026-02-09" in result.stdout
    builds = sorted((long_history / "warehouse" / "builds").glob("*.duckdb"))
    incremental = builds[-1]
    assert incremental.stem != info["build"]
    for table in ["fct_asset_daily", "fct_sector_daily", "fct_watchlist_daily", *RISK_MARTS]:
        full = query(published, f"select * from marts.{table} order by all")
        inc = query(incremental, f"select * from marts.{table} order by all")
        # sums in a different order differ in the last bits: compare to 1e-9 relative
        assert_frame_equal(full, inc, check_exact=False, rel_tol=1e-9, abs_tol=1e-6)
        recomputed = inc.filter(pl.col("date") >= date(2026, 2, 9))
        assert recomputed.height > 0, table


def test_a_build_in_windows_equals_one_full_build(long_history):
    """A long build goes in windows (each an incremental build on the one before, so its
    memory follows the window): with 20-day windows the 85 days take 5, and every mart equals
    the published single full build's."""
    published = long_history / "warehouse" / "tokenrisk.duckdb"
    result = run_cli(
        "build",
        "--data-dir",
        str(long_history),
        env={"TOKENRISK_BUILD_CHUNK_DAYS": "20"},
        check=True,
    )
    assert "full, in 5 windows of 20 days" in result.stdout
    builds = sorted((long_history / "warehouse" / "builds").glob("*.duckdb"))
    windowed = builds[-1]
    assert not list(windowed.parent.glob(".*.duckdb"))  # the window files are gone
    for table in ["fct_asset_daily", "fct_sector_daily", "fct_watchlist_daily", *RISK_MARTS]:
        full = query(published, f"select * from marts.{table} order by all")
        win = query(windowed, f"select * from marts.{table} order by all")
        assert full.height > 0, table
        assert_frame_equal(full, win, check_exact=False, rel_tol=1e-9, abs_tol=1e-6)
