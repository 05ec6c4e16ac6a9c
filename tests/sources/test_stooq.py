"""Stooq daily CSV parser. No recorded Stooq body is in ../shared/api-samples; these bodies follow
Stooq's documented CSV layout (`Date,Open,High,Low,Close,Volume`, CRLF line ends)."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.config import load_sources
from pipeline.errors import ParseError
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
        ("Exceeded the daily hits limit", "not a Stooq CSV"),
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
    specs = daily_requests(date(2026, 2, 5), universe, load_sources()["stooq"])
    assert [s.key for s in specs] == ["NVDA", "AMD", "MSFT", "GOOGL", "AMZN"]
    assert specs[0].url == "https://stooq.com/q/d/l/"
    assert dict(specs[0].params) == {"s": "nvda.us", "d1": "20260205", "d2": "20260205", "i": "d"}
