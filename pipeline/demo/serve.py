"""Wire the demo market into the HTTP client as a transport."""

from __future__ import annotations

from pipeline.config import Settings, Universe
from pipeline.demo.market import DemoMarket
from pipeline.demo.transport import DemoTransport, faults_from_env


def demo_transport(universe: Universe, settings: Settings) -> DemoTransport:
    market = DemoMarket.from_config(universe, seed=settings.demo_seed)
    return DemoTransport(market, faults=faults_from_env())
