"""What the Airflow DAGs need besides the stages: pools, the extract plan, assets, the manifest.

DAG files import this module while they are parsed (the dag-processor re-parses them every
few seconds), so at module level it imports the standard library only; everything heavy is
imported inside the functions that the tasks call at run time.

Nothing here imports Airflow: the DAGs pass plain values (run ids, task ids, dates) in.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

# the run manifest of an Airflow run (the DAGs call these as orch.record_*)
from pipeline.run_manifest import (  # noqa: F401
    record_failure,
    record_published,
    record_task,
    update_manifest,
)

if TYPE_CHECKING:
    from pipeline.lake import Lake
    from pipeline.quality.gate import GateResult
    from pipeline.stages.context import RunContext
    from pipeline.store import S3Credentials

log = logging.getLogger("tokenrisk.orchestration")

PACKAGE = Path(__file__).resolve().parent
SOURCES_TOML = PACKAGE / "config" / "sources.toml"  # read typed by pipeline.config.load_sources

# Pools: one per source, so that the extract tasks of all runs (nightly, manual, backfill)
# together stay under each API's rate limit, and one single-slot pool for the warehouse.
POOL_PREFIX = "tokenrisk_"
WAREHOUSE_POOL = "tokenrisk_warehouse"
# what one extract task may send to one API: a source allowing R requests a minute gets
# floor(R / 30) slots (at least 1) and each task paces itself at R / slots
REQUESTS_PER_MINUTE_PER_SLOT = 30.0

# [database] sql_alchemy_connect_args of the local SQLite Airflow (scripts/airflow_local.py):
# a command (e.g. `airflow backfill create`) waits up to 30 s for the scheduler's write lock
SQLITE_ARGS = {"timeout": 30}

ASSET_SCHEME = "tokenrisk"
EXPORT_ASSET_NAME = "tokenrisk.marts_export"


# -- parse time: cheap -----------------------------------------------------------------
def source_names() -> list[str]:
    """The configured sources (section names of config/sources.toml), in file order."""
    with open(SOURCES_TOML, "rb") as fh:
        return list(tomllib.load(fh))


def pool_name(source: str) -> str:
    return f"{POOL_PREFIX}{source}"


def mart_tables() -> list[str]:
    """Mart table names: the SQL files of sql/marts (as pipeline.warehouse.models finds them)."""
    override = os.environ.get("TOKENRISK_SQL_DIR")
    root = Path(override) if override else PACKAGE.parent / "sql"
    return sorted(p.stem for p in (root / "marts").glob("*.sql"))


def mart_asset(table: str) -> tuple[str, str]:
    """(name, uri) of the Airflow asset a mart table is published as."""
    return f"tokenrisk.marts.{table}", f"{ASSET_SCHEME}://marts/{table}"


def export_asset() -> tuple[str, str]:
    """(name, uri) of the asset for the Parquet export under marts/."""
    return EXPORT_ASSET_NAME, f"{ASSET_SCHEME}://export/marts"


# -- pools -------------------------------------------------------------------------------
def pool_slots(rate_limit_per_minute: float) -> int:
    return max(1, math.floor(rate_limit_per_minute / REQUESTS_PER_MINUTE_PER_SLOT))


def pools() -> dict[str, dict]:
    """Every pool the DAGs use, in the JSON shape of `airflow pools import FILE`."""
    from pipeline.config import load_sources

    out = {}
    for name, cfg in load_sources().items():
        slots = pool_slots(cfg.rate_limit_per_minute)
        out[pool_name(name)] = {
            "slots": slots,
            "description": (
                f"tokenrisk extract from {name}: {cfg.rate_limit_per_minute:g} requests/min "
                f"shared by {slots} task(s)"
            ),
            "include_deferred": False,
        }
    out[WAREHOUSE_POOL] = {
        "slots": 1,
        "description": "tokenrisk build, marts gate and publish: one at a time",
        "include_deferred": False,
    }
    return out


def rate_share(source: str) -> float:
    """The share of `source`'s rate limit one extract task may use: 1 / its pool's slots."""
    from pipeline.config import load_sources

    return 1.0 / pool_slots(load_sources()[source].rate_limit_per_minute)


def write_pools_file(path: Path) -> Path:
    path.write_text(json.dumps(pools(), indent=2, sort_keys=True) + "\n")
    return path


# -- run time: the data dir ------------------------------------------------------------------
# Airflow connection holding the keys of an s3:// data dir (type aws: login = access key id,
# password = secret key, extra {"endpoint_url": ..., "region_name": ...}); unset: the AWS_*
# environment variables of the worker
AWS_CONN_ENV = "TOKENRISK_AWS_CONN_ID"


def store_credentials() -> S3Credentials | None:
    """The object store's credentials from the Airflow connection named by
    TOKENRISK_AWS_CONN_ID, when that is set and Airflow is importable; else None (env)."""
    conn_id = os.environ.get(AWS_CONN_ENV)
    if not conn_id:
        return None
    try:
        from airflow.sdk import BaseHook
    except ImportError:  # not on Airflow: the environment variables
        return None
    from pipeline.store import S3Credentials

    conn = BaseHook.get_connection(conn_id)
    extra = conn.extra_dejson or {}
    env = S3Credentials.from_env()
    return S3Credentials(
        endpoint_url=extra.get("endpoint_url") or env.endpoint_url,
        region=extra.get("region_name") or env.region,
        access_key=conn.login or None,
        secret_key=conn.password or None,
        session_token=extra.get("aws_session_token") or None,
    )


@contextmanager
def open_lake(data_dir: str | Path) -> Iterator[Lake]:
    """The lake of a task. An s3:// data dir gets a working copy of its own in a temporary
    folder, removed afterwards: tasks on one worker run side by side, each pulls what it
    reads and pushes what it wrote."""
    import tempfile

    from pipeline.lake import Lake

    if "://" not in str(data_dir):
        yield Lake.at(data_dir)
        return
    with tempfile.TemporaryDirectory(prefix="tokenrisk-task-") as work:
        lake = Lake.at(data_dir, work_dir=Path(work), credentials=store_credentials())
        try:
            yield lake
        finally:
            lake.sync.close()


# -- run time: tasks ---------------------------------------------------------------------
NOISY_LOGGERS = ("great_expectations", "httpx", "httpcore")


def quiet_libraries() -> None:
    """Keep task logs to what tokenrisk did: libraries log warnings and errors only."""
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def extract_plan(sources: list[str]) -> dict[str, list[str]]:
    """For each source, the datasets to extract from it (the source registry, read now)."""
    from pipeline.sources import REGISTRY

    plan: dict[str, list[str]] = {source: [] for source in sources}
    for entry in REGISTRY:
        if entry.source not in plan:
            raise ValueError(f"source {entry.source!r} is in the registry but not in {sources}")
        plan[entry.source].append(entry.dataset)
    return {source: sorted(datasets) for source, datasets in plan.items()}


def extract_one(ctx: RunContext, day: date, source: str, dataset: str) -> dict:
    """Land one source/dataset for one day; returns what was fetched, for the task log."""
    from pipeline.sources import find
    from pipeline.stages.extract import extract

    find(source, dataset)  # UsageError for a pair the registry does not know
    pages = extract(ctx, [day], datasets=[dataset], sources=[source])
    stat = ctx.stats["stages"]["extract"]
    raw_dir = ctx.lake.raw_dir(source, dataset, day)
    keys = sorted(
        key
        for key, paths in ctx.lake.latest_raw(source, dataset, day).items()
        if paths[0].name.startswith(f"{ctx.run_id}-")
    )
    log.info(
        "extract %s/%s %s: %d page(s) for %s landed under %s (%d HTTP attempt(s), %.1f s, run %s)",
        source,
        dataset,
        day,
        pages,
        ", ".join(keys) or "no key",
        raw_dir.relative_to(ctx.lake.root),
        stat.get("http_attempts", 0),
        stat.get("seconds", 0.0),
        ctx.run_id,
    )
    return {"source": source, "dataset": dataset, "day": str(day), "pages": pages, "keys": keys}


def _require_passed(results: list[GateResult]) -> None:
    from pipeline.errors import GateFailed

    for r in results:
        log.info(
            "gate %s/%s: %d row(s), %d check(s), %d failed, %d warning(s)%s",
            r.stage,
            r.dataset,
            r.n_rows,
            len(r.checks),
            len(r.failures),
            len(r.warnings),
            "".join(f"; warn {c.check}: {c.message}" for c in r.warnings[:3]),
        )
    failed = [r for r in results if not r.success]
    if failed:
        raise GateFailed(failed[0].describe_failure(), [r.to_json() for r in failed])


def gate_raw(ctx: RunContext, day: date) -> dict:
    """The raw gate: every newest landed response of the day parses (`tokenrisk check raw`)."""
    from pipeline.sources import REGISTRY
    from pipeline.stages.run import check

    check(ctx, "raw", [day])
    pairs = sorted(f"{e.source}/{e.dataset}" for e in REGISTRY)
    log.info("gate raw %s: the responses of %d source/dataset(s) parse", day, len(pairs))
    return {"day": str(day), "parsed": pairs}


def gate_staged(ctx: RunContext, day: date) -> dict:
    """The staged gate re-run on the day's partitions as they are on disk now."""
    from pipeline.stages.run import check

    results = check(ctx, "staged", [day])
    _require_passed(results)
    return {r.dataset: r.n_rows for r in results}


