"""s3:// data dirs: URL rules, credentials only from the environment, one-line errors."""

from __future__ import annotations

import pytest

from pipeline.config import Settings
from pipeline.errors import StoreError, UsageError
from pipeline.lake import Lake
from pipeline.store import S3Credentials, parse_url
from tests.conftest import run_cli
from tests.storage.conftest import FAKE_KEY_ID, FAKE_SECRET


@pytest.mark.parametrize(
    ("url", "bucket", "prefix"),
    [
        ("s3://tokenrisk/lake", "tokenrisk", "lake"),
        ("s3://tokenrisk", "tokenrisk", ""),
        ("s3://my.bucket-1/a/b=c/", "my.bucket-1", "a/b=c"),
    ],
)
def test_valid_urls(url, bucket, prefix):
    location = parse_url(url)
    assert (location.bucket, location.prefix) == (bucket, prefix)
    assert location.url == url.rstrip("/")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://Tokenrisk/lake", "not a valid bucket name"),
        ("s3://ab/lake", "not a valid bucket name"),
        ("s3://a..b/lake", "not a valid bucket name"),
        ("s3://192.168.1.1/lake", "not a valid bucket name"),
        ("s3://tokenrisk/../etc", "'..' is not allowed"),
        ("s3://tokenrisk/a//b", "'' is not allowed"),
        ("s3://tokenrisk/.hidden", "'.hidden' is not allowed"),
        ("gs://tokenrisk/lake", "'gs'://"),
    ],
)
def test_invalid_urls_are_usage_errors(url, message):
    with pytest.raises(UsageError, match="data dir") as exc:
        parse_url(url)
    assert message in exc.value.message
    assert "\n" not in exc.value.message


def test_a_url_with_credentials_is_refused_without_echoing_them():
    with pytest.raises(UsageError) as exc:
        parse_url(f"s3://{FAKE_KEY_ID}:{FAKE_SECRET}@tokenrisk/lake")
    assert FAKE_KEY_ID not in exc.value.message and FAKE_SECRET not in exc.value.message


def test_credentials_come_from_the_environment_and_hide_in_reprs():
    creds = S3Credentials.from_env(
        {
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
            "AWS_ACCESS_KEY_ID": FAKE_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
            "AWS_DEFAULT_REGION": "eu-west-1",
        }
    )
    assert creds.endpoint() == ("http", "127.0.0.1:9000")
    assert creds.region == "eu-west-1"
    assert FAKE_KEY_ID not in repr(creds) and FAKE_SECRET not in repr(creds)
    with pytest.raises(UsageError, match="AWS_ENDPOINT_URL"):
        S3Credentials(endpoint_url="ftp://host").endpoint()


def test_settings_keep_the_url_as_it_is(monkeypatch):
    monkeypatch.setenv("TOKENRISK_DATA_DIR", "s3://tokenrisk/lake")
    assert Settings().data_dir == "s3://tokenrisk/lake"  # a Path would fold the //


def test_no_credentials(monkeypatch, tmp_path):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    with pytest.raises(UsageError, match="no credentials; set AWS_ACCESS_KEY_ID"):
        Lake.at("s3://tokenrisk/lake", work_dir=tmp_path)


def test_a_missing_bucket_is_one_line_from_the_cli(store_env):
    result = run_cli("check", "--stage", "marts", "--data-dir", "s3://no-such-bucket/lake")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "error: data dir s3://no-such-bucket/lake: the bucket 'no-such-bucket' does not exist "
        f"at {store_env['AWS_ENDPOINT_URL']} (create it first)"
    ]


def test_an_unreachable_endpoint_is_one_line(s3_env, tmp_path):
    env = {**s3_env, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}  # discard port: refused
    creds = S3Credentials.from_env(env)
    with pytest.raises(StoreError) as exc:
        Lake.at("s3://tokenrisk/lake", work_dir=tmp_path, credentials=creds)
    assert exc.value.message.startswith("object store http://127.0.0.1:9 is unreachable")
    assert FAKE_SECRET not in exc.value.message


def test_nothing_published_yet(store_env):
    result = run_cli("report", "--date", "2026-02-05", "--data-dir", "s3://tokenrisk/empty")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: nothing published at s3://tokenrisk/empty/warehouse/tokenrisk.duckdb; "
        "run `tokenrisk run` first"
    )
