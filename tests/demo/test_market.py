"""The demo market: calibrated to the February 2026 crash, deterministic, any date range."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from pipeline.demo.market import DemoMarket


@pytest.fixture(scope="module")
def market():
    from pipeline.config import load_universe

    return DemoMarket.from_config(load_universe())


def test_crash_calibration(market):
    btc_4, btc_5 = market.close("BTC", date(2026, 2, 4)), market.close("BTC", date(2026, 2, 5))
    assert btc_5 / btc_4 - 1 == pytest.approx(-0.18, abs=0.01)
    assert 55_000 <= btc_5 <= 65_000
    tao_week = market.close("TAO", date(2026, 2, 6)) / market.close("TAO", date(2026, 1, 30)) - 1
    assert tao_week == pytest.approx(-0.23, abs=0.01)
    near_week = market.close("NEAR", date(2026, 2, 6)) / market.close("NEAR", date(2026, 1, 30)) - 1
    assert near_week == pytest.approx(-0.25, abs=0.01)
    for asset in ("ICP", "RENDER"):
        week = market.close(asset, date(2026, 2, 6)) / market.close(asset, date(2026, 1, 30)) - 1
        assert week <= -0.10, asset
    start = datetime(2026, 2, 6, 23, tzinfo=UTC)
    tao = market.spot("TAO", start, start + timedelta(hours=1))
    assert tao["market_cap"][0] == pytest.approx(1.58e9, rel=0.03)


def test_equities_fall_in_crash_week(market):
    def week(ticker):
        bars = {
            b["date"]: b["close"]
            for b in market.equity_bars(ticker, date(2026, 1, 30), date(2026, 2, 6))
        }
        return bars[date(2026, 2, 6)] / bars[date(2026, 1, 30)] - 1

    assert week("MSFT") == pytest.approx(-0.08, abs=0.01)
    assert week("AMD") == pytest.approx(-0.18, abs=0.01)
    assert week("NVDA") == pytest.approx(-0.10, abs=0.01)


def test_same_hour_same_value_whatever_the_range(market):
    a = market.spot("NEAR", datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 3, tzinfo=UTC))
    b = market.spot("NEAR", datetime(2026, 2, 2, tzinfo=UTC), datetime(2026, 2, 2, 6, tzinfo=UTC))
    np.testing.assert_array_equal(a["price"][24:30], b["price"])
    np.testing.assert_array_equal(a["volume_24h"][24:30], b["volume_24h"])


def test_other_ranges_and_synthetic_universe():
    from pipeline.config import load_universe

    big = load_universe().with_synthetic_assets(50)
    market = DemoMarket.from_config(big)
    out = market.spot("SYN0042", datetime(2021, 3, 1, tzinfo=UTC), datetime(2021, 3, 2, tzinfo=UTC))
    assert len(out["price"]) == 24
    assert np.all(out["price"] > 0) and np.all(np.isfinite(out["price"]))
    assert np.all(out["volume_24h"] > 0)


def test_equity_bars_only_on_trading_days(market):
    bars = market.equity_bars("NVDA", date(2026, 1, 17), date(2026, 1, 25))
    days = [b["date"] for b in bars]
    # 17-18 Jan weekend, 19 Jan Martin Luther King Jr. Day, 24-25 weekend
    assert days == [date(2026, 1, d) for d in (20, 21, 22, 23)]
    for b in bars:
        assert b["low"] <= min(b["open"], b["close"]) <= max(b["open"], b["close"]) <= b["high"]
