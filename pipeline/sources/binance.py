"""Binance USD-M futures (public market data, no key): fapi.binance.com and data.binance.vision.

Endpoints (one request per instrument and UTC day; startTime/endTime in ms, inclusive):
- perp_klines, taker_volume: GET /fapi/v1/klines?symbol&interval=1h (12-field arrays; the taker
  buy *quote* volume of each bar gives taker buy/sell in USD; /futures/data/takerlongshortRatio
  reports base-asset volumes without a price, so it cannot give USD honestly). Max 1500 rows.
- funding_rates: GET /fapi/v1/fundingRate?symbol (fundingTime, fundingRate, markPrice). Max 1000.
- open_interest: GET /futures/data/openInterestHist?symbol&period=1h. Max 500 rows.
- long_short_ratio: GET /futures/data/globalLongShortAccountRatio (kind global_accounts),
  /topLongShortAccountRatio (top_accounts), /topLongShortPositionRatio (top_positions),
  period=1h. The three share one dataset: the request key is `ASSET@kind`.
- order_book: GET /fapi/v1/depth?symbol&limit=1000, a snapshot of now (spread, 1% depth).
The /futures/data statistics serve the last 30 days only. Older open interest and ratios come
from the public daily archive data.binance.vision/data/futures/um/daily/metrics/<SYMBOL>/
<SYMBOL>-metrics-<DAY>.zip (a CSV of 5-minute rows). Weight limit 2400/min per IP; the
statistics endpoints allow about 1000 requests per 5 minutes. Errors come as HTTP 400 with
{"code": -1121, "msg": "Invalid symbol."}, or (seen in the wild) HTTP 200 with
{"status": "ERROR", "code": "...", "errorData": "..."}.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import replace
from datetime import datetime, timedelta

import polars as pl

from pipeline.config import Instrument
from pipeline.errors import ParseError
from pipeline.http import RequestSpec
from pipeline.schemas import conform
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
    to_float,
)

SOURCE = "binance"
HOUR_MS = 3_600_000
RATIO_ENDPOINTS = {
    "global_accounts": "/futures/data/globalLongShortAccountRatio",
    "top_accounts": "/futures/data/topLongShortAccountRatio",
    "top_positions": "/futures/data/topLongShortPositionRatio",
}
# archive columns (ratios of the last 5 minutes) -> long_short_ratio kinds
ARCHIVE_RATIOS = {
    "count_long_short_ratio": "global_accounts",
    "count_toptrader_long_short_ratio": "top_accounts",
    "sum_toptrader_long_short_ratio": "top_positions",
}
PAGE_MAX = {"/fapi/v1/klines": 1500, "/fapi/v1/fundingRate": 1000}


# -- requests -------------------------------------------------------------------------------
def _in_history(ctx: FetchContext) -> bool:
    # the 30-day window rolls by the minute: the day exactly 30 days back is already cut
    oldest = ctx.history_start()
    return oldest is None or ctx.day > oldest


def _range_spec(
    ctx: FetchContext, dataset: str, inst: Instrument, path: str, key: str = "", **params: str
) -> RequestSpec:
    start, end = day_bounds_ms(ctx.day)
    limit = min(PAGE_MAX.get(path, 500), ctx.cfg.page_limit or 500)
    return RequestSpec(
        source=SOURCE,
        dataset=dataset,
        key=key or inst.asset,
        day=ctx.day,
        url=f"{ctx.cfg.base_url}{path}",
        params={
            "symbol": inst.symbol,
            **params,
            "startTime": str(start),
            "endTime": str(end - 1),
            "limit": str(limit),
        },
    )


def _archive_spec(ctx: FetchContext, dataset: str, inst: Instrument, key: str) -> RequestSpec:
    name = f"{inst.symbol}-metrics-{ctx.day.isoformat()}.zip"
    return RequestSpec(
        source=SOURCE,
        dataset=dataset,
        key=key,
        day=ctx.day,
        url=f"{ctx.cfg.archive_url}/data/futures/um/daily/metrics/{inst.symbol}/{name}",
        binary=True,
    )


def kline_requests(dataset: str):
    def build(ctx: FetchContext) -> list[RequestSpec]:
        return [
            _range_spec(ctx, dataset, inst, "/fapi/v1/klines", interval="1h")
            for inst in ctx.universe.instruments(SOURCE)
        ]

    return build


def funding_requests(ctx: FetchContext) -> list[RequestSpec]:
    return [
        _range_spec(ctx, "funding_rates", inst, "/fapi/v1/fundingRate")
        for inst in ctx.universe.instruments(SOURCE)
    ]


def open_interest_requests(ctx: FetchContext) -> list[RequestSpec]:
    if not _in_history(ctx):
        return [
            _archive_spec(ctx, "open_interest", inst, inst.asset)
            for inst in ctx.universe.instruments(SOURCE)
        ]
    return [
        _range_spec(ctx, "open_interest", inst, "/futures/data/openInterestHist", period="1h")
        for inst in ctx.universe.instruments(SOURCE)
    ]


def ratio_requests(ctx: FetchContext) -> list[RequestSpec]:
    if not _in_history(ctx):  # one archive file holds all three ratios
        return [
            _archive_spec(ctx, "long_short_ratio", inst, f"{inst.asset}@archive")
            for inst in ctx.universe.instruments(SOURCE)
        ]
    return [
        _range_spec(ctx, "long_short_ratio", inst, path, key=f"{inst.asset}@{kind}", period="1h")
        for inst in ctx.universe.instruments(SOURCE)
        for kind, path in RATIO_ENDPOINTS.items()
    ]


def depth_requests(ctx: FetchContext) -> list[RequestSpec]:
    if ctx.today > ctx.day + timedelta(days=1):  # a snapshot can't describe the past
        return []
    return [
        RequestSpec(
            source=SOURCE,
            dataset="order_book",
            key=inst.asset,
            day=ctx.day,
            url=f"{ctx.cfg.base_url}/fapi/v1/depth",
            params={"symbol": inst.symbol, "limit": "1000"},
            as_of=ctx.as_of,
        )
        for inst in ctx.universe.instruments(SOURCE)
    ]


def next_page(spec: RequestSpec, body: str, pages: int) -> RequestSpec | None:
    """Time-range endpoints: a full page means more rows may follow its last timestamp."""
    try:
        rows = load_json(body, "binance page")
    except ParseError:
        return None  # the parser reports the bad body with its raw file
    limit = int(spec.params.get("limit", 0) or 0)
    if not isinstance(rows, list) or not rows or len(rows) < limit:
        return None
    last = rows[-1]
    stamp = last[0] if isinstance(last, list) else last.get("fundingTime") or last.get("timestamp")
    last_ms = int(stamp)
    if last_ms >= int(spec.params["endTime"]):
        return None
    return replace(spec, params={**spec.params, "startTime": str(last_ms + 1)})


# -- parsers ----------------------------------------------------------------------------------
def _where(dataset: str, key: str) -> str:
    return f"binance {dataset} ({key or 'symbol from body'})"


def _rows(body: str | bytes, where: str) -> list:
    if isinstance(body, bytes):
        raise ParseError(f"{where}: expected a JSON body, got binary data")
    doc = load_json(body, where)
    if isinstance(doc, dict):
        if "code" in doc and ("msg" in doc or "errorData" in doc):
            raise ParseError(
                f"{where}: API error {doc.get('code')}: {doc.get('msg') or doc.get('errorData')}"
            )
        raise ParseError(f"{where}: expected a JSON list, got an object with {sorted(doc)[:6]}")
    if not isinstance(doc, list):
        raise ParseError(f"{where}: expected a JSON list, got {type(doc).__name__}")
    return doc


KLINE_FLOATS = ["open", "high", "low", "close", "volume", "quote_volume", "taker_buy_quote"]
KLINE_FIELDS = ["ms", "open", "high", "low", "close", "volume", None, "quote_volume"]
KLINE_FIELDS += [None, None, "taker_buy_quote"]  # fields 8-9: trade count, taker buy base


def _kline_columns(dataset: str):
    def columns(body: str | bytes, key: str) -> tuple[pl.DataFrame, str]:
        where = _where(dataset, key)
        rows = _rows(body, where)
        inst = resolve_instrument(SOURCE, key, None, where)
        extra = instrument_columns(inst, rows)
        return array_columns(rows, KLINE_FIELDS, where, extra, what="kline"), where

    return columns


def _kline_rows(df: pl.DataFrame, where: str) -> pl.DataFrame:
    return finish(
        df,
        "perp_klines",
        where,
        KLINE_FLOATS,
        {
            "ts": ms_to_ts("ms"),
            "venue": pl.lit(SOURCE),
            "interval": pl.lit("1h"),
            "open": pl.col("open") / pl.col("_m"),
            "high": pl.col("high") / pl.col("_m"),
            "low": pl.col("low") / pl.col("_m"),
            "close": pl.col("close") / pl.col("_m"),
            "volume_base": pl.col("volume") * pl.col("_m"),
            "volume_usd": pl.col("quote_volume"),
        },
    )


def _taker_rows(df: pl.DataFrame, where: str) -> pl.DataFrame:
    return finish(
        df,
        "taker_volume",
        where,
        KLINE_FLOATS,
        {
            "ts": ms_to_ts("ms"),
            "venue": pl.lit(SOURCE),
            "buy_volume_usd": pl.col("taker_buy_quote"),
            "sell_volume_usd": pl.col("quote_volume") - pl.col("taker_buy_quote"),
        },
    )


def _symbol_of(rows: list) -> str | None:
    return rows[0].get("symbol") if rows and isinstance(rows[0], dict) else None


def _funding_columns(body: str | bytes, key: str) -> tuple[pl.DataFrame, str]:
    where = _where("funding_rates", key)
    rows = _rows(body, where)
    inst = resolve_instrument(SOURCE, key, _symbol_of(rows), where)
    extra = instrument_columns(inst, rows)
    # markPrice is absent in older responses
    extra["mark"] = pl.Series([r.get("markPrice") or None for r in rows], dtype=pl.String)
    fields = {"fundingTime": "ms", "fundingRate": "funding_rate"}
    return object_columns(rows, fields, where, extra), where


def _open_interest_columns(body: str | bytes, key: str) -> tuple[pl.DataFrame, str]:
    where = _where("open_interest", key)
    rows = _rows(body, where)
    inst = resolve_instrument(SOURCE, key, _symbol_of(rows), where)
    fields = {
        "timestamp": "ms",
        "sumOpenInterest": "oi",
        "sumOpenInterestValue": "open_interest_usd",
    }
    return object_columns(rows, fields, where, instrument_columns(inst, rows)), where


def _open_interest_rows(df: pl.DataFrame, where: str) -> pl.DataFrame:
    return finish(
        df,
        "open_interest",
        where,
        ["oi", "open_interest_usd"],
        {
            "ts": ms_to_ts("ms"),
            "venue": pl.lit(SOURCE),
            "open_interest_base": pl.col("oi") * pl.col("_m"),
        },
    )


def _long_short_columns(body: str | bytes, key: str) -> tuple[pl.DataFrame, str]:
    where = _where("long_short_ratio", key)
    rows = _rows(body, where)
    inst = resolve_instrument(SOURCE, key, _symbol_of(rows), where)
    kind = key.partition("@")[2] or "global_accounts"
    if kind not in RATIO_ENDPOINTS:
        raise ParseError(f"{where}: unknown ratio kind {kind!r} (known: {list(RATIO_ENDPOINTS)})")
    fields = {
        "timestamp": "ms",
        "longAccount": "long_share",
        "shortAccount": "short_share",
        "longShortRatio": "long_short_ratio",
    }
    extra = {**instrument_columns(inst, rows), "kind": constant(kind, rows, pl.String)}
    return object_columns(rows, fields, where, extra), where


def _long_short_rows(df: pl.DataFrame, where: str) -> pl.DataFrame:
    return finish(
        df,
        "long_short_ratio",
        where,
        ["long_share", "short_share", "long_short_ratio"],
        {"ts": ms_to_ts("ms"), "venue": pl.lit(SOURCE)},
    )


def parse_depth(body: str | bytes, key: str) -> pl.DataFrame:
    where = _where("order_book", key)
    if isinstance(body, bytes):
        raise ParseError(f"{where}: expected a JSON body, got binary data")
    doc = load_json(body, where)
    if isinstance(doc, dict) and "code" in doc and "msg" in doc:
        raise ParseError(f"{where}: API error {doc['code']}: {doc['msg']}")
    if not isinstance(doc, dict):
        raise ParseError(f"{where}: expected a JSON object")
    inst = resolve_instrument(SOURCE, key, None, where)
    for name in ("bids", "asks"):
        if name not in doc:
            raise ParseError(f"{where}: missing field {name!r}")
    stamp = doc.get("T") or doc.get("E")
    if stamp is None:
        raise ParseError(f"{where}: missing field 'T' (transaction time)")
    try:
        bids = [(float(p) / inst.multiplier, float(q) * inst.multiplier) for p, q in doc["bids"]]
        asks = [(float(p) / inst.multiplier, float(q) * inst.multiplier) for p, q in doc["asks"]]
    except (TypeError, ValueError) as exc:
        raise ParseError(f"{where}: a level is not [price, qty] ({exc})") from None
    if not bids or not asks:
        raise ParseError(f"{where}: empty side of the book (bids {len(bids)}, asks {len(asks)})")
    return conform(book_row(int(stamp), SOURCE, inst.asset, bids, asks), "order_book")


def book_row(ms: int, venue: str, asset: str, bids: list, asks: list) -> pl.DataFrame:
    """One order_book row from levels (price, qty in tokens): spread and depth within 1%."""
    best_bid, best_ask = max(p for p, _ in bids), min(p for p, _ in asks)
    mid = (best_bid + best_ask) / 2
    return pl.DataFrame(
        {
            "ms": [ms],
            "venue": [venue],
            "asset": [asset],
            "best_bid": [best_bid],
            "best_ask": [best_ask],
            "spread_bps": [(best_ask - best_bid) / mid * 1e4],
            "bid_depth_usd_1pct": [sum(p * q for p, q in bids if p >= mid * 0.99)],
            "ask_depth_usd_1pct": [sum(p * q for p, q in asks if p <= mid * 1.01)],
        }
    ).with_columns(ts=ms_to_ts("ms"))


# -- the daily metrics archive ----------------------------------------------------------------
def _archive_rows(body: bytes, where: str) -> list[dict]:
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            names = [n for n in zf.namelist() if n.endswith(".csv")]
            if not names:
                raise ParseError(f"{where}: the archive holds no CSV file")
            text = zf.read(names[0]).decode("utf-8")
    except zipfile.BadZipFile:
        raise ParseError(f"{where}: body is not a zip archive") from None
    rows = list(csv.DictReader(io.StringIO(text)))
    for col in ("create_time", "symbol", "sum_open_interest", "sum_open_interest_value"):
        if rows and col not in rows[0]:
            raise ParseError(f"{where}: archive CSV is missing column {col!r}")
    return rows


def _archive_ts(rows: list[dict], where: str) -> list[datetime]:
    try:
        return [datetime.fromisoformat(r["create_time"] + "+00:00") for r in rows]
    except ValueError as exc:
        raise ParseError(f"{where}: bad create_time ({exc})") from None


def _archive_open_interest(body: bytes, key: str) -> pl.DataFrame:
    where = _where("open_interest", key) + " archive"
    rows = _archive_rows(body, where)
    inst = resolve_instrument(SOURCE, key, rows[0]["symbol"] if rows else None, where)
    df = pl.DataFrame(
        {
            "ts": _archive_ts(rows, where),
            "oi": [r["sum_open_interest"] for r in rows],
            "open_interest_usd": [r["sum_open_interest_value"] for r in rows],
        },
        schema={"ts": pl.Datetime("us", "UTC"), "oi": pl.String, "open_interest_usd": pl.String},
    )
    df = to_float(df, ["oi", "open_interest_usd"], where)
    return conform(
        df.with_columns(
            venue=pl.lit(SOURCE),
            asset=pl.lit(inst.asset),
            open_interest_base=pl.col("oi") * inst.multiplier,
        ),
        "open_interest",
    )


def _archive_ratios(body: bytes, key: str) -> pl.DataFrame:
    where = _where("long_short_ratio", key) + " archive"
    rows = _archive_rows(body, where)
    inst = resolve_instrument(SOURCE, key, rows[0]["symbol"] if rows else None, where)
    ts = _archive_ts(rows, where)
    frames = []
    for column, kind in ARCHIVE_RATIOS.items():
        if rows and column not in rows[0]:
            raise ParseError(f"{where}: archive CSV is missing column {column!r}")
        ratio = pl.DataFrame(
            {"ts": ts, "long_short_ratio": [r[column] for r in rows]},
            schema={"ts": pl.Datetime("us", "UTC"), "long_short_ratio": pl.String},
        )
        ratio = to_float(ratio, ["long_short_ratio"], where)
        frames.append(
            ratio.with_columns(
                kind=pl.lit(kind),
                long_share=pl.col("long_short_ratio") / (1 + pl.col("long_short_ratio")),
                short_share=1 / (1 + pl.col("long_short_ratio")),
            )
        )
    out = pl.concat(frames) if frames else pl.DataFrame()
    return conform(
        out.with_columns(venue=pl.lit(SOURCE), asset=pl.lit(inst.asset)), "long_short_ratio"
    )


# the parsers (two steps: stage runs the second once over a day's bodies)
parse_klines = TwoStep(_kline_columns("perp_klines"), _kline_rows)
parse_taker_volume = TwoStep(_kline_columns("taker_volume"), _taker_rows)
parse_funding = TwoStep(_funding_columns, funding_rows(SOURCE, mark=True))
parse_open_interest = TwoStep(
    _open_interest_columns, _open_interest_rows, binary=_archive_open_interest
)
parse_long_short = TwoStep(_long_short_columns, _long_short_rows, binary=_archive_ratios)

DATASETS = [
    SourceDataset(
        SOURCE,
        "perp_klines",
        "GET /fapi/v1/klines?interval=1h",
        kline_requests("perp_klines"),
        parse_klines,
        next_page=next_page,
        notes="hourly bars; prices of 1000-prefixed contracts divided by 1000",
    ),
    SourceDataset(
        SOURCE,
        "taker_volume",
        "GET /fapi/v1/klines?interval=1h (taker buy quote volume)",
        kline_requests("taker_volume"),
        parse_taker_volume,
        next_page=next_page,
        notes="USD from the bars' quote volumes",
    ),
    SourceDataset(
        SOURCE,
        "funding_rates",
        "GET /fapi/v1/fundingRate",
        funding_requests,
        parse_funding,
        next_page=next_page,
        body_names_key=True,
        notes="every 8 h (4 h for some symbols)",
    ),
    SourceDataset(
        SOURCE,
        "open_interest",
        "GET /futures/data/openInterestHist?period=1h",
        open_interest_requests,
        parse_open_interest,
        next_page=next_page,
        body_names_key=True,
        notes="last 30 days; older days from the data.binance.vision metrics archive",
    ),
    SourceDataset(
        SOURCE,
        "long_short_ratio",
        "GET /futures/data/{global,topLongShort}{Account,Position}Ratio?period=1h",
        ratio_requests,
        parse_long_short,
        next_page=next_page,
        body_names_key=True,
        notes="key ASSET@kind; last 30 days, older from the metrics archive",
    ),
    SourceDataset(
        SOURCE,
        "order_book",
        "GET /fapi/v1/depth?limit=1000",
        depth_requests,
        parse_depth,
        notes="snapshot of now: nightly only, no backfill",
    ),
]
