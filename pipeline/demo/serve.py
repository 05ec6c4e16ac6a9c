"""Wire the demo market into the HTTP client as a transport."""

from __future__ import annotations

from pipeline.config import Settings, Universe
from pipeline.demo.market import DemoMarket
from pipeline.demo.transport import DemoTransport, DemoWorld, faults_from_env


def demo_world(universe: Universe, settings: Settings) -> DemoWorld:
    return DemoWorld.of(DemoMarket.from_config(universe, seed=settings.demo_seed))


def demo_transport(world: DemoWorld) -> DemoTransport:
    return DemoTransport(world, faults=faults_from_env())
