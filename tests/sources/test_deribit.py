"""Deribit parsers on published responses, demo round trips against the simulator, errors."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from pipeline.config import load_sources, load_universe
from pipeline.demo.market import DemoMarket
from pipeline.demo.transport import DemoTransport
from pipeline.demo.watchlist import WatchlistSim
from pipeline.errors import ParseError
from pipeline.http import HttpClient
from pipeline.parse_file import parse_file
from pipeline.sources import deribit
from pipeline.sources.base import FetchContext
from tests.conftest import FIXTURES, run_cli

DAY = date(2026, 2, 5)
# tests/fixtures/deribit/README.md says where each file comes from
OPTION_DOCS = FIXTURES / "deribit" / "book_summary_option_eth_docs_example.json"
FUTURE_DOCS = FIXTURES / "deribit" / "book_summary_future_btc_docs_example.json"
DVOL_CAPTURED = FIXTURES / "deribit" / "volatility_index_result_openbb_captured.json"
DVOL_DOCS = FIXTURES / "deribit" / "volatility_index_docs_example.json"


def ctx_for(day: date = DAY, today: date | None = None) -> FetchContext:
    return FetchContext(
        day=day,
        today=today or day + timedelta(days=1),
        universe=load_universe(),
        cfg=load_sources()["deribit"],
    )


def test_option_summary_of_the_docs_is_one_put_valued_at_the_underlying():
    row = deribit.parse_book_summary(OPTION_DOCS.read_text(), "ETH").row(0, named=True)
    # ETH-22FEB19-140-P: volume 0.55, open_interest 0.55, underlying_price 121.38, mark_iv 80
    assert row["ts"] == datetime(2019, 2, 15, 10, 52, 32, 163000, tzinfo=UTC)
    assert (row["venue"], row["asset"], row["n_instruments"]) == ("deribit", "ETH", 1)
    assert row["volume_base"] == pytest.approx(0.55)
    assert row["volume_usd"] == pytest.approx(0.55 * 121.38)
    assert row["put_volume_usd"] == pytest.approx(66.759)
    assert row["call_volume_usd"] == 0.0
    assert row["open_interest_usd"] == pytest.approx(66.759)
    assert row["put_open_interest_usd"] == pytest.approx(66.759)
    assert row["mark_iv_oi_weighted"] == pytest.approx(80.0)


def test_option_summary_resolves_the_currency_from_the_body():
    assert deribit.parse_book_summary(OPTION_DOCS.read_text(), "")["asset"].to_list() == ["ETH"]


def test_futures_of_the_docs_example_are_refused_by_name():
    with pytest.raises(ParseError, match="instrument 'BTC-22FEB19' is not an option"):
        deribit.parse_book_summary(FUTURE_DOCS.read_text(), "BTC")


def test_options_of_another_currency_are_refused():
    with pytest.raises(ParseError, match="'ETH-22FEB19-140-P' is not a BTC option"):
        deribit.parse_book_summary(OPTION_DOCS.read_text(), "BTC")


def test_captured_dvol_candles_keep_every_row():
    # the captured payload is the `result` member; Deribit wraps it in the JSON-RPC envelope
    body = json.dumps({"jsonrpc": "2.0", "result": json.loads(DVOL_CAPTURED.read_text())})
    rows = deribit.parse_volatility_index(body, "BTC")
    assert rows.height == 15
    first = rows.row(0, named=True)
    assert first["ts"] == datetime.fromtimestamp(1789300800, UTC)
    assert (first["open"], first["high"], first["low"], first["close"]) == (
        38.62,
        38.92,
        37.79,
        38.89,
    )
    assert rows["close"][-1] == 35.47
    assert rows["low"].min() == 33.09


def test_dvol_docs_example():
    rows = deribit.parse_volatility_index(DVOL_DOCS.read_text(), "BTC")
    assert rows["ts"].to_list()[0] == datetime.fromtimestamp(1598019300, UTC)
    assert rows["close"].to_list() == [0.212860821, 0.212987527, 0.212992597]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '{"jsonrpc": "2.0", "error": {"code": 10009, "message": "not_enough_funds"}}',
            "API error 10009: not_enough_funds",
        ),
        ('{"jsonrpc": "2.0", "id": 1}', "missing field 'result'"),
        ("<html>502</html>", "body is not JSON"),
    ],
)
def test_error_envelopes_and_bad_bodies(body, message):
    with pytest.raises(ParseError, match=message):
        deribit.parse_book_summary(body, "BTC")
    with pytest.raises(ParseError, match=message):
        deribit.parse_volatility_index(body, "BTC")


@pytest.mark.parametrize("field", ["volume", "open_interest", "underlying_price", "mark_iv"])
def test_missing_option_field_is_named(field):
    doc = json.loads(OPTION_DOCS.read_text())
    del doc["result"][0][field]
    with pytest.raises(ParseError, match=f"missing field '{field}'"):
        deribit.parse_book_summary(json.dumps(doc), "ETH")


def test_retyped_candle_is_refused():
    doc = {"jsonrpc": "2.0", "result": {"data": [[1, "38.6", 1, 1, 1]], "continuation": None}}
    with pytest.raises(ParseError, match="is not \\[ms, open, high, low, close\\]"):
        deribit.parse_volatility_index(json.dumps(doc), "BTC")


def test_snapshot_requests_only_for_the_day_that_just_ended():
    specs = deribit.book_summary_requests(ctx_for())
    assert [(s.key, s.params["kind"]) for s in specs] == [("BTC", "option"), ("ETH", "option")]
    assert specs[0].as_of == datetime(2026, 2, 6, 0, 30, tzinfo=UTC)
    assert deribit.book_summary_requests(ctx_for(today=DAY + timedelta(days=3))) == []
    # the volatility index has history: a backfill still asks for it
    assert len(deribit.volatility_index_requests(ctx_for(today=DAY + timedelta(days=30)))) == 2


@pytest.fixture(scope="module")
def demo():
    market = DemoMarket.from_config(load_universe())
    transport = DemoTransport(market)
    client = HttpClient(load_sources(), transport=transport, pace=False, sleep=lambda s: None)
    yield market, client
    client.close()


def test_demo_round_trip_options_equal_the_simulated_chain(demo):
    market, client = demo
    spec = deribit.book_summary_requests(ctx_for())[0]
    row = deribit.parse_book_summary(client.get(spec).text, spec.key).row(0, named=True)
    chain = WatchlistSim(market).option_chain("BTC", spec.as_of)
    puts = [o for o in chain if o["kind"] == "P"]
    assert row["n_instruments"] == len(chain)
    assert row["volume_usd"] == pytest.approx(
        sum(o["volume"] * o["underlying_price"] for o in chain)
    )
    assert row["put_volume_usd"] == pytest.approx(
        sum(o["volume"] * o["underlying_price"] for o in puts)
    )
    assert row["open_interest_base"] == pytest.approx(sum(o["open_interest"] for o in chain))


def test_demo_options_react_to_the_crash(demo):
    _, client = demo

    def snapshot(day):
        spec = deribit.book_summary_requests(ctx_for(day))[0]
        return deribit.parse_book_summary(client.get(spec).text, "BTC").row(0, named=True)

    calm, crash = snapshot(date(2026, 1, 25)), snapshot(DAY)
    assert crash["volume_usd"] > 2 * calm["volume_usd"]
    assert crash["put_volume_usd"] / crash["volume_usd"] > 0.6
    assert calm["put_volume_usd"] / calm["volume_usd"] < 0.5


def test_demo_dvol_round_trip_and_pagination(demo):
    market, client = demo
    spec = deribit.volatility_index_requests(ctx_for())[0]
    body = client.get(spec).text
    rows = deribit.parse_volatility_index(body, "BTC")
    _o, _h, _lo, c = WatchlistSim(market).dvol_day("BTC", DAY)
    assert rows.select("ts", "close").row(0) == (
        datetime(2026, 2, 5, tzinfo=UTC),
        pytest.approx(round(c, 2)),
    )
    assert deribit.next_volatility_page(spec, body, 1) is None
    # a range longer than a page follows `continuation` backwards, without gaps or repeats
    first = DAY - timedelta(days=1005)  # more candles than one page holds
    start_ms = int(datetime.combine(first, datetime.min.time(), UTC).timestamp() * 1000)
    long = replace(spec, params={**spec.params, "start_timestamp": str(start_ms)})
    days, current, pages = [], long, 0
    while current is not None:
        text = client.get(current).text
        days += deribit.parse_volatility_index(text, "BTC")["ts"].to_list()
        pages += 1
        current = deribit.next_volatility_page(current, text, pages)
    assert pages == 2
    assert len(days) == len(set(days)) == (DAY - first).days + 1


def test_demo_rejects_other_kinds_with_an_error_envelope(demo):
    _, client = demo
    spec = deribit.book_summary_requests(ctx_for())[0]
    response = client._client.get(spec.url, params={"currency": "BTC", "kind": "future"})
    assert response.status_code == 400
    with pytest.raises(ParseError, match="API error -32602"):
        deribit.parse_book_summary(response.text, "BTC")


def test_parse_file_and_cli_on_the_published_example(tmp_path):
    frame = parse_file("deribit", "options_activity", OPTION_DOCS, None)
    assert frame["asset"].to_list() == ["ETH"]
    result = run_cli("parse", "deribit", "options_activity", str(OPTION_DOCS), "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[0])["n_instruments"] == 1
    assert isinstance(frame, pl.DataFrame)
