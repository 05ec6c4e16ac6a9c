"""Bybit v5 public market data (api.bybit.com, no key), USDT perpetuals (category=linear).

Endpoints (one request per instrument and UTC day; rows come NEWEST FIRST):
- perp_klines: GET /v5/market/kline?category=linear&interval=60&start&end&limit (max 1000):
  result.list of [start, open, high, low, close, volume, turnover] strings. For linear
  contracts volume is in the coin and turnover in USDT; for inverse ones (BTCUSD) volume is in
  USD contracts and turnover in the coin: the parser reads `result.category`.
- funding_rates: GET /v5/market/funding/history?category=linear&startTime&endTime&limit (max
  200): fundingRate, fundingRateTimestamp. No mark price in this history: NULL.
- open_interest: GET /v5/market/open-interest?category=linear&intervalTime=1h&startTime&endTime
  &limit (max 200), cursor pagination (result.nextPageCursor). Linear OI is in the coin (no
  USD value: NULL, valued in the models at the venue's hourly close); inverse OI is in USD.
- long_short_ratio: GET /v5/market/account-ratio?category=linear&period=1h (buyRatio /
  sellRatio of accounts: kind global_accounts), cursor pagination.
Limits: 600 requests per 5 s per IP. Errors: HTTP 200 with retCode != 0, e.g.
{"retCode": 10001, "retMsg": "params error: symbol invalid"}.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from pipeline.config import Instrument
from pipeline.errors import ParseError
from pipeline.http import RequestSpec
from pipeline.schemas import conform
from pipeline.sources.base import (
    FetchContext,
    SourceDataset,
    day_bounds_ms,
    load_json,
    ms_to_ts,
    object_columns,
    resolve_instrument,
    to_float,
    with_interval_hours,
)

SOURCE = "bybit"
MAX_LIMIT = {
    "/v5/market/kline": 1000,
    "/v5/market/funding/history": 200,
    "/v5/market/open-interest": 200,
    "/v5/market/account-ratio": 500,
}
RANGE_PARAMS = {"/v5/market/kline": ("start", "end")}


def _spec(ctx: FetchContext, dataset: str, inst: Instrument, path: str, **params: str):
    start, end = day_bounds_ms(ctx.day)
    lo, hi = RANGE_PARAMS.get(path, ("startTime", "endTime"))
    limit = min(MAX_LIMIT[path], ctx.cfg.page_limit or 200)
    return RequestSpec(
        source=SOURCE,
        dataset=dataset,
        key=inst.asset,
        day=ctx.day,
        url=f"{ctx.cfg.base_url}{path}",
        params={
            "category": "linear",
            "symbol": inst.symbol,
            **params,
            lo: str(start),
            hi: str(end - 1),
            "limit": str(limit),
        },
    )


def requests_for(dataset: str, path: str, **params: str):
    def build(ctx: FetchContext) -> list[RequestSpec]:
        return [
            _spec(ctx, dataset, inst, path, **params) for inst in ctx.universe.instruments(SOURCE)
        ]

    return build


def next_page(spec: RequestSpec, body: str, pages: int) -> RequestSpec | None:
    """Cursor where Bybit gives one; otherwise a full page moves the range's end back."""
    try:
        result = _result(body, "bybit page")
    except ParseError:
        return None  # the parser reports it with the raw file's name
    cursor = result.get("nextPageCursor")
    rows = result.get("list") or []
    if "nextPageCursor" in result:
        return replace(spec, params={**spec.params, "cursor": cursor}) if cursor and rows else None
    if len(rows) < int(spec.params["limit"]):
        return None
    oldest = min(int(r[0] if isinstance(r, list) else r["fundingRateTimestamp"]) for r in rows)
    lo, hi = ("start", "end") if "start" in spec.params else ("startTime", "endTime")
    if oldest <= int(spec.params[lo]):
        return None
    return replace(spec, params={**spec.params, hi: str(oldest - 1)})


def _result(body: str | bytes, where: str) -> dict:
    if isinstance(body, bytes):
        raise ParseError(f"{where}: expected a JSON body, got binary data")
    doc = load_json(body, where)
    if not isinstance(doc, dict) or "retCode" not in doc:
        raise ParseError(f"{where}: not a Bybit v5 envelope (missing field 'retCode')")
    if doc["retCode"] != 0:
        raise ParseError(f"{where}: API error retCode {doc['retCode']}: {doc.get('retMsg')}")
    result = doc.get("result")
    if not isinstance(result, dict) or not isinstance(result.get("list"), list):
        raise ParseError(f"{where}: missing field 'result.list'")
    return result


def _columns(rows: list[dict], fields: dict[str, str], where: str) -> pl.DataFrame:
    return to_float(
        object_columns(rows, fields, where), [c for c in fields.values() if c != "ms"], where
    )


