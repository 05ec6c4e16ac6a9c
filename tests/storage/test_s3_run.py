"""The acceptance run of an s3:// data dir, through the real CLI against moto on loopback.

One test, in phases, because its state is the point and xdist would repeat a shared fixture
per worker: a demo run killed in the middle of pushing its staged partitions, the same run
again (every stage and gate; its marts equal a local run's), a publish killed before its
commit, then report and snapshot from another working copy; the fake keys appear in no
object, no file and no output.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import duckdb
import pytest

from pipeline.failpoints import ENV as FAILPOINT
from pipeline.lake import Lake, sha256_file
from pipeline.schemas import SCHEMAS
from pipeline.store import S3Credentials
from tests.conftest import assert_same_rows, run_cli
from tests.storage.conftest import (
    FAKE_KEY_ID,
    FAKE_SECRET,
    assert_no_secret,
    committed_partitions,
    keys,
    objects,
    published_sha,
    stored,
)

pytestmark = pytest.mark.e2e

WINDOW = ("--start", "2026-02-01", "--end", "2026-02-07")
URL, PREFIX = "s3://tokenrisk/lake", "lake"
STAGES = ("extract", "stage", "build", "gate_marts", "publish")


def marts(warehouse: Path) -> dict[str, list]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts'"
            ).fetchall()
        ]
        return {t: con.execute(f"select * from marts.{t} order by all").fetchall() for t in tables}
    finally:
        con.close()


@pytest.fixture(scope="module")
def local_marts(tmp_path_factory) -> dict[str, list]:
    data = tmp_path_factory.mktemp("local") / "data"
    run_cli("run", "--source", "demo", *WINDOW, "--data-dir", str(data), check=True)
    return marts(data / "warehouse" / "tokenrisk.duckdb")


def test_run_on_s3_equals_local_survives_kills_and_leaks_no_secret(s3_env, local_marts, tmp_path):
    env = {**s3_env, "TOKENRISK_CACHE_DIR": str(tmp_path / "host-a")}
    outputs = []

    # 1. killed in the middle of committing its staged partitions
    killed = run_cli(
        "run", "--source", "demo", *WINDOW, "--data-dir", URL, "-v",
        env={**env, FAILPOINT: "store.before_staged_commit@40"},
    )  # fmt: skip
    outputs.append(killed)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    committed = committed_partitions(s3_env, PREFIX)  # each names a complete object
    assert 0 < len(committed) < len(SCHEMAS) * 7
    assert published_sha(s3_env, PREFIX) is None  # no warehouse visible
    other = Lake.at(URL, work_dir=tmp_path / "host-b", credentials=S3Credentials.from_env(s3_env))
    other.sync.pull_staged(sorted(SCHEMAS))  # another host sees the committed ones only
    seen = {
        (d, day): sha256_file(other.staged_file(d, day))
        for d in SCHEMAS
        for day in other.staged_days(d)
    }
    assert sorted(seen.values()) == sorted(committed.values())

    # 2. the same run again: every stage and gate, on the store; marts equal a local run's
    result = run_cli("run", "--source", "demo", *WINDOW, "--data-dir", URL, "-v", env=env)
    outputs.append(result)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"published: {URL}/warehouse/tokenrisk.duckdb" in result.stdout
    manifests = [json.loads(v) for v in objects(s3_env, PREFIX, "runs").values()]
    ok = [m for m in manifests if m["status"] == "ok"]
    assert len(ok) == 1 and all(ok[0]["stages"][s]["status"] == "ok" for s in STAGES)
    assert len(committed_partitions(s3_env, PREFIX)) == len(SCHEMAS) * 7
    old = published_sha(s3_env, PREFIX)
    other.sync.pull_published()
    assert sha256_file(other.warehouse) == old
    assert_same_rows(marts(other.warehouse), local_marts)

    # 3. a publish killed after uploading its warehouse, before the record that commits it
    # (another storage version: a new file, same marts)
    v120 = {**env, "TOKENRISK_STORAGE_VERSION": "v1.2.0"}
    killed = run_cli(
        "publish", "--data-dir", URL, env={**v120, FAILPOINT: "store.before_publish_commit"}
    )
    outputs.append(killed)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert published_sha(s3_env, PREFIX) == old  # readers keep the old warehouse, whole
    assert (
        len(keys(s3_env, PREFIX, "warehouse/versions")) == 2
    )  # the new one is there, named by nothing
    done = run_cli("publish", "--data-dir", URL, env=v120)
    outputs.append(done)
    assert done.returncode == 0, done.stderr[-2000:]
    new = published_sha(s3_env, PREFIX)
    assert new not in (None, old)

    # 4. report and snapshot work from the store, on another working copy
    reader = {**s3_env, "TOKENRISK_CACHE_DIR": str(tmp_path / "host-c")}
    report = tmp_path / "out" / "report.html"
    outputs.append(
        run_cli("report", "--date", "2026-02-05", "--out", str(report), "--data-dir", URL,
                env=reader, check=True)
    )  # fmt: skip
    assert report.stat().st_size > 100_000
    snapshot = tmp_path / "out" / "snapshot"
    outputs.append(
        run_cli("snapshot", *WINDOW, "--out", str(snapshot), "--data-dir", URL, env=reader,
                check=True)
    )  # fmt: skip
    manifest = json.loads((snapshot / "manifest.json").read_text())
    assert manifest["warehouse_sha256"] == new and manifest["gate_status"] == "passed"
    assert manifest["tables"]["fct_sector_daily"]["rows"] == len(local_marts["fct_sector_daily"])

    # 5. the fake keys: in no object, no file of any working copy or output, no output line
    for output in outputs:
        for secret in (FAKE_KEY_ID, FAKE_SECRET):
            assert secret not in output.stdout and secret not in output.stderr
    store = stored(PREFIX)
    assert len(store) > 1300
    for name, (data, metadata) in store.items():
        assert_no_secret(name, data)
        assert_no_secret(f"{name} (metadata)", repr(metadata).encode())
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) > 1300
    for path in files:
        assert_no_secret(str(path), path.read_bytes())
