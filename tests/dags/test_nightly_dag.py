"""The nightly DAG: it loads cleanly, is wired as designed, and runs one day end to end.

Airflow is imported inside fixtures and tests only (after `airflow_env` has set it up).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import runpy
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from types import SimpleNamespace

import duckdb
import pytest

from pipeline import orchestration as orch
from pipeline.sources import REGISTRY
from tests.conftest import assert_same_rows

pytestmark = pytest.mark.airflow

DAG_ID = "tokenrisk_nightly"
RUN_ID = re.compile(r"^\d{8}T\d{12}Z_af[0-9a-f]{6}$")  # sorts by time; no '-' (raw file names)
SOURCES = orch.source_names()
WAREHOUSE_TASKS = ("build", "gate_marts", "publish")


@pytest.fixture(scope="module")
def bag(airflow_env, dags_folder):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dags_folder))
    assert bag.import_errors == {}
    return bag


@pytest.fixture(scope="module")
def nightly(bag):
    return bag.get_dag(DAG_ID)


@pytest.fixture(scope="module")
def dag_module(airflow_env, dags_folder) -> dict:
    """The DAG file's namespace, for its helpers."""
    return runpy.run_path(str(dags_folder / "tokenrisk_nightly.py"))


def test_dag_shape(nightly):
    from airflow.sdk import CronDataIntervalTimetable

    upstream = {t.task_id: t.upstream_task_ids for t in nightly.tasks}
    expected = {}
    for source in SOURCES:
        expected[f"extract.{source}.datasets"] = set()
        expected[f"extract.{source}.fetch"] = {f"extract.{source}.datasets"}
    expected["gate_raw"] = {f"extract.{s}.fetch" for s in SOURCES}
    chain = ["gate_raw", "stage", "gate_staged", "build", "gate_marts", "publish"]
    expected.update({task: {before} for before, task in pairwise(chain)})
    assert upstream == expected
    assert {e.source for e in REGISTRY} <= set(SOURCES)

    timetable = nightly.timetable
    assert isinstance(timetable, CronDataIntervalTimetable)
    assert (timetable.expression, str(timetable.timezone)) == ("30 0 * * *", "UTC")
    assert nightly.max_active_runs == 1
    assert nightly.catchup is False
    assert set(nightly.params) == {"source", "data_dir"}


def test_extract_is_per_source_pool_with_backoff(nightly):
    for source in SOURCES:
        fetch = nightly.get_task(f"extract.{source}.fetch")
        assert fetch.pool == f"tokenrisk_{source}"
        assert (fetch.retries, fetch.retry_exponential_backoff) == (3, 2.0)
        assert fetch.retry_delay == timedelta(minutes=1)
    assert {nightly.get_task(t).pool for t in WAREHOUSE_TASKS} == {"tokenrisk_warehouse"}
    others = [t for t in nightly.tasks if not t.task_id.endswith(".fetch")]
    assert {t.retries for t in others} == {0}
    assert nightly.get_task("gate_raw").trigger_rule == "none_failed"
    # a run's later tasks go first: builds of concurrent backfill runs do not interleave
    assert {str(t.weight_rule) for t in nightly.tasks} == {"upstream"}
    assert all(t.on_failure_callback and t.on_retry_callback for t in nightly.tasks)


def test_pools_exist_for_every_task(nightly):
    pools = orch.pools()
    assert {t.pool for t in nightly.tasks} - {"default_pool"} <= set(pools)
    assert pools["tokenrisk_warehouse"]["slots"] == 1


def test_publish_emits_one_asset_per_mart_and_the_export(nightly):
    outlets = {(a.name, a.uri) for a in nightly.get_task("publish").outlets}
    marts = {p.stem for p in (orch.PACKAGE.parent / "sql" / "marts").glob("*.sql")}
    assert len(marts) >= 7
    assert outlets == {
        *((f"tokenrisk.marts.{t}", f"tokenrisk://marts/{t}") for t in marts),
        ("tokenrisk.marts_export", "tokenrisk://export/marts"),
    }


def test_report_dag_is_scheduled_on_the_sector_marts(bag):
    report = bag.get_dag("tokenrisk_daily_report")
    names = {a.name for a in report.timetable.asset_condition.objects}
    assert names == {"tokenrisk.marts.fct_asset_daily", "tokenrisk.marts.fct_sector_daily"}
    assert type(report.timetable.asset_condition).__name__ == "AssetAll"


