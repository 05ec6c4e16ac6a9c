"""Binance USD-M futures at fapi.binance.com and the daily archive at data.binance.vision.

Rows come from the perp venue "binance" of the simulator, in Binance's shapes: klines as
12-field arrays with prices as strings, statistics with string numbers and millisecond
timestamps (open interest and ratios are stamped at the end of each hourly bar), funding every
8 hours. startTime/endTime/limit are honoured as Binance does (ascending, at most `limit` rows),
so the client's pagination is exercised. Unknown symbols get HTTP 400 {"code": -1121}.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime, timedelta

import httpx
import numpy as np

from pipeline.demo.market import EPOCH, HOUR_S
from pipeline.demo.transport import DemoWorld, Reply, Route

VENUE = "binance"
HOUR_MS = HOUR_S * 1000
RATIO_FIELD = {
    "globalLongShortAccountRatio": "global_account_long_share",
    "topLongShortAccountRatio": "top_account_long_share",
    "topLongShortPositionRatio": "top_position_long_share",
}


def _fmt(x: float) -> str:
    return f"{x:.8f}"


def _lookup(world: DemoWorld, request: httpx.Request) -> tuple[str | None, Reply | None]:
    symbol = request.url.params.get("symbol", "")
    try:
        return world.market.universe.instrument_for_symbol(VENUE, symbol).asset, None
    except KeyError:
        return None, Reply(
            VENUE, symbol, None, {"code": -1121, "msg": "Invalid symbol."}, status=400
        )


def _window(request: httpx.Request, default_limit: int, max_limit: int) -> tuple[int, int, int]:
    p = request.url.params
    start = int(p.get("startTime", 0))
    end = int(p.get("endTime", start + 24 * HOUR_MS - 1))
    limit = min(int(p.get("limit", default_limit)), max_limit)
    return start, end, limit


def _days(start_ms: int, end_ms: int) -> list[date]:
    first = datetime.fromtimestamp(start_ms / 1000, UTC).date() - timedelta(days=1)
    last = datetime.fromtimestamp(end_ms / 1000, UTC).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _bars(world: DemoWorld, asset: str, start_ms: int, end_ms: int) -> dict[str, np.ndarray]:
    """Hourly bars overlapping [start, end], concatenated over the days they fall in."""
    days = [world.perps.day(VENUE, asset, d) for d in _days(start_ms, end_ms)]
    out = {
        f: np.concatenate([getattr(d, f) for d in days])
        for f in (
            "hours",
            "open",
            "high",
            "low",
            "close",
            "volume_base",
            "buy_volume_base",
            "long_oi_base",
            "short_oi_base",
            "funding_rate",
            "global_account_long_share",
            "top_account_long_share",
            "top_position_long_share",
        )
    }
    return out


def _reply(asset: str, start_ms: int, payload: object, **kw) -> Reply:
    day = datetime.fromtimestamp(start_ms / 1000, UTC).date()
    return Reply(VENUE, asset, day, payload, headers={"x-mbx-used-weight-1m": "5"}, **kw)


def klines(world: DemoWorld, request: httpx.Request) -> Reply:
    asset, error = _lookup(world, request)
    if error:
        return error
    start, end, limit = _window(request, 500, 1500)
    b = _bars(world, asset, start, end)
    open_ms = b["hours"] * HOUR_MS
    keep = np.flatnonzero((open_ms >= start) & (open_ms <= end))[:limit]
    rows = []
    for i in keep:
        vol = b["volume_base"][i]
        mid = (b["open"][i] + b["close"][i]) / 2
        rows.append(
            [
                int(open_ms[i]),
                _fmt(b["open"][i]),
                _fmt(b["high"][i]),
                _fmt(b["low"][i]),
                _fmt(b["close"][i]),
                _fmt(vol),
                int(open_ms[i] + HOUR_MS - 1),
                _fmt(vol * mid),
                int(200 + vol % 997),
                _fmt(b["buy_volume_base"][i]),
                _fmt(b["buy_volume_base"][i] * mid),
                "0",
            ]
        )
    return _reply(asset, start, rows, corrupt=_negative_kline)


def _negative_kline(kind: str, rows: list) -> list:
    if kind == "negative_price" and rows:
        rows[len(rows) // 2][4] = "-" + rows[len(rows) // 2][4]
    return rows


def funding_rate(world: DemoWorld, request: httpx.Request) -> Reply:
    asset, error = _lookup(world, request)
    if error:
        return error
    start, end, limit = _window(request, 100, 1000)
    b = _bars(world, asset, start, end)
    ms = b["hours"] * HOUR_MS
    keep = np.flatnonzero(~np.isnan(b["funding_rate"]) & (ms >= start) & (ms <= end))[:limit]
    symbol = request.url.params["symbol"]
    rows = [
        {
            "symbol": symbol,
            "fundingTime": int(ms[i]),
            "fundingRate": _fmt(b["funding_rate"][i]),
            "markPrice": _fmt(b["open"][i]),
        }
        for i in keep
    ]
    return _reply(asset, start, rows)


def _statistics(world: DemoWorld, request: httpx.Request, make) -> Reply:
    asset, error = _lookup(world, request)
    if error:
        return error
    start, end, limit = _window(request, 30, 500)
    b = _bars(world, asset, start, end)
    stamp = (b["hours"] + 1) * HOUR_MS  # observed at the end of each bar
    keep = np.flatnonzero((stamp >= start) & (stamp <= end))[:limit]
    symbol = request.url.params["symbol"]
    return _reply(asset, start, [make(symbol, b, i, int(stamp[i])) for i in keep])


def open_interest_hist(world: DemoWorld, request: httpx.Request) -> Reply:
    def row(symbol, b, i, ms):
        oi = b["long_oi_base"][i] + b["short_oi_base"][i]
        return {
            "symbol": symbol,
            "sumOpenInterest": _fmt(oi),
            "sumOpenInterestValue": _fmt(oi * b["close"][i]),
            "timestamp": ms,
        }

    return _statistics(world, request, row)


def ratio(field: str):
    def handler(world: DemoWorld, request: httpx.Request) -> Reply:
        def row(symbol, b, i, ms):
            share = float(b[field][i])
            return {
                "symbol": symbol,
                "longShortRatio": f"{share / (1 - share):.4f}",
                "longAccount": f"{share:.4f}",
                "shortAccount": f"{1 - share:.4f}",
                "timestamp": ms,
            }

        return _statistics(world, request, row)

    return handler


def depth(world: DemoWorld, request: httpx.Request) -> Reply:
    asset, error = _lookup(world, request)
    if error:
        return error
    at = request.extensions.get("tokenrisk_as_of") or datetime.now(UTC)
    limit = int(request.url.params.get("limit", 500))
    bids, asks = world.perps.order_book(VENUE, asset, at)
    ms = int(at.timestamp() * 1000)
    doc = {
        "lastUpdateId": ms // 7,
        "E": ms,
        "T": ms - 13,
        "bids": [[_fmt(p), _fmt(q)] for p, q in bids[:limit]],
        "asks": [[_fmt(p), _fmt(q)] for p, q in asks[:limit]],
    }
    day = (at - timedelta(days=1)).date()  # the day this nightly snapshot describes
    return Reply(VENUE, asset, day, doc)


def metrics_archive(world: DemoWorld, request: httpx.Request) -> Reply:
    """data.binance.vision daily metrics zip (hourly rows here; the real file has 5-minute rows)."""
    name = request.url.path.rsplit("/", 1)[-1]  # SYMBOL-metrics-YYYY-MM-DD.zip
    symbol, _, rest = name.partition("-metrics-")
    try:
        asset = world.market.universe.instrument_for_symbol(VENUE, symbol).asset
        day = date.fromisoformat(rest.removesuffix(".zip"))
    except (KeyError, ValueError):
        return Reply(
            VENUE,
            symbol,
            None,
            text="<Error><Code>NoSuchKey</Code></Error>",
            status=404,
            content_type="application/xml",
        )
    first = (day - EPOCH).days * 24
    b = _bars(world, asset, first * HOUR_MS, (first + 24) * HOUR_MS - 1)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "create_time",
            "symbol",
            "sum_open_interest",
            "sum_open_interest_value",
            "count_toptrader_long_short_ratio",
            "sum_toptrader_long_short_ratio",
            "count_long_short_ratio",
            "sum_taker_long_short_vol_ratio",
        ]
    )
    for i, hour in enumerate(b["hours"]):
        end = hour + 1
        if not first <= end < first + 24:
            continue
        oi = b["long_oi_base"][i] + b["short_oi_base"][i]
        ts = datetime.fromtimestamp(end * HOUR_S, UTC).strftime("%Y-%m-%d %H:%M:%S")

        def r(s):
            return f"{s / (1 - s):.5f}"

        sell = b["volume_base"][i] - b["buy_volume_base"][i]
        writer.writerow(
            [
                ts,
                symbol,
                f"{oi:.4f}",
                f"{oi * b['close'][i]:.4f}",
                r(b["top_account_long_share"][i]),
                r(b["top_position_long_share"][i]),
                r(b["global_account_long_share"][i]),
                f"{b['buy_volume_base'][i] / max(sell, 1e-12):.5f}",
            ]
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo(name.removesuffix(".zip") + ".csv", date_time=(2026, 1, 1, 0, 0, 0))
        zf.writestr(info, out.getvalue())
    return Reply(VENUE, asset, day, content=buffer.getvalue(), content_type="application/zip")


ROUTES = [
    Route("fapi.binance.com", "/fapi/v1/klines", klines),
    Route("fapi.binance.com", "/fapi/v1/fundingRate", funding_rate),
    Route("fapi.binance.com", "/futures/data/openInterestHist", open_interest_hist),
    *(
        Route("fapi.binance.com", f"/futures/data/{name}", ratio(field))
        for name, field in RATIO_FIELD.items()
    ),
    Route("fapi.binance.com", "/fapi/v1/depth", depth),
    Route("data.binance.vision", "/data/futures/um/daily/metrics/{symbol}/{file}", metrics_archive),
]
