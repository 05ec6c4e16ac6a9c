"""One clean demo run shared by the end-to-end tests (they copy it before changing anything)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli

WINDOW = ("--start", "2026-01-20", "--end", "2026-02-10")


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("demo") / "data"
    result = run_cli("run", "--source", "demo", *WINDOW, "--data-dir", str(data), check=True)
    assert "marts.fct_sector_daily" in result.stdout
    return data
