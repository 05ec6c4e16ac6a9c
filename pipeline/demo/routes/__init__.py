"""Every endpoint the demo market serves: one module per live source, each with its ROUTES."""

from __future__ import annotations

from pipeline.demo.routes import (
    binance,
    bybit,
    coingecko,
    coinmetrics,
    coinmetrics_network,
    deribit,
    github,
    okx,
    stooq,
)

ALL_ROUTES = [
    *coingecko.ROUTES,
    *stooq.ROUTES,
    *binance.ROUTES,
    *bybit.ROUTES,
    *okx.ROUTES,
    *coinmetrics_network.ROUTES,  # before coinmetrics: it hands other metrics on
    *coinmetrics.ROUTES,
    *deribit.ROUTES,
    *github.ROUTES,
]
