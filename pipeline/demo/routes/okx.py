"""OKX v5 at www.okx.com: history candles, funding history, open-interest history, liquidations.

Newest-first data in OKX's envelope with string numbers; `after` (older than) / `before` (newer
than) and `limit` (max 100) are honoured, so the client pages through a day for real (the
crash day has thousands of liquidation orders). Unknown instruments: HTTP 200 with code 51001.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import numpy as np

from pipeline.demo.market import HOUR_S
from pipeline.demo.transport import DemoWorld, Reply, Route

VENUE = "okx"
HOUR_MS = HOUR_S * 1000
MAX = 100


def _ok(data: list) -> dict:
    return {"code": "0", "msg": "", "data": data}


def _instrument(world: DemoWorld, inst_id: str):
    try:
        return world.market.universe.instrument_for_symbol(VENUE, inst_id)
    except KeyError:
        return None


def _unknown(inst_id: str) -> Reply:
    return Reply(
        VENUE, inst_id, None, {"code": "51001", "msg": "Instrument ID does not exist", "data": []}
    )


def _bounds(request: httpx.Request) -> tuple[int, int, int]:
    """(newer than, older than, limit) from before/after."""
    p = request.url.params
    after = int(p.get("after", 2**62))
    before = int(p.get("before", -1))
    return before, after, min(int(p.get("limit", MAX)), MAX)


def _days(lo_ms: int, hi_ms: int):
    lo = max(lo_ms, 0)
    first = datetime.fromtimestamp(lo / 1000, UTC).date() - timedelta(days=1)
    last = datetime.fromtimestamp(min(hi_ms, lo + 40 * 86_400_000) / 1000, UTC).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _day_of(ms: int):
    return datetime.fromtimestamp(max(ms, 0) / 1000, UTC).date()


def candles(world: DemoWorld, request: httpx.Request) -> Reply:
    inst = _instrument(world, request.url.params.get("instId", ""))
    if inst is None:
        return _unknown(request.url.params.get("instId", ""))
    newer, older, limit = _bounds(request)
    rows = []
    for day in reversed(_days(newer + 1, older - 1)):
        p = world.perps.day(VENUE, inst.asset, day)
        for i in range(23, -1, -1):
            ms = int(p.hours[i]) * HOUR_MS
            if newer < ms < older:
                contracts = p.volume_base[i] / inst.contract_size
                mid = (p.open[i] + p.close[i]) / 2
                rows.append(
                    [
                        str(ms),
                        f"{p.open[i]:.6f}",
                        f"{p.high[i]:.6f}",
                        f"{p.low[i]:.6f}",
                        f"{p.close[i]:.6f}",
                        f"{contracts:.0f}",
                        f"{p.volume_base[i]:.6f}",
                        f"{p.volume_base[i] * mid:.4f}",
                        "1",
                    ]
                )
    return Reply(VENUE, inst.asset, _day_of(newer + 1), _ok(rows[:limit]))


def funding_history(world: DemoWorld, request: httpx.Request) -> Reply:
    inst_id = request.url.params.get("instId", "")
    inst = _instrument(world, inst_id)
    if inst is None:
        return _unknown(inst_id)
    newer, older, limit = _bounds(request)
    rows = []
    for day in reversed(_days(newer + 1, older - 1)):
        p = world.perps.day(VENUE, inst.asset, day)
        for i in range(23, -1, -1):
            ms = int(p.hours[i]) * HOUR_MS
            if not np.isnan(p.funding_rate[i]) and newer < ms < older:
                rate = f"{p.funding_rate[i]:.10f}"
                rows.append(
                    {
                        "formulaType": "noRate",
                        "fundingRate": rate,
                        "fundingTime": str(ms),
                        "instId": inst_id,
                        "instType": "SWAP",
                        "method": "current_period",
                        "realizedRate": rate,
                    }
                )
    return Reply(VENUE, inst.asset, _day_of(newer + 1), _ok(rows[:limit]))


def open_interest_history(world: DemoWorld, request: httpx.Request) -> Reply:
    params = request.url.params
    inst = _instrument(world, params.get("instId", ""))
    if inst is None:
        return _unknown(params.get("instId", ""))
    begin, end = int(params.get("begin", 0)), int(params.get("end", 2**62))
    limit = min(int(params.get("limit", MAX)), MAX)
    rows = []
    for day in reversed(_days(begin, end)):
        p = world.perps.day(VENUE, inst.asset, day)
        for i in range(23, -1, -1):
            ms = (int(p.hours[i]) + 1) * HOUR_MS  # observed at the end of each bar
            if begin <= ms <= end:
                oi = p.long_oi_base[i] + p.short_oi_base[i]
                rows.append(
                    [
                        str(ms),
                        f"{oi / inst.contract_size:.2f}",
                        f"{oi:.6f}",
                        f"{oi * p.close[i]:.2f}",
                    ]
                )
    return Reply(VENUE, inst.asset, _day_of(begin), _ok(rows[:limit]))


def liquidation_orders(world: DemoWorld, request: httpx.Request) -> Reply:
    family = request.url.params.get("instFamily", "")
    inst = _instrument(world, family + "-SWAP")
    if inst is None:
        return _unknown(family)
    newer, older, limit = _bounds(request)
    ms, side, price, qty = [], [], [], []
    for day in _days(newer + 1, older - 1):
        p = world.perps.day(VENUE, inst.asset, day)
        ms.append(p.liq_ms)
        side.append(p.liq_side)
        price.append(p.liq_price)
        qty.append(p.liq_qty_base)
    ms_a, side_a = np.concatenate(ms), np.concatenate(side)
    price_a, qty_a = np.concatenate(price), np.concatenate(qty)
    order = np.lexsort((price_a, -ms_a))  # newest first
    keep = [i for i in order if newer < ms_a[i] < older][:limit]
    details = [
        {
            "bkLoss": "0",
            "bkPx": f"{price_a[i]:.8g}",
            "ccy": "",
            "posSide": str(side_a[i]),
            "side": "sell" if side_a[i] == "long" else "buy",
            # contracts as OKX reports them; tokens = sz * ctVal exactly
            "sz": repr(float(qty_a[i] / inst.contract_size)),
            "ts": str(int(ms_a[i])),
        }
        for i in keep
    ]
    data = (
        [
            {
                "details": details,
                "instFamily": family,
                "instId": inst.symbol,
                "instType": "SWAP",
                "totalLoss": "0",
                "uly": family,
            }
        ]
        if details
        else []
    )
    return Reply(VENUE, inst.asset, _day_of(newer + 1), _ok(data))


ROUTES = [
    Route("www.okx.com", "/api/v5/market/history-candles", candles),
    Route("www.okx.com", "/api/v5/public/funding-rate-history", funding_history),
    Route(
        "www.okx.com", "/api/v5/rubik/stat/contracts/open-interest-history", open_interest_history
    ),
    Route("www.okx.com", "/api/v5/public/liquidation-orders", liquidation_orders),
]
