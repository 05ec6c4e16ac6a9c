"""A real S3 API on loopback: moto's standalone server, started once per session (per xdist
worker), with the bucket `tokenrisk` and fake credentials that must never leak."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
from datetime import date

import pytest

from pipeline.lake import Lake

# fake keys: every test that writes through the store checks they appear nowhere
FAKE_KEY_ID = "AKIATOKENRISKFAKE0042"
FAKE_SECRET = "tokenrisk/FAKE+secret/0123456789abcdefXYZ"
BUCKET = "tokenrisk"


@pytest.fixture(scope="session")
def s3_env() -> dict[str, str]:
    """The AWS_* variables of the test store (moto on 127.0.0.1, a free port)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": FAKE_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    filesystem(env, create_buckets=True).create_dir(BUCKET)
    yield env
    server.stop()


@pytest.fixture
def store_env(s3_env, tmp_path, monkeypatch) -> dict[str, str]:
    """s3_env plus a working copy of this test's own, also set in this process."""
    env = {**s3_env, "TOKENRISK_CACHE_DIR": str(tmp_path / "working-copy")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def filesystem(env: dict[str, str], create_buckets: bool = False):
    from pyarrow import fs

    return fs.S3FileSystem(
        endpoint_override=env["AWS_ENDPOINT_URL"].removeprefix("http://"),
        scheme="http",
        region="us-east-1",
        access_key=env["AWS_ACCESS_KEY_ID"],
        secret_key=env["AWS_SECRET_ACCESS_KEY"],
        allow_bucket_creation=create_buckets,
    )


def keys(env: dict[str, str], prefix: str, under: str = "") -> list[str]:
    """The keys under s3://tokenrisk/<prefix>/<under>, relative to the prefix."""
    from pyarrow import fs

    base = f"{BUCKET}/{prefix}"
    selector = fs.FileSelector(f"{base}/{under}".rstrip("/"), recursive=True, allow_not_found=True)
    infos = filesystem(env).get_file_info(selector)
    return sorted(i.path[len(base) + 1 :] for i in infos if i.type == fs.FileType.File)


def read(env: dict[str, str], prefix: str, key: str) -> bytes | None:
    try:
        with filesystem(env).open_input_stream(f"{BUCKET}/{prefix}/{key}") as stream:
            return stream.read()
    except FileNotFoundError:
        return None


def objects(env: dict[str, str], prefix: str, under: str = "") -> dict[str, bytes]:
    """Every object under s3://tokenrisk/<prefix>/<under>: {key relative to the prefix: bytes}."""
    return {key: read(env, prefix, key) for key in keys(env, prefix, under)}


def stored(prefix: str) -> dict[str, tuple[bytes, dict]]:
    """Every object under s3://tokenrisk/<prefix> with its metadata, read from the memory of
    the in-process moto server: reading thousands of objects over HTTP costs it half a minute
    of CPU."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    bucket = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets[BUCKET]
    out = {}
    for name in list(bucket.keys):
        if name.startswith(f"{prefix}/"):
            key = bucket.keys[name]
            out[name[len(prefix) + 1 :]] = (key.value, dict(key.metadata))
    return out


def assert_no_secret(name: str, data: bytes) -> None:
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    for secret in (FAKE_KEY_ID, FAKE_SECRET):
        assert secret.encode() not in data, f"{secret[:8]}... found in {name}"


def committed_partitions(env: dict, prefix: str) -> dict[str, str]:
    """{ledger key: sha256} after checking that each names a complete object in the store."""
    out = {}
    for key, data in objects(env, prefix, "quality/staged").items():
        record = json.loads(data)
        dataset = key.split("/")[2]
        day = date.fromisoformat(key.split("date=")[1].removesuffix(".json"))
        body = read(env, prefix, Lake.staged_object(dataset, day, record["sha256"]))
        assert body is not None, key
        assert hashlib.sha256(body).hexdigest() == record["sha256"], key
        out[key] = record["sha256"]
    return out


def published_sha(env: dict, prefix: str) -> str | None:
    record = read(env, prefix, "warehouse/published.json")
    if record is None:
        return None
    sha = json.loads(record)["sha256"]
    for key in (Lake.published_object(sha), "warehouse/tokenrisk.duckdb"):
        body = read(env, prefix, key)
        assert body is not None and hashlib.sha256(body).hexdigest() == sha, key
    return sha
