"""The gate: bad values fail with names and samples; errors fail like failures; warnings pass."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl

from pipeline.quality.frames import PARTITION, staged_frames
from pipeline.quality.gate import run_checks
from pipeline.quality.suites import Check, staged_suite
from pipeline.schemas import conform


def _spot_day(day: date, prices: dict[str, list[float]]) -> pl.DataFrame:
    rows = [
        {
            "ts": datetime(day.year, day.month, day.day, h, tzinfo=UTC),
            "asset": asset,
            "source": "coingecko",
            "price_usd": p,
            "market_cap_usd": abs(p) * 1e6,
            "volume_usd": 1e5,
        }
        for asset, series in prices.items()
        for h, p in enumerate(series)
    ]
    return conform(pl.DataFrame(rows), "spot_prices").with_columns(pl.lit(day).alias(PARTITION))


def _gate_spot(df: pl.DataFrame, universe):
    frames = staged_frames("spot_prices", df)
    return run_checks(
        "staged", "spot_prices", frames, staged_suite("spot_prices", universe), PARTITION
    )


def test_clean_day_passes(universe):
    df = _spot_day(date(2026, 2, 3), {"TAO": [190.0] * 24, "BTC": [70_000.0] * 24})
    result = _gate_spot(df, universe)
    assert result.success, result.failures
    assert result.bad_rows is None


def test_negative_price_fails_names_day_and_quarantines_only_that_row(universe):
    prices = [190.0] * 24
    prices[7] = -190.0
    df = _spot_day(date(2026, 2, 3), {"TAO": prices, "BTC": [70_000.0] * 24})
    result = _gate_spot(df, universe)
    assert not result.success
    failed = {f.check: f for f in result.failures}
    price_check = failed["ExpectColumnValuesToBeBetween(price_usd)"]
    assert price_check.unexpected_count == 1
    assert price_check.sample == [-190.0]
    assert price_check.days == ["2026-02-03"]
    assert result.bad_rows.height == 1
    assert result.bad_rows["price_usd"].to_list() == [-190.0]
    assert result.bad_rows["ts"][0].hour == 7
    line = result.describe_failure()
    assert "stage=staged dataset=spot_prices day=2026-02-03" in line
    assert "ExpectColumnValuesToBeBetween(price_usd)" in line and "-190.0" in line
    assert "\n" not in line


def test_incomplete_day_and_unknown_asset_fail(universe):
    df = _spot_day(date(2026, 2, 3), {"TAO": [190.0] * 10, "DOGE": [0.1] * 24})
    result = _gate_spot(df, universe)
    checks = {f.check for f in result.failures}
    assert "ExpectColumnValuesToBeBetween(n_points)" in checks
    assert "ExpectColumnValuesToBeInSet(asset)" in checks


def test_a_check_that_errors_fails_the_gate():
    df = pl.DataFrame({"a": [1, 2], "day": ["2026-02-03"] * 2})
    result = run_checks(
        "staged",
        "x",
        {"rows": df},
        [Check("ExpectColumnValuesToNotBeNull", {"column": "nosuch"})],
        "day",
    )
    assert not result.success
    assert result.failures[0].errored
    assert "nosuch" in result.failures[0].message


def test_warnings_do_not_fail_the_gate():
    df = pl.DataFrame({"a": [1.0, 100.0], "day": ["2026-02-03"] * 2})
    check = Check(
        "ExpectColumnValuesToBeBetween", {"column": "a", "max_value": 10}, severity="warn"
    )
    result = run_checks("staged", "x", {"rows": df}, [check], "day")
    assert result.success
    assert len(result.warnings) == 1
    assert result.bad_rows is None
