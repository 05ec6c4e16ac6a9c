"""The run manifest of an Airflow run, `runs/<run id>.json`, updated task by task.

Tasks of one run finish in parallel on one or several workers. On a local data dir the
updates take turns under a `flock`; on an object store, where no lock reaches across hosts,
each update is an object of its own under `runs/<run id>.events/` and the manifest is replayed
from all of them. Standard library only at import (the DAG files import this while parsed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.lake import Lake


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock beside `path`: the tasks of a run update its manifest in parallel."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / ".manifest.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def update_manifest(lake: Lake, run_id: str, change: Callable[[dict], None]) -> dict:
    """Read, change and atomically rewrite runs/<run_id>.json (one writer at a time)."""
    from pipeline.lake import write_json_atomic

    path = lake.run_manifest(run_id)
    with _locked(path):
        manifest = json.loads(path.read_text()) if path.exists() else {}
        change(manifest)
        write_json_atomic(path, manifest)
    return manifest


def _record(lake: Lake, run_id: str, event: dict) -> dict:
    """Apply one update (a task's figures, a failure, the end) to the run's manifest.

    On an object store there is no lock across hosts: each update is an object of its own
    under runs/<run_id>.events/ and the manifest is replayed from all of them, so an update
    that a concurrent writer missed is in the next replay (the last task's is complete).
    """
    import secrets
    import time

    from pipeline.lake import write_json_atomic

    event = {**event, "at": _now()}
    if lake.url is None:
        return update_manifest(lake, run_id, lambda manifest: _apply(manifest, run_id, event))
    folder = lake.run_events_dir(run_id)
    write_json_atomic(folder / f"{time.time_ns()}_{secrets.token_hex(3)}.json", event)
    lake.sync.push()
    lake.sync.pull_tree(folder)
    manifest: dict = {}
    for path in sorted(folder.glob("*.json")):  # names sort by time
        _apply(manifest, run_id, json.loads(path.read_text()))
    write_json_atomic(lake.run_manifest(run_id), manifest)
    lake.sync.push()
    return manifest


def _apply(manifest: dict, run_id: str, event: dict) -> None:
    _start(manifest, run_id, event["run"])
    if event["kind"] == "task":
        manifest.setdefault("tasks", {})[event["task"]] = {
            **event["entry"],
            "finished_at": event["at"],
        }
    elif event["kind"] == "failure":
        manifest.setdefault("failures", []).append(
            {**event["failure"], "will_retry": not event["final"], "at": event["at"]}
        )
        if event["final"]:
            manifest["status"] = "failed"
            manifest["error"] = f"{event['failure']['task']}: {event['failure']['error']}"
            manifest["finished_at"] = event["at"]
    elif event["kind"] == "published":
        manifest["status"] = "ok"
        manifest.pop("error", None)
        manifest["finished_at"] = event["at"]


def _now() -> str:
    return datetime.now(UTC).isoformat()


def record_task(lake: Lake, run_id: str, run: dict, task: str, entry: dict) -> dict:
    """A task of an Airflow run finished: its figures go under `tasks` in the manifest."""
    return _record(lake, run_id, {"kind": "task", "run": run, "task": task, "entry": entry})


def record_failure(lake: Lake, run_id: str, run: dict, failure: dict, final: bool) -> dict:
    """A task failed (`final`) or will be retried: the failure is appended to `failures`."""
    event = {"kind": "failure", "run": run, "failure": failure, "final": final}
    return _record(lake, run_id, event)


def record_published(lake: Lake, run_id: str, run: dict) -> dict:
    """The run published its marts: it is done."""
    return _record(lake, run_id, {"kind": "published", "run": run})


def _start(manifest: dict, run_id: str, run: dict) -> None:
    manifest.setdefault("run_id", run_id)
    manifest.setdefault("status", "running")
    manifest.setdefault("orchestrator", "airflow")
    for key, value in run.items():
        manifest.setdefault(key, value)
