"""Stooq daily CSV parser. No recorded Stooq body is in ../shared/api-samples; these bodies follow
Stooq's documented CSV layout (`Date,Open,High,Low,Close,Volume`, CRLF line ends)."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.config import load_sources
from pipeline.errors import ParseError
from pipeline.sources.base import FetchContext
from pipeline.sources.stooq import daily_requests, parse_daily_csv

BODY = "Date,Open,High,Low,Close,Volume\r\n2026-02-05,175.62,176.93,171.89,172.09,184640563\r\n2026-02-06,171.93,172.55,170.32,171,202011054\r\n"


def test_parses_rows_with_values():
    df = parse_daily_csv(BODY, "NVDA")
    assert df.columns == ["date", "ticker", "open", "high", "low", "close", "volume"]
    assert df.row(0) == (date(2026, 2, 5), "NVDA", 175.62, 176.93, 171.89, 172.09, 184640563.0)
    assert df["close"][1] == 171.0


@pytest.mark.parametrize("body", ["No data", "No data\r\n", "\ufeffNo data", ""])
def test_no_data_is_an_empty_day(body):
    assert parse_daily_csv(body, "NVDA").height == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Exceeded the daily hits limit", "daily hits limit"),
        ("<html><body>502</body></html>", "not a Stooq CSV"),
        ("Date,Open,High,Low,Volume\r\n2026-02-05,1,2,0.5,10\r\n", "missing column 'Close'"),
        ("Date,Open,High,Low,Close,Volume\r\n2026-02-05,1,2,0.5,abc,10\r\n", "bad value"),
        ("Date,Open,High,Low,Close,Volume\r\n05/02/2026,1,2,0.5,1,10\r\n", "bad value"),
    ],
)
def test_bad_bodies_fail_clearly(body, message):
    with pytest.raises(ParseError, match=message):
        parse_daily_csv(body, "NVDA")


def test_one_request_per_ticker_for_the_day(universe):
    specs = daily_requests(
        FetchContext(date(2026, 2, 5), date(2026, 2, 6), universe, load_sources()["stooq"])
    )
    assert [s.key for s in specs] == ["NVDA", "AMD", "MSFT", "GOOGL", "AMZN"]
    assert specs[0].url == "https://stooq.com/q/d/l/"
    assert dict(specs[0].params) == {"s": "nvda.us", "d1": "20260205", "d2": "20260205", "i": "d"}


def test_real_stooq_download_rows():
    """Rows of a real Stooq download (nvda_us_d.csv, published in the public repository
    DarrenPoon/sma20-sma50-backtest, data/nvda_us_d.csv), kept verbatim with their CRLF ends."""
    from tests.conftest import FIXTURES

    body = (FIXTURES / "stooq" / "nvda_us_d_2026-01-20_22.csv").read_bytes().decode()
    assert "\r\n" in body
    df = parse_daily_csv(body, "NVDA")
    assert df.height == 3
    assert df.row(0) == (date(2026, 1, 20), "NVDA", 181.9, 182.3786, 177.61, 178.07, 223345257.0)
    assert df["close"].to_list() == [178.07, 183.32, 184.84]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Get your apikey:\n\n1. Open https://stooq.com/q/d/?s=spy.us&get_apikey", "API key"),
        ("Exceeded the daily hits limit!\n", "daily hits limit"),
        (
            '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><noscript>This site requires JavaScript to verify your browser.',
            "not a Stooq CSV",
        ),
    ],
)
def test_stooq_refusals_are_named(body, message):
    with pytest.raises(ParseError, match=message):
        parse_daily_csv(body, "NVDA")
