"""Airflow tasks on an s3:// data dir: a working copy per task, manifests without locks,
credentials from a connection."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from pipeline import orchestration as orch
from tests.storage.conftest import FAKE_SECRET, keys, read

URL, PREFIX = "s3://tokenrisk/airflow", "airflow"


def test_each_task_gets_a_working_copy_of_its_own(store_env):
    with orch.open_lake(URL) as first, orch.open_lake(URL) as second:
        assert first.url == second.url == URL
        assert first.root != second.root  # side by side on one worker, no shared state
        roots = [first.root, second.root]
    assert not any(Path(r).exists() for r in roots)


def test_parallel_tasks_on_several_hosts_lose_no_manifest_update(store_env):
    """No flock across hosts: each update is an object; the manifest is replayed from all."""

    def task(worker: int) -> None:
        for i in range(3):
            with orch.open_lake(URL) as lake:  # as each Airflow task does
                orch.record_task(lake, "r1", {"source": "demo"}, f"w{worker}.{i}", {"status": "ok"})

    threads = [threading.Thread(target=task, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    failure = {"task": "stage", "error": "GateFailed: ..."}
    with orch.open_lake(URL) as lake:
        orch.record_failure(lake, "r1", {}, failure, final=True)
    with orch.open_lake(URL) as lake:
        manifest = orch.record_published(lake, "r1", {})  # cleared and finished: the last word
    stored = json.loads(read(store_env, PREFIX, "runs/r1.json"))
    assert stored == manifest
    assert len(stored["tasks"]) == 4 * 3
    assert (stored["status"], stored["source"], stored["failures"][0]["task"]) == (
        "ok",
        "demo",
        "stage",
    )
    assert len(keys(store_env, PREFIX, "runs/r1.events")) == 4 * 3 + 2


@pytest.mark.airflow
def test_credentials_from_an_airflow_connection(monkeypatch, s3_env, tmp_path):
    connection = {
        "conn_type": "aws",
        "login": s3_env["AWS_ACCESS_KEY_ID"],
        "password": s3_env["AWS_SECRET_ACCESS_KEY"],
        "extra": {"endpoint_url": s3_env["AWS_ENDPOINT_URL"], "region_name": "us-east-1"},
    }
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)  # nothing but the connection
    monkeypatch.setenv("AIRFLOW_CONN_TOKENRISK_S3", json.dumps(connection))
    monkeypatch.setenv(orch.AWS_CONN_ENV, "tokenrisk_s3")
    credentials = orch.store_credentials()
    assert credentials.endpoint_url == s3_env["AWS_ENDPOINT_URL"]
    assert FAKE_SECRET not in repr(credentials)
    with orch.open_lake("s3://tokenrisk/airflow-conn") as lake:
        lake.sync.pull_published()  # reaches the store with the connection's keys
        assert lake.warehouse.exists() is False
