"""A real local Airflow for tokenrisk: `make airflow`, `make airflow-smoke`, the backfill check.

    python scripts/airflow_local.py standalone --data-dir data    # make airflow
    python scripts/airflow_local.py smoke --data-dir data         # make airflow-smoke
    python scripts/airflow_backfill_check.py --data-dir data      # make airflow-backfill-check

Every mode puts AIRFLOW_HOME inside the data dir (SQLite metadata DB, LocalExecutor), points
Airflow at the project's dags/, imports the pools of `pipeline.orchestration.pools()` and
uses the offline demo market. `smoke` and `backfill-check` start a real api-server, scheduler
and dag-processor, drive them through the REST API, check the outcome and stop them.
Standard library only (plus `pipeline` for the pools and the mart comparison).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NIGHTLY = "tokenrisk_nightly"
REPORT = "tokenrisk_daily_report"
ADMIN = "admin"
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"
ENV_FILE = "tokenrisk.env"  # the settings of a local Airflow, for `uv run --env-file`
SMOKE_LOGICAL_DATE = "2026-02-06T00:30:00+00:00"  # data interval: 2026-02-05 00:30 -> 02-06 00:30
SMOKE_DAY = "2026-02-05"
BACKFILL = ("2026-02-01", "2026-02-07")  # UTC days, inclusive


def say(message: str) -> None:
    print(f"[airflow-local {time.strftime('%H:%M:%S')}] {message}", flush=True)


class SmokeFailed(Exception):
    pass


# -- environment -------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def airflow_env(home: Path, lake: Path, port: int, *, schedule: bool) -> dict[str, str]:
    """Airflow configured by environment only: nothing to edit by hand."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            # two cores: a few task processes at a time finish sooner than many
            "AIRFLOW__CORE__PARALLELISM": env.get("TOKENRISK_AIRFLOW_PARALLELISM", "4"),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
            # one secret for every process: the api-server checks the tasks' tokens with it
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            # the smoke and backfill check trigger their own runs: no cron run of "yesterday"
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(schedule),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            # SQLite has one writer at a time: wait up to 30 s for it instead of 5
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS": "pipeline.orchestration.SQLITE_ARGS",
            "TOKENRISK_SOURCE": "demo",
            "TOKENRISK_DATA_DIR": str(lake),
            "GX_ANALYTICS_ENABLED": "False",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def airflow_cli(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    """Run `airflow ARGS` (this interpreter's Airflow) and return its stdout."""
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise SmokeFailed(
            f"airflow {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    return result.stdout


def prepare(home: Path, env: dict[str, str]) -> None:
    """Migrate the metadata DB and import the pools (sized from config/sources.toml)."""
    sys.path.insert(0, str(REPO))
    from pipeline.orchestration import write_pools_file

    home.mkdir(parents=True, exist_ok=True)
    settings = {k: v for k, v in env.items() if k.startswith(("AIRFLOW", "TOKENRISK_", "GX_"))}
    env_file = home / ENV_FILE
    env_file.write_text("".join(f"{k}={v}\n" for k, v in sorted(settings.items())))
    env_file.chmod(0o600)
    t0 = time.perf_counter()
    airflow_cli(env, "db", "migrate")
    pools = write_pools_file(home / "tokenrisk_pools.json")
    airflow_cli(env, "pools", "import", str(pools))
    names = ", ".join(sorted(json.loads(pools.read_text())))
    say(f"metadata DB migrated, pools imported ({names}) in {time.perf_counter() - t0:.0f} s")


# -- processes ---------------------------------------------------------------------------
class Processes:
    """Airflow components in their own process groups, stopped together (SIGTERM, then KILL)."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *args: str) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        out = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        self.running[name] = subprocess.Popen(
            [sys.executable, "-m", "airflow", *args],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()

    def restart(self, name: str, env: dict[str, str]) -> None:
        """Stop one component and start it again with another environment."""
        proc = self.running.pop(name)
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        self.env = env
        self.start(name, *name.split())

    def check_alive(self) -> None:
        for name, proc in self.running.items():
            if proc.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
                raise SmokeFailed(f"airflow {name} exited with {proc.returncode}:\n{tail}")

    def stop(self) -> None:
        for proc in self.running.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for name, proc in self.running.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say(f"{name} did not stop in 30 s: killing it")
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # task processes forked by the LocalExecutor live in the scheduler's group
        for proc in self.running.values():
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        self.running.clear()


@contextmanager
def airflow_running(env: dict[str, str], logs: Path, *components: str) -> Iterator[Processes]:
    procs = Processes(env, logs)

    def on_signal(signum, frame):  # stop the components on Ctrl-C or a kill of this script
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for component in components:
            procs.start(component, *component.split())
        yield procs
    finally:
        say("stopping " + ", ".join(procs.running))
        procs.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# -- REST API ----------------------------------------------------------------------------
class Api:
    def __init__(self, base: str, home: Path) -> None:
        self.base = base
        self.home = home
        self.token: str | None = None

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                text = resp.read().decode()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise SmokeFailed(f"{method} {path}: HTTP {exc.code} {detail}") from None
        return json.loads(text) if text else {}

    def get(self, path: str) -> dict:
        return self.request("GET", path)

    def password(self) -> str:
        return json.loads((self.home / PASSWORDS_FILE).read_text())[ADMIN]

    def login(self) -> None:
        answer = self.request(
            "POST", "/auth/token", {"username": ADMIN, "password": self.password()}
        )
        self.token = answer["access_token"]


def wait_for(what: str, probe, timeout: float, procs: Processes | None = None, every=2.0):
    """Call `probe` until it returns something truthy; SmokeFailed after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        if procs is not None:
            procs.check_alive()
        try:
            value = probe()
        except (OSError, SmokeFailed, KeyError, ValueError) as exc:
            value, last_error = None, exc
        if value:
            return value
        time.sleep(every)
    raise SmokeFailed(f"timed out after {timeout:.0f} s waiting for {what} (last: {last_error})")


def api_ready(api: Api, procs: Processes, dag_ids: list[str]) -> None:
    t0 = time.perf_counter()
    wait_for(
        "the api-server",
        lambda: api.get("/api/v2/monitor/health")["metadatabase"]["status"] == "healthy",
        180,
        procs,
    )
    wait_for("the admin password", lambda: api.password(), 60, procs)
    api.login()

    def parsed() -> bool:
        errors = api.get("/api/v2/importErrors")
        if errors.get("total_entries"):
            raise SmokeFailed(f"DAG import errors: {json.dumps(errors)[:3000]}")
        return all(dag_parsed(api, dag_id) for dag_id in dag_ids)

    try:
        wait_for(f"the dag-processor to parse {dag_ids}", parsed, 180, procs)
    except SmokeFailed:
        raise
    say(f"api-server up and DAGs parsed in {time.perf_counter() - t0:.0f} s")


def dag_parsed(api: Api, dag_id: str) -> bool:
    try:
        api.get(f"/api/v2/dags/{dag_id}")
    except SmokeFailed as exc:
        if "HTTP 404" in str(exc):
            return False
        raise
    return True


def set_paused(api: Api, paused: bool, *dag_ids: str) -> None:
    for dag_id in dag_ids:
        api.request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": paused})


def task_states(api: Api, dag_id: str, run_id: str) -> list[dict]:
    answer = api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=1000")
    return answer["task_instances"]


def wait_for_run(api: Api, procs: Processes, dag_id: str, run_id: str, timeout: float) -> str:
    """Poll a DAG run until it finishes; print task-state counts as they change."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        procs.check_alive()
        state = api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"]
        counts: dict[str, int] = {}
        for ti in task_states(api, dag_id, run_id):
            counts[str(ti["state"])] = counts.get(str(ti["state"]), 0) + 1
        summary = f"{dag_id} {run_id}: {state}; tasks {dict(sorted(counts.items()))}"
        if summary != last:
            say(summary)
            last = summary
        if state in ("success", "failed"):
            return state
        time.sleep(3)
    raise SmokeFailed(f"{dag_id} {run_id} did not finish in {timeout:.0f} s")


def failed_tasks(api: Api, dag_id: str, run_id: str) -> list[str]:
    return [
        f"{ti['task_id']}[{ti['rendered_map_index'] or ti['map_index']}]={ti['state']}"
        for ti in task_states(api, dag_id, run_id)
        if ti["state"] != "success"
    ]


# -- modes -------------------------------------------------------------------------------
def expected_tasks() -> tuple[int, int, set[str]]:
    """What one nightly run should have: task instances, tasks in the run manifest, assets."""
    sys.path.insert(0, str(REPO))
    from pipeline import orchestration as orch
    from pipeline.sources import REGISTRY

    assets = {orch.mart_asset(t)[0] for t in orch.mart_tables()} | {orch.export_asset()[0]}
    # per source a `datasets` task; per source/dataset a `fetch`; then gate_raw, stage,
    # gate_staged, build, gate_marts, publish (these and the fetches write the manifest)
    recorded = len(REGISTRY) + 6
    return len(orch.source_names()) + recorded, recorded, assets


def check_nightly_run(api: Api, lake: Path, run_id: str, day: str) -> dict:
    """Every task succeeded, one asset event per mart and the export, a manifest saying ok."""
    n_tasks, recorded, assets = expected_tasks()
    tis = task_states(api, NIGHTLY, run_id)
    bad = failed_tasks(api, NIGHTLY, run_id)
    if bad or len(tis) != n_tasks:
        raise SmokeFailed(f"expected {n_tasks} successful task instances, got {len(tis)}: {bad}")
    events = api.get(
        f"/api/v2/assets/events?source_dag_id={NIGHTLY}&source_run_id={run_id}&limit=100"
    )["asset_events"]
    names = {e["name"] for e in events}
    if names != assets:
        raise SmokeFailed(f"asset events {sorted(names)} != expected {sorted(assets)}")
    days = {e["extra"].get("day") for e in events}
    if days != {day}:
        raise SmokeFailed(f"asset events for days {days}, expected {day}")
    manifests = [json.loads(p.read_text()) for p in (lake / "runs").glob("*.json")]
    mine = [m for m in manifests if m.get("airflow", {}).get("run_id") == run_id]
    if len(mine) != 1 or mine[0]["status"] != "ok" or len(mine[0]["tasks"]) != recorded:
        raise SmokeFailed(f"run manifest of {run_id}: {json.dumps(mine)[:2000]}")
    return {"task_instances": len(tis), "asset_events": sorted(names)}


def smoke(data_dir: Path, timeout: float) -> dict:
    """The nightly DAG for 2026-02-05 on the demo market, on a real scheduler.

    The scheduler first runs without cron scheduling, so that unpausing the nightly DAG does
    not also start a run for "yesterday"; it is then restarted with scheduling on, with the
    nightly DAG paused again, to let the asset-scheduled report DAG run.
    """
    t0 = time.perf_counter()
    root = data_dir / "airflow-smoke"
    shutil.rmtree(root, ignore_errors=True)
    home, lake = root / "airflow_home", root / "lake"
    port = free_port()
    env = airflow_env(home, lake, port, schedule=False)
    prepare(home, env)
    api = Api(f"http://127.0.0.1:{port}", home)
    with airflow_running(env, root / "logs", "api-server", "scheduler", "dag-processor") as procs:
        api_ready(api, procs, [NIGHTLY, REPORT])
        run_id = "smoke__" + SMOKE_LOGICAL_DATE[:10]
        run = api.request(
            "POST",
            f"/api/v2/dags/{NIGHTLY}/dagRuns",
            {"dag_run_id": run_id, "logical_date": SMOKE_LOGICAL_DATE},
        )
        interval = f"{run['data_interval_start']} -> {run['data_interval_end']}"
        say(f"triggered {run_id}: data interval {interval}")
        set_paused(api, False, NIGHTLY, REPORT)
        t_run = time.perf_counter()
        state = wait_for_run(api, procs, NIGHTLY, run_id, timeout)
        run_seconds = time.perf_counter() - t_run
        if state != "success":
            raise SmokeFailed(f"{run_id} {state}: {failed_tasks(api, NIGHTLY, run_id)}")
        summary = check_nightly_run(api, lake, run_id, SMOKE_DAY)
        set_paused(api, True, NIGHTLY)
        queued = api.get(f"/api/v2/dags/{REPORT}/assets/queuedEvents")["queued_events"]
        if len(queued) != 2:
            raise SmokeFailed(f"{REPORT} should wait on 2 mart assets, queued: {queued}")
        procs.restart("scheduler", {**env, "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "True"})
        t_report = time.perf_counter()

        def report_done() -> bool:
            runs = api.get(f"/api/v2/dags/{REPORT}/dagRuns")["dag_runs"]
            if any(r["state"] == "failed" for r in runs):
                raise SmokeFailed(f"{REPORT} failed: {runs}")
            return [r["state"] for r in runs] == ["success"]

        wait_for(f"{REPORT} to run on the asset events", report_done, timeout, procs)
        say(f"{REPORT} ran on the asset events in {time.perf_counter() - t_report:.0f} s")
    return {
        **summary,
        "report_dag": "success",
        "run_seconds": round(run_seconds, 1),
        "total_seconds": round(time.perf_counter() - t0, 1),
    }


def standalone(data_dir: Path, port: int) -> None:
    """`airflow standalone` with the project's DAGs, the demo source and the pools."""
    data_dir = data_dir.resolve()
    home = data_dir / "airflow"
    env = airflow_env(home, data_dir, port, schedule=True)
    env["AIRFLOW__API__HOST"] = "0.0.0.0"
    env["AIRFLOW__API_AUTH__JWT_SECRET"] = jwt_secret(home)
    prepare(home, env)
    api = Api(f"http://127.0.0.1:{port}", home)
    with airflow_running(env, home / "logs" / "standalone", "standalone") as procs:
        api_ready(api, procs, [NIGHTLY, REPORT])
        cli = f"uv run --env-file {home / ENV_FILE} airflow"
        print(
            f"""
  Airflow is running: http://localhost:{port}
  login: {ADMIN} / {api.password()}   (stored in {home / PASSWORDS_FILE})
  AIRFLOW_HOME={home}   data dir: {data_dir}   source: demo
  component logs: {home / "logs" / "standalone"}/standalone.log

  The DAGs start paused. To run the demo day 2026-02-05 (from another shell, or the UI):
    {cli} dags trigger {NIGHTLY} --logical-date {SMOKE_LOGICAL_DATE}
    {cli} dags unpause {NIGHTLY}; {cli} dags unpause {REPORT}
  Unpaused, the nightly DAG also runs at 00:30 UTC for the day before (the demo market
  simulates any day). Ctrl-C stops Airflow.
""",
            flush=True,
        )
        try:
            while True:
                procs.check_alive()
                time.sleep(2)
        except KeyboardInterrupt:
            pass


def jwt_secret(home: Path) -> str:
    """A secret kept in AIRFLOW_HOME, so task tokens survive a restart of `make airflow`."""
    path = home / "tokenrisk_jwt_secret"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["standalone", "smoke"])
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--port", type=int, default=8080, help="UI port (standalone)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds for the DAG run")
    args = parser.parse_args(argv)
    data_dir = args.data_dir.resolve()
    if args.mode == "standalone":
        return run_mode("standalone", lambda: standalone(data_dir, args.port) or {})
    return run_mode("smoke", lambda: smoke(data_dir, args.timeout))


def run_mode(mode: str, body) -> int:
    """Run a mode; its summary is the last line printed (JSON), failures one line each."""
    try:
        summary = body()
    except SmokeFailed as exc:
        say(f"{mode} FAILED: {exc}")
        return 1
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    if mode != "standalone":
        say(f"{mode} passed in {summary.get('total_seconds')} s")
        print(json.dumps({"mode": mode, "ok": True, **summary}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
