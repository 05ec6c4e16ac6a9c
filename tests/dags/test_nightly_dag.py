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
from types import SimpleNamespace

import duckdb
import pytest

from pipeline.sources import datasets

pytestmark = pytest.mark.airflow

DAG_ID = "tokenrisk_nightly"
RUN_ID = re.compile(r"^\d{8}T\d{12}Z_af[0-9a-f]{6}$")  # sorts by time; no '-' (raw file names)


@pytest.fixture(scope="module")
def nightly(airflow_env, dags_folder):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dags_folder))
    assert bag.import_errors == {}
    assert DAG_ID in bag.dag_ids
    return bag.get_dag(DAG_ID)


@pytest.fixture(scope="module")
def dag_module(airflow_env, dags_folder) -> dict:
    """The DAG file's namespace, for its helpers."""
    return runpy.run_path(str(dags_folder / "tokenrisk_nightly.py"))


def test_dag_shape(nightly):
    from airflow.sdk import CronDataIntervalTimetable

    upstream = {t.task_id: t.upstream_task_ids for t in nightly.tasks}
    assert upstream == {
        "list_datasets": set(),
        "extract": {"list_datasets"},
        "stage": {"list_datasets", "extract"},
        "build": {"stage"},
        "publish": {"build"},
    }
    timetable = nightly.timetable
    assert isinstance(timetable, CronDataIntervalTimetable)
    assert (timetable.expression, str(timetable.timezone)) == ("30 0 * * *", "UTC")
    assert nightly.max_active_runs == 1
    assert nightly.catchup is False
    assert nightly.params["source"] == "demo"
    extract = nightly.get_task("extract")
    assert (extract.retries, extract.retry_exponential_backoff) == (3, 2.0)
    assert extract.retry_delay == timedelta(minutes=1)
    assert {nightly.get_task(t).retries for t in ("stage", "build", "publish")} == {0}
    assert {(a.name, a.uri) for a in nightly.get_task("publish").outlets} == {
        ("tokenrisk.marts.fct_sector_daily", "tokenrisk://marts/fct_sector_daily"),
        ("tokenrisk.marts.fct_asset_daily", "tokenrisk://marts/fct_asset_daily"),
    }


def _fake_context(monkeypatch, dag_module, **context):
    helper = dag_module["_run_id_and_day"]
    monkeypatch.setitem(helper.__globals__, "get_current_context", lambda: context)
    return helper()


def test_run_id_and_day_come_from_the_data_interval(monkeypatch, dag_module):
    start = datetime(2026, 2, 5, 0, 30, tzinfo=UTC)
    airflow_run_id = "scheduled__2026-02-05T00:30:00+00:00"
    run_id, day = _fake_context(
        monkeypatch,
        dag_module,
        run_id=airflow_run_id,
        logical_date=start,
        data_interval_start=start,
        dag_run=SimpleNamespace(run_after=start + timedelta(days=1)),
    )
    assert day == date(2026, 2, 5)
    digest = hashlib.sha1(airflow_run_id.encode()).hexdigest()[:6]
    assert run_id == f"20260205T003000000000Z_af{digest}"
    assert RUN_ID.match(run_id)


def test_run_without_logical_date_processes_the_day_before_it_ran(monkeypatch, dag_module):
    # Airflow 3 runs triggered without a logical date have no data interval either
    run_id, day = _fake_context(
        monkeypatch,
        dag_module,
        run_id="manual__2026-02-06T09:15:00+00:00",
        dag_run=SimpleNamespace(run_after=datetime(2026, 2, 6, 9, 15, tzinfo=UTC)),
    )
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


