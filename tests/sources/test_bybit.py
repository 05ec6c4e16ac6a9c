"""Bybit v5 parsers on the official docs' responses, and the demo round trip."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import polars as pl
import pytest

from pipeline.config import load_sources, load_universe
from pipeline.demo.market import DemoMarket
from pipeline.demo.transport import DemoTransport
from pipeline.errors import ParseError
from pipeline.http import HttpClient
from pipeline.parse_file import parse_file
from pipeline.sources import bybit, find
from pipeline.sources.base import FetchContext
from tests.conftest import sample

DAY = date(2026, 2, 5)


def ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def test_inverse_kline_units_newest_first_kept():
    rows = bybit.parse_kline(sample("bybit/kline.json").read_text(), "BTC")
    assert rows["ts"].to_list() == [ms(1670608800000), ms(1670605200000), ms(1670601600000)]
    first = rows.row(0, named=True)
    assert (first["open"], first["high"], first["low"], first["close"]) == (
        17071,
        17073,
        17027,
        17055.5,
    )
    # inverse: volume counts USD contracts, turnover is in the coin
    assert first["volume_usd"] == 268611 and first["volume_base"] == 15.74462667


def test_funding_history_usdc_perp_needs_the_asset():
    path = sample("bybit/funding_history.json")
    with pytest.raises(ParseError, match="unknown bybit symbol 'ETHPERP'"):
        bybit.parse_funding(path.read_text(), "")
    rows = parse_file("bybit", "funding_rates", path, "ETH")
    assert rows.row(0, named=True)["funding_rate"] == 0.0001
    assert rows["ts"].to_list() == [ms(1672041600000)]
    assert rows["mark_price"].to_list() == [None]  # the history has no mark price


def test_inverse_open_interest_is_usd():
    rows = bybit.parse_open_interest(sample("bybit/open_interest.json").read_text(), "BTC")
    assert rows.height == 5
    # openInterest counts both sides (63910691); singleOpenInterest is one side
    assert rows["open_interest_usd"].to_list() == [31955346.0] * 3 + [31971156.0] * 2
    assert rows["open_interest_base"].null_count() == 5
    assert rows["ts"][4] == ms(1780617600000)


def test_account_ratio():
    rows = bybit.parse_account_ratio(sample("bybit/account_ratio.json").read_text(), "")
    assert rows["asset"].to_list() == ["BTC", "BTC"]  # BTCUSDT from the body
    assert rows.select("long_share", "short_share").rows() == [(0.49, 0.51), (0.4927, 0.5073)]
    assert rows["long_short_ratio"][0] == pytest.approx(0.49 / 0.51)
    assert set(rows["kind"]) == {"global_accounts"}


def test_error_envelope_and_missing_field():
    error = json.dumps(
        {
            "retCode": 10001,
            "retMsg": "params error: symbol invalid",
            "result": {},
            "retExtInfo": {},
            "time": 1,
        }
    )
    with pytest.raises(ParseError, match="retCode 10001: params error: symbol invalid"):
        bybit.parse_funding(error, "BTC")
    doc = json.loads(sample("bybit/account_ratio.json").read_text())
    for row in doc["result"]["list"]:
        row.pop("buyRatio")
    with pytest.raises(ParseError, match="missing field 'buyRatio'"):
        bybit.parse_account_ratio(json.dumps(doc), "")
    with pytest.raises(ParseError, match="missing field 'retCode'"):
        bybit.parse_kline("{}", "BTC")


@pytest.fixture(scope="module")
def demo():
    return DemoTransport(DemoMarket.from_config(load_universe()))


def _fetch(entry, ctx, transport) -> tuple[pl.DataFrame, int]:
    frames, pages = [], 0
    with HttpClient(load_sources(), transport=transport, pace=False, sleep=lambda s: None) as c:
        for spec in entry.requests(ctx):
            while spec is not None:
                body = c.get(spec).text
                pages += 1
                frames.append(entry.parse(body, spec.key))
                spec = entry.next_page(spec, body, pages)
    return pl.concat(frames), pages


@pytest.mark.parametrize("dataset", ["perp_klines", "open_interest", "funding_rates"])
def test_demo_pages_cover_the_day_without_gaps(demo, dataset):
    cfg = load_sources()["bybit"].model_copy(update={"page_limit": 2})
    ctx = FetchContext(DAY, date(2026, 2, 6), load_universe(), cfg)
    rows, pages = _fetch(find("bybit", dataset), ctx, demo)
    near = rows.filter(pl.col("asset") == "NEAR")
    expected = 3 if dataset == "funding_rates" else 24
    assert near.height == expected and near["ts"].n_unique() == expected
    assert pages > len(load_universe().instruments("bybit"))  # really paged
    if dataset == "open_interest":
        truth = demo.world.perps.day("bybit", "NEAR", DAY)
        got = near.sort("ts")["open_interest_base"][1:].to_list()
        assert got == pytest.approx(truth.oi_base[:-1].tolist(), rel=1e-7)
