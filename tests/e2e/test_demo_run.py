"""End to end on the demo market, through the real CLI: the walking skeleton's acceptance."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline.warehouse import mart_tables
from tests.conftest import run_cli
from tests.e2e.conftest import WINDOW

pytestmark = pytest.mark.e2e


def marts(data_dir: Path) -> dict[str, pl.DataFrame]:
    con = duckdb.connect(str(data_dir / "warehouse" / "tokenrisk.duckdb"), read_only=True)
    try:
        tables = mart_tables(con)
        return {
            t: pl.from_arrow(con.sql(f"select * from marts.{t} order by all").to_arrow_table())
            for t in tables
        }
    finally:
        con.close()


@pytest.fixture
def copy_of(demo_dir, tmp_path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(demo_dir, target)
    return target


def test_sector_mart_acceptance(demo_dir):
    con = duckdb.connect(str(demo_dir / "warehouse" / "tokenrisk.duckdb"), read_only=True)
    try:
        days = con.execute(
            "select count(*), count(distinct date), min(date), max(date) from marts.fct_sector_daily where sector = 'ai'"
        ).fetchone()
        assert days[:2] == (22, 22)
        assert str(days[2]) == "2026-01-20" and str(days[3]) == "2026-02-10"
        mismatches = con.execute(
            """select s.date, s.market_cap_usd, sum(a.market_cap_usd)
               from marts.fct_sector_daily s
               join marts.fct_asset_daily a on a.date = s.date and a.asset in ('TAO','NEAR','ICP','RENDER','FET')
               group by s.date, s.market_cap_usd
               having abs(s.market_cap_usd - sum(a.market_cap_usd)) > 1e-6 * s.market_cap_usd"""
        ).fetchall()
        assert mismatches == []
        tao = con.execute(
            "select return_7d, close_usd from marts.fct_asset_daily where asset = 'TAO' and date = '2026-02-06'"
        ).fetchone()
        assert -0.28 <= tao[0] <= -0.18
        assert 150 <= tao[1] <= 180
        btc = con.execute(
            "select close_usd from marts.fct_asset_daily where asset = 'BTC' and date = '2026-02-05'"
        ).fetchone()[0]
        assert 55_000 <= btc <= 65_000
    finally:
        con.close()


def test_closes_match_simulator_ground_truth(demo_dir):
    from datetime import date

    from pipeline.config import load_universe
    from pipeline.demo.market import DemoMarket

    market = DemoMarket.from_config(load_universe())
    frame = marts(demo_dir)["fct_asset_daily"]
    for asset, day in [
        ("TAO", date(2026, 2, 6)),
        ("NEAR", date(2026, 2, 1)),
        ("BTC", date(2026, 1, 25)),
    ]:
        got = frame.filter((pl.col("asset") == asset) & (pl.col("date") == day))["close_usd"][0]
        assert got == pytest.approx(market.close(asset, day), rel=1e-12)


def test_marts_exported_and_manifest_written(demo_dir):
    part = demo_dir / "marts" / "fct_sector_daily" / "date=2026-02-05" / "part-0.parquet"
    exported = pl.read_parquet(part)
    assert exported.height == 1 and exported["sector"][0] == "ai"
    assert "date" not in exported.columns  # the partition key lives in the path
    every_day = pl.read_parquet(demo_dir / "marts" / "fct_sector_daily")
    assert every_day["date"].dtype == pl.Date and every_day.height == 22
    manifests = list((demo_dir / "runs").glob("*.json"))
    assert len(manifests) == 1
    manifest = json.loads(manifests[0].read_text())
    assert manifest["status"] == "ok"
    assert set(manifest["stages"]) == {"extract", "stage", "build", "gate_marts", "publish"}
    assert list((demo_dir / "quality").glob("*/staged.json"))


def test_rerun_gives_identical_marts_and_staged_bytes(copy_of):
    before_marts = marts(copy_of)
    staged = sorted((copy_of / "staged").rglob("*.parquet"))
    before_bytes = {p: p.read_bytes() for p in staged}
    raw_before = set((copy_of / "raw").rglob("*.json.gz"))
    run_cli("run", "--source", "demo", *WINDOW, "--data-dir", str(copy_of), check=True)
    after = marts(copy_of)
    assert before_marts.keys() == after.keys()
    for table, frame in before_marts.items():
        assert frame.equals(after[table]), table
    assert {p: p.read_bytes() for p in staged} == before_bytes
    raw_after = set((copy_of / "raw").rglob("*.json.gz"))
    assert raw_before < raw_after  # the earlier responses are kept, the new ones added


def test_bad_value_stops_the_run_and_keeps_the_published_warehouse(copy_of):
    published = copy_of / "warehouse" / "tokenrisk.duckdb"
    before = published.read_bytes()
    fault = [{"kind": "negative_price", "source": "coingecko", "key": "TAO", "day": "2026-02-03"}]
    result = run_cli(
        "run",
        "--source",
        "demo",
        *WINDOW,
        "--data-dir",
        str(copy_of),
        env={"TOKENRISK_DEMO_FAULTS": json.dumps(fault)},
    )
    assert result.returncode == 1, result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1
    line = error_lines[0]
    assert "dataset=spot_prices" in line and "day=2026-02-03" in line
    assert "ExpectColumnValuesToBeBetween(price_usd)" in line
    assert "Traceback" not in result.stderr
    assert published.read_bytes() == before
    quarantined = list(
        (copy_of / "quarantine" / "staged" / "spot_prices" / "date=2026-02-03").glob("*.parquet")
    )
    assert len(quarantined) == 1
    bad = pl.read_parquet(quarantined[0])
    assert bad["asset"].to_list() == ["TAO"] and bad["price_usd"][0] < 0
    assert "price_usd" in bad["_reason"][0]


def _corrupt_staged(data: Path, day: str) -> None:
    path = data / "staged" / "spot_prices" / f"date={day}" / "part-0.parquet"
    frame = pl.read_parquet(path)
    frame = frame.with_columns(
        pl.when((pl.col("asset") == "NEAR") & (pl.col("ts").dt.hour() == 5))
        .then(-pl.col("price_usd"))
        .otherwise(pl.col("price_usd"))
        .alias("price_usd")
    )
    frame.write_parquet(path)


def test_stage_by_stage_gates_refuse_bad_staged_input(copy_of):
    published = copy_of / "warehouse" / "tokenrisk.duckdb"
    before = published.read_bytes()
    _corrupt_staged(copy_of, "2026-02-04")
    args = ("--data-dir", str(copy_of))
    check = run_cli("check", "--stage", "staged", "--date", "2026-02-04", *args)
    assert check.returncode == 1, check.stdout + check.stderr
    assert "day=2026-02-04" in check.stderr and "price_usd" in check.stderr
    ok_day = run_cli("check", "--stage", "staged", "--date", "2026-02-05", *args)
    assert ok_day.returncode == 0, ok_day.stderr
    build = run_cli("build", *args)
    assert build.returncode == 1 and "gate failed" in build.stderr
    publish = run_cli("publish", *args)
    assert publish.returncode == 1 and "refusing to publish" in publish.stderr
    assert published.read_bytes() == before
    assert "Traceback" not in build.stderr + publish.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("run", "--start", "2026-02-10", "--end", "2026-02-01"), "before --start"),
        (("run", "--source", "nosuch"), "unknown source 'nosuch'"),
        (("run", "--date", "2026-13-01"), "is not a date"),
        (("run", "--start", "2026-02-01"), "go together"),
        (("run", "--no-such-option"), "No such option"),
        (("check", "--stage", "bronze"), "bronze"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args, needle, tmp_path):
    result = run_cli(*args, "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]
    assert not (tmp_path / "d").exists()  # nothing written for a bad command
