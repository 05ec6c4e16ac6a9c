"""Binance USD-M parsers on real published responses, and the demo round trip."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime

import httpx
import polars as pl
import pytest

from pipeline.config import load_sources
from pipeline.demo.market import DemoMarket
from pipeline.demo.transport import DemoTransport
from pipeline.errors import ParseError
from pipeline.http import HttpClient
from pipeline.parse_file import parse_file
from pipeline.sources import binance
from pipeline.sources.base import FetchContext
from tests.conftest import run_cli, sample

DAY = date(2026, 2, 5)


def ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def test_funding_rates_from_the_docs_example():
    body = sample("binance/fapi_v1_fundingrate_docsite.json").read_text()
    rows = binance.parse_funding(body, "")  # the body names its symbol: BTCUSDT
    assert rows.height == 2
    assert rows["ts"].to_list() == [ms(1570608000000), ms(1570636800000)]
    assert rows["asset"].to_list() == ["BTC", "BTC"]
    assert rows["venue"].unique().to_list() == ["binance"]
    assert rows["funding_rate"].to_list() == [-0.0375, 0.0001]
    assert rows["mark_price"].to_list() == [34287.54619963, 34287.54619963]
    assert rows["interval_hours"].to_list() == [8.0, 8.0]  # 28 800 s apart


def test_funding_sample_with_rate_type_and_one_row():
    rows = binance.parse_funding(
        sample("binance/fapi_v1_fundingRate_docexample.json").read_text(), ""
    )
    assert rows.select("funding_rate", "interval_hours").row(0) == (-0.0375, 8.0)


def test_parse_cli_prints_one_json_row_per_element():
    path = sample("binance/fapi_v1_fundingrate_docsite.json")
    result = run_cli(
        "parse", "binance", "funding_rates", str(path), "--format", "jsonl", check=True
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    doc = json.loads(path.read_text())
    assert len(lines) == len(doc)
    for line, element in zip(lines, doc, strict=True):
        assert line["venue"] == "binance" and line["asset"] == "BTC"
        assert line["funding_rate"] == float(element["fundingRate"])
        assert line["ts"].endswith("Z")  # ISO-8601 UTC
        assert datetime.fromisoformat(line["ts"]) == ms(element["fundingTime"])


def test_klines_and_taker_volume_from_one_bar():
    body = sample("binance/fapi_v1_klines_docsite.json").read_text()
    bar = binance.parse_klines(body, "BTC")
    assert bar.row(0, named=True) == {
        "ts": ms(1499040000000),
        "venue": "binance",
        "asset": "BTC",
        "interval": "1h",
        "open": 0.0163479,
        "high": 0.8,
        "low": 0.015758,
        "close": 0.015771,
        "volume_base": 148976.11427815,
        "volume_usd": 2434.19055334,
    }
    taker = binance.parse_taker_volume(body, "BTC")
    assert taker["buy_volume_usd"][0] == 28.46694368
    assert taker["sell_volume_usd"][0] == pytest.approx(2434.19055334 - 28.46694368)


def test_open_interest_with_string_and_number_timestamps():
    docsite = binance.parse_open_interest(
        sample("binance/futures_data_openinteresthist_docsite.json").read_text(), ""
    )
    assert docsite["ts"].to_list() == [ms(1583127900000), ms(1583128200000)]
    assert docsite["open_interest_base"].to_list() == [20403.637, 20401.367]
    assert docsite["open_interest_usd"][0] == 150570784.07809979
    example = binance.parse_open_interest(
        sample("binance/futures_data_openInterestHist_docexample.json").read_text(), ""
    )
    assert example["open_interest_usd"].to_list() == [176196512.12345678]


@pytest.mark.parametrize(
    ("file", "kind", "long", "short", "ratio"),
    [
        (
            "futures_data_globallongshortaccountratio_docsite.json",
            "global_accounts",
            0.6622,
            0.3378,
            0.1960,
        ),  # the docs' ratio disagrees with the shares: kept as published
        (
            "futures_data_topLongShortPositionRatio_docexample.json",
            "top_positions",
            0.5344,
            0.4238,
            1.4342,
        ),
    ],
)
def test_long_short_ratios(file, kind, long, short, ratio):
    rows = binance.parse_long_short(sample(f"binance/{file}").read_text(), f"BTC@{kind}")
    assert rows.row(0, named=True)["kind"] == kind
    assert rows.select("long_share", "short_share", "long_short_ratio").row(0) == (
        long,
        short,
        ratio,
    )


def test_depth_snapshot_spread_and_one_percent_depth():
    rows = binance.parse_depth(sample("binance/fapi_v1_depth_docexample.json").read_text(), "BTC")
    row = rows.row(0, named=True)
    assert row["ts"] == ms(1589436922959)  # "T", the transaction time
    assert (row["best_bid"], row["best_ask"]) == (4.0, 4.000002)
    assert row["spread_bps"] == pytest.approx(0.000002 / 4.000001 * 1e4)
    assert row["bid_depth_usd_1pct"] == pytest.approx(4.0 * 431)
    assert row["ask_depth_usd_1pct"] == pytest.approx(4.000002 * 12)


@pytest.mark.parametrize(
    ("file", "message"),
    [
        ("error_-1121_invalid_symbol_docexample.json", "API error -1121: Invalid symbol."),
        (
            "error_fundingRate_limit1001_http200_nonstandard_envelope_captured.json",
            "API error 99099990: illegal params.",
        ),
    ],
)
def test_error_envelopes_are_one_line_parse_errors(file, message):
    with pytest.raises(ParseError, match=message) as info:
        binance.parse_funding(sample(f"binance/{file}").read_text(), "")
    assert "\n" not in info.value.message


def test_missing_field_unknown_symbol_and_bad_number():
    good = json.loads(sample("binance/fapi_v1_fundingrate_docsite.json").read_text())
    no_rate = [{k: v for k, v in r.items() if k != "fundingRate"} for r in good]
    with pytest.raises(ParseError, match="missing field 'fundingRate'"):
        binance.parse_funding(json.dumps(no_rate), "")
    with pytest.raises(ParseError, match="unknown binance symbol 'PEPEUSDT'"):
        binance.parse_funding(json.dumps([{**good[0], "symbol": "PEPEUSDT"}]), "")
    with pytest.raises(ParseError, match="not a number"):
        binance.parse_funding(json.dumps([{**good[0], "fundingRate": "n/a"}]), "")
    with pytest.raises(ParseError, match="not JSON"):
        binance.parse_funding('[{"symbol": "BTCUSDT", ', "")


def test_thousand_prefixed_contracts_are_scaled(monkeypatch):
    from pipeline.config import Instrument

    inst = Instrument(venue="binance", asset="PEPE", symbol="1000PEPEUSDT", multiplier=1000)
    monkeypatch.setattr(binance, "resolve_instrument", lambda venue, key, symbol, where: inst)
    body = json.dumps(
        [[1, "0.0100", "0.0110", "0.0090", "0.0105", "200", 2, "2.1", 5, "1", "1.05", "0"]]
    )
    bar = binance.parse_klines(body, "PEPE").row(0, named=True)
    assert bar["close"] == pytest.approx(0.0000105)  # price of one PEPE
    assert bar["volume_base"] == 200_000  # tokens
    assert bar["volume_usd"] == 2.1


def _archive(rows: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("BTCUSDT-metrics-2025-12-01.csv", "\n".join(rows) + "\n")
    return buffer.getvalue()


def test_daily_metrics_archive():
    header = (
        "create_time,symbol,sum_open_interest,sum_open_interest_value,"
        "count_toptrader_long_short_ratio,sum_toptrader_long_short_ratio,"
        "count_long_short_ratio,sum_taker_long_short_vol_ratio"
    )
    body = _archive([header, "2025-12-01 00:05:00,BTCUSDT,100.5,9000000.0,1.5,2.0,3.0,0.9"])
    oi = binance.parse_open_interest(body, "")
    assert oi.row(0, named=True)["open_interest_usd"] == 9_000_000.0
    assert oi["ts"][0] == datetime(2025, 12, 1, 0, 5, tzinfo=UTC)
    ratios = binance.parse_long_short(body, "BTC@archive").sort("kind")
    assert ratios["kind"].to_list() == ["global_accounts", "top_accounts", "top_positions"]
    assert ratios["long_share"].to_list() == pytest.approx([0.75, 0.6, 2 / 3])
    with pytest.raises(ParseError, match="missing column 'sum_open_interest'"):
        binance.parse_open_interest(
            _archive(["create_time,symbol", "2025-12-01 00:05:00,BTCUSDT"]), ""
        )


def _client(transport) -> HttpClient:
    return HttpClient(load_sources(), transport=transport, pace=False, sleep=lambda s: None)


def _fetch_all(client, entry, ctx) -> pl.DataFrame:
    frames = []
    for spec in entry.requests(ctx):
        while spec is not None:
            response = client.get(spec)
            body = response.content if spec.binary else response.text
            frames.append(entry.parse(body, spec.key))
            spec = entry.next_page(spec, response.text, 1) if entry.next_page else None
    return pl.concat(frames)


@pytest.fixture(scope="module")
def demo(universe=None):
    from pipeline.config import load_universe

    return DemoTransport(DemoMarket.from_config(load_universe()))


def test_demo_round_trip_equals_the_simulator(demo):
    from pipeline.config import load_universe
    from pipeline.sources import find

    ctx = FetchContext(DAY, date(2026, 2, 6), load_universe(), load_sources()["binance"])
    truth = demo.world.perps.day("binance", "TAO", DAY)
    with _client(demo) as client:
        bars = _fetch_all(client, find("binance", "perp_klines"), ctx)
        oi = _fetch_all(client, find("binance", "open_interest"), ctx)
        funding = _fetch_all(client, find("binance", "funding_rates"), ctx)
    tao = bars.filter(pl.col("asset") == "TAO").sort("ts")
    assert tao.height == 24
    assert tao["close"].to_list() == pytest.approx(truth.close.tolist(), rel=1e-8)
    tao_oi = oi.filter(pl.col("asset") == "TAO").sort("ts")
    # stamped at the end of each bar: 00:00 holds the previous day's last bar
    assert tao_oi["open_interest_base"][1:].to_list() == pytest.approx(
        truth.oi_base[:-1].tolist(), rel=1e-8
    )
    assert funding.filter(pl.col("asset") == "TAO").height == 3


def test_demo_paginates_with_small_pages(demo):
    from pipeline.config import load_universe
    from pipeline.sources import find

    cfg = load_sources()["binance"].model_copy(update={"page_limit": 5})
    ctx = FetchContext(DAY, date(2026, 2, 6), load_universe(), cfg)
    entry = find("binance", "perp_klines")
    with _client(demo) as client:
        bars = _fetch_all(client, entry, ctx)
    btc = bars.filter(pl.col("asset") == "BTC")
    assert btc.height == 24 and btc["ts"].n_unique() == 24  # 5 pages, no gap, no duplicate


def test_archive_is_used_beyond_thirty_days(demo):
    from pipeline.config import load_universe
    from pipeline.sources import find

    ctx = FetchContext(DAY, date(2026, 4, 1), load_universe(), load_sources()["binance"])
    entry = find("binance", "open_interest")
    specs = entry.requests(ctx)
    assert all(s.binary and "data.binance.vision" in s.url for s in specs)
    with _client(demo) as client:
        oi = _fetch_all(client, entry, ctx)
    assert oi.filter(pl.col("asset") == "BTC").height == 24
    # the order book cannot be fetched for a past day
    assert find("binance", "order_book").requests(ctx) == []


def test_unknown_symbol_answers_like_binance(demo):
    with httpx.Client(transport=demo) as client:
        response = client.get("https://fapi.binance.com/fapi/v1/fundingRate?symbol=NOPEUSDT")
    assert response.status_code == 400 and response.json()["code"] == -1121


def test_parse_file_on_a_real_sample_with_asset(tmp_path):
    rows = parse_file(
        "binance", "perp_klines", sample("binance/fapi_v1_klines_docsite.json"), "ETH"
    )
    assert rows["asset"].to_list() == ["ETH"]
