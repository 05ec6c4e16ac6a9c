"""Airflow reads its home and config when first imported: set them up and migrate its DB first.

Test modules here import Airflow lazily, inside fixtures and tests that use `airflow_env`, so
nothing imports it before this environment is in place.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="session")
def dags_folder() -> Path:
    return DAGS_FOLDER


@pytest.fixture(scope="session")
def airflow_env(tmp_path_factory) -> dict[str, str]:
    """A private AIRFLOW_HOME with a migrated SQLite metadata DB, set for the whole session."""
    if "airflow" in sys.modules:
        pytest.fail("airflow was imported before its test environment was set up")
    home = tmp_path_factory.mktemp("airflow_home")
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
    }  # no TOKENRISK_* here: it would leak into the other tests; runs pass data_dir instead
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        result = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            capture_output=True,
            text=True,
            env=dict(os.environ),
            timeout=300,
        )
        if result.returncode != 0:
            pytest.fail(
                f"airflow db migrate failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )
        yield env
