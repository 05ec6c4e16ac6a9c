"""SQL models: dependency order, docs coverage, and mart values checked by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline.config import Asset, Equity, Sector, Universe
from pipeline.errors import TokenriskError
from pipeline.lake import write_parquet_atomic
from pipeline.schemas import conform
from pipeline.warehouse.build import build_warehouse
from pipeline.warehouse.models import Model, build_order, discover, load_docs


def test_build_order_follows_references():
    order = [m.qualified for m in build_order(discover())]
    assert order.index("staging.stg_spot_prices") < order.index("intermediate.int_spot_daily")
    assert order.index("intermediate.int_spot_daily") < order.index("marts.fct_asset_daily")
    assert order.index("marts.fct_asset_daily") < order.index("marts.fct_sector_daily")
    assert order.index("intermediate.int_equity_returns") < order.index("marts.fct_sector_daily")


def test_cycles_and_unknown_references_are_reported(tmp_path):
    a = Model("marts", "a", "select * from marts.b", tmp_path / "a.sql")
    b = Model("marts", "b", "select * from marts.a", tmp_path / "b.sql")
    with pytest.raises(TokenriskError, match="cycle"):
        build_order([a, b])
    c = Model("marts", "c", "select * from marts.nosuch -- marts.ignored", tmp_path / "c.sql")
    with pytest.raises(TokenriskError, match=r"unknown \['marts.nosuch'\]"):
        build_order([c])


def test_every_model_and_mart_column_is_documented():
    docs = load_docs()
    for model in discover():
        assert model.qualified in docs, f"{model.qualified} has no entry in _models.yml"
        assert docs[model.qualified]["description"]


TINY = Universe(
    sectors={"ai": Sector(members=["AAA", "BBB"])},
    assets=[
        Asset(symbol="BTC", name="Bitcoin", coingecko_id="bitcoin", role="reference"),
        Asset(symbol="AAA", name="A", coingecko_id="a"),
        Asset(symbol="BBB", name="B", coingecko_id="b"),
    ],
    equities=[Equity(ticker="NVDA", stooq_symbol="nvda.us")],
)


def _spot(day: date, hour: int, asset: str, price: float, cap: float) -> dict:
    ts = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    return {
        "ts": ts,
        "asset": asset,
        "source": "t",
        "price_usd": price,
        "market_cap_usd": cap,
        "volume_usd": 1.0,
    }


@pytest.fixture
def tiny_build(lake, tmp_path):
    d1, d2 = date(2026, 2, 2), date(2026, 2, 3)
    spot = {
        d1: [
            _spot(d1, 12, "AAA", 99.0, 999.0),  # earlier point: not the close
            _spot(d1, 23, "AAA", 10.0, 100.0),
            _spot(d1, 23, "BBB", 20.0, 300.0),
            _spot(d1, 23, "BTC", 100.0, 5000.0),
        ],
        d2: [
            _spot(d2, 23, "AAA", 11.0, 110.0),
            _spot(d2, 23, "BBB", 18.0, 270.0),
            _spot(d2, 23, "BTC", 90.0, 4500.0),
        ],
    }
    equity = {
        d1: [
            {
                "date": d1,
                "ticker": "NVDA",
                "open": 1.0,
                "high": 2.0,
                "low": 1.0,
                "close": 100.0,
                "volume": 5.0,
            }
        ],
        d2: [
            {
                "date": d2,
                "ticker": "NVDA",
                "open": 1.0,
                "high": 2.0,
                "low": 1.0,
                "close": 95.0,
                "volume": 5.0,
            }
        ],
    }
    for day, rows in spot.items():
        write_parquet_atomic(
            conform(pl.DataFrame(rows), "spot_prices"), lake.staged_file("spot_prices", day)
        )
    for day, rows in equity.items():
        write_parquet_atomic(
            conform(pl.DataFrame(rows), "equity_prices"), lake.staged_file("equity_prices", day)
        )
    target = tmp_path / "build.duckdb"
    build_warehouse(lake, TINY, target, ["spot_prices", "equity_prices"])
    con = duckdb.connect(str(target), read_only=True)
    yield con
    con.close()


def test_asset_daily_close_is_last_point_and_returns_by_hand(tiny_build):
    rows = tiny_build.execute(
        "select date, asset, sector, close_usd, return_1d from marts.fct_asset_daily order by 1, 2"
    ).fetchall()
    assert rows[0] == (date(2026, 2, 2), "AAA", "ai", 10.0, None)
    aaa_d2 = next(r for r in rows if r[0] == date(2026, 2, 3) and r[1] == "AAA")
    assert aaa_d2[4] == pytest.approx(0.10)
    btc_d2 = next(r for r in rows if r[0] == date(2026, 2, 3) and r[1] == "BTC")
    assert btc_d2[2] is None  # reference assets belong to no sector


def test_sector_daily_by_hand(tiny_build):
    row = tiny_build.execute(
        """select n_assets, market_cap_usd, return_1d, return_1d_equal_weight, breadth_up_share,
                  btc_return_1d, equity_basket_return_1d, best_asset, worst_asset,
                  corr_btc_30d, drawdown_from_30d_high
           from marts.fct_sector_daily where date = '2026-02-03'"""
    ).fetchone()
    n, cap, r_cw, r_ew, breadth, btc, eq, best, worst, corr, dd = row
    assert (n, cap) == (2, 380.0)
    # cap-weighted with previous-day caps: (100 * 0.10 + 300 * -0.10) / 400
    assert r_cw == pytest.approx(-0.05)
    assert r_ew == pytest.approx(0.0)
    assert breadth == 0.5
    assert btc == pytest.approx(-0.10)
    assert eq == pytest.approx(-0.05)
    assert (best, worst) == ("AAA", "BBB")
    assert corr is None and dd is None  # 2 days of history: too short, NULL not invented


def test_comments_are_applied(tiny_build):
    comments = dict(
        tiny_build.execute(
            "select column_name, comment from duckdb_columns() "
            "where schema_name = 'marts' and table_name = 'fct_sector_daily'"
        ).fetchall()
    )
    assert all(comments.values()), [c for c, v in comments.items() if not v]
    docs = load_docs()["marts.fct_sector_daily"]["columns"]
    assert set(comments) == set(docs)


def test_build_without_staged_data_is_a_clear_error(lake, tmp_path):
    with pytest.raises(TokenriskError, match="no staged data for"):
        build_warehouse(lake, TINY, tmp_path / "b.duckdb", ["spot_prices", "equity_prices"])


def test_docs_tables_md_is_current():
    from pipeline.warehouse.docs import render

    path = Path(__file__).resolve().parents[2] / "docs" / "tables.md"
    assert path.read_text() == render(), "run: uv run python -m pipeline.warehouse.docs"
