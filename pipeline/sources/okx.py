"""OKX v5 public REST (www.okx.com, no key), USDT-margined swaps such as BTC-USDT-SWAP.

Endpoints (one request per instrument and UTC day; rows come NEWEST FIRST; `after` asks for
records older than a timestamp, `before` for newer ones; at most 100 rows a page):
- perp_klines: GET /api/v5/market/history-candles?instId&bar=1H: [ts, o, h, l, c, vol (contracts),
  volCcy (coin), volCcyQuote (USDT), confirm].
- funding_rates: GET /api/v5/public/funding-rate-history?instId (fundingTime, fundingRate;
  about three months of history; no mark price: NULL).
- open_interest: GET /api/v5/rubik/stat/contracts/open-interest-history?instId&period=1H:
  [ts, oi (contracts), oiCcy (coin), oiUsd]. The parser also reads the current snapshot of
  GET /api/v5/public/open-interest (objects with oi, oiCcy, oiUsd, ts).
- liquidations: GET /api/v5/public/liquidation-orders?instType=SWAP&instFamily&state=filled:
  data[].details[] with bkPx (bankruptcy price), sz (contracts), posSide, side, ts. Only recent
  days are served over REST (LIQUIDATION_HISTORY_DAYS); Binance and Bybit publish none.
Limits: about 20 requests per 2 s for most public endpoints (10 for funding history). Errors:
HTTP 200 with code != "0", e.g. {"code": "51001", "msg": "Instrument ID does not exist"}.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import polars as pl

from pipeline.errors import ParseError, SourceError
from pipeline.http import RequestSpec
from pipeline.sources.base import (
    FetchContext,
    SourceDataset,
    TwoStep,
    array_columns,
    day_bounds_ms,
    finish,
    funding_rows,
    instrument_columns,
    load_json,
    ms_to_ts,
    object_columns,
    resolve_instrument,
)

SOURCE = "okx"
PAGE = 100
# REST look-back per endpoint (OKX docs, and measured by others in 2026): funding history about
# three months, hourly open-interest history the latest 1440 entries (60 days at 1H),
# liquidation orders about the last 24 hours (a 00:30 nightly run misses ~30 min of the day).
FUNDING_HISTORY_DAYS = 88
OPEN_INTEREST_HISTORY_DAYS = 59
LIQUIDATION_HISTORY_DAYS = 1


def _check_history(ctx: FetchContext, dataset: str, days: int) -> None:
    oldest = ctx.today - timedelta(days=days)
    if ctx.day < oldest:
        raise SourceError(
            f"okx/{dataset} {ctx.day}: OKX serves only the last {days} days over REST "
            f"(oldest {oldest} as of {ctx.today})"
        )


def _spec(ctx: FetchContext, dataset: str, key: str, path: str, **params: str) -> RequestSpec:
    start, end = day_bounds_ms(ctx.day)
    return RequestSpec(
        source=SOURCE,
        dataset=dataset,
        key=key,
        day=ctx.day,
        url=f"{ctx.cfg.base_url}{path}",
        # newer than start - 1 and older than end: exactly the day
        params={
            **params,
            "after": str(end),
            "before": str(start - 1),
            "limit": str(min(PAGE, ctx.cfg.page_limit or PAGE)),
        },
    )


def candle_requests(ctx: FetchContext) -> list[RequestSpec]:
    return [
        _spec(
            ctx, "perp_klines", i.asset, "/api/v5/market/history-candles", instId=i.symbol, bar="1H"
        )
        for i in ctx.universe.instruments(SOURCE)
    ]


def funding_requests(ctx: FetchContext) -> list[RequestSpec]:
    _check_history(ctx, "funding_rates", FUNDING_HISTORY_DAYS)
    return [
        _spec(ctx, "funding_rates", i.asset, "/api/v5/public/funding-rate-history", instId=i.symbol)
        for i in ctx.universe.instruments(SOURCE)
    ]


def open_interest_requests(ctx: FetchContext) -> list[RequestSpec]:
    _check_history(ctx, "open_interest", OPEN_INTEREST_HISTORY_DAYS)
    start, end = day_bounds_ms(ctx.day)
    return [
        RequestSpec(
            source=SOURCE,
            dataset="open_interest",
            key=i.asset,
            day=ctx.day,
            url=f"{ctx.cfg.base_url}/api/v5/rubik/stat/contracts/open-interest-history",
            params={
                "instId": i.symbol,
                "period": "1H",
                "begin": str(start),
                "end": str(end - 1),
                "limit": str(PAGE),
            },
        )
        for i in ctx.universe.instruments(SOURCE)
    ]


def liquidation_requests(ctx: FetchContext) -> list[RequestSpec]:
    _check_history(ctx, "liquidations", LIQUIDATION_HISTORY_DAYS)
    return [
        _spec(
            ctx,
            "liquidations",
            i.asset,
            "/api/v5/public/liquidation-orders",
            instType="SWAP",
            instFamily=i.symbol.removesuffix("-SWAP"),
            state="filled",
        )
        for i in ctx.universe.instruments(SOURCE)
    ]


def _timestamps(data: list) -> list[int]:
    out = []
    for row in data:
        if isinstance(row, list):
            out.append(int(row[0]))
        elif isinstance(row, dict) and "details" in row:
            out.extend(int(d["ts"]) for d in row["details"])
        elif isinstance(row, dict):
            out.append(int(row.get("fundingTime") or row.get("ts")))
    return out


def next_page(spec: RequestSpec, body: str, pages: int) -> RequestSpec | None:
    """A full page continues with records older than its oldest one. For liquidations the
    next page starts AT that timestamp (`after` = oldest + 1): several orders can share a
    millisecond, and staging drops the exact duplicates this overlap brings."""
    try:
        data = _data(body, "okx page")
        stamps = _timestamps(data)
    except (ParseError, KeyError, TypeError, ValueError):
        return None  # the parser reports the bad body with its raw file
    # a liquidation page counts orders (the details of its groups), others count rows
    if len(stamps) < int(spec.params.get("limit", PAGE)) or not stamps:
        return None
    oldest = min(stamps)
    if "end" in spec.params:  # rubik statistics: begin/end
        return replace(spec, params={**spec.params, "end": str(oldest - 1)})
    after = oldest + 1 if spec.dataset == "liquidations" else oldest
    if after >= int(spec.params["after"]):
        raise SourceError(
            f"{spec.describe()}: more than {spec.params['limit']} records at {oldest} ms; "
            "the page cannot advance"
        )
    return replace(spec, params={**spec.params, "after": str(after)})


def _data(body: str | bytes, where: str) -> list:
    if isinstance(body, bytes):
        raise ParseError(f"{where}: expected a JSON body, got binary data")
    doc = load_json(body, where)
    if not isinstance(doc, dict) or "data" not in doc:
        raise ParseError(f"{where}: not an OKX v5 envelope (missing field 'data')")
    if "code" in doc and str(doc["code"]) != "0":
        raise ParseError(f"{where}: API error code {doc['code']}: {doc.get('msg')}")
    if not isinstance(doc["data"], list):
        raise ParseError(f"{where}: field 'data' is not a list")
    return doc["data"]


CANDLE_FIELDS = ["ms", "open", "high", "low", "close", None, "volume_base", "volume_usd"]


def _candle_columns(body: str | bytes, key: str) -> tuple[pl.DataFrame, str]:
    where = f"okx perp_klines ({key or '?'})"
    data = _data(body, where)
    inst = resolve_instrument(SOURCE, key, None, where)
    return array_columns(data, CANDLE_FIELDS, where, instrument_columns(inst, data)), where


def _candle_rows(df: pl.DataFrame, where: str) -> pl.DataFrame:
    return finish(
        df,
        "perp_klines",
        where,
        ["open", "high", "low", "close", "volume_base", "volume_usd"],
        {"ts": ms_to_ts("ms"), "venue": pl.lit(SOURCE), "interval": pl.lit("1h")},
    )


def _inst_id(data: list) -> str | None:
    return data[0].get("instId") if data and isinstance(data[0], dict) else None


def _funding_columns(body: str | bytes, key: str) -> tuple[pl.DataFrame, str]:
    where = f"okx funding_rates ({key or 'instId from body'})"
    data = _data(body, where)
    inst = resolve_instrument(SOURCE, key, _inst_id(data), where)
    fields = {"fundingTime": "ms", "fundingRate": "funding_rate"}
    return object_columns(data, fields, where, instrument_columns(inst, data)), where


def _open_interest_columns(body: str | bytes, key: str) -> tuple[pl.DataFrame, str]:
    where = f"okx open_interest ({key or 'instId from body'})"
    data = _data(body, where)
    inst = resolve_instrument(SOURCE, key, _inst_id(data), where)
    extra = instrument_columns(inst, data)
    if data and isinstance(data[0], dict):  # the /public/open-interest snapshot
        fields = {"ts": "ms", "oiCcy": "oi_ccy", "oiUsd": "oi_usd"}
        return object_columns(data, fields, where, extra), where
    # rubik history rows: ts, oi (contracts), oi in coin, oi in USD
    return array_columns(data, ["ms", None, "oi_ccy", "oi_usd"], where, extra), where


def _open_interest_rows(df: pl.DataFrame, where: str) -> pl.DataFrame:
    return finish(
        df,
        "open_interest",
        where,
        ["oi_ccy", "oi_usd"],
        {
            "ts": ms_to_ts("ms"),
            "venue": pl.lit(SOURCE),
            "open_interest_base": pl.col("oi_ccy"),
            "open_interest_usd": pl.col("oi_usd"),
        },
    )


def _liquidation_columns(body: str | bytes, key: str) -> tuple[pl.DataFrame, str]:
    """REST (and WebSocket push) liquidation orders -> one row per order."""
    where = f"okx liquidations ({key or 'instId from body'})"
    data = _data(body, where)
    rows = []
    for i, group in enumerate(data):
        if not isinstance(group, dict) or not isinstance(group.get("details"), list):
            raise ParseError(f"{where}: data[{i}] is missing field 'details'")
        inst = resolve_instrument(
            SOURCE, key, group.get("instId") or (group.get("instFamily", "") + "-SWAP"), where
        )
        for detail in group["details"]:
            if isinstance(detail, dict):  # anything else: object_columns names the row
                detail = {
                    **detail,
                    "_pos": detail.get("posSide"),
                    "_contract": inst.contract_size,
                    "_asset": inst.asset,
                }
            rows.append(detail)
    fields = {
        "ts": "ms",
        "bkPx": "price",
        "sz": "contracts",
        "side": "order_side",
        "_pos": "pos_side",
        "_contract": "contract",
        "_asset": "asset",
    }
    return object_columns(rows, fields, where), where


def _liquidation_rows(df: pl.DataFrame, where: str) -> pl.DataFrame:
    # the liquidated position's side: posSide in long/short mode; in net mode the order
    # closes it, so a sell order liquidates a long
    side = (
        pl.when(pl.col("pos_side").is_in(["long", "short"]))
        .then(pl.col("pos_side"))
        .when(pl.col("order_side") == "sell")
        .then(pl.lit("long"))
        .when(pl.col("order_side") == "buy")
        .then(pl.lit("short"))
    )
    out = finish(
        df,
        "liquidations",
        where,
        ["price", "contracts", "contract"],
        {
            "ts": ms_to_ts("ms"),
            "venue": pl.lit(SOURCE),
            "side": side,
            "qty_base": pl.col("contracts") * pl.col("contract"),
        },
        {"notional_usd": pl.col("price") * pl.col("qty_base")},
    )
    if out["side"].null_count():
        raise ParseError(f"{where}: an order has neither posSide long/short nor side buy/sell")
    return out


# the parsers (two steps: stage runs the second once over a day's bodies)
parse_candles = TwoStep(_candle_columns, _candle_rows)
parse_funding = TwoStep(_funding_columns, funding_rows(SOURCE))
parse_open_interest = TwoStep(_open_interest_columns, _open_interest_rows)
parse_liquidations = TwoStep(_liquidation_columns, _liquidation_rows)


DATASETS = [
    SourceDataset(
        SOURCE,
        "perp_klines",
        "GET /api/v5/market/history-candles?bar=1H",
        candle_requests,
        parse_candles,
        next_page=next_page,
        notes="newest first",
    ),
    SourceDataset(
        SOURCE,
        "funding_rates",
        "GET /api/v5/public/funding-rate-history",
        funding_requests,
        parse_funding,
        next_page=next_page,
        body_names_key=True,
        notes=f"last {FUNDING_HISTORY_DAYS} days; no mark price",
    ),
    SourceDataset(
        SOURCE,
        "open_interest",
        "GET /api/v5/rubik/stat/contracts/open-interest-history?period=1H",
        open_interest_requests,
        parse_open_interest,
        next_page=next_page,
        body_names_key=True,
        notes="also parses /api/v5/public/open-interest",
    ),
    SourceDataset(
        SOURCE,
        "liquidations",
        "GET /api/v5/public/liquidation-orders?instType=SWAP&state=filled",
        liquidation_requests,
        parse_liquidations,
        next_page=next_page,
        body_names_key=True,
        notes=f"last {LIQUIDATION_HISTORY_DAYS} days; the only public liquidation feed",
    ),
]
