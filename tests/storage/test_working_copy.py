"""The commit protocol of an s3:// data dir, object by object: a staged partition is visible
only with its gate record, a published warehouse only through published.json, raw responses
are never overwritten, and a push killed at any point leaves only complete versions visible."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from pipeline.failpoints import ENV as FAILPOINT
from pipeline.lake import Lake, sha256_file, write_json_atomic, write_parquet_atomic
from tests.storage.conftest import (
    assert_no_secret,
    committed_partitions,
    objects,
    published_sha,
    stored,
)

WRITER = Path(__file__).with_name("writer.py")
DAY = date(2026, 2, 5)
DATASETS = ("spot_prices", "funding_rates", "open_interest")


def write_partition(lake: Lake, dataset: str, day: date, version: int) -> str:
    """A staged partition and its gate record, as stage writes them; returns its sha256."""
    path = lake.staged_file(dataset, day)
    write_parquet_atomic(pl.DataFrame({"x": list(range(version * 10))}), path)
    st = path.stat()
    sha = sha256_file(path)
    write_json_atomic(
        lake.staged_ledger(dataset, day),
        {
            "sha256": sha,
            "stamp": {"size": st.st_size, "mtime_ns": st.st_mtime_ns},
            "gate": "passed",
        },
    )
    return sha


def write_published(lake: Lake, rows: int) -> str:
    """A published warehouse file and its record; returns its sha256."""
    lake.warehouse.parent.mkdir(parents=True, exist_ok=True)
    tmp = lake.warehouse.with_name(f"{rows}.duckdb")  # not a dot file: any name works here
    con = duckdb.connect(str(tmp))
    con.execute(
        f"create schema marts; create table marts.t as select range as x from range({rows})"
    )
    con.close()
    tmp.replace(lake.warehouse)
    sha = sha256_file(lake.warehouse)
    write_json_atomic(
        lake.published_record, {"run_id": f"r{rows}", "sha256": sha, "gate": "passed"}
    )
    return sha


def run_writer(env: dict, url: str, work: Path, source: Path, failpoint: str | None = None):
    full = {**env, **({FAILPOINT: failpoint} if failpoint else {})}
    return subprocess.run(
        [sys.executable, str(WRITER), url, str(work), str(source)],
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[2],
    )


def test_a_partition_is_committed_by_its_gate_record(store_env, tmp_path):
    url = "s3://tokenrisk/unit-commit"
    writer = Lake.at(url, work_dir=tmp_path / "a")
    sha = write_partition(writer, "spot_prices", DAY, 1)
    writer.sync.push()
    store = objects(store_env, "unit-commit")
    assert Lake.staged_object("spot_prices", DAY, sha) in store
    assert "staged/spot_prices/date=2026-02-05/part-0.parquet" not in store  # named by content

    reader = Lake.at(url, work_dir=tmp_path / "b")
    reader.sync.pull_staged(DATASETS)
    part = reader.staged_file("spot_prices", DAY)
    assert sha256_file(part) == sha
    # the recorded stamp comes along: the build trusts the partition without hashing it
    record = json.loads(reader.staged_ledger("spot_prices", DAY).read_text())
    assert record["stamp"]["mtime_ns"] == part.stat().st_mtime_ns

    # restaged with other bytes: the new version replaces the old one whole
    sha2 = write_partition(writer, "spot_prices", DAY, 2)
    writer.sync.push()
    parts = [k for k in objects(store_env, "unit-commit") if k.startswith("staged/")]
    assert parts == [Lake.staged_object("spot_prices", DAY, sha2)]
    reader.sync.pull_staged(DATASETS, days=[DAY])
    assert sha256_file(part) == sha2


def test_uncommitted_data_is_invisible_and_local_leftovers_go(store_env, tmp_path):
    url = "s3://tokenrisk/unit-uncommitted"
    writer = Lake.at(url, work_dir=tmp_path / "a")
    sha = write_partition(writer, "funding_rates", DAY, 1)
    writer.sync.store.upload(  # a push killed after the data, before the record
        writer.staged_file("funding_rates", DAY), Lake.staged_object("funding_rates", DAY, sha)
    )
    reader_dir = tmp_path / "b"
    reader = Lake.at(url, work_dir=reader_dir)
    reader.sync.pull_staged(DATASETS)
    assert reader.staged_days("funding_rates") == []
    reader.sync.close()

    # a partition a killed command wrote into a working copy, never committed: dropped
    crashed = Lake(reader_dir)
    write_partition(crashed, "open_interest", DAY, 1)
    reader = Lake.at(url, work_dir=reader_dir)
    assert reader.staged_days("open_interest") == [DAY]
    reader.sync.pull_staged(DATASETS, since=DAY)
    assert reader.staged_days("open_interest") == []


def test_raw_responses_are_never_overwritten(store_env, tmp_path):
    url = "s3://tokenrisk/unit-raw"
    first = Lake.at(url, work_dir=tmp_path / "a")
    path = first.raw_file(
        "binance", "funding_rates", DAY, "20260206T000000000000Z_aaaaaa", "BTC.000"
    )
    first.land_raw(path, {"response": {"body": "first"}})
    first.sync.push()
    second = Lake.at(url, work_dir=tmp_path / "b")
    again = second.raw_file(
        "binance", "funding_rates", DAY, "20260206T000000000000Z_aaaaaa", "BTC.000"
    )
    second.land_raw(again, {"response": {"body": "second"}})
    second.sync.push()
    key = again.relative_to(second.root).as_posix()
    assert Lake.read_raw(first.root / key) == {"response": {"body": "first"}}
    assert objects(store_env, "unit-raw")[key] == (first.root / key).read_bytes()


def test_a_push_killed_before_its_commits_leaves_complete_versions(store_env, tmp_path):
    """Staged partitions and the published warehouse are re-written (v2) by a writer that is
    SIGKILLed between data and commit; readers still see v1 whole, and a rerun commits v2."""
    url, prefix = "s3://tokenrisk/unit-kill", "unit-kill"
    v1 = Lake.at(url, work_dir=tmp_path / "v1")
    for dataset in DATASETS:
        write_partition(v1, dataset, DAY, 1)
    old = write_published(v1, 10)
    v1.sync.push()
    before = committed_partitions(store_env, prefix)
    assert len(before) == 3 and published_sha(store_env, prefix) == old

    source = Lake(tmp_path / "v2")  # the next version, written by another host
    new_parts = {d: write_partition(source, d, DAY, 2) for d in DATASETS}
    new = write_published(source, 20)
    work = tmp_path / "host-b"
    killed = run_writer(store_env, url, work, source.root, "store.before_staged_commit@2")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    now = committed_partitions(store_env, prefix)  # every record names a complete object
    assert set(now) == set(before)
    assert any(now[k] == before[k] for k in now)  # not all of v2 committed ...
    assert published_sha(store_env, prefix) == old  # ... and not published

    killed = run_writer(store_env, url, work, source.root, "store.before_publish_commit")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    now = committed_partitions(store_env, prefix)
    assert sorted(now.values()) == sorted(new_parts.values())  # staged went before publish
    assert Lake.published_object(new) in objects(store_env, prefix)  # uploaded, not named:
    assert published_sha(store_env, prefix) == old  # readers keep the old warehouse whole

    reader = Lake.at(url, work_dir=tmp_path / "reader")
    reader.sync.pull_published()
    assert sha256_file(reader.warehouse) == old

    done = run_writer(store_env, url, work, source.root)
    assert done.returncode == 0, done.stderr
    assert published_sha(store_env, prefix) == new
    reader.sync.pull_published()
    assert sha256_file(reader.warehouse) == new
    for name, (data, metadata) in stored(prefix).items():
        assert_no_secret(name, data)
        assert_no_secret(name, repr(metadata).encode())
