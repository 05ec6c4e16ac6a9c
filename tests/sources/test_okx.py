"""OKX v5 parsers on the official docs' responses, and the demo round trip."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import polars as pl
import pytest

from pipeline.config import load_sources, load_universe
from pipeline.demo.market import DemoMarket
from pipeline.demo.transport import DemoTransport
from pipeline.errors import ParseError, SourceError
from pipeline.http import HttpClient
from pipeline.sources import find, okx
from pipeline.sources.base import FetchContext
from tests.conftest import sample

DAY = date(2026, 2, 5)


def ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def test_history_candles_keep_every_row():
    rows = okx.parse_candles(
        sample("okx/market_history_candles_docexample.json").read_text(), "NEAR"
    )
    assert rows.height == 2  # the docs repeat a timestamp; staging de-duplicates
    first = rows.row(0, named=True)
    assert first["ts"] == ms(1597026383085)
    assert (first["open"], first["close"]) == (3.721, 3.708)
    assert first["volume_base"] == 22698348.04828491  # volCcy
    assert first["volume_usd"] == 12698348.04828491  # volCcyQuote


def test_funding_rate_history():
    path = sample("okx/public_funding_rate_history_docexample.json")
    with pytest.raises(ParseError, match="unknown okx symbol 'BTC-USD-SWAP'"):
        okx.parse_funding(path.read_text(), "")
    rows = okx.parse_funding(path.read_text(), "BTC").sort("ts")
    assert rows["funding_rate"].to_list() == [0.000227985782722, 0.0000746604960499]
    assert rows["ts"].to_list() == [ms(1703030400000), ms(1703059200000)]
    assert rows["interval_hours"].to_list() == [8.0, 8.0]


def test_open_interest_snapshot():
    rows = okx.parse_open_interest(
        sample("okx/public_open_interest_docexample.json").read_text(), ""
    )
    assert rows.row(0, named=True) == {
        "ts": ms(1597026383085),
        "venue": "okx",
        "asset": "BTC",
        "open_interest_base": 555.55,
        "open_interest_usd": 50000.0,
    }


def test_liquidation_push_and_rest_shapes():
    # the docs' WebSocket push (REST has the same details); IOST is not in the universe
    push = sample("okx/ws_liquidation_orders_push_docexample_NOT_REST.json").read_text()
    with pytest.raises(ParseError, match="unknown okx symbol 'IOST-USDT-SWAP'"):
        okx.parse_liquidations(push, "")
    rows = okx.parse_liquidations(push, "NEAR")  # NEAR-USDT-SWAP: 10 tokens per contract
    assert rows.row(0, named=True) == {
        "ts": ms(1692266434010),
        "venue": "okx",
        "asset": "NEAR",
        "side": "short",
        "price": 0.007831,
        "qty_base": 130.0,
        "notional_usd": pytest.approx(1.01803),
    }


def test_net_mode_side_from_the_order_side():
    doc = {
        "code": "0",
        "msg": "",
        "data": [
            {
                "instId": "BTC-USDT-SWAP",
                "instFamily": "BTC-USDT",
                "details": [
                    {
                        "bkPx": "60000",
                        "sz": "3",
                        "side": "sell",
                        "posSide": "net",
                        "ts": "1770249600000",
                    }
                ],
            }
        ],
    }
    row = okx.parse_liquidations(json.dumps(doc), "").row(0, named=True)
    assert row["side"] == "long"  # a sell order closes a long
    assert row["qty_base"] == pytest.approx(0.03) and row["notional_usd"] == pytest.approx(1800)


def test_error_envelope_and_missing_field():
    with pytest.raises(ParseError, match="code 51001: Instrument ID does not exist"):
        okx.parse_funding(
            json.dumps({"code": "51001", "msg": "Instrument ID does not exist", "data": []}), "BTC"
        )
    doc = json.loads(sample("okx/public_funding_rate_history_docexample.json").read_text())
    doc["data"][1].pop("fundingRate")
    with pytest.raises(ParseError, match="row 1 is missing field 'fundingRate'"):
        okx.parse_funding(json.dumps(doc), "BTC")


def test_liquidation_history_limit_is_named():
    ctx = FetchContext(date(2026, 1, 1), date(2026, 2, 6), load_universe(), load_sources()["okx"])
    with pytest.raises(SourceError, match="only the last 1 days"):
        find("okx", "liquidations").requests(ctx)


@pytest.fixture(scope="module")
def demo():
    return DemoTransport(DemoMarket.from_config(load_universe()))


def test_staged_liquidations_reproduce_the_simulators_okx_orders(demo):
    ctx = FetchContext(DAY, date(2026, 2, 6), load_universe(), load_sources()["okx"])
    entry = find("okx", "liquidations")
    frames, pages = [], 0
    with HttpClient(load_sources(), transport=demo, pace=False, sleep=lambda s: None) as client:
        for spec in entry.requests(ctx):
            while spec is not None:
                body = client.get(spec).text
                pages += 1
                frames.append(entry.parse(body, spec.key))
                spec = entry.next_page(spec, body, pages)
    rows = pl.concat(frames).unique()  # staging drops the overlap's exact duplicates
    rows = rows.filter(pl.col("ts").dt.date() == DAY)
    truth = demo.world.perps.day("okx", "BTC", DAY)
    btc = rows.filter(pl.col("asset") == "BTC")
    assert btc.height == len(truth.liq_ms)
    assert btc["notional_usd"].sum() == pytest.approx(
        float((truth.liq_price * truth.liq_qty_base).sum()), rel=1e-6
    )
    assert pages > 50  # thousands of orders on the crash day: many pages
