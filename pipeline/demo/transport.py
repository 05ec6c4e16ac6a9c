"""Serve the demo market at the live APIs' URLs and response shapes, through httpx.

`DemoTransport` is an `httpx.MockTransport`: the HTTP client, sources and parsers run exactly
as they do against the real APIs. Faults (rate limits, server errors, timeouts, bad bodies,
bad values) are injected here for tests and for trying the gates by hand
(env TOKENRISK_DEMO_FAULTS, a JSON list of fault objects; see `Fault`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime

import httpx

from pipeline.demo import rng
from pipeline.demo.market import HOUR_S, DemoMarket
from pipeline.errors import UsageError

FAULT_KINDS = {
    "status",  # answer `status` (with Retry-After `retry_after` if given) `times` times
    "timeout",  # raise a read timeout `times` times
    "malformed",  # truncated body
    "html",  # an HTML error page with status 200
    "missing_field",  # drop `field` from the JSON body (schema drift)
    "negative_price",  # one point of the day gets a negative price
}


@dataclass
class Fault:
    """One injected fault, matching requests by source, key (asset/ticker) and day."""

    kind: str
    source: str = "*"
    key: str = "*"
    day: str = "*"
    times: int = 1_000_000
    status: int = 500
    retry_after: float | None = None
    field: str = ""

    def matches(self, source: str, key: str, day: date) -> bool:
        return (
            self.source in ("*", source)
            and self.key in ("*", key)
            and self.day in ("*", day.isoformat())
        )


def faults_from_env(environ: dict[str, str] | None = None) -> list[Fault]:
    text = (environ if environ is not None else os.environ).get("TOKENRISK_DEMO_FAULTS", "")
    if not text.strip():
        return []
    try:
        items = json.loads(text)
        faults = [Fault(**item) for item in items]
    except (json.JSONDecodeError, TypeError) as exc:
        raise UsageError(f"TOKENRISK_DEMO_FAULTS is not a JSON list of faults: {exc}") from None
    unknown = sorted({f.kind for f in faults} - FAULT_KINDS)
    if unknown:
        raise UsageError(f"TOKENRISK_DEMO_FAULTS: unknown fault kinds {unknown}")
    return faults


class DemoTransport(httpx.MockTransport):
    """The demo market behind the real URLs (CoinGecko market_chart/range, Stooq daily CSV)."""

    def __init__(self, market: DemoMarket, faults: list[Fault] | None = None) -> None:
        super().__init__(self.handle)
        self.market = market
        self.faults = list(faults or [])
        self.requests: list[httpx.Request] = []
        self._cg_ids = {a.coingecko_id: a.symbol for a in market.universe.assets}
        self._stooq = market.universe.by_stooq_symbol()

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        host, path = request.url.host, request.url.path
        if host == "api.coingecko.com" and path.endswith("/market_chart/range"):
            return self._coingecko_range(request)
        if host == "stooq.com" and path == "/q/d/l/":
            return self._stooq_daily(request)
        return httpx.Response(404, json={"error": f"demo market has no endpoint {host}{path}"})

    # -- faults ----------------------------------------------------------------------
    def _fault(self, request: httpx.Request, source: str, key: str, day: date) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.matches(source, key, day):
                if fault.kind in ("status", "timeout"):
                    fault.times -= 1
                    if fault.kind == "timeout":
                        raise httpx.ReadTimeout("demo: injected timeout", request=request)
                return fault
        return None

    @staticmethod
    def _status_fault(fault: Fault) -> httpx.Response:
        headers = {"retry-after": str(fault.retry_after)} if fault.retry_after is not None else {}
        return httpx.Response(fault.status, headers=headers, json={"error": "demo: injected"})

    @staticmethod
    def _mangle(fault: Fault, body: str, content_type: str) -> httpx.Response | None:
        if fault.kind == "malformed":
            return httpx.Response(
                200, text=body[: len(body) // 2], headers={"content-type": content_type}
            )
        if fault.kind == "html":
            page = "<html><body><h1>502 Bad Gateway</h1>cloudflare</body></html>"
            return httpx.Response(200, text=page, headers={"content-type": "text/html"})
        return None

    # -- CoinGecko -------------------------------------------------------------------
    def _coingecko_range(self, request: httpx.Request) -> httpx.Response:
        coin = request.url.path.split("/")[-3]
        symbol = self._cg_ids.get(coin)
        if symbol is None:
            return httpx.Response(404, json={"error": "coin not found"})
        try:
            start = datetime.fromtimestamp(int(request.url.params["from"]), UTC)
            end = datetime.fromtimestamp(int(request.url.params["to"]) + 1, UTC)
        except (KeyError, ValueError):
            return httpx.Response(422, json={"error": "invalid 'from' or 'to' parameter"})
        fault = self._fault(request, "coingecko", symbol, start.date())
        if fault and fault.kind == "status":
            return self._status_fault(fault)
        data = self.market.spot(symbol, start, end)
        # real CoinGecko timestamps are a few seconds off the hour: jitter deterministically
        jitter = (
            rng.uniform(self.market.seed, rng.stream_id("jitter", symbol), data["hour"]) * 30_000
        ).astype(int)
        ms = [int(h) * HOUR_S * 1000 + int(j) for h, j in zip(data["hour"], jitter, strict=True)]
        prices = [[t, float(p)] for t, p in zip(ms, data["price"], strict=True)]
        if fault and fault.kind == "negative_price" and prices:
            prices[len(prices) // 2][1] = -prices[len(prices) // 2][1]
        doc = {
            "prices": prices,
            "market_caps": [[t, float(c)] for t, c in zip(ms, data["market_cap"], strict=True)],
            "total_volumes": [[t, float(v)] for t, v in zip(ms, data["volume_24h"], strict=True)],
        }
        if fault and fault.kind == "missing_field":
            doc.pop(fault.field, None)
        body = json.dumps(doc)
        if fault and (mangled := self._mangle(fault, body, "application/json")):
            return mangled
        return httpx.Response(200, text=body, headers={"content-type": "application/json"})

    # -- Stooq -----------------------------------------------------------------------
    def _stooq_daily(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        ticker = self._stooq.get(params.get("s", "").lower())
        try:
            d1 = datetime.strptime(params["d1"], "%Y%m%d").date()
            d2 = datetime.strptime(params["d2"], "%Y%m%d").date()
        except (KeyError, ValueError):
            return httpx.Response(200, text="No data")
        if ticker is None:
            return httpx.Response(200, text="No data")
        fault = self._fault(request, "stooq", ticker, d1)
        if fault and fault.kind == "status":
            return self._status_fault(fault)
        bars = self.market.equity_bars(ticker, d1, d2)
        if not bars:
            return httpx.Response(200, text="No data", headers={"content-type": "text/plain"})
        if fault and fault.kind == "negative_price":
            bars[0]["close"] = -bars[0]["close"]
        header = ["Date", "Open", "High", "Low", "Close", "Volume"]
        if fault and fault.kind == "missing_field":
            header = [h for h in header if h != fault.field]
        lines = [",".join(header)]
        for bar in bars:
            row = {
                "Date": bar["date"].isoformat(),
                "Open": bar["open"],
                "High": bar["high"],
                "Low": bar["low"],
                "Close": bar["close"],
                "Volume": bar["volume"],
            }
            lines.append(",".join(str(row[h]) for h in header))
        body = "\r\n".join(lines) + "\r\n"
        if fault and (mangled := self._mangle(fault, body, "text/csv")):
            return mangled
        return httpx.Response(200, text=body, headers={"content-type": "text/csv"})
