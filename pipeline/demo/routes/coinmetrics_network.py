"""Coin Metrics community API: the network-data metrics (AdrActCnt, TxCnt) of the simulator.

The same endpoint as the exchange flows (pipeline/demo/routes/coinmetrics.py). This route is
registered before that one and answers requests for network metrics itself; any other
request is handed to the exchange-flow handler unchanged, so one URL serves both.
"""

from __future__ import annotations

import base64
from datetime import date, timedelta

import httpx

from pipeline.demo.routes import coinmetrics
from pipeline.demo.transport import DemoWorld, Reply, Route
from pipeline.demo.watchlist import NETWORK, WatchlistSim

SOURCE = "coinmetrics"
METRICS = ("AdrActCnt", "TxCnt")


def _forbidden(asset: str, metric: str, key: str) -> Reply:
    message = (
        f"Requested metric '{metric}' with frequency '1d' for asset '{asset}' is not "
        "available with supplied credentials."
    )
    return Reply(
        SOURCE, key, None, {"error": {"type": "forbidden", "message": message}}, status=403
    )


def asset_metrics(world: DemoWorld, request: httpx.Request) -> Reply:
    p = request.url.params
    metrics = [m for m in p.get("metrics", "").split(",") if m]
    if not any(m in METRICS for m in metrics):
        return coinmetrics.asset_metrics(world, request)
    ids = [a for a in p.get("assets", "").split(",") if a]
    by_id = {(a.coinmetrics_id or a.symbol.lower()): a.symbol for a in world.market.universe.assets}
    bad_metric = next((m for m in metrics if m not in METRICS), None)
    denied = next((a for a in ids if by_id.get(a) not in NETWORK), None)
    if bad_metric or denied or not ids:
        asset = denied or (ids[0] if ids else "")
        return _forbidden(asset, bad_metric or metrics[0], by_id.get(asset, asset))
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
    sim = WatchlistSim(world.market)
    rows = []
    for asset_id in ids:
        for i in range((last - first).days + 1):
            day = first + timedelta(days=i)
            adr, tx = sim.network(by_id[asset_id], day)
            values = {"AdrActCnt": adr, "TxCnt": tx}
            rows.append(
                {
                    "asset": asset_id,
                    "time": f"{day.isoformat()}T00:00:00.000000000Z",
                    **{m: f"{values[m]:.0f}" for m in metrics},
                }
            )
    size = int(p.get("page_size", 100))
    offset = int(base64.b64decode(p["next_page_token"]).decode()) if "next_page_token" in p else 0
    doc: dict = {"data": rows[offset : offset + size]}
    if offset + size < len(rows):
        token = base64.b64encode(str(offset + size).encode()).decode()
        doc["next_page_token"] = token
        doc["next_page_url"] = f"{request.url.copy_merge_params({'next_page_token': token})}"
    return Reply(SOURCE, by_id[ids[0]], first, doc)


# registered before coinmetrics.ROUTES: the first matching route answers
ROUTES = [Route("community-api.coinmetrics.io", "/v4/timeseries/asset-metrics", asset_metrics)]
