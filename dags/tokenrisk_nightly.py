"""tokenrisk_nightly: extract -> gate -> stage -> gate -> build -> gate -> publish, one UTC day.

A thin front end over the functions the `tokenrisk` CLI calls; no business logic lives here.
Only Airflow and `pipeline.orchestration` (standard library only at import) are imported at
parse time: the pipeline (polars, DuckDB, Great Expectations) is imported inside the tasks.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import (
    Asset,
    CronDataIntervalTimetable,
    Param,
    TaskGroup,
    TriggerRule,
    dag,
    get_current_context,
    task,
)
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from pipeline import orchestration as orch

if TYPE_CHECKING:
    from pipeline.stages.context import RunContext

log = logging.getLogger("tokenrisk.dags.nightly")

SOURCES = orch.source_names()  # pools and extract groups; the datasets are read at run time
MART_ASSETS = {table: Asset(*orch.mart_asset(table)) for table in orch.mart_tables()}
EXPORT_ASSET = Asset(*orch.export_asset())

DOC_MD = """
### tokenrisk nightly

Runs at 00:30 UTC and processes the **previous UTC day**: the day of the run's
`data_interval_start`. The run of day D has the data interval [D 00:30, D+1 00:30) and, when
scheduled or backfilled, the logical date D 00:30; a manual trigger with logical date L covers
the 24 h before L (so trigger D+1 00:30 for day D), one without a logical date the day before
the trigger. Every task calls the same functions as the `tokenrisk` CLI:

