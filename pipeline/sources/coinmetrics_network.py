"""Coin Metrics community API: on-chain activity (active addresses, transaction counts).

Endpoint: GET /timeseries/asset-metrics?assets=<id>&metrics=AdrActCnt,TxCnt&frequency=1d
&start_time=<day>&end_time=<day>&page_size=<n>, the same endpoint, host, pacing and config
section as the exchange flows (source `coinmetrics`), with network-data metrics. Values are
strings; a daily value at T00:00 describes the UTC day T; pages follow `next_page_token`.

Coverage: only the assets of `[onchain] assets` in pipeline/config/watchlist.toml are asked
for (BTC and ETH: the free tier's coverage we could confirm). The other AI tokens get no
request and no row; the watch-list mart shows NULL with the reason. A metric the tier does not
serve answers HTTP 403 {"error": {"type": "forbidden", ...}}.
"""

from __future__ import annotations

import polars as pl

from pipeline.config.watchlist import load_watchlist
from pipeline.http import RequestSpec
from pipeline.schemas import conform
from pipeline.sources import coinmetrics
from pipeline.sources.base import FetchContext, SourceDataset

SOURCE = "coinmetrics"
METRICS = {"AdrActCnt": "active_addresses", "TxCnt": "tx_count"}


def network_requests(ctx: FetchContext) -> list[RequestSpec]:
    covered = set(load_watchlist().onchain.assets)
    return coinmetrics.asset_metric_requests(ctx, "onchain_activity", list(METRICS), covered)


def parse_network_metrics(body: str | bytes, key: str) -> pl.DataFrame:
    """asset-metrics body -> onchain_activity rows; every row must carry both metrics."""
    where = f"coinmetrics onchain_activity ({key or 'asset from body'})"
    frame = coinmetrics.metrics_frame(body, key, where, METRICS, required=True)
    return conform(frame.with_columns(source=pl.lit(SOURCE)), "onchain_activity")


DATASETS = [
    SourceDataset(
        SOURCE,
        "onchain_activity",
        "GET /timeseries/asset-metrics?metrics=AdrActCnt,TxCnt&frequency=1d",
        network_requests,
        parse_network_metrics,
        # the same token pagination as the exchange flows of the same endpoint
        next_page=coinmetrics.next_page,
        body_names_key=True,
        notes="community tier: BTC and ETH (config/watchlist.toml); others NULL with a reason",
    )
]
