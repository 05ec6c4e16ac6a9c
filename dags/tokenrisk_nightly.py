"""tokenrisk_nightly: extract -> stage -> build -> publish for the previous UTC day.

A thin front end over the functions the `tokenrisk` CLI calls; no business logic lives here.
Only Airflow is imported at parse time: the pipeline (polars, DuckDB, Great Expectations) is
imported inside the tasks, so parsing this file stays cheap.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from airflow.sdk import Asset, CronDataIntervalTimetable, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowException, AirflowFailException

if TYPE_CHECKING:
    from pipeline.stages.context import RunContext

log = logging.getLogger(__name__)

MART_ASSETS = [
    Asset(name=f"tokenrisk.marts.{table}", uri=f"tokenrisk://marts/{table}")
    for table in ("fct_asset_daily", "fct_sector_daily")
]

DOC_MD = """
### tokenrisk nightly

Runs at 00:30 UTC and processes the **previous UTC day**: the day of the run's
`data_interval_start` (a run triggered without a logical date processes the UTC day before it
was triggered). Every task calls the same function as the `tokenrisk` CLI:

1. `list_datasets`: the dataset names of `pipeline.sources.datasets()`;
2. `extract` (mapped per dataset; 3 retries after 1, 2, 4 min): land raw responses;
3. `stage`: canonical Parquet for the day, behind the staged gate;
4. `build`: a new warehouse build from all staged data, behind the marts gate;
5. `publish`: atomic swap of `warehouse/tokenrisk.duckdb` and the day's mart export
   (emits the assets `tokenrisk.marts.fct_asset_daily` and `tokenrisk.marts.fct_sector_daily`).

A failed gate or bad input fails its task at once with a one-line message (no retry) and
nothing is published. All tasks of a run share one pipeline run id,
`<logical date>_af<hash of the Airflow run id>` (an extract retry lands under
`<run id>_tNNN`, since raw files are write-once).

Params: `source` (`demo`, the offline market, or `live`) and `data_dir` (default: the
`TOKENRISK_DATA_DIR` environment variable, else `data`, relative to the worker's working
directory: use an absolute path in deployments).
Other days: `airflow backfill create --dag-id tokenrisk_nightly --from-date 2026-02-01
--to-date 2026-02-07`.
"""


def _run_id_and_day() -> tuple[str, date]:
    """The pipeline run id and the UTC day processed, both derived from the Airflow run."""
    context = get_current_context()
    dag_run = context["dag_run"]
    start = context.get("data_interval_start")
    if start is not None:
        day = start.astimezone(UTC).date()
    else:  # triggered without a logical date, hence without a data interval
        day = dag_run.run_after.astimezone(UTC).date() - timedelta(days=1)
    stamp = (context.get("logical_date") or dag_run.run_after).astimezone(UTC)
    digest = hashlib.sha1(context["run_id"].encode()).hexdigest()[:6]
    # only [0-9A-Za-z_]: raw file names are `<run id>-<key>.<page>.json.gz`; sorts by time
    return f"{stamp:%Y%m%dT%H%M%S%fZ}_af{digest}", day


def _context(run_id: str) -> RunContext:
    from pipeline.config import Settings
    from pipeline.lake import Lake
    from pipeline.stages.context import RunContext

    params = get_current_context()["params"]
    return RunContext(
        lake=Lake.at(params["data_dir"]),
        settings=Settings(),
        source_mode=params["source"],
        run_id=run_id,
    )


@contextmanager
def _expected_failures() -> Iterator[None]:
    """Turn the pipeline's expected failures into one-line task failures (no traceback)."""
    from pipeline.errors import ParseError, SourceError, TokenriskError

    try:
        yield
    except TokenriskError as exc:
        message = f"{type(exc).__name__}: {exc.message}"
        log.error("%s", message)
        if isinstance(exc, SourceError) and not isinstance(exc, ParseError):
            raise AirflowException(message) from None  # maybe transient: retried if allowed
        raise AirflowFailException(message) from None  # gate, input or parse: fail at once


@dag(
    dag_id="tokenrisk_nightly",
    schedule=CronDataIntervalTimetable("30 0 * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,  # one warehouse build and publish at a time
    doc_md=DOC_MD,
    tags=["tokenrisk"],
    params={
        "source": Param("demo", type="string", enum=["demo", "live"]),
        "data_dir": Param(os.environ.get("TOKENRISK_DATA_DIR", "data"), type="string"),
    },
)
def tokenrisk_nightly():
    @task
    def list_datasets() -> list[str]:
        """The datasets to extract, from the pipeline's source registry."""
        from pipeline.sources import datasets

        return datasets()

    @task(
        retries=3,
        retry_exponential_backoff=2.0,  # Airflow 3.3: a multiplier; delays 1, 2, 4 min
        retry_delay=timedelta(minutes=1),
        map_index_template="{{ task.op_kwargs['dataset'] }}",
    )
    def extract(dataset: str) -> int:
        """Fetch one dataset for the day and land the responses raw."""
        from pipeline.stages.extract import extract as run_extract

        run_id, day = _run_id_and_day()
        try_number = get_current_context()["ti"].try_number
        if try_number > 1:  # raw files are write-once: a retry lands under its own id
            run_id = f"{run_id}_t{try_number:03d}"
        with _expected_failures():
            return run_extract(_context(run_id), [day], datasets=[dataset])

    @task
    def stage(datasets: list[str], landed: list[int]) -> dict[str, int]:
        """Parse the newest landed responses into canonical Parquet behind the staged gate."""
        from pipeline.stages.stage import stage as run_stage

        run_id, day = _run_id_and_day()
        log.info("staging %s for %s (%d responses landed)", datasets, day, sum(landed))
        with _expected_failures():
            return run_stage(_context(run_id), [day], datasets=datasets)

    @task
    def build(staged: dict[str, int]) -> str:
        """Build a new warehouse file from all staged data and gate its marts."""
        from pipeline.stages.build import build as run_build

        run_id, _ = _run_id_and_day()
        with _expected_failures():
            return str(run_build(_context(run_id)))

    @task(outlets=MART_ASSETS)
    def publish(build_file: str) -> dict[str, int]:
        """Swap in the gated build and export the day's marts."""
        from pathlib import Path

        from pipeline.stages.publish import publish as run_publish

        run_id, day = _run_id_and_day()
        with _expected_failures():
            return run_publish(_context(run_id), Path(build_file), [day])

    datasets = list_datasets()
    landed = extract.expand(dataset=datasets)
    publish(build(stage(datasets, landed)))


tokenrisk_nightly()