1. `extract.<source>.datasets`: the source's datasets, from the pipeline's source registry;
2. `extract.<source>.fetch` (mapped over those datasets, in the pool `tokenrisk_<source>`
   sized to the API's rate limit; 3 retries after 1, 2, 4 min): land raw responses;
3. `gate_raw`: every landed response parses;
4. `stage`: canonical Parquet for the day (the staged gate runs before anything is written);
5. `gate_staged`: the staged gate again, on the day's partitions as written;
6. `build` (pool `tokenrisk_warehouse`, one slot): a new warehouse build from the day
   before on (the marts of a day read the snapshots at its end, staged with the next day, so
   each run restates the day before);
7. `gate_marts`: the marts gate on that build;
8. `publish`: atomic swap of `warehouse/tokenrisk.duckdb` and the Parquet export of both
   days; emits one asset per mart table (`tokenrisk.marts.<table>`) and
   `tokenrisk.marts_export`.

A failed gate or bad input fails its task at once with a one-line message (no retry) and
nothing is published. Every task records its figures, and every failure (task, try, error,
logical date), in the run manifest `runs/<run id>.json` under the data dir. All tasks of a run
share one pipeline run id, `<logical date>_af<hash of the Airflow run id>` (an extract retry
lands raw files under `<run id>_tNNN`, since raw files are write-once).

Params: `source` (`demo`, the offline market, or `live`; default: env `TOKENRISK_SOURCE`) and
`data_dir` (default: env `TOKENRISK_DATA_DIR`, else `data`; use an absolute path).
Days 2026-02-01..2026-02-07: `airflow backfill create --dag-id tokenrisk_nightly
--from-date 2026-02-01T00:30:00+00:00 --to-date 2026-02-07T00:30:00+00:00 --max-active-runs 2`
(docs/deploy.md).
"""


# -- helpers: the Airflow run -> the pipeline's run id, day and context ----------------------
def _run_id_and_day(context: Any) -> tuple[str, date]:
    """The pipeline run id and the UTC day processed, both derived from the Airflow run."""
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


def _run_info(context: Any, day: date) -> dict:
    """What the run manifest says about the Airflow run."""
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    logical = context.get("logical_date")
    return {
        "source": context["params"]["source"],
        "days": [str(day), str(day)],
        "airflow": {
            "dag_id": context["dag"].dag_id,
            "run_id": context["run_id"],
            "logical_date": logical.isoformat() if logical else None,
            "data_interval": [start.isoformat(), end.isoformat()] if start and end else None,
        },
    }


def _lake(context: Any):
    """The run's data dir; an s3:// one in a working copy of this task's own."""
    return orch.open_lake(context["params"]["data_dir"])


def _task_label(context: Any) -> str:
    ti = context["ti"]
    return orch.task_label(ti.task_id, ti.map_index, getattr(ti, "rendered_map_index", None))


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


@contextmanager
def _pipeline(*, own_attempt: bool = False, rate_share: float = 1.0) -> Iterator[RunContext]:
    """The stage context of this task; on success its figures go to the run manifest.

    With `own_attempt`, a retry works under `<run id>_tNNN` (raw files are write-once).
    """
    from pipeline.config import Settings
    from pipeline.stages.context import RunContext

    orch.quiet_libraries()
    context = get_current_context()
    run_id, day = _run_id_and_day(context)
    try_number = context["ti"].try_number
    work_id = f"{run_id}_t{try_number:03d}" if own_attempt and try_number > 1 else run_id
    with _expected_failures(), _lake(context) as lake:
        ctx = RunContext(
            lake=lake,
            settings=Settings(),
            source_mode=context["params"]["source"],
            run_id=work_id,
            rate_share=rate_share,
        )
        yield ctx
        lake.sync.push()  # anything written after the last stage
        entry = {"status": "ok", "try_number": try_number, "work_id": work_id, **ctx.stats}
        orch.record_task(lake, run_id, _run_info(context, day), _task_label(context), entry)


def _day() -> date:
    return _run_id_and_day(get_current_context())[1]


def _record_failure(context: Any, final: bool) -> None:
    """on_failure / on_retry callback: the failure goes into the run manifest."""
    run_id, day = _run_id_and_day(context)
    ti = context["ti"]
    logical = context.get("logical_date")
    failure = {
        "task": _task_label(context),
        "task_id": ti.task_id,
        "map_index": ti.map_index,
        "try_number": ti.try_number,
        "error": orch.one_line(context.get("exception")),
        "logical_date": logical.isoformat() if logical else None,
        "day": str(day),
    }
    with _lake(context) as lake:
        orch.record_failure(lake, run_id, _run_info(context, day), failure, final)
    log.error("recorded in runs/%s.json: %s failed: %s", run_id, failure["task"], failure["error"])


def on_failure(context: Any) -> None:
    _record_failure(context, final=True)


def on_retry(context: Any) -> None:
    _record_failure(context, final=False)


@dag(
    dag_id="tokenrisk_nightly",
    # a run of day D: data interval [D 00:30, D+1 00:30) UTC, run at D+1 00:30; scheduled and
    # backfill runs have the logical date D 00:30 (a manual trigger at logical date L covers
    # the 24 h before L, so a manual run at D+1 00:30 also processes D)
    schedule=CronDataIntervalTimetable("30 0 * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,  # with the single-slot warehouse pool: one build and publish at a time
    doc_md=DOC_MD,
    tags=["tokenrisk"],
    default_args={
        "on_failure_callback": on_failure,
        "on_retry_callback": on_retry,
        "execution_timeout": timedelta(hours=2),
        # finish a run before starting the next one's tasks (backfills run several at once)
        "weight_rule": "upstream",
    },
    params={
        "source": Param(
            os.environ.get("TOKENRISK_SOURCE", "demo"), type="string", enum=["demo", "live"]
        ),
        "data_dir": Param(os.environ.get("TOKENRISK_DATA_DIR", "data"), type="string"),
    },
)
def tokenrisk_nightly():
    @task
    def datasets(source: str) -> list[str]:
        """The datasets to extract from `source`, from the pipeline's source registry."""
        planned = orch.extract_plan(SOURCES)[source]
        log.info("%s: extracting %s", source, planned or "nothing (no dataset registered)")
        return planned

    @task(
        multiple_outputs=False,  # a dict passed on whole (also below)
        retries=3,
        retry_exponential_backoff=2.0,  # Airflow 3.3: a multiplier; delays 1, 2, 4 min
        retry_delay=timedelta(minutes=1),
        max_retry_delay=timedelta(minutes=30),
        map_index_template="{{ task.op_kwargs['dataset'] }}",
    )
    def extract(source: str, dataset: str) -> dict:
        """Fetch one source's dataset for the day and land the responses raw."""
        with _pipeline(own_attempt=True, rate_share=orch.rate_share(source)) as ctx:
            return orch.extract_one(ctx, _day(), source, dataset)

    @task(multiple_outputs=False, trigger_rule=TriggerRule.NONE_FAILED)  # skipped sources: ok
    def gate_raw() -> dict:
        """Every response landed for the day parses with its source's parser."""
        with _pipeline() as ctx:
            return orch.gate_raw(ctx, _day())

    @task(multiple_outputs=False)
    def stage(checked: dict) -> dict[str, int]:
        """Parse the newest landed responses into canonical Parquet behind the staged gate."""
        from pipeline.stages.stage import stage as run_stage

        with _pipeline() as ctx:
            rows = run_stage(ctx, [_day()])
        log.info("staged rows for %s: %s", _day(), rows)
        return rows

    @task(multiple_outputs=False)
    def gate_staged(staged: dict[str, int]) -> dict[str, int]:
        """The staged gate on the day's partitions as they were written."""
        with _pipeline() as ctx:
            return orch.gate_staged(ctx, _day())

    @task(multiple_outputs=False, pool=orch.WAREHOUSE_POOL)
    def build(checked: dict[str, int]) -> dict:
        """A new warehouse build: the marts from the day before on, gated."""
        with _pipeline() as ctx:
            return orch.build_on_published(ctx, _day())

    @task(multiple_outputs=False, pool=orch.WAREHOUSE_POOL)
    def gate_marts(built: dict) -> dict:
        """The marts gate on the build that publish will swap in."""
        from pathlib import Path

        with _pipeline() as ctx:
            orch.gate_build(ctx, Path(built["build_file"]))
        return built

    @task(
        multiple_outputs=False,
        pool=orch.WAREHOUSE_POOL,
        outlets=[*MART_ASSETS.values(), EXPORT_ASSET],
    )
    def publish(built: dict) -> dict:
        """Swap in the gated build, export the day's marts, emit the mart assets."""
        context = get_current_context()
        day = _day()
        run_id, _ = _run_id_and_day(context)
        with _pipeline() as ctx:
            published = orch.publish_day(ctx, built, day)
            orch.record_published(ctx.lake, run_id, _run_info(context, day))
        extra = {
            "day": str(day),
            "days": published["days"],  # the day before is restated (pipeline.orchestration)
            "data_dir": ctx.lake.name,
            "build": published["build"],
        }
        for table, asset in MART_ASSETS.items():
            rows = published["tables"].get(f"marts.{table}")
            context["outlet_events"][asset].extra = {**extra, "rows": rows}
        context["outlet_events"][EXPORT_ASSET].extra = {**extra, "files": published["mart_files"]}
        return published

    with TaskGroup("extract") as extracted:
        for source in SOURCES:
            with TaskGroup(source):
                planned = datasets(source)
                extract.override(task_id="fetch", pool=orch.pool_name(source)).partial(
                    source=source
                ).expand(dataset=planned)
    checked = gate_raw()
    extracted >> checked
    publish(gate_marts(build(gate_staged(stage(checked)))))


tokenrisk_nightly()
