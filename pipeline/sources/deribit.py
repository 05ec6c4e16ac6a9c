"""Deribit public API (www.deribit.com/api/v2, no key): options activity and the DVOL index.

Endpoints (JSON-RPC over HTTP GET; answers are `{"jsonrpc": "2.0", "result": ..., "usIn",
"usOut", "usDiff", "testnet"}`, errors `{"jsonrpc": "2.0", "error": {"code", "message"}}`):

- GET /public/get_book_summary_by_currency?currency=BTC&kind=option -> options_activity.
  One summary per listed option: `volume` (24h, in contracts of one coin), `open_interest`
  (contracts), `underlying_price` (USD), `mark_iv` (percent), `creation_timestamp` (ms). The
  answer is a snapshot of "now" without history: the request is taken at `ctx.as_of` (00:30 UTC
  the next day) and describes the day that just ended; a day older than that gets no request
  (a backfill has no options activity, see `notes`). No pagination: one answer per currency.
- GET /public/get_volatility_index_data?currency=BTC&start_timestamp&end_timestamp
  &resolution=1D -> options_volatility: DVOL candles `[ms, open, high, low, close]` and
  `continuation` (the end_timestamp of the next, older page, or null). History by time range.

Units: option volumes and open interest are turned into USD notional with each option's
underlying price (a contract is one coin); `volume_usd` of the API (premium traded) is not
used. Limits: a credit system of about 20 non-matching-engine requests a second.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import polars as pl

from pipeline.errors import ParseError
from pipeline.http import RequestSpec
from pipeline.schemas import conform, empty
from pipeline.sources.base import FetchContext, SourceDataset, day_bounds_ms, load_json

SOURCE = "deribit"
VENUE = "deribit"
OPTION_FIELDS = ("instrument_name", "volume", "open_interest", "underlying_price", "mark_iv")


def covered(ctx: FetchContext) -> list[str]:
    """Universe assets that Deribit lists options (and a DVOL index) for."""
    wanted = set(ctx.cfg.assets or [])
    return [a.symbol for a in ctx.universe.assets if a.symbol in wanted]


def book_summary_requests(ctx: FetchContext) -> list[RequestSpec]:
    # a live snapshot describes the day that just ended, and no other
    if ctx.today > ctx.day + timedelta(days=1):
        return []
    return [
        RequestSpec(
            source=SOURCE,
            dataset="options_activity",
            key=asset,
            day=ctx.day,
            url=f"{ctx.cfg.base_url}/public/get_book_summary_by_currency",
            params={"currency": asset, "kind": "option"},
            as_of=ctx.as_of,
        )
        for asset in covered(ctx)
    ]


def volatility_index_requests(ctx: FetchContext) -> list[RequestSpec]:
    start, end = day_bounds_ms(ctx.day)
    return [
        RequestSpec(
            source=SOURCE,
            dataset="options_volatility",
            key=asset,
            day=ctx.day,
            url=f"{ctx.cfg.base_url}/public/get_volatility_index_data",
            params={
                "currency": asset,
                "start_timestamp": str(start),
                # inclusive: stop one millisecond before the next day
                "end_timestamp": str(end - 1),
                "resolution": "1D",
            },
        )
        for asset in covered(ctx)
    ]


def _result(body: str | bytes, where: str) -> object:
    if isinstance(body, bytes):
        raise ParseError(f"{where}: expected a JSON body, got binary data")
    doc = load_json(body, where)
    if not isinstance(doc, dict):
        raise ParseError(f"{where}: expected a JSON-RPC object, got {type(doc).__name__}")
    if isinstance(doc.get("error"), dict):
        err = doc["error"]
        raise ParseError(f"{where}: API error {err.get('code')}: {err.get('message')}")
    if "result" not in doc:
        raise ParseError(f"{where}: missing field 'result' (fields: {sorted(doc)[:8]})")
    return doc["result"]


def _number(row: dict, name: str, where: str, i: int) -> float:
    value = row.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParseError(f"{where}: row {i} field {name!r} is not a number: {value!r}")
    return float(value)


def parse_book_summary(body: str | bytes, key: str) -> pl.DataFrame:
    """Option book summaries of one currency -> one options_activity row (the snapshot)."""
    where = f"deribit options_activity ({key or 'currency from body'})"
    result = _result(body, where)
    if not isinstance(result, list):
        raise ParseError(f"{where}: field 'result' is not a list")
    if not result:
        return empty("options_activity")
    rows = []
    for i, item in enumerate(result):
        if not isinstance(item, dict):
            raise ParseError(f"{where}: row {i} is not an object")
        if "instrument_name" not in item:
            raise ParseError(f"{where}: row {i} is missing field 'instrument_name'")
        name = str(item["instrument_name"])
        parts = name.split("-")
        # options are CURRENCY-DDMMMYY-STRIKE-C|P; a future or perpetual here is a wrong kind
        if len(parts) != 4 or parts[3] not in ("C", "P"):
            raise ParseError(f"{where}: instrument {name!r} is not an option (kind=option?)")
        currency = parts[0]
        if key and currency != key:
            raise ParseError(f"{where}: instrument {name!r} is not a {key} option")
        for field in (*OPTION_FIELDS, "creation_timestamp"):
            if field not in item:
                raise ParseError(f"{where}: row {i} is missing field {field!r}")
        rows.append(
            {
                "asset": currency,
                "is_put": parts[3] == "P",
                "ms": int(_number(item, "creation_timestamp", where, i)),
                "volume": _number(item, "volume", where, i),
                "oi": _number(item, "open_interest", where, i),
                "underlying": _number(item, "underlying_price", where, i),
                "iv": _number(item, "mark_iv", where, i),
            }
        )
    assets = {r["asset"] for r in rows}
    if len(assets) > 1:
        raise ParseError(f"{where}: options of several currencies {sorted(assets)} in one body")
    frame = pl.DataFrame(rows).with_columns(
        volume_usd=pl.col("volume") * pl.col("underlying"),
        oi_usd=pl.col("oi") * pl.col("underlying"),
    )
    put = pl.col("is_put")
    oi_total = pl.col("oi").sum()
    summary = frame.group_by("asset").agg(
        ms=pl.col("ms").max(),
        n_instruments=pl.len().cast(pl.Int64),
        volume_base=pl.col("volume").sum(),
        volume_usd=pl.col("volume_usd").sum(),
        put_volume_usd=pl.col("volume_usd").filter(put).sum(),
        call_volume_usd=pl.col("volume_usd").filter(~put).sum(),
        open_interest_base=oi_total,
        open_interest_usd=pl.col("oi_usd").sum(),
        put_open_interest_usd=pl.col("oi_usd").filter(put).sum(),
        call_open_interest_usd=pl.col("oi_usd").filter(~put).sum(),
        mark_iv_oi_weighted=pl.when(oi_total > 0)
        .then((pl.col("iv") * pl.col("oi")).sum() / oi_total)
        .otherwise(None),
    )
    return conform(
        summary.with_columns(
            ts=pl.from_epoch("ms", time_unit="ms").dt.replace_time_zone("UTC"),
            venue=pl.lit(VENUE),
        ),
        "options_activity",
    )


def parse_volatility_index(body: str | bytes, key: str) -> pl.DataFrame:
    """DVOL candles [ms, open, high, low, close] -> options_volatility rows of `key`."""
    where = f"deribit options_volatility ({key})"
    if not key:
        raise ParseError(f"{where}: the body does not name its currency; give the asset")
    result = _result(body, where)
    if not isinstance(result, dict) or "data" not in result:
        raise ParseError(f"{where}: missing field 'data' in 'result'")
    data = result["data"]
    if not isinstance(data, list):
        raise ParseError(f"{where}: field 'data' is not a list")
    bad = next(
        (
            c
            for c in data
            if not (isinstance(c, list) and len(c) == 5)
            or any(isinstance(v, bool) or not isinstance(v, int | float) for v in c)
        ),
        None,
    )
    if bad is not None:
        raise ParseError(f"{where}: candle {bad!r} is not [ms, open, high, low, close]")
    frame = pl.DataFrame(
        data, schema=["ms", "open", "high", "low", "close"], orient="row"
    ).with_columns(pl.col("ms").cast(pl.Int64), pl.exclude("ms").cast(pl.Float64))
    return conform(
        frame.with_columns(
            ts=pl.from_epoch("ms", time_unit="ms").dt.replace_time_zone("UTC"),
            venue=pl.lit(VENUE),
            asset=pl.lit(key),
            resolution=pl.lit("1D"),
        ),
        "options_volatility",
    )


def next_volatility_page(spec: RequestSpec, body: str, pages: int) -> RequestSpec | None:
    """Follow `continuation` (the end of the next, older page) while it stays in the day."""
    try:
        result = _result(body, "deribit options_volatility page")
    except ParseError:
        return None
    token = result.get("continuation") if isinstance(result, dict) else None
    if token is None or int(token) < int(spec.params["start_timestamp"]):
        return None
    if int(token) >= int(spec.params["end_timestamp"]):
        return None  # no progress: never loop on the same page
    return replace(spec, params={**spec.params, "end_timestamp": str(int(token))})


DATASETS = [
    SourceDataset(
        SOURCE,
        "options_activity",
        "GET /api/v2/public/get_book_summary_by_currency?currency={BTC|ETH}&kind=option",
        book_summary_requests,
        parse_book_summary,
        body_names_key=True,
        notes=(
            "snapshot of now (taken 00:30 UTC after the day): no history, a backfilled day "
            "has no options activity; BTC and ETH only"
        ),
    ),
    SourceDataset(
        SOURCE,
        "options_volatility",
        "GET /api/v2/public/get_volatility_index_data?currency=..&resolution=1D",
        volatility_index_requests,
        parse_volatility_index,
        next_page=next_volatility_page,
        notes="DVOL daily candles by time range (history); BTC and ETH",
    ),
]
