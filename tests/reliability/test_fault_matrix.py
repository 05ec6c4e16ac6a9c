"""The fault matrix (docs/reliability.md): each fault injected through the demo transport for
one source and dataset, then extract + stage of 2026-02-05. Either the staged partition is
byte-identical to a clean run's (recovered), or the run stops with a one-line error naming
what and where, and nothing is staged (stopped)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.config import Settings, load_universe
from pipeline.demo.market import DemoMarket
from pipeline.demo.transport import DemoTransport, DemoWorld, Fault
from pipeline.errors import TokenriskError
from pipeline.lake import Lake
from pipeline.stages.context import RunContext
from pipeline.stages.extract import extract
from pipeline.stages.stage import stage

DAY = "2026-02-05"


@dataclass(frozen=True)
class Case:
    name: str
    dataset: str
    fault: dict
    needle: str = ""  # empty: recovered and correct

    @property
    def recovered(self) -> bool:
        return not self.needle


CASES = [
    # transport: retried, then correct
    Case(
        "429 with Retry-After",
        "spot_prices",
        {"kind": "status", "source": "coingecko", "status": 429, "retry_after": 1, "times": 2},
    ),
    Case(
        "418 ban with Retry-After",
        "funding_rates",
        {"kind": "status", "source": "binance", "status": 418, "retry_after": 2, "times": 1},
    ),
    Case(
        "5xx burst", "perp_klines", {"kind": "status", "source": "bybit", "status": 503, "times": 3}
    ),
    Case(
        "502 on a paged endpoint",
        "liquidations",
        {"kind": "status", "source": "okx", "status": 502, "times": 2},
    ),
    Case(
        "read timeouts", "exchange_flows", {"kind": "timeout", "source": "coinmetrics", "times": 2}
    ),
    Case("connection reset", "open_interest", {"kind": "reset", "source": "binance", "times": 1}),
    # transport: gave up or refused
    Case(
        "5xx beyond the retry budget",
        "equity_prices",
        {"kind": "status", "source": "stooq", "status": 500},
        "gave up after 5 attempts",
    ),
    Case(
        "403 forbidden (not retried)",
        "exchange_flows",
        {"kind": "status", "source": "coinmetrics", "status": 403},
        "HTTP 403",
    ),
    # bodies
    Case("truncated JSON", "perp_klines", {"kind": "malformed", "source": "binance"}, "not JSON"),
    Case(
        "HTML error page with status 200",
        "funding_rates",
        {"kind": "html", "source": "okx"},
        "not JSON",
    ),
    Case(
        "missing field",
        "open_interest",
        {"kind": "missing_field", "source": "bybit", "field": "timestamp"},
        "missing field 'timestamp'",
    ),
    Case(
        "renamed field",
        "funding_rates",
        {"kind": "rename_field", "source": "binance", "field": "fundingRate"},
        "missing field 'fundingRate'",
    ),
    Case(
        "retyped field",
        "exchange_flows",
        {"kind": "retype_field", "source": "coinmetrics", "field": "FlowInExNtv"},
        "not a number",
    ),
    Case(  # stage parses a day's bodies in one query; the error still names the body
        "retyped field in one asset's body",
        "open_interest",
        {"kind": "retype_field", "source": "binance", "key": "NEAR", "field": "sumOpenInterest"},
        "binance open_interest (NEAR): a numeric field is not a number",
    ),
    Case(
        "missing liquidation price",
        "liquidations",
        {"kind": "missing_field", "source": "okx", "field": "bkPx"},
        "missing field 'bkPx'",
    ),
    Case(
        "missing CSV column",
        "equity_prices",
        {"kind": "missing_field", "source": "stooq", "field": "Close"},
        "Close",
    ),
    # rows
    Case("duplicated page rows", "open_interest", {"kind": "duplicate_rows", "source": "binance"}),
    Case(
        "overlapping funding pages", "funding_rates", {"kind": "duplicate_rows", "source": "bybit"}
    ),
    Case("rows out of order", "perp_klines", {"kind": "reverse_rows", "source": "okx"}),
    Case(
        "gap: every other bar missing",
        "perp_klines",
        {"kind": "drop_rows", "source": "binance"},
        "n_points",
    ),
    # values
    Case(
        "negative price",
        "spot_prices",
        {"kind": "negative_price", "source": "coingecko", "key": "TAO"},
        "price_usd",
    ),
    Case(
        "funding of 1000% per interval",
        "funding_rates",
        {"kind": "set_field", "source": "binance", "field": "fundingRate", "value": "10.0"},
        "funding_rate",
    ),
    Case(
        "open interest jumps 100x",
        "open_interest",
        {"kind": "scale_field", "source": "binance", "field": "sumOpenInterest", "factor": 100},
        "oi_ratio_1h",
    ),
    Case(
        "timestamp a year in the future",
        "funding_rates",
        {"kind": "future_ts", "source": "binance", "field": "fundingTime"},
        "far outside the day",
    ),
    Case(
        "perp price far from spot",
        "perp_klines",
        {"kind": "scale_field", "source": "bybit", "field": "4", "factor": 1.3},
        "rel_diff",
    ),
]


@pytest.fixture(scope="module")
def world() -> DemoWorld:
    return DemoWorld.of(DemoMarket.from_config(load_universe()))


def run(world: DemoWorld, root: Path, datasets: list[str], faults: list[Fault]) -> Lake:
    lake = Lake.at(root)
    ctx = RunContext(
        lake=lake,
        settings=Settings(),
        source_mode="demo",
        transport_factory=lambda: DemoTransport(world, faults=faults),
    )
    from datetime import date

    day = date.fromisoformat(DAY)
    extract(ctx, [day], datasets)
    stage(ctx, [day], datasets)
    return lake


@pytest.fixture(scope="module")
def clean(world, tmp_path_factory) -> dict[str, bytes]:
    root = tmp_path_factory.mktemp("clean")
    datasets = sorted({c.dataset for c in CASES} | {"spot_prices"})
    lake = run(world, root, datasets, [])
    from datetime import date

    return {d: lake.staged_file(d, date.fromisoformat(DAY)).read_bytes() for d in datasets}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fault(case, world, clean, tmp_path):
    from datetime import date

    datasets = [case.dataset]
    if case.dataset == "perp_klines":
        datasets.append("spot_prices")  # the cross-source check needs both
    faults = [Fault(**{"day": DAY, **case.fault})]
    target = Lake.at(tmp_path).staged_file(case.dataset, date.fromisoformat(DAY))
    if case.recovered:
        lake = run(world, tmp_path, datasets, faults)
        assert (
            lake.staged_file(case.dataset, date.fromisoformat(DAY)).read_bytes()
            == clean[case.dataset]
        )
        return
    with pytest.raises(TokenriskError) as info:
        run(world, tmp_path, datasets, faults)
    message = info.value.message
    assert case.needle in message
    assert "\n" not in message  # one line
    assert not target.exists()  # nothing staged
