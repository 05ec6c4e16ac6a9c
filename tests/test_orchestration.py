"""What the DAGs use besides the stages: pools, the extract plan, assets, the run manifest."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
from datetime import date

import duckdb
import pytest

from pipeline import orchestration as orch
from pipeline.config import Settings, load_sources
from pipeline.lake import Lake
from pipeline.sources import REGISTRY
from pipeline.stages.context import RunContext
from pipeline.stages.extract import extract
from pipeline.stages.stage import stage
from pipeline.warehouse.models import discover
from tests.conftest import assert_same_rows


def test_source_names_are_the_configured_sources():
    assert orch.source_names() == list(load_sources())
    assert {e.source for e in REGISTRY} <= set(orch.source_names())


def test_mart_tables_are_the_mart_models():
    models = sorted(m.name for m in discover() if m.layer == "marts")
    assert orch.mart_tables() == models
    assert "fct_sector_daily" in models


def test_pools_are_sized_to_the_rate_limits():
    pools = orch.pools()
    for name, cfg in load_sources().items():
        slots = pools[f"tokenrisk_{name}"]["slots"]
        assert slots == max(1, int(cfg.rate_limit_per_minute // 30))
        # all slots busy, each task at its share: the API's limit, never more
        assert slots * cfg.rate_limit_per_minute * orch.rate_share(name) == pytest.approx(
            cfg.rate_limit_per_minute
        )
    assert pools["tokenrisk_warehouse"]["slots"] == 1
    assert (pools["tokenrisk_coingecko"]["slots"], pools["tokenrisk_binance"]["slots"]) == (1, 10)


def test_pools_json_is_what_airflow_pools_import_reads():
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.orchestration", "pools"],
        capture_output=True,
        text=True,
        check=True,
    )
    pools = json.loads(result.stdout)
    assert pools == orch.pools()
    assert all(set(p) == {"slots", "description", "include_deferred"} for p in pools.values())


def test_a_task_paces_itself_at_its_share_of_the_limit(lake):
    ctx = RunContext(lake=lake, settings=Settings(), source_mode="live", rate_share=0.25)
    with ctx.http_client() as client:
        paced = client._sources["binance"].rate_limit_per_minute
    assert paced == load_sources()["binance"].rate_limit_per_minute * 0.25


def test_extract_plan_lists_every_registered_pair_once():
    plan = orch.extract_plan(orch.source_names())
    assert sorted((s, d) for s, ds in plan.items() for d in ds) == sorted(
        (e.source, e.dataset) for e in REGISTRY
    )
    with pytest.raises(ValueError, match="not in"):
        orch.extract_plan(["coingecko"])


def test_extract_one_lands_only_its_source_and_dataset(ctx):
    fetched = orch.extract_one(ctx, date(2026, 2, 5), "okx", "funding_rates")
    raw = ctx.lake.root / "raw"
    assert {p.parent.parent.parent.name for p in raw.rglob("*.json.gz")} == {"source=okx"}
    assert {p.parent.parent.name for p in raw.rglob("*.json.gz")} == {"dataset=funding_rates"}
    assert fetched["pages"] == len(list(raw.rglob("*.json.gz"))) > 0
    assert fetched["keys"] and fetched["day"] == "2026-02-05"


def _update_many(root: str, worker: int) -> None:
    lake = Lake.at(root)
    for i in range(20):
        orch.record_task(lake, "r1", {"source": "demo"}, f"w{worker}.{i}", {"status": "ok"})


def test_parallel_tasks_lose_no_manifest_update(tmp_path):
    workers = [
        multiprocessing.Process(target=_update_many, args=(str(tmp_path), w)) for w in range(6)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0] * 6
    manifest = json.loads((tmp_path / "runs" / "r1.json").read_text())
    assert len(manifest["tasks"]) == 6 * 20
    assert (manifest["status"], manifest["orchestrator"], manifest["source"]) == (
        "running",
        "airflow",
        "demo",
    )


def test_a_retried_then_published_run_ends_ok(tmp_path):
    lake = Lake.at(tmp_path)
    failure = {"task": "extract.okx.fetch[liquidations]", "error": "SourceError: 503"}
    orch.record_failure(lake, "r2", {}, failure, final=True)
    assert json.loads(lake.run_manifest("r2").read_text())["status"] == "failed"
    orch.record_published(lake, "r2", {})  # the failed task was cleared and the run finished
    manifest = json.loads(lake.run_manifest("r2").read_text())
    assert manifest["status"] == "ok" and "error" not in manifest
    assert manifest["failures"][0]["task"] == "extract.okx.fetch[liquidations]"


def test_one_line_errors():
    assert orch.one_line(ValueError("bad\nmore")) == "ValueError: bad"
    assert orch.one_line(RuntimeError("GateFailed: gate failed: x")) == "GateFailed: gate failed: x"
    assert orch.one_line(KeyError()) == "KeyError"
    assert "killed" in orch.one_line(None)
    assert orch.task_label("extract.okx.fetch", 3, "liquidations") == (
        "extract.okx.fetch[liquidations]"
    )
    assert orch.task_label("stage", -1, None) == "stage"


def _marts(lake: Lake) -> dict[str, list]:
    con = duckdb.connect(str(lake.warehouse), read_only=True)
    try:
        tables = orch.mart_tables()
        return {t: con.execute(f"select * from marts.{t} order by all").fetchall() for t in tables}
    finally:
        con.close()


@pytest.mark.e2e
def test_day_by_day_runs_publish_what_one_run_over_the_days_does(tmp_path):
    """What the nightly DAG does each day (restating the day before) equals `tokenrisk run`
    over the days: a day's marts read the snapshots at its end, staged with the next day."""
    from pipeline.stages.run import run_pipeline

    days = [date(2026, 2, 4), date(2026, 2, 5), date(2026, 2, 6)]
    assert orch.restated_days(days[1]) == days[:2]
    one = RunContext(lake=Lake.at(tmp_path / "range"), settings=Settings(), source_mode="demo")
    run_pipeline(one, days)
    daily = Lake.at(tmp_path / "daily")
    for i, day in enumerate(days):
        ctx = _day_run(daily, day, f"20260101T00000{i}000000Z_d{i}")
        orch.publish_day(ctx, orch.build_on_published(ctx, day), day)
    assert_same_rows(_marts(daily), _marts(one.lake))


