"""The read side of a publish: provenance of the file a reader opened, and gate summaries."""

from __future__ import annotations

import json

import pytest

from pipeline.errors import UsageError
from pipeline.lake import Lake
from pipeline.warehouse.status import open_published
from tests.report.synthetic import RUN_ID, build_data_dir


def test_provenance_of_the_published_file(tmp_path):
    lake = build_data_dir(tmp_path / "data")
    with open_published(lake) as (con, prov):
        assert con.execute("select count(*) from marts.fct_sector_daily").fetchall() == [(40,)]
    assert prov.run_id == RUN_ID
    assert prov.status == "passed" and prov.methodology_version == "1.0"
    assert prov.run["status"] == "ok" and prov.run["source"] == "demo"
    staged, marts = prov.stages
    assert (staged.stage, staged.checks, staged.failed, staged.warnings) == ("staged", 2, 0, 1)
    assert staged.problems == [
        "warn: spot_prices ExpectColumnValuesToBeBetween(volume_usd) days=2026-02-05"
    ]
    assert (marts.stage, marts.datasets, marts.failed) == ("marts", 7, 0)
    summary = prov.to_json()
    assert summary["gate_status"] == "passed"
    assert summary["quality"]["staged"] == {"datasets": 1, "checks": 2, "failed": 0, "warnings": 1}


def test_a_record_that_does_not_describe_the_file_is_not_believed(tmp_path):
    """Mid-publish (file swapped, record not yet rewritten) the reader claims no provenance."""
    lake = build_data_dir(tmp_path / "data")
    record = json.loads(lake.published_record.read_text())
    lake.published_record.write_text(json.dumps({**record, "sha256": "0" * 64}))
    with open_published(lake, attempts=2, wait=0.01) as (con, prov):
        assert con.execute("select count(*) from marts.fct_asset_daily").fetchall() == [(280,)]
    assert prov.run_id is None and prov.status == "unknown"


def test_failed_gate_recorded_for_the_run_makes_the_status_failed(tmp_path):
    lake = build_data_dir(tmp_path / "data")
    path = lake.quality_file(RUN_ID, "marts")
    results = json.loads(path.read_text())
    results[0]["checks"][0].update(success=False, days=["2026-02-05"], message="")
    path.write_text(json.dumps(results))
    with open_published(lake) as (_, prov):
        pass
    assert prov.gate == "passed" and prov.status == "failed"


def test_nothing_published_is_a_usage_error(tmp_path):
    with (
        pytest.raises(UsageError, match="nothing published"),
        open_published(Lake.at(tmp_path / "empty")),
    ):
        pass
