"""Two-step parsers: stage runs the vectorised step once over a day's bodies. On real published
responses, that must give exactly the rows of parsing each body alone and concatenating."""

from __future__ import annotations

import json

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipeline.errors import ParseError
from pipeline.sources import binance, bybit, okx
from pipeline.sources.base import TwoStep
from tests.conftest import sample

# (parser, [(sample file, key), ...]): several bodies of one dataset, as a stage day holds
BATCHES = {
    "binance perp_klines": (
        binance.parse_klines,
        [
            ("binance/fapi_v1_klines_docsite.json", "ETH"),
            ("binance/fapi_v1_klines_docsite.json", "BTC"),
        ],
    ),
    "binance funding_rates": (
        binance.parse_funding,
        [
            ("binance/fapi_v1_fundingrate_docsite.json", ""),
            ("binance/fapi_v1_fundingRate_docexample.json", ""),
        ],
    ),
    "binance open_interest": (
        binance.parse_open_interest,
        [
            ("binance/futures_data_openinteresthist_docsite.json", ""),
            ("binance/futures_data_openInterestHist_docexample.json", ""),
        ],
    ),
    "binance long_short_ratio": (
        binance.parse_long_short,
        [
            (
                "binance/futures_data_globallongshortaccountratio_docsite.json",
                "BTC@global_accounts",
            ),
            ("binance/futures_data_toplongshortpositionratio_docsite.json", "BTC@top_positions"),
        ],
    ),
    "bybit perp_klines": (
        bybit.parse_kline,
        [("bybit/kline.json", "BTC"), ("bybit/kline.json", "ETH")],
    ),
    "bybit funding_rates": (
        bybit.parse_funding,
        [("bybit/funding_history.json", "ETH"), ("bybit/funding_history.json", "BTC")],
    ),
    "bybit open_interest": (bybit.parse_open_interest, [("bybit/open_interest.json", "BTC")] * 2),
    "bybit long_short_ratio": (bybit.parse_account_ratio, [("bybit/account_ratio.json", "")] * 2),
    "okx perp_klines": (
        okx.parse_candles,
        [("okx/market_history_candles_docexample.json", "NEAR")] * 2,
    ),
    "okx funding_rates": (
        okx.parse_funding,
        [("okx/public_funding_rate_history_docexample.json", "BTC")] * 2,
    ),
    "okx open_interest": (
        okx.parse_open_interest,
        [("okx/public_open_interest_docexample.json", "")] * 2,
    ),
}


def _bodies(files: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(sample(name).read_text(), key) for name, key in files]


@pytest.mark.parametrize("name", sorted(BATCHES))
def test_one_query_over_many_bodies_equals_each_body_alone(name):
    parser, files = BATCHES[name]
    assert isinstance(parser, TwoStep)
    bodies = _bodies(files)
    alone = pl.concat([parser(body, key) for body, key in bodies])
    together = parser.many([parser.columns(body, key)[0] for body, key in bodies], name)
    assert alone.height > 0
    assert_frame_equal(together, alone)


def test_funding_interval_is_measured_within_each_body():
    """A body with one settlement gets the default 8 h even when the body beside it in the
    batch settles every 4 hours (the spacing is never taken across bodies)."""
    doc = json.loads(sample("binance/fapi_v1_fundingrate_docsite.json").read_text())
    assert len(doc) == 2
    first = doc[0]["fundingTime"]
    four_hourly = [doc[0], {**doc[1], "fundingTime": first + 4 * 3_600_000}]
    single = [{**doc[0], "fundingTime": first + 2 * 3_600_000}]  # between the other two
    parser = binance.parse_funding
    frames = [parser.columns(json.dumps(d), "")[0] for d in (four_hourly, single)]
    out = parser.many(frames, "test")
    assert out["interval_hours"].to_list() == [4.0, 4.0, 8.0]
    # and alone, the four-hourly body says 4 h, the single one 8 h (the default)
    assert parser(json.dumps(four_hourly), "")["interval_hours"].to_list() == [4.0, 4.0]
    assert parser(json.dumps(single), "")["interval_hours"].to_list() == [8.0]


def test_a_bad_value_in_one_body_fails_the_batch():
    good = sample("bybit/open_interest.json").read_text()
    doc = json.loads(good)
    doc["result"]["list"][1]["singleOpenInterest"] = "n/a"
    bad = json.dumps(doc)
    parser = bybit.parse_open_interest
    frames = [parser.columns(b, "BTC")[0] for b in (good, bad, good)]
    with pytest.raises(ParseError, match="not a number"):
        parser.many(frames, "bybit open_interest 2026-02-05")
