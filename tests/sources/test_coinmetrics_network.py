"""Coin Metrics on-chain activity: published examples, demo round trip, coverage, errors."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from pipeline.config import load_sources, load_universe
from pipeline.demo.market import DemoMarket
from pipeline.demo.transport import DemoTransport
from pipeline.demo.watchlist import WatchlistSim
from pipeline.errors import ParseError
from pipeline.http import HttpClient
from pipeline.sources import coinmetrics, coinmetrics_network
from pipeline.sources.base import FetchContext
from tests.conftest import sample

DAY = date(2026, 2, 5)


def ctx_for(day: date = DAY) -> FetchContext:
    return FetchContext(
        day=day,
        today=day + timedelta(days=1),
        universe=load_universe(),
        cfg=load_sources()["coinmetrics"],
    )


def test_published_daily_example_without_network_metrics_names_the_missing_one():
    # the OAS daily example carries SplyBMXNtv and PriceUSD, not AdrActCnt: refused by name
    body = sample("coinmetrics/timeseries_asset_metrics_200_daily_metrics_oas_example.json")
    with pytest.raises(ParseError, match="row 0 is missing field 'AdrActCnt'"):
        coinmetrics_network.parse_network_metrics(body.read_text(), "")


def test_published_403_is_an_api_error():
    body = sample("coinmetrics/timeseries_asset_metrics_403_oas_example.json")
    with pytest.raises(ParseError, match="API error forbidden"):
        coinmetrics_network.parse_network_metrics(body.read_text(), "BTC")


def test_string_values_and_the_published_time_format():
    doc = {
        "data": [
            {
                "asset": "btc",
                "time": "2026-02-05T00:00:00.000000000Z",
                "AdrActCnt": "812345",
                "TxCnt": "456789",
            }
        ]
    }
    row = coinmetrics_network.parse_network_metrics(json.dumps(doc), "").row(0, named=True)
    assert row == {
        "date": DAY,
        "asset": "BTC",
        "source": "coinmetrics",
        "active_addresses": 812345.0,
        "tx_count": 456789.0,
    }


def test_non_numeric_metric_is_refused():
    doc = {
        "data": [{"asset": "btc", "time": "2026-02-05T00:00:00Z", "AdrActCnt": "n/a", "TxCnt": "1"}]
    }
    with pytest.raises(ParseError, match="not a number"):
        coinmetrics_network.parse_network_metrics(json.dumps(doc), "BTC")


def test_only_covered_assets_are_requested():
    assert [s.key for s in coinmetrics_network.network_requests(ctx_for())] == ["BTC", "ETH"]


def test_demo_round_trip_and_the_flow_metrics_still_answer():
    market = DemoMarket.from_config(load_universe())
    with HttpClient(
        load_sources(), transport=DemoTransport(market), pace=False, sleep=lambda s: None
    ) as client:
        for spec in coinmetrics_network.network_requests(ctx_for()):
            row = coinmetrics_network.parse_network_metrics(client.get(spec).text, spec.key).row(
                0, named=True
            )
            assert (row["active_addresses"], row["tx_count"]) == WatchlistSim(market).network(
                spec.key, DAY
            )
        # the exchange-flow requests of the same endpoint are handed on unchanged
        flows = coinmetrics.flow_requests(ctx_for())[0]
        assert coinmetrics.parse_asset_metrics(client.get(flows).text, "BTC").height == 1
        # an uncovered asset answers 403 as the community API does
        spec = coinmetrics_network.network_requests(ctx_for())[0]
        response = client._client.get(spec.url, params={**spec.params, "assets": "tao"})
        assert response.status_code == 403


def test_demo_on_chain_activity_rises_on_the_crash_day():
    sim = WatchlistSim(DemoMarket.from_config(load_universe()))
    assert sim.network("BTC", DAY)[0] > 1.2 * sim.network("BTC", date(2026, 1, 27))[0]