def _context(tmp_path, **overrides) -> dict:
    start = datetime(2026, 2, 5, 0, 30, tzinfo=UTC)
    context = {
        "run_id": "scheduled__2026-02-05T00:30:00+00:00",
        "logical_date": start,
        "data_interval_start": start,
        "data_interval_end": start + timedelta(days=1),
        "dag_run": SimpleNamespace(run_after=start + timedelta(days=1)),
        "dag": SimpleNamespace(dag_id=DAG_ID),
        "params": {"source": "demo", "data_dir": str(tmp_path)},
        "ti": SimpleNamespace(
            task_id="extract.stooq.fetch", map_index=0, rendered_map_index="equity_prices"
        ),
    }
    context.update(overrides)
    return context


def test_run_id_and_day_come_from_the_data_interval(dag_module, tmp_path):
    context = _context(tmp_path)
    run_id, day = dag_module["_run_id_and_day"](context)
    assert day == date(2026, 2, 5)
    digest = hashlib.sha1(context["run_id"].encode()).hexdigest()[:6]
    assert run_id == f"20260205T003000000000Z_af{digest}"
    assert RUN_ID.match(run_id)


def test_run_without_logical_date_processes_the_day_before_it_ran(dag_module, tmp_path):
    # Airflow 3 runs triggered without a logical date have no data interval either
    context = _context(
        tmp_path,
        run_id="manual__2026-02-06T09:15:00+00:00",
        logical_date=None,
        data_interval_start=None,
        dag_run=SimpleNamespace(run_after=datetime(2026, 2, 6, 9, 15, tzinfo=UTC)),
    )
    run_id, day = dag_module["_run_id_and_day"](context)
    assert day == date(2026, 2, 5)
    assert run_id.startswith("20260206T091500000000Z_af") and RUN_ID.match(run_id)


def test_expected_failures_fail_the_task_with_one_line(dag_module, caplog):
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    from pipeline.errors import GateFailed, ParseError, SourceError

    expected = dag_module["_expected_failures"]
    with pytest.raises(AirflowFailException) as failed, expected():
        raise GateFailed("marts/fct_sector_daily: cap mismatch on 2026-02-05")
    assert str(failed.value) == "GateFailed: marts/fct_sector_daily: cap mismatch on 2026-02-05"
    assert failed.value.__cause__ is None and failed.value.__suppress_context__
    with pytest.raises(AirflowFailException), expected():
        raise ParseError("coingecko/spot_prices: no 'prices' list")
    # a source that keeps failing may recover: a plain AirflowException lets Airflow retry
    with pytest.raises(AirflowException) as retried, caplog.at_level(logging.ERROR), expected():
        raise SourceError("coingecko: HTTP 503 after 5 attempts")
    assert not isinstance(retried.value, AirflowFailException)
    assert "SourceError: coingecko: HTTP 503 after 5 attempts" in caplog.messages


def _patch_context(monkeypatch, function, context) -> None:
    for name in ("get_current_context",):
        monkeypatch.setitem(function.__globals__, name, lambda: context)


def test_a_retried_extract_lands_under_its_own_id(nightly, monkeypatch, tmp_path):
    # raw files are write-once: a retry under the run's own id would hit FileExistsError
    from pipeline.lake import Lake

    context = _context(tmp_path)
    fetch = nightly.get_task("extract.stooq.fetch").python_callable
    _patch_context(monkeypatch, fetch, context)
    for try_number in (1, 2):
        context["ti"].try_number = try_number
        landed = fetch(source="stooq", dataset="equity_prices")
        assert (landed["pages"], len(landed["keys"])) == (5, 5)
    lake = Lake.at(tmp_path)
    landed = lake.latest_raw("stooq", "equity_prices", date(2026, 2, 5))
    run_ids = {path.name.partition("-")[0] for paths in landed.values() for path in paths}
    assert len(landed) == 5 and len(run_ids) == 1
    assert run_ids.pop().endswith("_t002")  # stage reads the newest landing of each key
    # one manifest for the Airflow run, keyed on its pipeline run id, not the attempt's
    (manifest_path,) = (tmp_path / "runs").glob("*.json")
    manifest = json.loads(manifest_path.read_text())
    entry = manifest["tasks"]["extract.stooq.fetch[equity_prices]"]
    assert (entry["status"], entry["try_number"]) == ("ok", 2)
    assert entry["work_id"] == manifest["run_id"] + "_t002"
    assert entry["stages"]["extract"]["responses"] == 5
    assert manifest["airflow"]["data_interval"][0] == "2026-02-05T00:30:00+00:00"
    assert manifest["days"] == ["2026-02-05", "2026-02-05"]


