"""API keys come from the environment only and never reach the lake, the logs or manifests."""

from __future__ import annotations

import gzip
import json

import pytest

from pipeline.config import load_sources
from tests.conftest import run_cli

pytestmark = pytest.mark.e2e
FAKE = "tkr-FAKE-KEY-0123456789abcdef"


def test_a_fake_key_appears_in_no_file_and_no_log(tmp_path):
    data = tmp_path / "data"
    env = {cfg.api_key_env: FAKE for cfg in load_sources().values() if cfg.api_key_env}
    assert "COINGECKO_API_KEY" in env
    result = run_cli("run", "--date", "2026-02-05", "--data-dir", str(data), "-v", env=env)
    assert result.returncode == 0, result.stderr
    assert FAKE not in result.stdout and FAKE not in result.stderr
    files = [p for p in data.rglob("*") if p.is_file()]
    assert len(files) > 20
    for path in files:
        raw = path.read_bytes()
        if path.name.endswith(".gz"):
            raw = gzip.decompress(raw)
        assert FAKE.encode() not in raw, path
    # the key was really sent: the raw metadata shows it redacted where it is a parameter
    records = [json.loads(gzip.decompress(p.read_bytes())) for p in data.glob("raw/**/*.json.gz")]
    assert records
