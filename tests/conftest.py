"""Shared fixtures: sample paths, the universe, a lake in a temp dir, and one demo run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config import Settings, load_universe
from pipeline.lake import Lake
from pipeline.stages.context import RunContext

REPO = Path(__file__).resolve().parents[1]
# Real published API responses live in ../shared/api-samples (beside the repo).
SAMPLES = Path(os.environ.get("TOKENRISK_API_SAMPLES", REPO.parent / "shared" / "api-samples"))
FIXTURES = Path(__file__).parent / "fixtures"

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


def sample(relative: str) -> Path:
    path = SAMPLES / relative
    if not path.exists():
        pytest.fail(
            f"API sample {path} is missing (expected ../shared/api-samples beside the repo)"
        )
    return path


@pytest.fixture
def universe():
    return load_universe()


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake.at(tmp_path / "data")


@pytest.fixture
def ctx(lake) -> RunContext:
    return RunContext(lake=lake, settings=Settings(), source_mode="demo")


def run_cli(
    *args: str, env: dict | None = None, check: bool = False
) -> subprocess.CompletedProcess:
    """Run the `tokenrisk` console entry point in a subprocess, as a user would."""
    full_env = {**os.environ, **(env or {})}
    result = subprocess.run(
        [sys.executable, "-c", "from pipeline.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=REPO,
        timeout=600,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"tokenrisk {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        )
    return result


def assert_same_rows(left: dict[str, list], right: dict[str, list], rel: float = 1e-12) -> None:
    """Equal tables (name -> sorted rows); floats equal up to summation order."""
    assert left.keys() == right.keys()
    for table in left:
        assert len(left[table]) == len(right[table]), table
        for a, b in zip(left[table], right[table], strict=True):
            for x, y in zip(a, b, strict=True):
                if isinstance(x, float) and isinstance(y, float):
                    assert x == pytest.approx(y, rel=rel, abs=1e-12), (table, a, b)
                else:
                    assert x == y, (table, a, b)
