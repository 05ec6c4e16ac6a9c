"""`make airflow-smoke`: a real api-server, scheduler and dag-processor run the nightly DAG.

About three minutes on two cores: the script migrates a fresh SQLite metadata DB under the
test's data dir, imports the pools, triggers the run of 2026-02-05 on the demo market, checks
every task instance, the asset events and the run manifest, lets the asset-scheduled report
DAG run, and stops every process it started.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import orchestration as orch
from pipeline.sources import REGISTRY

pytestmark = pytest.mark.airflow

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "airflow_local.py"


def test_a_real_scheduler_runs_the_nightly_dag(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "smoke", "--data-dir", str(tmp_path), "--timeout", "600"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = proc.communicate(timeout=1500)
    except subprocess.TimeoutExpired:
        proc.terminate()  # the script stops the Airflow processes it started
        output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output[-6000:]
    summary = json.loads(output.strip().splitlines()[-1])
    assert summary["ok"] and summary["report_dag"] == "success"
    assert summary["task_instances"] == len(orch.source_names()) + len(REGISTRY) + 6
    marts = {orch.mart_asset(t)[0] for t in orch.mart_tables()}
    assert set(summary["asset_events"]) == marts | {orch.export_asset()[0]}
    manifest = next((tmp_path / "airflow-smoke" / "lake" / "runs").glob("*.json"))
    assert json.loads(manifest.read_text())["status"] == "ok"
    print(f"\nairflow smoke: run {summary['run_seconds']} s, total {summary['total_seconds']} s")
