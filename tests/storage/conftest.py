"""A real S3 API on loopback: moto's standalone server, started once per session (per xdist
worker), with the bucket `tokenrisk` and fake credentials that must never leak."""

from __future__ import annotations

import gzip
import logging

import pytest

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


def objects(env: dict[str, str], prefix: str) -> dict[str, bytes]:
    """Every object under s3://tokenrisk/<prefix>: {key relative to the prefix: bytes}."""
    from pyarrow import fs

    store = filesystem(env)
    base = f"{BUCKET}/{prefix}"
    infos = store.get_file_info(fs.FileSelector(base, recursive=True, allow_not_found=True))
    out = {}
    for info in infos:
        if info.type == fs.FileType.File:
            with store.open_input_stream(info.path) as stream:
                out[info.path[len(base) + 1 :]] = stream.read()
    return out


def assert_no_secret(name: str, data: bytes) -> None:
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    for secret in (FAKE_KEY_ID, FAKE_SECRET):
        assert secret.encode() not in data, f"{secret[:8]}... found in {name}"
