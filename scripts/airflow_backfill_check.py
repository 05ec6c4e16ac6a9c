"""An Airflow backfill and `tokenrisk run` over the same days publish the same marts.

    python scripts/airflow_backfill_check.py --data-dir data     # make airflow-backfill-check

1. `tokenrisk run --source demo --start 2026-02-01 --end 2026-02-07` into <root>/cli;
2. a real Airflow (api-server, scheduler, dag-processor; LocalExecutor, SQLite, no cron runs)
   with the data dir <root>/airflow, and the documented command
   `airflow backfill create --dag-id tokenrisk_nightly --from-date 2026-02-01T00:30:00+00:00
   --to-date 2026-02-07T00:30:00+00:00 --max-active-runs 2`;
3. every table of both published warehouses, and both Parquet exports, compared row by row.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import airflow_local as local  # scripts/airflow_local.py

FIRST, LAST = (date.fromisoformat(d) for d in local.BACKFILL)
MAX_ACTIVE_RUNS = "2"  # two runs at a time: the single warehouse slot still orders builds


def backfill_command(first: date, last: date) -> list[str]:
    """The backfill of UTC days first..last: a run's logical date is 00:30 of its day."""
    return [
        "backfill",
        "create",
        "--dag-id",
        local.NIGHTLY,
        "--from-date",
        f"{first}T00:30:00+00:00",
        "--to-date",
        f"{last}T00:30:00+00:00",
        "--max-active-runs",
        MAX_ACTIVE_RUNS,
    ]


def cli_run(lake: Path, first: date, last: date) -> float:
    t0 = time.perf_counter()
    args = ["run", "--source", "demo", "--start", str(first), "--end", str(last)]
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args, "--data-dir", str(lake)],
        cwd=local.REPO,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if result.returncode != 0:
        raise local.SmokeFailed(f"tokenrisk run failed:\n{result.stdout[-2000:]}{result.stderr}")
    return time.perf_counter() - t0


