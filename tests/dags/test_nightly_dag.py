"""The nightly DAG: it loads cleanly, is wired as designed, and runs one day end to end."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime

import duckdb
import pytest

from tests.dags.conftest import DAGS

pytestmark = pytest.mark.airflow


@pytest.fixture(scope="module")
def nightly(airflow_home):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    return bag.get_dag("tokenrisk_nightly")


def test_dag_shape(nightly):
    from airflow.timetables.interval import CronDataIntervalTimetable

    from pipeline.sources import datasets

    assert nightly is not None
    assert {t.task_id for t in nightly.tasks} == {"extract", "stage", "build", "publish"}
    assert nightly.max_active_runs == 1
    assert isinstance(nightly.timetable, CronDataIntervalTimetable)
    assert nightly.params["source"] == "demo"
    extract = nightly.get_task("extract")
    assert extract.retries == 3 and extract.retry_exponential_backoff
    import runpy

    namespace = runpy.run_path(str(DAGS / "tokenrisk_nightly.py"))
    assert sorted(namespace["DATASETS"]) == datasets()  # the DAG's copy matches the registry
    outlets = {a.name for a in nightly.get_task("publish").outlets}
    assert outlets == {"tokenrisk.marts.fct_asset_daily", "tokenrisk.marts.fct_sector_daily"}


def test_dag_test_runs_one_day_on_the_demo_market(nightly, tmp_path):
    from airflow.utils.state import TaskInstanceState

    data = tmp_path / "data"
    run = nightly.test(
        logical_date=datetime(2026, 2, 6, 0, 30, tzinfo=UTC),  # runs after 2026-02-05 ends
        run_conf={"source": "demo", "data_dir": str(data)},
    )
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states and all(s == TaskInstanceState.SUCCESS for s in states.values()), states
    con = duckdb.connect(str(data / "warehouse" / "tokenrisk.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "select date, sector, market_cap_usd from marts.fct_sector_daily"
        ).fetchall()
        assert len(rows) == 1 and rows[0][:2] == (date(2026, 2, 5), "ai")
        members = con.execute(
            "select sum(market_cap_usd) from marts.fct_asset_daily where sector = 'ai' and date = ?",
            [rows[0][0]],
        ).fetchone()[0]
        assert rows[0][2] == pytest.approx(members, rel=1e-12)
    finally:
        con.close()


def test_dag_imports_no_heavy_modules():
    code = (
        "import sys, runpy; runpy.run_path(sys.argv[1]); "
        "heavy = [m for m in ('great_expectations', 'duckdb', 'polars', 'pandas') if m in sys.modules]; "
        "print(heavy); assert not [m for m in heavy if m != 'pandas'], heavy"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(DAGS / "tokenrisk_nightly.py")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