def parse_kline(body: str | bytes, key: str) -> pl.DataFrame:
    where = f"bybit perp_klines ({key or 'symbol from body'})"
    result = _result(body, where)
    inst = resolve_instrument(SOURCE, key, result.get("symbol"), where)
    rows = result["list"]
    bad = next((r for r in rows if not (isinstance(r, list) and len(r) >= 7)), None)
    if bad is not None:
        raise ParseError(f"{where}: kline {str(bad)[:60]} is not an array of 7 fields")
    names = ["ms", "open", "high", "low", "close", "volume", "turnover"]
    df = pl.DataFrame(
        {n: [str(r[i]) for r in rows] for i, n in enumerate(names)},
        schema={n: pl.String for n in names},
    )
    df = to_float(df, names[1:], where)
    inverse = result.get("category") == "inverse"
    m = inst.multiplier
    return conform(
        df.with_columns(
            ts=ms_to_ts("ms"),
            venue=pl.lit(SOURCE),
            asset=pl.lit(inst.asset),
            interval=pl.lit("1h"),
            open=pl.col("open") / m,
            high=pl.col("high") / m,
            low=pl.col("low") / m,
            close=pl.col("close") / m,
            volume_base=pl.col("turnover") if inverse else pl.col("volume") * m,
            volume_usd=pl.col("volume") if inverse else pl.col("turnover"),
        ),
        "perp_klines",
    )


def _first_symbol(result: dict) -> str | None:
    rows = result["list"]
    return result.get("symbol") or (
        rows[0].get("symbol") if rows and isinstance(rows[0], dict) else None
    )


def parse_funding(body: str | bytes, key: str) -> pl.DataFrame:
    where = f"bybit funding_rates ({key or 'symbol from body'})"
    result = _result(body, where)
    inst = resolve_instrument(SOURCE, key, _first_symbol(result), where)
    df = _columns(
        result["list"], {"fundingRateTimestamp": "ms", "fundingRate": "funding_rate"}, where
    )
    df = with_interval_hours(df.with_columns(ts=ms_to_ts("ms")).sort("ts"))
    return conform(
        df.with_columns(
            venue=pl.lit(SOURCE),
            asset=pl.lit(inst.asset),
            mark_price=pl.lit(None, pl.Float64),
        ),
        "funding_rates",
    )


def parse_open_interest(body: str | bytes, key: str) -> pl.DataFrame:
    where = f"bybit open_interest ({key or 'symbol from body'})"
    result = _result(body, where)
    inst = resolve_instrument(SOURCE, key, _first_symbol(result), where)
    rows = result["list"]
    # since late 2023 Bybit's openInterest counts both sides; singleOpenInterest is one side,
    # as Binance and OKX report it: use it where the body has it
    single = bool(rows) and all(isinstance(r, dict) and "singleOpenInterest" in r for r in rows)
    field = "singleOpenInterest" if single else "openInterest"
    df = _columns(rows, {"timestamp": "ms", field: "oi"}, where)
    inverse = result.get("category") == "inverse"  # inverse OI counts USD contracts
    return conform(
        df.with_columns(
            ts=ms_to_ts("ms"),
            venue=pl.lit(SOURCE),
            asset=pl.lit(inst.asset),
            open_interest_base=pl.lit(None, pl.Float64)
            if inverse
            else pl.col("oi") * inst.multiplier,
            open_interest_usd=pl.col("oi") if inverse else pl.lit(None, pl.Float64),
        ),
        "open_interest",
    )


def parse_account_ratio(body: str | bytes, key: str) -> pl.DataFrame:
    where = f"bybit long_short_ratio ({key or 'symbol from body'})"
    result = _result(body, where)
    inst = resolve_instrument(SOURCE, key, _first_symbol(result), where)
    df = _columns(
        result["list"],
        {"timestamp": "ms", "buyRatio": "long_share", "sellRatio": "short_share"},
        where,
    )
    return conform(
        df.with_columns(
            ts=ms_to_ts("ms"),
            venue=pl.lit(SOURCE),
            asset=pl.lit(inst.asset),
            kind=pl.lit("global_accounts"),
            long_short_ratio=pl.col("long_share") / pl.col("short_share"),
        ),
        "long_short_ratio",
    )


DATASETS = [
    SourceDataset(
        SOURCE,
        "perp_klines",
        "GET /v5/market/kline?category=linear&interval=60",
        requests_for("perp_klines", "/v5/market/kline", interval="60"),
        parse_kline,
        next_page=next_page,
        notes="newest first",
    ),
    SourceDataset(
        SOURCE,
        "funding_rates",
        "GET /v5/market/funding/history?category=linear",
        requests_for("funding_rates", "/v5/market/funding/history"),
        parse_funding,
        next_page=next_page,
        body_names_key=True,
        notes="no mark price in the history",
    ),
    SourceDataset(
        SOURCE,
        "open_interest",
        "GET /v5/market/open-interest?category=linear&intervalTime=1h",
        requests_for("open_interest", "/v5/market/open-interest", intervalTime="1h"),
        parse_open_interest,
        next_page=next_page,
        body_names_key=True,
        notes="coin units; USD valued in the models",
    ),
    SourceDataset(
        SOURCE,
        "long_short_ratio",
        "GET /v5/market/account-ratio?period=1h",
        requests_for("long_short_ratio", "/v5/market/account-ratio", period="1h"),
        parse_account_ratio,
        next_page=next_page,
        body_names_key=True,
        notes="share of accounts long/short (global_accounts)",
    ),
]
