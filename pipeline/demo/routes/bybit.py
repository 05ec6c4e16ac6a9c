"""Bybit v5 at api.bybit.com: kline, funding history, open interest, account ratio (linear).

Newest-first lists in Bybit's envelope with string numbers; open interest and the account
ratio page with `nextPageCursor` (here `lastid=..&lasttime=<s>`, URL-encoded as Bybit does),
klines and funding with a full page and a smaller `end`. Unknown symbols: HTTP 200 with
retCode 10001.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

import httpx
import numpy as np

from pipeline.demo.market import HOUR_S
from pipeline.demo.transport import DemoWorld, Reply, Route

VENUE = "bybit"
HOUR_MS = HOUR_S * 1000


def _envelope(result: dict) -> dict:
    return {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": 0}


def _asset(world: DemoWorld, request: httpx.Request) -> tuple[str | None, Reply | None]:
    symbol = request.url.params.get("symbol", "")
    try:
        return world.market.universe.instrument_for_symbol(VENUE, symbol).asset, None
    except KeyError:
        doc = {
            "retCode": 10001,
            "retMsg": "params error: symbol invalid",
            "result": {},
            "retExtInfo": {},
            "time": 0,
        }
        return None, Reply(VENUE, symbol, None, doc)


def _bars(world: DemoWorld, asset: str, start_ms: int, end_ms: int) -> dict[str, np.ndarray]:
    first = datetime.fromtimestamp(start_ms / 1000, UTC).date() - timedelta(days=1)
    last = datetime.fromtimestamp(end_ms / 1000, UTC).date()
    days = [
        world.perps.day(VENUE, asset, first + timedelta(days=i))
        for i in range((last - first).days + 1)
    ]
    fields = (
        "hours",
        "open",
        "high",
        "low",
        "close",
        "volume_base",
        "long_oi_base",
        "short_oi_base",
        "funding_rate",
        "global_account_long_share",
    )
    return {f: np.concatenate([getattr(d, f) for d in days]) for f in fields}


def _range(request: httpx.Request, lo: str, hi: str, max_limit: int) -> tuple[int, int, int]:
    p = request.url.params
    start = int(p.get(lo, 0))
    end = int(p.get(hi, start + 24 * HOUR_MS - 1))
    return start, end, min(int(p.get("limit", max_limit)), max_limit)


def _day(ms: int):
    return datetime.fromtimestamp(ms / 1000, UTC).date()


def kline(world: DemoWorld, request: httpx.Request) -> Reply:
    asset, error = _asset(world, request)
    if error:
        return error
    start, end, limit = _range(request, "start", "end", 1000)
    b = _bars(world, asset, start, end)
    ms = b["hours"] * HOUR_MS
    idx = np.flatnonzero((ms >= start) & (ms <= end))[::-1][:limit]  # newest first
    rows = [
        [
            str(int(ms[i])),
            f"{b['open'][i]:.6f}",
            f"{b['high'][i]:.6f}",
            f"{b['low'][i]:.6f}",
            f"{b['close'][i]:.6f}",
            f"{b['volume_base'][i]:.4f}",
            f"{b['volume_base'][i] * (b['open'][i] + b['close'][i]) / 2:.4f}",
        ]
        for i in idx
    ]
    result = {"symbol": request.url.params["symbol"], "category": "linear", "list": rows}
    return Reply(VENUE, asset, _day(start), _envelope(result))


def funding_history(world: DemoWorld, request: httpx.Request) -> Reply:
    asset, error = _asset(world, request)
    if error:
        return error
    start, end, limit = _range(request, "startTime", "endTime", 200)
    b = _bars(world, asset, start, end)
    ms = b["hours"] * HOUR_MS
    idx = np.flatnonzero(~np.isnan(b["funding_rate"]) & (ms >= start) & (ms <= end))
    rows = [
        {
            "symbol": request.url.params["symbol"],
            "fundingRate": f"{b['funding_rate'][i]:.8f}",
            "fundingRateTimestamp": str(int(ms[i])),
        }
        for i in idx[::-1][:limit]
    ]
    return Reply(VENUE, asset, _day(start), _envelope({"category": "linear", "list": rows}))


def _cursor_page(request: httpx.Request, rows: list[dict], stamps: list[int], limit: int):
    """Newest-first rows after the request's cursor; the next cursor or ''."""
    cursor = unquote(request.url.params.get("cursor", ""))
    if cursor:
        before = int(dict(kv.split("=") for kv in cursor.split("&"))["lasttime"]) * 1000
        keep = [i for i, t in enumerate(stamps) if t < before]
    else:
        keep = list(range(len(rows)))
    page = keep[:limit]
    more = len(keep) > limit
    next_cursor = quote(f"lastid={page[-1]}&lasttime={stamps[page[-1]] // 1000}") if more else ""
    return [rows[i] for i in page], next_cursor


def _statistic(world: DemoWorld, request: httpx.Request, make, max_limit: int) -> Reply:
    asset, error = _asset(world, request)
    if error:
        return error
    start, end, limit = _range(request, "startTime", "endTime", max_limit)
    b = _bars(world, asset, start, end)
    stamp = (b["hours"] + 1) * HOUR_MS  # observed at the end of each bar
    idx = np.flatnonzero((stamp >= start) & (stamp <= end))[::-1]
    rows = [make(b, i, int(stamp[i])) for i in idx]
    page, cursor = _cursor_page(request, rows, [int(stamp[i]) for i in idx], limit)
    result = {
        "symbol": request.url.params["symbol"],
        "category": "linear",
        "list": page,
        "nextPageCursor": cursor,
    }
    return Reply(VENUE, asset, _day(start), _envelope(result))


def open_interest(world: DemoWorld, request: httpx.Request) -> Reply:
    def row(b, i, ms):
        oi = b["long_oi_base"][i] + b["short_oi_base"][i]
        # both sides, and one side (what the canonical dataset holds), as Bybit reports them
        return {
            "openInterest": f"{2 * oi:.8f}",
            "singleOpenInterest": f"{oi:.8f}",
            "timestamp": str(ms),
        }

    return _statistic(world, request, row, 200)


def account_ratio(world: DemoWorld, request: httpx.Request) -> Reply:
    def row(b, i, ms):
        share = float(b["global_account_long_share"][i])
        return {
            "symbol": request.url.params["symbol"],
            "buyRatio": f"{share:.4f}",
            "sellRatio": f"{1 - share:.4f}",
            "timestamp": str(ms),
        }

    return _statistic(world, request, row, 500)


ROUTES = [
    Route("api.bybit.com", "/v5/market/kline", kline),
    Route("api.bybit.com", "/v5/market/funding/history", funding_history),
    Route("api.bybit.com", "/v5/market/open-interest", open_interest),
    Route("api.bybit.com", "/v5/market/account-ratio", account_ratio),
]