@pytest.mark.e2e
def test_sector_report_reads_the_published_day(demo_published):
    rows = orch.sector_report(demo_published, ["2026-02-05"])
    assert [(r["date"], r["sector"]) for r in rows] == [("2026-02-05", "ai")]
    assert orch.describe_sector_row(rows[0]).startswith("2026-02-05 ai: 5 assets, cap $")
    latest = orch.sector_report(demo_published, [])
    assert [r["date"] for r in latest] == ["2026-02-05"]
    assert orch.sector_report(demo_published, ["2025-01-01"]) == []


@pytest.fixture(scope="module")
def demo_published(tmp_path_factory):
    """Day 2026-02-05 staged and published through the orchestration functions."""
    root = tmp_path_factory.mktemp("published") / "data"
    ctx = RunContext(lake=Lake.at(root), settings=Settings(), source_mode="demo")
    day = date(2026, 2, 5)
    extract(ctx, [day])
    stage(ctx, [day])
    orch.publish_day(ctx, orch.build_on_published(ctx, day), day)
    return root


def _day_run(lake: Lake, day: date, run_id: str) -> RunContext:
    ctx = RunContext(lake=lake, settings=Settings(), source_mode="demo", run_id=run_id)
    extract(ctx, [day])
    stage(ctx, [day])
    return ctx


def _published_days(lake: Lake) -> list[date]:
    con = duckdb.connect(str(lake.warehouse), read_only=True)
    try:
        rows = con.execute("select distinct date from marts.fct_asset_daily order by 1").fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


@pytest.mark.e2e
def test_publish_rebuilds_a_build_that_another_run_overtook(tmp_path):
    """Two runs (a backfill beside the nightly run): B builds before A publishes.

    B's incremental build carries the days before the one it restates from what was published
    when it started, which lacks A's day; publishing it as it is would drop A's day.
    """
    from pipeline.stages.publish import publish

    lake = Lake.at(tmp_path / "data")
    d0, d1, d2 = date(2026, 2, 2), date(2026, 2, 3), date(2026, 2, 5)  # B restates 02-04 too
    first = _day_run(lake, d0, "20260101T000000000000Z_a00000")
    orch.publish_day(first, orch.build_on_published(first, d0), d0)
    run_a = _day_run(lake, d1, "20260101T000000000000Z_a11111")
    built_a = orch.build_on_published(run_a, d1)
    run_b = _day_run(lake, d2, "20260101T000000000000Z_b22222")
    built_b = orch.build_on_published(run_b, d2)
    assert built_a["base"] == built_b["base"] == first.run_id
    orch.publish_day(run_a, built_a, d1)
    assert _published_days(lake) == [d0, d1]

    # the hazard is real: B's build as it is lacks A's day
    stale = RunContext(lake=Lake.at(tmp_path / "stale"), settings=Settings(), run_id="x")
    publish(stale, _copy_build(built_b, tmp_path), [d2])
    assert _published_days(stale.lake) == [d0, d2]

    orch.publish_day(run_b, built_b, d2)
    assert run_b.stats["rebuilt_on"] == run_a.run_id
    assert _published_days(lake) == [d0, d1, d2]
    assert lake.published_info()["build"] == run_b.run_id


def _copy_build(built: dict, tmp_path):
    """The build file and its ledger, copied aside (publish may rebuild over the original)."""
    import shutil
    from pathlib import Path

    source = Path(built["build_file"])
    target = tmp_path / "stale" / "warehouse" / "builds" / source.name
    target.parent.mkdir(parents=True)
    shutil.copy(source, target)
    shutil.copy(source.with_suffix(".json"), target.with_suffix(".json"))
    return target
