"""CLI commands that need no pipeline run: parse, sources, help."""

from __future__ import annotations

import gzip
import json

from tests.conftest import run_cli, sample


def test_parse_coingecko_sample_as_jsonl():
    path = sample("coingecko/coins_id_market_chart_range_oas_example.json")
    result = run_cli(
        "parse", "coingecko", "spot_prices", str(path), "--asset", "BTC", "--format", "jsonl"
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 2
    assert rows[0] == {
        "ts": "2026-05-17T14:24:59.041Z",
        "asset": "BTC",
        "source": "coingecko",
        "price_usd": 77953.82550382407,
        "market_cap_usd": 1560631481361.8042,
        "volume_usd": 18688431751.857048,
    }


def test_parse_reads_gzip_and_raw_landing_records(tmp_path):
    body = sample("coingecko/coins_id_market_chart_range_oas_example.json").read_text()
    record = {"request": {"key": "TAO"}, "response": {"body": body, "status": 200}}
    path = tmp_path / "x.json.gz"
    path.write_bytes(gzip.compress(json.dumps(record).encode()))
    result = run_cli("parse", "coingecko", "spot_prices", str(path))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[0])["asset"] == "TAO"  # key from the record


def test_parse_errors_are_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"prices": [[1, 2]')
    cases = [
        (("parse", "coingecko", "spot_prices", str(bad), "--asset", "TAO"), "not JSON"),
        (("parse", "nosuch", "spot_prices", str(bad), "--asset", "TAO"), "unknown source/dataset"),
        (
            ("parse", "coingecko", "spot_prices", str(tmp_path / "missing.json"), "--asset", "TAO"),
            "no such file",
        ),
        (("parse", "coingecko", "spot_prices", str(bad)), "pass --asset"),
    ]
    for args, needle in cases:
        result = run_cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0], (args, result.stderr)


def test_sources_lists_every_endpoint():
    result = run_cli("sources")
    assert result.returncode == 0
    assert "market_chart/range" in result.stdout and "/q/d/l/" in result.stdout


def test_help_explains_commands():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("run", "extract", "stage", "build", "publish", "check", "parse"):
        assert command in result.stdout
    run_help = run_cli("run", "--help")
    assert "--data-dir" in run_help.stdout and "TOKENRISK_DATA_DIR" in run_help.stdout


def test_universe_rejects_symbols_that_could_reach_a_path():
    import pytest
    from pydantic import ValidationError

    from pipeline.config import Asset

    with pytest.raises(ValidationError, match="symbol"):
        Asset(symbol="../../etc", name="x", coingecko_id="x")
    with pytest.raises(ValidationError, match="coingecko_id"):
        Asset(symbol="OK", name="x", coingecko_id="a/b")


def test_a_long_range_is_staged_in_chunks_of_the_configured_size():
    from datetime import date, timedelta

    from pipeline.stages.run import chunks

    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(10)]
    parts = chunks(days, 4)
    assert [len(p) for p in parts] == [4, 4, 2]
    assert [d for p in parts for d in p] == days
    assert chunks(days, 31) == [days]
