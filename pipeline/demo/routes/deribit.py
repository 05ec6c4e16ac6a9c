"""Deribit at www.deribit.com/api/v2: options book summaries and the DVOL index.

JSON-RPC answers as Deribit sends them over HTTP GET: `{"jsonrpc": "2.0", "result": ...,
"usIn", "usOut", "usDiff", "testnet": false}`; errors `{"jsonrpc": "2.0", "error": {"code",
"message"}, ...}` with HTTP 400. The book summary is a snapshot at the request's as-of time
(the demo's "now"); the volatility index pages backwards with `continuation`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from pipeline.demo.transport import DemoWorld, Reply, Route
from pipeline.demo.watchlist import OPTIONS, WatchlistSim

VENUE = "deribit"
HOST = "www.deribit.com"
DAY_MS = 86_400_000
MAX_CANDLES = 1000  # per page; older candles follow through `continuation`


def _envelope(result: object, at: datetime) -> dict:
    us = int(at.timestamp() * 1_000_000)
    return {
        "jsonrpc": "2.0",
        "result": result,
        "usIn": us,
        "usOut": us + 310,
        "usDiff": 310,
        "testnet": False,
    }


def _error(code: int, message: str, key: str = "") -> Reply:
    doc = {"jsonrpc": "2.0", "error": {"code": code, "message": message}, "testnet": False}
    return Reply(VENUE, key, None, doc, status=400)


def book_summary_by_currency(world: DemoWorld, request: httpx.Request) -> Reply:
    p = request.url.params
    currency = p.get("currency", "")
    if currency not in OPTIONS:
        return _error(-32602, f"Invalid params: currency {currency!r}", currency)
    if p.get("kind") != "option":
        return _error(-32602, "Invalid params: the demo market lists options only", currency)
    at = request.extensions.get("tokenrisk_as_of") or datetime.now(UTC)
    ms = int(at.timestamp() * 1000)
    chain = WatchlistSim(world.market).option_chain(currency, at)
    result = [
        {
            "volume_usd": round(o["volume"] * o["underlying_price"] * 0.02, 2),
            "volume": o["volume"],
            "underlying_price": o["underlying_price"],
            "underlying_index": f"SYN.{currency}-{o['name'].split('-')[1]}",
            "quote_currency": currency,
            "price_change": None,
            "open_interest": o["open_interest"],
            "mid_price": None,
            "mark_price": 0.01,
            "mark_iv": o["mark_iv"],
            "low": None,
            "last": None,
            "interest_rate": 0.0,
            "instrument_name": o["name"],
            "high": None,
            "estimated_delivery_price": o["underlying_price"],
            "creation_timestamp": ms,
            "bid_price": None,
            "base_currency": currency,
            "ask_price": None,
        }
        for o in chain
    ]
    day = (at - timedelta(days=1)).date()  # the day this nightly snapshot describes
    return Reply(VENUE, currency, day, _envelope(result, at))


def volatility_index_data(world: DemoWorld, request: httpx.Request) -> Reply:
    p = request.url.params
    currency = p.get("currency", "")
    if currency not in OPTIONS:
        return _error(-32602, f"Invalid params: currency {currency!r}", currency)
    if p.get("resolution") != "1D":
        return _error(-32602, "Invalid params: the demo market serves resolution 1D", currency)
    try:
        start, end = int(p["start_timestamp"]), int(p["end_timestamp"])
    except (KeyError, ValueError):
        return _error(-32602, "Invalid params: start_timestamp and end_timestamp", currency)
    sim = WatchlistSim(world.market)
    first = -(-start // DAY_MS) * DAY_MS  # candles open at 00:00 UTC
    opens = list(range(first, end + 1, DAY_MS))
    page, older = opens[-MAX_CANDLES:], opens[:-MAX_CANDLES]
    data = []
    for ms in page:
        day = datetime.fromtimestamp(ms / 1000, UTC).date()
        o, h, lo, c = sim.dvol_day(currency, day)
        data.append([ms, round(o, 2), round(h, 2), round(lo, 2), round(c, 2)])
    result = {"data": data, "continuation": older[-1] if older else None}
    day = datetime.fromtimestamp(start / 1000, UTC).date()
    return Reply(VENUE, currency, day, _envelope(result, datetime.now(UTC)))


ROUTES = [
    Route(HOST, "/api/v2/public/get_book_summary_by_currency", book_summary_by_currency),
    Route(HOST, "/api/v2/public/get_volatility_index_data", volatility_index_data),
]
