"""Serve the demo market at the live APIs' URLs and response shapes, through httpx.

`DemoTransport` is an `httpx.MockTransport`: the HTTP client, sources and parsers run exactly
as they do against the real APIs. Each venue's endpoints are routes in `pipeline/demo/routes/`
that render the simulator's state in that API's shape. Faults (rate limits, server errors,
timeouts, bad bodies, schema drift, bad values) are injected here, the same way for every
route, for tests and for trying the gates by hand (env TOKENRISK_DEMO_FAULTS, a JSON list of
fault objects; see `Fault`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import httpx

from pipeline.demo.market import DemoMarket
from pipeline.demo.perps import PerpMarket
from pipeline.errors import UsageError

FAULT_KINDS = {
    "status",  # answer `status` (with Retry-After `retry_after` if given) `times` times
    "timeout",  # raise a read timeout `times` times
    "reset",  # drop the connection `times` times
    "malformed",  # truncated body
    "html",  # an HTML error page with status 200
    "missing_field",  # drop `field` from every JSON object of the body (schema drift)
    "negative_price",  # one point of the day gets a negative price (where the route has prices)
    # on the body's rows (the first list of records in it), for any JSON route:
    "duplicate_rows",  # every row twice (a duplicated / overlapping page)
    "reverse_rows",  # rows in the opposite order
    "drop_rows",  # every other row missing (a gap)
    "rename_field",  # `field` renamed to `field`_v2 in every row (schema drift)
    "retype_field",  # `field` becomes the string "n/a" in every row
    "set_field",  # `field` of the middle row becomes `value`
    "scale_field",  # `field` of the middle row multiplied by `factor`
    "future_ts",  # timestamp `field` (ms) of the middle row a year ahead (clock skew)
}
VALUE_FAULTS = {"negative_price"}
ROW_FAULTS = {
    "duplicate_rows",
    "reverse_rows",
    "drop_rows",
    "rename_field",
    "retype_field",
    "set_field",
    "scale_field",
    "future_ts",
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
    value: str = ""
    factor: float = 1.0

    def matches(self, source: str, key: str, day: date | None) -> bool:
        return (
            self.source in ("*", source)
            and self.key in ("*", key)
            and self.day in ("*", day.isoformat() if day else "")
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


@dataclass
class DemoWorld:
    """Everything the routes render: spot and equity paths, and the perp venues."""

    market: DemoMarket
    perps: PerpMarket

    @classmethod
    def of(cls, market: DemoMarket) -> DemoWorld:
        return cls(market, PerpMarket(market))


@dataclass
class Reply:
    """What a route answers, before faults: the payload plus what the request was for.

    `source`, `key` and `day` identify the request for fault matching. `payload` is a JSON
    value (or `text` a CSV/plain body, or `content` raw bytes). `corrupt(kind, body)` applies
    a value fault (e.g. negative_price) to the payload or text, where the route supports it.
    """

    source: str
    key: str
    day: date | None
    payload: object = None
    text: str | None = None
    content: bytes | None = None
    status: int = 200
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    corrupt: Callable[[str, object], object] | None = None


Handler = Callable[[DemoWorld, httpx.Request], Reply]


@dataclass(frozen=True)
class Route:
    """GET https://<host><path>; `{name}` segments of `path` match any one segment."""

    host: str
    path: str
    handler: Handler

    def matches(self, request: httpx.Request) -> bool:
        if request.url.host != self.host:
            return False
        want, got = self.path.strip("/").split("/"), request.url.path.strip("/").split("/")
        return len(want) == len(got) and all(
            w == g or (w.startswith("{") and w.endswith("}"))
            for w, g in zip(want, got, strict=True)
        )


def body_rows(payload: object) -> list | None:
    """The body's list of records: the payload itself, or the first non-empty list of
    objects/arrays inside it (Binance lists, OKX data[].details, Bybit result.list, ...)."""
    if isinstance(payload, list) and payload:
        if isinstance(payload[0], dict) and any(isinstance(v, list) for v in payload[0].values()):
            inner = body_rows(payload[0])
            return inner if inner is not None else payload
        return payload if isinstance(payload[0], dict | list) else None
    if isinstance(payload, dict):
        for value in payload.values():
            if isinstance(value, dict | list):
                found = body_rows(value)
                if found is not None:
                    return found
    return None


def _get(row: dict | list, field: str) -> object:
    return row[int(field)] if isinstance(row, list) else row[field]


def _set(row: dict | list, field: str, value: object) -> None:
    if isinstance(row, list):
        row[int(field)] = value
    else:
        row[field] = value


