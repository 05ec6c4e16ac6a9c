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
from pipeline.sources.base import (
    FetchContext,
    SourceDataset,
    TwoStep,
    array_columns,
    constant,
    day_bounds_ms,
    finish,
    funding_rows,
    instrument_columns,
    load_json,
    ms_to_ts,
    object_columns,
    resolve_instrument,
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


def _extra(inst, rows: list, result: dict) -> dict[str, pl.Series]:
    """The body's instrument and contract type (inverse contracts count USD) as columns."""
    inverse = result.get("category") == "inverse"
    return {**instrument_columns(inst, rows), "_inverse": constant(inverse, rows, pl.Boolean)}


def _first_symbol(result: dict) -> str | None:
    rows = result["list"]
    return result.get("symbol") or (
        rows[0].get("symbol") if rows and isinstance(rows[0], dict) else None
    )


def _object_body(dataset: str, fields: dict[str, str] | None = None):
    """`columns` of a body whose list holds objects (`fields`: body field -> column)."""

    def columns(body: str | bytes, key: str) -> tuple[pl.DataFrame, str]:
        where = f"bybit {dataset} ({key or 'symbol from body'})"
        result = _result(body, where)
        inst = resolve_instrument(SOURCE, key, _first_symbol(result), where)
        rows = result["list"]
        wanted = fields
        if wanted is None:  # open interest
            # since late 2023 Bybit's openInterest counts both sides; singleOpenInterest is
            # one side, as Binance and OKX report it: use it where the body has it
            single = bool(rows) and all(
                isinstance(r, dict) and "singleOpenInterest" in r for r in rows
            )
            wanted = {"timestamp": "ms", ("singleOpenInterest" if single else "openInterest"): "oi"}
        return object_columns(rows, wanted, where, _extra(inst, rows, result)), where

    return columns


def _kline_columns(body: str | bytes, key: str) -> tuple[pl.DataFrame, str]:
    where = f"bybit perp_klines ({key or 'symbol from body'})"
    result = _result(body, where)
    inst = resolve_instrument(SOURCE, key, result.get("symbol"), where)
    rows = result["list"]
    extra = _extra(inst, rows, result)
    return array_columns(rows, KLINE_FIELDS, where, extra, what="kline"), where


KLINE_FIELDS = ["ms", "open", "high", "low", "close", "volume", "turnover"]
INVERSE = pl.col("_inverse")


def _kline_rows(df: pl.DataFrame, where: str) -> pl.DataFrame:
    m = pl.col("_m")
    return finish(
        df,
        "perp_klines",
        where,
        KLINE_FIELDS[1:],
        {
            "ts": ms_to_ts("ms"),
            "venue": pl.lit(SOURCE),
            "interval": pl.lit("1h"),
            "open": pl.col("open") / m,
            "high": pl.col("high") / m,
            "low": pl.col("low") / m,
            "close": pl.col("close") / m,
            "volume_base": pl.when(INVERSE).then("turnover").otherwise(pl.col("volume") * m),
            "volume_usd": pl.when(INVERSE).then("volume").otherwise("turnover"),
        },
    )


def _open_interest_rows(df: pl.DataFrame, where: str) -> pl.DataFrame:
    return finish(
        df,
        "open_interest",
        where,
        ["oi"],
        {
            "ts": ms_to_ts("ms"),
            "venue": pl.lit(SOURCE),
            # inverse open interest counts USD contracts
            "open_interest_base": pl.when(INVERSE)
            .then(None)
            .otherwise(pl.col("oi") * pl.col("_m")),
            "open_interest_usd": pl.when(INVERSE).then("oi"),
        },
    )


def _account_ratio_rows(df: pl.DataFrame, where: str) -> pl.DataFrame:
    return finish(
        df,
        "long_short_ratio",
        where,
        ["long_share", "short_share"],
        {
            "ts": ms_to_ts("ms"),
            "venue": pl.lit(SOURCE),
            "kind": pl.lit("global_accounts"),
            "long_short_ratio": pl.col("long_share") / pl.col("short_share"),
        },
    )


# the parsers (two steps: stage runs the second once over a day's bodies)
parse_kline = TwoStep(_kline_columns, _kline_rows)
parse_funding = TwoStep(
    _object_body("funding_rates", {"fundingRateTimestamp": "ms", "fundingRate": "funding_rate"}),
    funding_rows(SOURCE),
)
parse_open_interest = TwoStep(_object_body("open_interest"), _open_interest_rows)
parse_account_ratio = TwoStep(
    _object_body(
        "long_short_ratio",
        {"timestamp": "ms", "buyRatio": "long_share", "sellRatio": "short_share"},
    ),
    _account_ratio_rows,
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