def test_failure_callbacks_write_the_run_manifest(dag_module, tmp_path):
    from airflow.sdk.exceptions import AirflowFailException

    context = _context(tmp_path)
    context["ti"] = SimpleNamespace(
        task_id="extract.binance.fetch",
        map_index=2,
        rendered_map_index="open_interest",
        try_number=1,
    )
    context["exception"] = TimeoutError("binance: read timed out\nstack detail")
    dag_module["on_retry"](context)
    context["ti"].try_number = 4
    context["exception"] = AirflowFailException("GateFailed: gate failed: stage=staged x")
    dag_module["on_failure"](context)

    run_id, _ = dag_module["_run_id_and_day"](context)
    manifest = json.loads((tmp_path / "runs" / f"{run_id}.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["error"] == (
        "extract.binance.fetch[open_interest]: GateFailed: gate failed: stage=staged x"
    )
    first, last = manifest["failures"]
    assert {k: first[k] for k in ("task", "try_number", "error", "will_retry")} == {
        "task": "extract.binance.fetch[open_interest]",
        "try_number": 1,
        "error": "TimeoutError: binance: read timed out",
        "will_retry": True,
    }
    assert (last["try_number"], last["will_retry"]) == (4, False)
    assert last["logical_date"] == "2026-02-05T00:30:00+00:00"
    assert last["day"] == "2026-02-05"


def test_dag_test_runs_one_day_on_the_demo_market(nightly, monkeypatch, tmp_path):
    """One run of 2026-02-05 through dag.test(); then stage and everything after it cleared
    and run again (one test: xdist would otherwise run the DAG once per worker)."""
    from airflow.utils.state import TaskInstanceState

    data = tmp_path / "data"
    # a manual run at logical date 2026-02-06 00:30 covers [02-05 00:30, 02-06 00:30)
    run = nightly.test(
        logical_date=datetime(2026, 2, 6, 0, 30, tzinfo=UTC),
        run_conf={"source": "demo", "data_dir": str(data)},
    )
    assert run.data_interval_start == datetime(2026, 2, 5, 0, 30, tzinfo=UTC)
    tis = run.get_task_instances()
    states = {(ti.task_id, ti.map_index): ti.state for ti in tis}
    assert all(s == TaskInstanceState.SUCCESS for s in states.values()), states
    fetched = sorted(
        (ti.task_id.split(".")[1], ti.rendered_map_index)
        for ti in tis
        if ti.task_id.endswith(".fetch")
    )
    assert fetched == sorted((e.source, e.dataset) for e in REGISTRY)
    assert len(states) == len(SOURCES) + len(REGISTRY) + 6

    # one pipeline run id across the tasks: raw files, quality results, build, manifest
    run_id = "20260206T003000000000Z_af" + hashlib.sha1(run.run_id.encode()).hexdigest()[:6]
    raw = list((data / "raw").rglob("*.json.gz"))
    assert raw and {p.name.partition("-")[0] for p in raw} == {run_id}
    assert {p.name for p in (data / "quality").iterdir() if RUN_ID.match(p.name)} == {run_id}
    assert (data / "warehouse" / "builds" / f"{run_id}.duckdb").exists()
    assert {p.name for p in (data / "staged" / "spot_prices").iterdir()} == {"date=2026-02-05"}
    manifest = json.loads((data / "runs" / f"{run_id}.json").read_text())
    assert manifest["status"] == "ok" and "failures" not in manifest
    assert len(manifest["tasks"]) == len(REGISTRY) + 6
    assert manifest["tasks"]["publish"]["stages"]["publish"]["mart_files"] >= 7

    con = duckdb.connect(str(data / "warehouse" / "tokenrisk.duckdb"), read_only=True)
    try:
        sectors = con.execute(
            "select date, sector, market_cap_usd from marts.fct_sector_daily order by all"
        ).fetchall()
        n_members, members_cap = con.execute(
            "select count(*), sum(market_cap_usd) from marts.fct_asset_daily "
            "where sector = 'ai' and date = date '2026-02-05'"
        ).fetchone()
    finally:
        con.close()
    assert [row[:2] for row in sectors] == [(date(2026, 2, 5), "ai")]
    assert n_members == 5
    assert sectors[0][2] == pytest.approx(members_cap, rel=1e-12)

    _clear_stage_and_after_and_rerun(nightly, run, data, monkeypatch, tmp_path / "clear")


def _marts(data) -> dict[str, list]:
    con = duckdb.connect(str(data / "warehouse" / "tokenrisk.duckdb"), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
            ).fetchall()
        ]
        return {t: con.execute(f"select * from marts.{t} order by all").fetchall() for t in tables}
    finally:
        con.close()


