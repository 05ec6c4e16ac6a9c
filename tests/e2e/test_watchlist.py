"""The watch-list end to end: a demo run over the default window fills the watch-list datasets
and builds marts.fct_watchlist_daily with one row per day and key, every gate passing."""

from __future__ import annotations

import json

import duckdb
import pytest

from pipeline.config import load_universe

pytestmark = pytest.mark.e2e

DATASETS = (
    "options_activity",
    "options_volatility",
    "developer_activity",
    "onchain_activity",
    "capex_guidance",
)


def test_demo_run_fills_the_watchlist_datasets(demo_dir):
    for dataset in DATASETS:
        days = sorted((demo_dir / "staged" / dataset).glob("date=*/part-0.parquet"))
        assert len(days) == 22, dataset
    gates = [json.loads(p.read_text()) for p in (demo_dir / "quality").glob("*/staged.json")]
    checked = {r["dataset"]: r["success"] for run in gates for r in run}
    assert all(checked[d] for d in DATASETS)


def test_watchlist_mart_has_one_row_per_day_and_key(demo_dir):
    universe = load_universe()
    con = duckdb.connect(str(demo_dir / "warehouse" / "tokenrisk.duckdb"), read_only=True)
    try:
        n_days, n_keys, n_rows = con.execute(
            "select count(distinct date), count(distinct key), count(*) "
            "from marts.fct_watchlist_daily"
        ).fetchone()
        assert (n_days, n_keys) == (22, len(universe.symbols) + len(universe.sectors))
        assert n_rows == n_days * n_keys
        crash = dict(
            con.execute(
                "select key, flags from marts.fct_watchlist_daily where date = '2026-02-05'"
            ).fetchall()
        )
        assert "BTC 7d drawdown > 15%" in crash["BTC"]
        assert "options: puts > 60% of volume" in crash["BTC"]
        assert "hyperscaler capex guidance raised" in crash["ai"]
        notes = con.execute(
            "select distinct onchain_note from marts.fct_watchlist_daily where key = 'TAO'"
        ).fetchall()
        assert notes == [("no free Coin Metrics network data for this asset (community API)",)]
    finally:
        con.close()
    marts = [json.loads(p.read_text()) for p in (demo_dir / "quality").glob("*/marts.json")]
    results = {r["dataset"]: r["success"] for run in marts for r in run}
    assert results["fct_watchlist_daily"] is True
