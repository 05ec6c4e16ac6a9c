"""CoinGecko public API: spot price, market cap and 24h volume per coin over a time range.

Endpoint: GET /coins/{id}/market_chart/range?vs_currency=usd&from=<unix s>&to=<unix s>.
Granularity is automatic: a range of one day in the past returns hourly points. The free tier
serves the last 365 days at about 30 calls a minute (see docs/sources.md).
"""

from __future__ import annotations

import polars as pl

from pipeline.errors import ParseError
from pipeline.http import RequestSpec
from pipeline.schemas import conform
from pipeline.sources.base import (
    FetchContext,
    SourceDataset,
    day_bounds,
    load_json,
    require,
    require_history,
)

SOURCE = "coingecko"
SERIES = {"prices": "price_usd", "market_caps": "market_cap_usd", "total_volumes": "volume_usd"}


def market_chart_requests(ctx: FetchContext) -> list[RequestSpec]:
    require_history(ctx, SOURCE, "spot_prices")
    day, cfg = ctx.day, ctx.cfg
    start, end = day_bounds(day)
    return [
        RequestSpec(
            source=SOURCE,
            dataset="spot_prices",
            key=asset.symbol,
            day=day,
            url=f"{cfg.base_url}/coins/{asset.coingecko_id}/market_chart/range",
            params={
                "vs_currency": "usd",
                "from": str(int(start.timestamp())),
                # CoinGecko's range is inclusive; stop one second short of the next day
                "to": str(int(end.timestamp()) - 1),
            },
        )
        for asset in ctx.universe.assets
    ]


def _series(doc: dict, name: str, where: str) -> pl.DataFrame:
    points = require(doc, name, where)
    if not isinstance(points, list):
        raise ParseError(f"{where}: field {name!r} is not a list")
    bad = next((p for p in points if not (isinstance(p, list) and len(p) == 2)), None)
    if bad is not None:
        raise ParseError(f"{where}: field {name!r} holds {bad!r}, expected [ms, value]")
    try:
        return pl.DataFrame(
            {
                "ms": [int(p[0]) for p in points],
                SERIES[name]: [None if p[1] is None else float(p[1]) for p in points],
            },
            schema={"ms": pl.Int64, SERIES[name]: pl.Float64},
        )
    except (TypeError, ValueError) as exc:
        raise ParseError(f"{where}: field {name!r} has a non-numeric value ({exc})") from None


def parse_market_chart(body: str, asset: str) -> pl.DataFrame:
    """market_chart(/range) body -> spot_prices rows for `asset`, one per timestamp."""
    where = f"coingecko market_chart ({asset})"
    doc = load_json(body, where)
    if isinstance(doc, dict) and ("error" in doc or "status" in doc) and "prices" not in doc:
        raise ParseError(f"{where}: API error: {doc.get('error') or doc.get('status')}")
    frames = [_series(doc, name, where) for name in SERIES]
    merged = frames[0]
    for other in frames[1:]:
        merged = merged.join(other, on="ms", how="left", maintain_order="left")
    return conform(
        merged.with_columns(
            ts=pl.from_epoch("ms", time_unit="ms").dt.replace_time_zone("UTC"),
            asset=pl.lit(asset),
            source=pl.lit(SOURCE),
        ),
        "spot_prices",
    )


DATASETS = [
    SourceDataset(
        source=SOURCE,
        dataset="spot_prices",
        endpoint="GET /api/v3/coins/{id}/market_chart/range",
        requests=market_chart_requests,
        parse=parse_market_chart,
        notes="hourly for a one-day range; free tier: 365 days of history, ~30 calls/min",
    )
]