def _clear_stage_and_after_and_rerun(nightly, run, original, monkeypatch, tmp_path) -> None:
    """A cleared task runs again as a new try of the same run: same day, same outputs."""
    import shutil
    from collections import defaultdict

    data = tmp_path / "data"
    shutil.copytree(original, data)
    staged = {p.relative_to(data): p.read_bytes() for p in (data / "staged").rglob("*.parquet")}
    before = _marts(data)
    context = _context(
        tmp_path,
        run_id=run.run_id,
        logical_date=run.logical_date,
        data_interval_start=run.data_interval_start,
        data_interval_end=run.data_interval_end,
        params={"source": "demo", "data_dir": str(data)},
        outlet_events=defaultdict(SimpleNamespace),
    )
    value = {}
    for task_id in ("gate_raw", "stage", "gate_staged", "build", "gate_marts", "publish"):
        context["ti"] = SimpleNamespace(
            task_id=task_id, map_index=-1, rendered_map_index=None, try_number=2
        )
        task = nightly.get_task(task_id)
        _patch_context(monkeypatch, task.python_callable, context)
        args = [value] if task_id != "gate_raw" else []
        value = task.python_callable(*args)

    assert value["mart_files"] >= 7
    after = {p.relative_to(data): p.read_bytes() for p in (data / "staged").rglob("*.parquet")}
    assert after == staged  # byte for byte
    assert_same_rows(_marts(data), before)
    events = context["outlet_events"]
    assert {e.extra["day"] for e in events.values()} == {"2026-02-05"}
    (manifest_path,) = (data / "runs").glob("*.json")
    manifest = json.loads(manifest_path.read_text())
    assert manifest["status"] == "ok"
    assert manifest["tasks"]["publish"]["try_number"] == 2


def test_a_failed_gate_fails_the_run_and_lands_in_the_manifest(nightly, tmp_path, monkeypatch):
    from airflow.utils.state import TaskInstanceState

    data = tmp_path / "data"
    monkeypatch.setenv(
        "TOKENRISK_DEMO_FAULTS",
        json.dumps([{"kind": "negative_price", "key": "TAO", "day": "2026-02-05"}]),
    )
    run = nightly.test(
        logical_date=datetime(2026, 2, 6, 0, 30, tzinfo=UTC),
        run_conf={"source": "demo", "data_dir": str(data)},
    )
    states = {ti.task_id: ti.state for ti in run.get_task_instances() if ti.map_index < 0}
    assert states["gate_raw"] == TaskInstanceState.SUCCESS
    assert states["stage"] == TaskInstanceState.FAILED
    assert {states[t] for t in ("gate_staged", *WAREHOUSE_TASKS)} == {
        TaskInstanceState.UPSTREAM_FAILED
    }
    assert not (data / "warehouse" / "tokenrisk.duckdb").exists()
    (manifest_path,) = (data / "runs").glob("*.json")
    manifest = json.loads(manifest_path.read_text())
    assert manifest["status"] == "failed"
    (failure,) = manifest["failures"]
    assert (failure["task"], failure["try_number"], failure["will_retry"]) == ("stage", 1, False)
    assert failure["error"].startswith("GateFailed: gate failed: stage=staged dataset=spot_prices")
    assert failure["logical_date"] == "2026-02-06T00:30:00+00:00"


def test_dag_files_import_no_heavy_module(airflow_env, dags_folder):
    code = (
        "import json, runpy, sys, time\n"
        "import airflow.sdk\n"
        "before = set(sys.modules)\n"
        "t0 = time.perf_counter()\n"
        "for path in sys.argv[1:]:\n"
        "    runpy.run_path(path)\n"
        "seconds = time.perf_counter() - t0\n"
        "new = sorted({m.split('.')[0] for m in set(sys.modules) - before})\n"
        "print(json.dumps({'seconds': seconds, 'new': new, 'modules': sorted(sys.modules)}))\n"
    )
    files = sorted(str(p) for p in dags_folder.glob("*.py"))
    assert len(files) == 2
    result = subprocess.run(
        [sys.executable, "-c", code, *files],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    heavy = {"great_expectations", "duckdb", "polars", "pandas", "pyarrow", "httpx", "pydantic"}
    assert not heavy & set(report["new"]), report["new"]
    # a figure, not an assertion: no timed tests
    print(
        f"\nDAG files import (after airflow.sdk): {report['seconds']:.3f} s; "
        f"top-level modules they added: {report['new']}"
    )
