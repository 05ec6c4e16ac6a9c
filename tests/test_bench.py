"""The benchmark's scaffolding: tiled history is what staging would have written."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl

from pipeline.bench import tile_history
from pipeline.lake import Lake
from pipeline.schemas import conform
from pipeline.stages.build import unverified_days
from tests.conftest import run_cli


def _spot(day: date, price: float) -> pl.DataFrame:
    ts = [datetime(day.year, day.month, day.day, h, tzinfo=UTC) for h in (0, 23)]
    return conform(
        pl.DataFrame(
            {
                "ts": ts,
                "asset": ["TAO", "TAO"],
                "source": ["coingecko"] * 2,
                "price_usd": [price, price + 1],
                "market_cap_usd": [1e9, 1e9],
                "volume_usd": [1e6, 1e6],
            }
        ),
        "spot_prices",
    )


def test_tiled_history_shifts_every_date_onto_its_partition_day(ctx, tmp_path):
    seed = Lake.at(tmp_path / "seed")
    seed_days = [date(2026, 2, 4), date(2026, 2, 5)]
    for i, day in enumerate(seed_days):
        path = seed.staged_file("spot_prices", day)
        path.parent.mkdir(parents=True)
        _spot(day, 100.0 + i).write_parquet(path)
    first = date(2026, 1, 30)
    assert tile_history(ctx, seed, seed_days, first) == 7
    assert ctx.lake.staged_days("spot_prices") == [first + timedelta(days=i) for i in range(7)]
    for day in ctx.lake.staged_days("spot_prices"):
        frame = pl.read_parquet(ctx.lake.staged_file("spot_prices", day))
        assert frame["ts"].dt.date().to_list() == [day, day]
        # seed days map onto themselves; the others alternate between the two seeds
        assert frame["price_usd"][0] == 100.0 + (day - seed_days[0]).days % 2
    assert unverified_days(ctx, "spot_prices") == []  # ledgers as staging writes them


def test_bench_refuses_bad_lists_with_one_line():
    result = run_cli("bench", "--flat-years", "one,five")
    assert result.returncode == 2
    assert "--flat-years 'one,five': expected whole numbers" in result.stderr
    assert "Traceback" not in result.stderr
