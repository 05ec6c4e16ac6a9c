"""Coin Metrics community API at community-api.coinmetrics.io: /v4/timeseries/asset-metrics.

Exchange flows and reserves of the simulator for the assets the free tier covers (BTC, ETH),
in Coin Metrics' shape (string values, nanosecond RFC 3339 times, `page_size` with
`next_page_token` / `next_page_url`); any other asset or metric answers 403 as the community
API does for metrics outside the free tier.
"""

from __future__ import annotations

import base64
from datetime import date, timedelta

import httpx

from pipeline.demo.transport import DemoWorld, Reply, Route

SOURCE = "coinmetrics"
FREE = {"btc", "eth"}
FLOWS = ("FlowInExNtv", "FlowOutExNtv", "SplyExNtv")


def asset_metrics(world: DemoWorld, request: httpx.Request) -> Reply:
    p = request.url.params
    ids = [a for a in p.get("assets", "").split(",") if a]
    metrics = [m for m in p.get("metrics", "").split(",") if m]
    by_id = {(a.coinmetrics_id or a.symbol.lower()): a.symbol for a in world.market.universe.assets}
    denied = next((a for a in ids if a not in FREE or a not in by_id), None)
    bad_metric = next((m for m in metrics if m not in FLOWS), None)
    if denied or bad_metric or not ids:
        asset = denied or (ids[0] if ids else "")
        message = (
            f"Requested metric '{bad_metric or metrics[0] if metrics else ''}' with "
            f"frequency '1d' for asset '{asset}' is not available with supplied "
            "credentials."
        )
        return Reply(
            SOURCE,
            by_id.get(asset, asset),
            None,
            {"error": {"type": "forbidden", "message": message}},
            status=403,
        )
    try:
        first = date.fromisoformat(p["start_time"][:10])
        last = date.fromisoformat(p["end_time"][:10])
    except (KeyError, ValueError):
        return Reply(
            SOURCE,
            "",
            None,
            {"error": {"type": "bad_parameter", "message": "Bad start_time or end_time."}},
            status=400,
        )
    rows = []
    for asset_id in ids:
        for i in range((last - first).days + 1):
            day = first + timedelta(days=i)
            inflow, outflow, reserve = world.perps.exchange_flows(by_id[asset_id], day)
            values = {"FlowInExNtv": inflow, "FlowOutExNtv": outflow, "SplyExNtv": reserve}
            rows.append(
                {
                    "asset": asset_id,
                    "time": f"{day.isoformat()}T00:00:00.000000000Z",
                    **{m: f"{values[m]:.10f}" for m in metrics},
                }
            )
    size = int(p.get("page_size", 100))
    offset = int(base64.b64decode(p["next_page_token"]).decode()) if "next_page_token" in p else 0
    page = rows[offset : offset + size]
    doc: dict = {"data": page}
    if offset + size < len(rows):
        token = base64.b64encode(str(offset + size).encode()).decode()
        doc["next_page_token"] = token
        doc["next_page_url"] = f"{request.url.copy_merge_params({'next_page_token': token})}"
    return Reply(SOURCE, by_id[ids[0]], first, doc)


ROUTES = [Route("community-api.coinmetrics.io", "/v4/timeseries/asset-metrics", asset_metrics)]