def gate_build(ctx: RunContext, build_file: Path) -> dict:
    """The marts gate re-run on the build that publish will swap in (read-only)."""
    from pipeline.stages.build import gate_marts

    if ctx.lake.url is not None:  # built on another worker: its build, by run id
        build_file = ctx.lake.build_file(build_file.stem)
        ctx.lake.sync.pull_build(build_file.stem)
    # the rows the build's own gate checked (its ledger names the first day; none: all)
    ledger = ctx.lake.build_ledger(build_file.stem)
    first = json.loads(ledger.read_text()).get("gated_from") if ledger.exists() else None
    results = gate_marts(ctx, build_file, since=date.fromisoformat(first) if first else None)
    _require_passed(results)
    return {r.dataset: r.n_rows for r in results}


def restated_days(day: date) -> list[date]:
    """The days a run of `day` (re)computes and exports: the day before, and the day.

    The marts of day D read the snapshots taken at the end of D (hourly bars end at D+1 00:00,
    and the open interest and spot price of that instant are staged with day D+1), so D's
    rows are final only once D+1 is staged: each run restates the day before. Then a nightly
    or backfilled warehouse equals one built from all days at once.
    """
    return [day - timedelta(days=1), day]


def build_on_published(ctx: RunContext, day: date) -> dict:
    """Build incrementally from the day before `day`; remember the published build it used."""
    from pipeline.stages.build import build

    ctx.lake.sync.pull_published()
    base = ctx.lake.published_info().get("build")
    build_file = build(ctx, since=restated_days(day)[0])
    stat = ctx.stats["stages"]["build"]
    on_top = f"on top of published build {base}" if base else "nothing published yet"
    log.info("build %s (%s; %s): %s", build_file.name, stat["mode"], on_top, stat["tables"])
    return {"build_file": str(build_file), "base": base}


