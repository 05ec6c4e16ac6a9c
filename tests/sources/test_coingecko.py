"""CoinGecko parser, on real published responses (../shared/api-samples/coingecko)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from pipeline.config import load_sources
from pipeline.errors import ParseError
from pipeline.sources.base import FetchContext
from pipeline.sources.coingecko import market_chart_requests, parse_market_chart
from tests.conftest import sample


def test_market_chart_range_oas_example_values():
    body = sample("coingecko/coins_id_market_chart_range_oas_example.json").read_text()
    df = parse_market_chart(body, "BTC")
    assert df.columns == ["ts", "asset", "source", "price_usd", "market_cap_usd", "volume_usd"]
    assert df.height == 2
    first = df.row(0, named=True)
    assert first["ts"] == datetime(2026, 5, 17, 14, 24, 59, 41000, tzinfo=UTC)
    assert first["ts"] == datetime.fromtimestamp(1779027899.041, UTC)
    assert first["price_usd"] == 77953.82550382407
    assert first["market_cap_usd"] == 1560631481361.8042
    assert first["volume_usd"] == 18688431751.857048
    assert (first["asset"], first["source"]) == ("BTC", "coingecko")
    assert df["price_usd"][1] == 78052.87543398788
    assert df["volume_usd"][1] == 18974828816.446976


def test_market_chart_days_example_has_same_shape():
    body = sample("coingecko/coins_id_market_chart_oas_example.json").read_text()
    df = parse_market_chart(body, "BTC")
    assert df["market_cap_usd"].to_list() == [1560631481361.8042, 1562027330524.267]


def test_prices_only_body_fails_naming_the_missing_field():
    # pycoingecko's fixture was truncated by its author to "prices" only
    body = sample("coingecko/market_chart_prices_only_pycoingecko.json").read_text()
    with pytest.raises(ParseError, match="missing field 'market_caps'"):
        parse_market_chart(body, "BTC")


def test_parser_keeps_every_point_and_null_values():
    body = json.dumps(
        {
            "prices": [[1000, 1.5], [2000, 2.5], [2000, 2.5]],
            "market_caps": [[1000, None], [2000, 10.0]],
            "total_volumes": [[1000, 3.0], [2000, 4.0]],
        }
    )
    df = parse_market_chart(body, "TAO")
    assert df.height == 3  # duplicates in the body are kept: staging de-duplicates
    assert df["market_cap_usd"].to_list()[0] is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"prices": [[1, 2]', "not JSON"),
        ('{"error": "coin not found"}', "coin not found"),
        ('{"status": {"error_code": 429, "error_message": "rate"}}', "API error"),
        ('{"prices": [[1, "x"]], "market_caps": [], "total_volumes": []}', "non-numeric"),
        ('{"prices": [[1]], "market_caps": [], "total_volumes": []}', "expected \\[ms, value\\]"),
        ("<html>502 Bad Gateway</html>", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_malformed_bodies_fail_with_a_clear_message(body, message):
    with pytest.raises(ParseError, match=message):
        parse_market_chart(body, "TAO")


def test_requests_cover_exactly_one_utc_day(universe):
    specs = market_chart_requests(
        FetchContext(date(2026, 2, 5), date(2026, 2, 6), universe, load_sources()["coingecko"])
    )
    assert [s.key for s in specs] == universe.symbols
    tao = next(s for s in specs if s.key == "TAO")
    assert tao.url == "https://api.coingecko.com/api/v3/coins/bittensor/market_chart/range"
    assert tao.params["from"] == str(int(datetime(2026, 2, 5, tzinfo=UTC).timestamp()))
    assert int(tao.params["to"]) == int(datetime(2026, 2, 6, tzinfo=UTC).timestamp()) - 1
