"""Source registry: every (source, dataset) pair tokenrisk can fetch."""

from __future__ import annotations

from pipeline.errors import UsageError
from pipeline.sources import (
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
from pipeline.sources.base import SourceDataset

REGISTRY: list[SourceDataset] = [
    *coingecko.DATASETS,
    *stooq.DATASETS,
    *binance.DATASETS,
    *bybit.DATASETS,
    *okx.DATASETS,
    *coinmetrics.DATASETS,
    *deribit.DATASETS,
    *github.DATASETS,
    *coinmetrics_network.DATASETS,
]


def find(source: str, dataset: str) -> SourceDataset:
    for entry in REGISTRY:
        if entry.source == source and entry.dataset == dataset:
            return entry
    known = ", ".join(f"{e.source}/{e.dataset}" for e in REGISTRY)
    raise UsageError(f"unknown source/dataset {source}/{dataset} (known: {known})")


def datasets() -> list[str]:
    return sorted({e.dataset for e in REGISTRY})
