"""Coin Metrics community API (community-api.coinmetrics.io/v4, free, no key): exchange flows.

Endpoint: GET /timeseries/asset-metrics?assets=<id>&metrics=FlowInExNtv,FlowOutExNtv,SplyExNtv
&frequency=1d&start_time=<day>&end_time=<day>&page_size=<n>. Values are strings; `time` is
RFC 3339 with nanoseconds and a daily value at T00:00 describes the UTC day T. Pages follow
`next_page_token` (the response also gives `next_page_url`). The free tier serves exchange
flows for BTC and ETH only (config `assets`); other assets get no request and no row, and the
marts show NULL with the reason. Metrics a tier does not serve answer HTTP 403
{"error": {"type": "forbidden", "message": "..."}}. Limit: 10 requests per 6 s per IP.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from pipeline.config import load_universe
from pipeline.errors import ParseError
from pipeline.http import RequestSpec
from pipeline.schemas import conform
from pipeline.sources.base import FetchContext, SourceDataset, load_json

SOURCE = "coinmetrics"
METRICS = {
    "FlowInExNtv": "inflow_native",
    "FlowOutExNtv": "outflow_native",
    "SplyExNtv": "reserve_native",
}


def asset_metric_requests(
    ctx: FetchContext, dataset: str, metrics: list[str], covered: set[str]
) -> list[RequestSpec]:
    """One asset-metrics request per covered asset for the day (exchange flows, network)."""
    return [
        RequestSpec(
            source=SOURCE,
            dataset=dataset,
            key=asset.symbol,
            day=ctx.day,
            url=f"{ctx.cfg.base_url}/timeseries/asset-metrics",
            params={
                "assets": asset.coinmetrics_id or asset.symbol.lower(),
                "metrics": ",".join(metrics),
                "frequency": "1d",
                "start_time": ctx.day.isoformat(),
                "end_time": ctx.day.isoformat(),
                "page_size": str(ctx.cfg.page_limit or 1000),
            },
        )
        for asset in ctx.universe.assets
        if asset.symbol in covered
    ]


def flow_requests(ctx: FetchContext) -> list[RequestSpec]:
    return asset_metric_requests(ctx, "exchange_flows", list(METRICS), set(ctx.cfg.assets or []))


def next_page(spec: RequestSpec, body: str, pages: int) -> RequestSpec | None:
    try:
        doc = load_json(body, "coinmetrics page")
    except ParseError:
        return None
    token = doc.get("next_page_token") if isinstance(doc, dict) else None
    if not token:
        return None
    return replace(spec, params={**spec.params, "next_page_token": token})


def metrics_frame(
    body: str | bytes, key: str, where: str, metrics: dict[str, str], required: bool
) -> pl.DataFrame:
    """An asset-metrics body -> rows of `time`, `asset`, `date` and the metrics renamed by
    `metrics` as floats. `required`: every row must carry every metric (else a missing one is
    NULL). Errors name `where`."""
    if isinstance(body, bytes):
        raise ParseError(f"{where}: expected a JSON body, got binary data")
    doc = load_json(body, where)
    if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
        err = doc["error"]
        raise ParseError(f"{where}: API error {err.get('type')}: {err.get('message')}")
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise ParseError(f"{where}: missing field 'data'")
    by_id = {(a.coinmetrics_id or a.symbol.lower()): a.symbol for a in load_universe().assets}
    rows = doc["data"]
    fields = ("asset", "time", *(metrics if required else ()))
    for i, row in enumerate(rows):
        for field in fields:
            if not isinstance(row, dict) or field not in row:
                raise ParseError(f"{where}: row {i} is missing field {field!r}")
        if not key and row["asset"] not in by_id:
            raise ParseError(f"{where}: unknown Coin Metrics asset {row['asset']!r}")
    frame = pl.DataFrame(
        {
            "time": [r["time"] for r in rows],
            "asset": [key or by_id[r["asset"]] for r in rows],
            **{col: [r.get(m) for r in rows] for m, col in metrics.items()},
        },
        schema={"time": pl.String, "asset": pl.String, **{c: pl.String for c in metrics.values()}},
    )
    try:
        return frame.with_columns(
            date=pl.col("time").str.slice(0, 10).str.to_date("%Y-%m-%d"),
            **{c: pl.col(c).cast(pl.Float64, strict=True) for c in metrics.values()},
        )
    except pl.exceptions.ComputeError as exc:
        raise ParseError(f"{where}: bad time or value ({str(exc).splitlines()[0]})") from None
    except pl.exceptions.InvalidOperationError as exc:
        raise ParseError(
            f"{where}: a metric is not a number ({str(exc).splitlines()[0]})"
        ) from None


def parse_asset_metrics(body: str | bytes, key: str) -> pl.DataFrame:
    """asset-metrics body -> exchange_flows rows; a metric the body lacks is NULL (the staged
    gate requires all three, so a tier that drops one stops the run)."""
    where = f"coinmetrics exchange_flows ({key or 'asset from body'})"
    frame = metrics_frame(body, key, where, METRICS, required=False)
    return conform(frame.with_columns(source=pl.lit(SOURCE)), "exchange_flows")


DATASETS = [
    SourceDataset(
        SOURCE,
        "exchange_flows",
        "GET /timeseries/asset-metrics?metrics=FlowInExNtv,FlowOutExNtv,SplyExNtv&frequency=1d",
        flow_requests,
        parse_asset_metrics,
        next_page=next_page,
        body_names_key=True,
        notes="free tier: BTC and ETH only (others NULL with a reason in the marts)",
    )
]