def _like(old: object, new: float) -> object:
    """`new` in the type the API used for the old value (numbers as strings stay strings)."""
    if isinstance(old, str):
        return repr(new) if not float(new).is_integer() else str(int(new))
    return new


def mutate_rows(fault: Fault, payload: object) -> object:
    rows = body_rows(payload)
    if not rows:
        return payload
    mid = rows[len(rows) // 2]
    if fault.kind == "duplicate_rows":
        rows.extend([json.loads(json.dumps(r)) for r in rows])
    elif fault.kind == "reverse_rows":
        rows.reverse()
    elif fault.kind == "drop_rows":
        del rows[1::2]
    elif fault.kind == "rename_field":
        for r in rows:
            if isinstance(r, dict) and fault.field in r:
                r[fault.field + "_v2"] = r.pop(fault.field)
    elif fault.kind == "retype_field":
        for r in rows:
            _set(r, fault.field, "n/a")
    elif fault.kind == "set_field":
        _set(mid, fault.field, fault.value)
    elif fault.kind == "scale_field":
        old = _get(mid, fault.field)
        _set(mid, fault.field, _like(old, float(old) * fault.factor))
    elif fault.kind == "future_ts":
        old = _get(mid, fault.field)
        _set(mid, fault.field, _like(old, int(old) + 365 * 86_400_000))
    return payload


def drop_field(value: object, name: str) -> object:
    """`value` with key `name` removed from every JSON object inside it."""
    if isinstance(value, dict):
        return {k: drop_field(v, name) for k, v in value.items() if k != name}
    if isinstance(value, list):
        return [drop_field(v, name) for v in value]
    return value


class DemoTransport(httpx.MockTransport):
    """The demo market behind the real URLs of every live source."""

    def __init__(
        self,
        market: DemoMarket | DemoWorld,
        faults: list[Fault] | None = None,
        routes: list[Route] | None = None,
    ) -> None:
        super().__init__(self.handle)
        from pipeline.demo.routes import ALL_ROUTES

        self.world = market if isinstance(market, DemoWorld) else DemoWorld.of(market)
        self.market = self.world.market
        self.routes = list(routes if routes is not None else ALL_ROUTES)
        self.faults = list(faults or [])
        self.requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = next((r for r in self.routes if r.matches(request)), None)
        if route is None:
            host, path = request.url.host, request.url.path
            return httpx.Response(404, json={"error": f"demo market has no endpoint {host}{path}"})
        reply = route.handler(self.world, request)
        fault = self._fault(request, reply)
        if fault is not None and fault.kind == "status":
            headers = (
                {"retry-after": str(fault.retry_after)} if fault.retry_after is not None else {}
            )
            return httpx.Response(fault.status, headers=headers, json={"error": "demo: injected"})
        if fault is not None and fault.kind in VALUE_FAULTS and reply.corrupt is not None:
            if reply.text is not None:
                reply.text = str(reply.corrupt(fault.kind, reply.text))
            else:
                reply.payload = reply.corrupt(fault.kind, reply.payload)
        if fault is not None and fault.kind in ROW_FAULTS and reply.text is None:
            reply.payload = mutate_rows(fault, reply.payload)
        if fault is not None and fault.kind == "missing_field":
            if reply.text is None:
                reply.payload = drop_field(reply.payload, fault.field)
            elif reply.corrupt is not None:  # a text body: the route knows its columns
                reply.text = str(reply.corrupt(f"missing_field:{fault.field}", reply.text))
        return self._render(reply, fault)

    def _fault(self, request: httpx.Request, reply: Reply) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.matches(reply.source, reply.key, reply.day):
                if fault.kind in ("status", "timeout", "reset"):
                    fault.times -= 1
                    if fault.kind == "timeout":
                        raise httpx.ReadTimeout("demo: injected timeout", request=request)
                    if fault.kind == "reset":
                        raise httpx.RemoteProtocolError(
                            "demo: connection reset by peer", request=request
                        )
                return fault
        return None

    @staticmethod
    def _render(reply: Reply, fault: Fault | None) -> httpx.Response:
        if reply.content is not None:
            body = reply.content
        elif reply.text is not None:
            body = reply.text.encode()
        else:
            body = json.dumps(reply.payload, separators=(",", ":")).encode()
        headers = {"content-type": reply.content_type, **reply.headers}
        if fault is not None and fault.kind == "malformed":
            body = body[: len(body) // 2]
        if fault is not None and fault.kind == "html":
            body = b"<html><body><h1>502 Bad Gateway</h1>cloudflare</body></html>"
            headers["content-type"] = "text/html"
        return httpx.Response(reply.status, content=body, headers=headers)
