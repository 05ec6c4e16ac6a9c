"""Coin Metrics parser on the API's published examples, pagination and free-tier coverage."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from pipeline.config import load_sources, load_universe
from pipeline.demo.market import DemoMarket
from pipeline.demo.transport import DemoTransport
from pipeline.errors import ParseError
from pipeline.http import HttpClient
from pipeline.sources import coinmetrics, find
from pipeline.sources.base import FetchContext
from tests.conftest import sample

DAY = date(2026, 2, 5)


def test_daily_body_maps_time_and_asset_and_leaves_absent_metrics_null():
    # the published daily example carries other metrics (SplyBMXNtv, PriceUSD): the flow
    # columns are NULL, and the staged gate's not-null checks refuse such rows
    body = sample("coinmetrics/timeseries_asset_metrics_200_daily_metrics_oas_example.json")
    rows = coinmetrics.parse_asset_metrics(body.read_text(), "")
    assert rows["date"].to_list() == [date(2020, 2, 29), date(2020, 3, 1)]
    assert rows["asset"].to_list() == ["BTC", "BTC"]
    assert rows["inflow_native"].null_count() == 2


def test_flow_metrics_as_strings():
    doc = {
        "data": [
            {
                "asset": "eth",
                "time": "2026-02-05T00:00:00.000000000Z",
                "FlowInExNtv": "1234.5",
                "FlowOutExNtv": "1000.25",
                "SplyExNtv": "17000000.0",
                "FlowInExNtv-status": "reviewed",
            }
        ],
    }
    row = coinmetrics.parse_asset_metrics(json.dumps(doc), "").row(0, named=True)
    assert row == {
        "date": DAY,
        "asset": "ETH",
        "source": "coinmetrics",
        "inflow_native": 1234.5,
        "outflow_native": 1000.25,
        "reserve_native": 17_000_000.0,
    }


@pytest.mark.parametrize(
    ("file", "message"),
    [
        ("timeseries_asset_metrics_403_oas_example.json", "API error forbidden: Requested metric"),
        ("timeseries_asset_metrics_400_oas_example.json", "API error"),
        ("timeseries_asset_metrics_401_unauthorized_oas_example.json", "API error"),
    ],
)
def test_error_bodies(file, message):
    with pytest.raises(ParseError, match=message):
        coinmetrics.parse_asset_metrics(sample(f"coinmetrics/{file}").read_text(), "BTC")


def test_missing_time_and_bad_value():
    with pytest.raises(ParseError, match="missing field 'time'"):
        coinmetrics.parse_asset_metrics(json.dumps({"data": [{"asset": "btc"}]}), "")
    bad = {"data": [{"asset": "btc", "time": "2026-02-05T00:00:00Z", "FlowInExNtv": "lots"}]}
    with pytest.raises(ParseError, match="not a number"):
        coinmetrics.parse_asset_metrics(json.dumps(bad), "")


def test_only_free_coverage_is_requested():
    ctx = FetchContext(DAY, date(2026, 2, 6), load_universe(), load_sources()["coinmetrics"])
    assert [s.key for s in coinmetrics.flow_requests(ctx)] == ["BTC", "ETH"]


def test_demo_pages_and_refuses_uncovered_assets():
    demo = DemoTransport(DemoMarket.from_config(load_universe()))
    cfg = load_sources()["coinmetrics"].model_copy(update={"page_limit": 1})
    ctx = FetchContext(DAY, date(2026, 2, 6), load_universe(), cfg)
    entry = find("coinmetrics", "exchange_flows")
    spec = entry.requests(ctx)[0]
    spec = type(spec)(**{**spec.__dict__, "params": {**spec.params, "start_time": "2026-02-04"}})
    frames = []
    with HttpClient(load_sources(), transport=demo, pace=False, sleep=lambda s: None) as client:
        while spec is not None:
            body = client.get(spec).text
            frames.append(entry.parse(body, spec.key))
            spec = entry.next_page(spec, body, len(frames))
        rows = pl.concat(frames)
        assert len(frames) == 2  # two days, page size 1
        truth = [demo.world.perps.exchange_flows("BTC", d) for d in (date(2026, 2, 4), DAY)]
        assert rows["inflow_native"].to_list() == pytest.approx([t[0] for t in truth])
        assert rows["reserve_native"].to_list() == pytest.approx([t[2] for t in truth])
        tao = client._client.get(
            "https://community-api.coinmetrics.io/v4/timeseries/asset-metrics",
            params={
                "assets": "tao",
                "metrics": "FlowInExNtv",
                "start_time": "2026-02-05",
                "end_time": "2026-02-05",
            },
        )
    assert tao.status_code == 403 and tao.json()["error"]["type"] == "forbidden"
