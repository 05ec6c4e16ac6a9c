"""CoinGecko at api.coingecko.com: /api/v3/coins/{id}/market_chart/range."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from pipeline.demo import rng
from pipeline.demo.market import HOUR_S
from pipeline.demo.transport import DemoWorld, Reply, Route


def market_chart_range(world: DemoWorld, request: httpx.Request) -> Reply:
    market = world.market
    coin = request.url.path.split("/")[-3]
    symbol = market.universe.by_coingecko_id().get(coin)
    if symbol is None:
        return Reply("coingecko", coin, None, {"error": "coin not found"}, status=404)
    try:
        start = datetime.fromtimestamp(int(request.url.params["from"]), UTC)
        end = datetime.fromtimestamp(int(request.url.params["to"]) + 1, UTC)
    except (KeyError, ValueError):
        return Reply(
            "coingecko", symbol, None, {"error": "invalid 'from' or 'to' parameter"}, status=422
        )
    data = market.spot(symbol, start, end)
    # real CoinGecko timestamps are a few seconds off the hour: jitter deterministically
    jitter = (
        rng.uniform(market.seed, rng.stream_id("jitter", symbol), data["hour"]) * 30_000
    ).astype(int)
    ms = [int(h) * HOUR_S * 1000 + int(j) for h, j in zip(data["hour"], jitter, strict=True)]

    def series(values) -> list[list[float]]:
        return [[t, float(v)] for t, v in zip(ms, values, strict=True)]

    doc = {
        "prices": series(data["price"]),
        "market_caps": series(data["market_cap"]),
        "total_volumes": series(data["volume_24h"]),
    }

    def corrupt(kind: str, payload: dict) -> dict:
        if kind == "negative_price" and payload["prices"]:
            mid = payload["prices"][len(payload["prices"]) // 2]
            mid[1] = -mid[1]
        return payload

    return Reply("coingecko", symbol, start.date(), doc, corrupt=corrupt)


ROUTES = [
    Route("api.coingecko.com", "/api/v3/coins/{id}/market_chart/range", market_chart_range),
]
