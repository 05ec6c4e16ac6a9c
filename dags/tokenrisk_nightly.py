"""tokenrisk nightly: extract -> stage -> build -> publish for the previous UTC day.

A thin front end: every task calls the same function the `tokenrisk` CLI calls. Nothing but the
DAG definition happens at import time (heavy imports live inside the tasks).
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime, timedelta

from airflow.sdk import Asset, Param, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

DATASETS = ["spot_prices", "equity_prices"]  # pipeline.sources.datasets(), kept import-free
MARTS = ["fct_asset_daily", "fct_sector_daily"]
MART_ASSETS = [
    Asset(name=f"tokenrisk.marts.{m}", uri=f"file:///tokenrisk/marts/{m}") for m in MARTS
]

DOC = """
### tokenrisk nightly

Runs after 00:30 UTC for the **previous UTC day** (the data interval): extract every source
dataset (mapped, retried with exponential backoff), stage them to canonical Parquet behind the
staged gate, build the warehouse and gate its marts, then publish
`warehouse/tokenrisk.duckdb` atomically and export the marts. A failed gate fails the task with
a one-line message and nothing is published. Params: `source` (demo|live), `data_dir`.
Backfill: `airflow backfill create --dag-id tokenrisk_nightly \\
  --from-date 2026-02-01 --to-date 2026-02-07`.
"""


def _context(params: dict, data_interval_start: datetime, run_id: str):
    from pipeline.config import Settings
    from pipeline.lake import Lake
    from pipeline.stages.context import RunContext

    # one run id per DAG run, sortable by time, shared by every task (raw files are keyed on it)
    digest = hashlib.sha1(run_id.encode()).hexdigest()[:6]
    rid = data_interval_start.strftime("%Y%m%dT%H%M%S%fZ") + "_af" + digest
    return RunContext(
        lake=Lake.at(params["data_dir"]),
        settings=Settings(),
        source_mode=params["source"],
        run_id=rid,
    )


def _day(data_interval_start: datetime):
    return data_interval_start.date()


@dag(
    dag_id="tokenrisk_nightly",
    schedule=CronDataIntervalTimetable("30 0 * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,  # warehouse builds stay serialised
    doc_md=DOC,
    tags=["tokenrisk"],
    params={
        "source": Param("demo", enum=["demo", "live"]),
        "data_dir": Param(os.environ.get("TOKENRISK_DATA_DIR", "data"), type="string"),
    },
    default_args={"retries": 0},
)
def tokenrisk_nightly():
    @task(retries=3, retry_exponential_backoff=True, retry_delay=timedelta(minutes=1))
    def extract(dataset: str, params=None, data_interval_start=None, run_id=None) -> int:
        """Fetch one dataset for the day and land the responses raw."""
        from pipeline.stages.extract import extract as run_extract

        ctx = _context(params, data_interval_start, run_id)
        return run_extract(ctx, [_day(data_interval_start)], datasets=[dataset])

    @task
    def stage(landed: list[int], params=None, data_interval_start=None, run_id=None) -> dict:
        """Parse the landed responses into canonical Parquet behind the staged gate."""
        from pipeline.stages.stage import stage as run_stage

        ctx = _context(params, data_interval_start, run_id)
        return run_stage(ctx, [_day(data_interval_start)])

    @task
    def build(staged: dict, params=None, data_interval_start=None, run_id=None) -> str:
        """Build a new warehouse file and gate its marts."""
        from pipeline.stages.build import build as run_build

        return str(run_build(_context(params, data_interval_start, run_id)))

    @task(outlets=MART_ASSETS)
    def publish(build_file: str, params=None, data_interval_start=None, run_id=None) -> dict:
        """Swap in the gated build and export the day's marts."""
        from pathlib import Path

        from pipeline.stages.publish import publish as run_publish

        ctx = _context(params, data_interval_start, run_id)
        return run_publish(ctx, Path(build_file), [_day(data_interval_start)])

    landed = extract.expand(dataset=DATASETS)
    publish(build(stage(landed)))


tokenrisk_nightly()
