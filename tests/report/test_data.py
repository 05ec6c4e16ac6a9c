"""The report's queries on a synthetic warehouse: concrete values, and panels without their marts."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest

from pipeline.errors import UsageError
from pipeline.report.charts import level_grid
from pipeline.report.data import (
    asset_table,
    cumulative_returns,
    largest_members,
    load_report_data,
)
from pipeline.warehouse.status import open_published
from tests.report.synthetic import build_data_dir

DAY = date(2026, 2, 5)


@pytest.fixture(scope="module")
def full_lake(tmp_path_factory):
    return build_data_dir(tmp_path_factory.mktemp("full") / "data")


@pytest.fixture(scope="module")
def spot_only_lake(tmp_path_factory):
    """What main publishes today: only the two spot marts."""
    return build_data_dir(
        tmp_path_factory.mktemp("spot") / "data", ("fct_asset_daily", "fct_sector_daily")
    )


def load(lake, day=DAY, **kw):
    with open_published(lake) as (con, prov):
        return load_report_data(con, prov, day, **kw)


def test_cumulative_returns_compound_from_the_first_day():
    frame = pl.DataFrame(
        {
            "date": [date(2026, 2, d) for d in (1, 2, 3, 4)],
            "return_1d": [0.5, 0.10, -0.10, None],
            "btc_return_1d": [None, 0.0, 0.2, 0.1],
            "equity_basket_return_1d": [0.01, None, 0.02, None],  # weekends have no return
        }
    )
    out = cumulative_returns(frame)
    assert out["cum_sector"].to_list() == pytest.approx([0.0, 0.1, 1.1 * 0.9 - 1, 1.1 * 0.9 - 1])
    assert out["cum_btc"].to_list() == pytest.approx([0.0, 0.0, 0.2, 1.2 * 1.1 - 1])
    assert out["cum_equities"].to_list() == pytest.approx([0.0, 0.0, 0.02, 0.02])


def test_full_warehouse_fills_every_panel(full_lake):
    data = load(full_lake)
    assert data.start == date(2026, 1, 1)  # the lookback is cut at the first day available
    assert data.history.height == 36 and data.history["date"][-1] == DAY
    assert data.kpis["return_1d"] == pytest.approx(-0.2, abs=0.002)  # the synthetic crash
    assert data.assets["asset"].to_list()[-2:] == ["BTC", "ETH"]  # references after members
    assert set(data.assets["sector"].to_list()[:5]) == {"ai"}
    assert {"open_interest_usd", "netflow_7d_usd", "risk_tier"} <= set(data.assets.columns)
    assert data.derivatives["asset"].unique().sort().to_list() == sorted(
        ["TAO", "NEAR", "ICP", "RENDER", "FET", "BTC", "ETH"]
    )
    assert list(data.levels) == ["ICP", "NEAR", "TAO"]  # the three largest members that day
    assert data.risk["asset"].to_list()[:2] == ["TAO", "NEAR"]  # by risk score
    assert data.risk["risk_tier"].to_list()[:2] == ["extreme", "high"]
    assert data.rows_on_day["fct_liquidation_levels"] == 6 * 2 * 10
    assert data.provenance.status == "passed"


def test_lookback_window_is_60_days_ending_on_the_day(full_lake):
    data = load(full_lake, lookback_days=10)
    assert data.start == date(2026, 1, 27) and data.history.height == 10


def test_panels_without_their_marts_are_none_not_errors(spot_only_lake):
    data = load(spot_only_lake)
    assert data.derivatives is None and data.levels is None and data.risk is None
    assert data.assets.columns == [
        "asset",
        "sector",
        "close_usd",
        "return_1d",
        "return_7d",
        "market_cap_usd",
        "volume_usd",
        "volatility_30d",
        "drawdown_from_30d_high",
    ]
    assert data.history.height == 36


def test_a_day_without_data_is_a_usage_error(full_lake):
    with pytest.raises(UsageError, match=r"no data for 2026-03-01 .*2026-01-01\.\.2026-02-09"):
        load(full_lake, date(2026, 3, 1))


def test_asset_table_and_largest_members_on_a_connection(full_lake):
    con = duckdb.connect(str(full_lake.warehouse), read_only=True)
    try:
        table = asset_table(con, DAY, ["fct_asset_daily"])
        assert table.height == 7 and "risk_tier" not in table.columns
        assert largest_members(con, "ai", DAY, date(2026, 1, 1), 2) == ["ICP", "NEAR"]
    finally:
        con.close()


def test_level_grid_sums_notional_into_price_bands():
    levels = pl.DataFrame(
        {
            "date": [date(2026, 2, 1)] * 3 + [date(2026, 2, 2)],
            "side": ["long", "long", "short", "long"],
            "price_level": [10.0, 10.4, 19.0, 14.9],
            "est_notional_usd": [1.0, 2.0, 5.0, 4.0],
        }
    )
    dates, mids, z = level_grid(levels, "long", 10.0, 20.0, bins=2)
    assert dates == [date(2026, 2, 1), date(2026, 2, 2)]
    assert mids == [12.5, 17.5]
    assert z == [[3.0, 4.0], [None, None]]
    _, _, z_short = level_grid(levels, "short", 10.0, 20.0, bins=2)
    assert z_short == [[None, None], [5.0, None]]