def wait_for_backfill(api: local.Api, procs: local.Processes, n_runs: int, timeout: float):
    """Poll the backfill's runs until all are done; returns them."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        procs.check_alive()
        runs = api.get(f"/api/v2/dags/{local.NIGHTLY}/dagRuns?run_type=backfill&limit=100")[
            "dag_runs"
        ]
        states = {r["data_interval_start"][:10]: r["state"] for r in runs}
        summary = ", ".join(f"{d[5:]} {s}" for d, s in sorted(states.items()))
        if summary != last:
            local.say(f"backfill: {summary}")
            last = summary
        if len(runs) == n_runs and all(s in ("success", "failed") for s in states.values()):
            return runs
        time.sleep(5)
    raise local.SmokeFailed(f"the backfill did not finish in {timeout:.0f} s")


def read_marts(lake: Path) -> dict[str, object]:
    """Every table of the published warehouse, sorted, as polars frames."""
    import duckdb
    import polars as pl

    con = duckdb.connect(str(lake / "warehouse" / "tokenrisk.duckdb"), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
            ).fetchall()
        ]
        return {
            t: pl.from_arrow(con.sql(f"select * from marts.{t} order by all").to_arrow_table())
            for t in tables
        }
    finally:
        con.close()


def read_exports(lake: Path) -> dict[str, object]:
    import polars as pl

    out = {}
    for folder in sorted((lake / "marts").iterdir()):
        frame = pl.read_parquet(str(folder / "**" / "*.parquet"), hive_partitioning=True)
        out[folder.name] = frame.sort(frame.columns, nulls_last=True)
    return out


def max_relative_difference(a, b) -> float:
    """The largest relative difference between the float columns of two equal-shape frames."""
    import polars as pl

    worst = 0.0
    for column, dtype in a.schema.items():
        if dtype.is_float():
            pair = pl.DataFrame({"a": a[column], "b": b[column]})
            diff = pair.select(
                ((pl.col("a") - pl.col("b")).abs() / pl.max_horizontal(pl.col("a").abs(), 1e-300))
                .fill_nan(0.0)
                .max()
            ).item()
            worst = max(worst, diff or 0.0)
    return worst


def compare(name: str, left: dict, right: dict) -> dict:
    """Same tables, same columns, same rows; floats equal up to 1e-9 relative."""
    from polars.testing import assert_frame_equal

    if left.keys() != right.keys():
        raise local.SmokeFailed(f"{name}: tables differ: {sorted(left)} vs {sorted(right)}")
    identical, close, different = [], {}, {}
    for table in left:
        a, b = left[table], right[table]
        if a.equals(b):
            identical.append(table)
            continue
        try:
            assert_frame_equal(a, b, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
            close[table] = max_relative_difference(a, b)
        except AssertionError as exc:
            different[table] = " ".join(str(exc).split())[:300]
    return {"identical": identical, "close": close, "different": different}


def staged_bytes(lake: Path) -> dict[str, str]:
    import hashlib

    return {
        str(p.relative_to(lake)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((lake / "staged").rglob("*.parquet"))
    }


def backfill_check(data_dir: Path, timeout: float) -> dict:
    t0 = time.perf_counter()
    root = data_dir / "airflow-backfill-check"
    shutil.rmtree(root, ignore_errors=True)
    home, lake, cli_lake = root / "airflow_home", root / "airflow", root / "cli"
    cli_seconds = cli_run(cli_lake, FIRST, LAST)
    local.say(f"tokenrisk run {FIRST}..{LAST}: {cli_seconds:.0f} s")
    port = local.free_port()
    env = local.airflow_env(home, lake, port, schedule=False)
    local.prepare(home, env)
    api = local.Api(f"http://127.0.0.1:{port}", home)
    n_days = (LAST - FIRST).days + 1
    # create the backfill before the scheduler starts: SQLite has one writer at a time
    local.airflow_cli(env, "dags", "reserialize")
    local.airflow_cli(env, "dags", "unpause", local.NIGHTLY)  # a paused DAG's backfill waits
    command = backfill_command(FIRST, LAST)
    local.say("airflow " + " ".join(command))
    t_backfill = time.perf_counter()
    local.airflow_cli(env, *command)
    with local.airflow_running(
        env, root / "logs", "api-server", "scheduler", "dag-processor"
    ) as procs:
        local.api_ready(api, procs, [local.NIGHTLY])
        runs = wait_for_backfill(api, procs, n_days, timeout)
        backfill_seconds = time.perf_counter() - t_backfill
    days = sorted(r["data_interval_start"][:10] for r in runs)
    expected = [str(FIRST + timedelta(days=i)) for i in range(n_days)]
    if days != expected:
        raise local.SmokeFailed(f"backfill ran days {days}, expected {expected}")
    failed = [r["dag_run_id"] for r in runs if r["state"] != "success"]
    if failed:
        raise local.SmokeFailed(f"backfill runs failed: {failed} (logs under {root / 'logs'})")
    manifests = [json.loads(p.read_text()) for p in (lake / "runs").glob("*.json")]
    rebuilt = sum(1 for m in manifests if m.get("tasks", {}).get("publish", {}).get("rebuilt_on"))
    staged_airflow, staged_cli = staged_bytes(lake), staged_bytes(cli_lake)
    if staged_airflow != staged_cli:
        changed = sorted(k for k in staged_cli if staged_airflow.get(k) != staged_cli[k])
        raise local.SmokeFailed(f"staged partitions differ: {changed[:10]}")
    warehouse = compare("warehouse", read_marts(lake), read_marts(cli_lake))
    export = compare("marts export", read_exports(lake), read_exports(cli_lake))
    local.say(f"staged: {len(staged_cli)} partitions, byte-identical")
    local.say(f"warehouse tables: {json.dumps(warehouse)}")
    local.say(f"Parquet export: {json.dumps(export)}")
    if warehouse["different"] or export["different"]:
        raise local.SmokeFailed(
            "marts differ: warehouse "
            f"{sorted(warehouse['different'])}, export {sorted(export['different'])}"
        )
    return {
        "days": [days[0], days[-1]],
        "backfill_runs": len(runs),
        "publishes_rebuilt_on_a_newer_warehouse": rebuilt,
        "staged_partitions_identical": len(staged_cli),
        "warehouse_tables_identical": warehouse["identical"],
        "warehouse_tables_within_1e-9": warehouse["close"],
        "export_tables_identical": export["identical"],
        "export_tables_within_1e-9": export["close"],
        "cli_seconds": round(cli_seconds, 1),
        "backfill_seconds": round(backfill_seconds, 1),
        "total_seconds": round(time.perf_counter() - t0, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--timeout", type=float, default=3600, help="seconds for the backfill")
    args = parser.parse_args(argv)
    data_dir = args.data_dir.resolve()
    return local.run_mode("backfill-check", lambda: backfill_check(data_dir, args.timeout))


if __name__ == "__main__":
    sys.exit(main())
