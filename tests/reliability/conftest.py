"""Two demo runs the reliability tests start from: five days, and the same plus a sixth."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli

BASE = ("--start", "2026-02-01", "--end", "2026-02-05")
NEXT = ("--date", "2026-02-06")


@pytest.fixture(scope="session")
def base(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("base") / "data"
    run_cli("run", *BASE, "--data-dir", str(data), check=True)
    return data


@pytest.fixture(scope="session")
def reference_dir(base, tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("reference") / "data"
    shutil.copytree(base, data)
    run_cli("run", *NEXT, "--data-dir", str(data), check=True)
    return data