def test_a_retried_extract_lands_under_its_own_id(nightly, monkeypatch, tmp_path):
    # raw files are write-once: a retry under the run's own id would hit FileExistsError
    from pipeline.lake import Lake

    start = datetime(2026, 2, 5, 0, 30, tzinfo=UTC)
    context = {
        "run_id": "scheduled__2026-02-05T00:30:00+00:00",
        "logical_date": start,
        "data_interval_start": start,
        "dag_run": SimpleNamespace(run_after=start + timedelta(days=1)),
        "params": {"source": "demo", "data_dir": str(tmp_path)},
    }
    extract = nightly.get_task("extract").python_callable
    monkeypatch.setitem(extract.__globals__, "get_current_context", lambda: context)
    for try_number in (1, 2):
        context["ti"] = SimpleNamespace(try_number=try_number)
        assert extract(dataset="equity_prices") == 5
    landed = Lake.at(tmp_path).latest_raw("stooq", "equity_prices", date(2026, 2, 5))
    run_ids = {path.name.partition("-")[0] for paths in landed.values() for path in paths}
    assert len(landed) == 5 and len(run_ids) == 1
    assert run_ids.pop().endswith("_t002")  # stage reads the newest landing of each key


def test_dag_test_runs_one_day_on_the_demo_market(nightly, tmp_path):
    from airflow.utils.state import TaskInstanceState

    data = tmp_path / "data"
    # CronDataIntervalTimetable: a run at 2026-02-06 00:30 covers [02-05 00:30, 02-06 00:30)
    run = nightly.test(
        logical_date=datetime(2026, 2, 6, 0, 30, tzinfo=UTC),
        run_conf={"source": "demo", "data_dir": str(data)},
    )
    assert run.data_interval_start == datetime(2026, 2, 5, 0, 30, tzinfo=UTC)
    tis = run.get_task_instances()
    states = {(ti.task_id, ti.map_index): ti.state for ti in tis}
    assert all(s == TaskInstanceState.SUCCESS for s in states.values()), states
    extracted = sorted(ti.rendered_map_index for ti in tis if ti.task_id == "extract")
    assert extracted == datasets()
    assert len(states) == 4 + len(datasets())

    # one pipeline run id across the tasks: raw files, quality results and the build
    run_id = "20260206T003000000000Z_af" + hashlib.sha1(run.run_id.encode()).hexdigest()[:6]
    raw = list((data / "raw").rglob("*.json.gz"))
    assert raw and {p.name.partition("-")[0] for p in raw} == {run_id}
    assert {p.name for p in (data / "quality").iterdir() if RUN_ID.match(p.name)} == {run_id}
    assert (data / "warehouse" / "builds" / f"{run_id}.duckdb").exists()
    assert {p.name for p in (data / "staged" / "spot_prices").iterdir()} == {"date=2026-02-05"}

    con = duckdb.connect(str(data / "warehouse" / "tokenrisk.duckdb"), read_only=True)
    try:
        sectors = con.execute(
            "select date, sector, market_cap_usd from marts.fct_sector_daily order by all"
        ).fetchall()
        assert [row[:2] for row in sectors] == [(date(2026, 2, 5), "ai")]
        n_members, members_cap = con.execute(
            "select count(*), sum(market_cap_usd) from marts.fct_asset_daily "
            "where sector = 'ai' and date = date '2026-02-05'"
        ).fetchone()
    finally:
        con.close()
    assert n_members == 5
    assert sectors[0][2] == pytest.approx(members_cap, rel=1e-12)


def test_dag_file_imports_no_heavy_module(airflow_env, dags_folder):
    code = (
        "import json, runpy, sys, time\n"
        "import airflow.sdk\n"
        "before = set(sys.modules)\n"
        "t0 = time.perf_counter()\n"
        "runpy.run_path(sys.argv[1])\n"
        "seconds = time.perf_counter() - t0\n"
        "new = sorted({m.split('.')[0] for m in set(sys.modules) - before})\n"
        "print(json.dumps({'seconds': seconds, 'new': new, 'modules': sorted(sys.modules)}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(dags_folder / "tokenrisk_nightly.py")],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert "great_expectations" not in report["modules"]
    heavy = {"great_expectations", "duckdb", "polars", "pandas", "pyarrow"}
    assert not heavy & set(report["new"]), report["new"]
    # a figure, not an assertion: no timed tests
    print(
        f"\nDAG file import (after airflow.sdk): {report['seconds']:.3f} s; "
        f"top-level modules it added: {report['new']}"
    )