def publish_day(ctx: RunContext, build: dict, day: date) -> dict:
    """Publish the run's build and export the marts of the day and of the day before.

    Builds and publishes hold the single warehouse slot one task at a time, but another run
    (a backfill beside the nightly run) may have published between this run's build and now:
    its build then lacks that run's day, so it is rebuilt on top of what is published.
    """
    from pipeline.stages.build import build as run_build
    from pipeline.stages.publish import publish

    build_file = Path(build["build_file"])
    ctx.lake.sync.pull_published()
    published = ctx.lake.published_info().get("build")
    if published != build["base"]:
        log.warning(
            "publish: %s was published after this run's build started from %s; rebuilding",
            published,
            build["base"],
        )
        build_file = run_build(ctx, since=restated_days(day)[0])
        ctx.stats["rebuilt_on"] = published
    days = restated_days(day)
    counts = publish(ctx, build_file, days)
    stat = ctx.stats["stages"]["publish"]
    log.info(
        "published %s from build %s: %s; %d mart file(s) for %s..%s",
        ctx.lake.location(ctx.lake.warehouse),
        build_file.stem,
        counts,
        stat["mart_files"],
        days[0],
        days[-1],
    )
    return {
        "build": build_file.stem,
        "tables": counts,
        "mart_files": stat["mart_files"],
        "days": [str(d) for d in days],
    }


def sector_report(data_dir: str | Path, days: list[str]) -> list[dict]:
    """The published sector rows of `days` (of the latest day when none is given)."""
    from pipeline.config import Settings
    from pipeline.stages.context import RunContext
    from pipeline.stages.run import sector_summary

    with open_lake(data_dir) as lake:
        lake.sync.pull_published()
        ctx = RunContext(lake=lake, settings=Settings())
        frame = sector_summary(ctx, last_days=366 * len(ctx.universe.sectors))
    rows = [{k: str(v) if k == "date" else v for k, v in r.items()} for r in frame.to_dicts()]
    if not rows:
        return []
    wanted = set(days) or {max(r["date"] for r in rows)}
    return [r for r in rows if r["date"] in wanted]


def describe_sector_row(row: dict) -> str:
    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value * 100:+.1f}%"

    cap = row.get("market_cap_usd")
    return (
        f"{row['date']} {row['sector']}: {row.get('n_assets')} assets, "
        f"cap {'-' if cap is None else f'${cap / 1e9:,.2f}B'}, 1d {pct(row.get('return_1d'))}, "
        f"7d {pct(row.get('return_7d'))}, BTC 1d {pct(row.get('btc_return_1d'))}, "
        f"equities 1d {pct(row.get('equity_basket_return_1d'))}, "
        f"best {row.get('best_asset')}, worst {row.get('worst_asset')}"
    )


def one_line(exc: BaseException | None) -> str:
    """An error as one line: `Type: first line of the message`."""
    if exc is None:
        return "no exception: the task was killed or timed out"
    lines = str(exc).strip().splitlines()
    message = lines[0] if lines else ""
    if re.match(r"^[A-Z]\w*: ", message):  # the DAGs re-raise "GateFailed: ..." as it is
        return message
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def task_label(task_id: str, map_index: int | None, rendered: str | None) -> str:
    """`extract.binance[funding_rates]` for a mapped task, else the task id."""
    if map_index is None or map_index < 0:
        return task_id
    return f"{task_id}[{rendered or map_index}]"


def main(argv: list[str] | None = None) -> int:
    """`python -m pipeline.orchestration pools`: the pools JSON for `airflow pools import`."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if args != ["pools"]:
        print("usage: python -m pipeline.orchestration pools > pools.json", file=sys.stderr)
        return 2
    print(json.dumps(pools(), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
