"""Report and snapshot on the real demo warehouse, through `make report` and the CLI."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pytest

from pipeline.warehouse import mart_tables
from tests.conftest import REPO, run_cli
from tests.report.browser import declared_charts, require_chromium
from tests.report.test_browser import assert_renders

pytestmark = pytest.mark.e2e
# panels that wait for the derivatives marts: the chart names they draw once their table exists
OPTIONAL_PANELS = {
    "fct_derivatives_daily": ("funding", "open-interest", "liquidations"),
    "fct_liquidation_levels": ("heatmap-",),
    "fct_liquidation_risk_daily": ("risk",),
}


@pytest.fixture
def copy_of(demo_dir, tmp_path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(demo_dir, target)
    return target


def demo_tables(data_dir: Path) -> list[str]:
    with duckdb.connect(str(data_dir / "warehouse" / "tokenrisk.duckdb"), read_only=True) as con:
        return mart_tables(con)


def test_publish_record_describes_the_published_file(demo_dir):
    record = json.loads((demo_dir / "warehouse" / "published.json").read_text())
    published = (demo_dir / "warehouse" / "tokenrisk.duckdb").read_bytes()
    assert record["sha256"] == hashlib.sha256(published).hexdigest()
    (manifest,) = (demo_dir / "runs").glob("*.json")
    assert record["run_id"] == manifest.stem and record["gate"] == "passed"
    assert record["methodology_version"] == "1.0"


@pytest.mark.browser
def test_make_report_renders_every_chart_in_chromium(copy_of, tmp_path):
    require_chromium()
    t0 = time.perf_counter()
    result = subprocess.run(
        ["make", "-s", "report", f"DATA_DIR={copy_of}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    page = Path(result.stdout.strip().splitlines()[-1])
    assert page == copy_of / "reports" / "report-2026-02-05.html"
    build_seconds = time.perf_counter() - t0
    html = page.read_text()
    assert "AI sector risk report" in html and "2026-02-05" in html
    tables = demo_tables(copy_of)
    charts = declared_charts(html)
    assert charts[:3] == ["market-cap", "returns", "breadth-drawdown"]
    for table, names in OPTIONAL_PANELS.items():
        drawn = [c for c in charts if c.startswith(names)]
        if table in tables:
            assert drawn, f"{table} exists but its panel drew no chart"
        else:
            assert f"<code>marts.{table}</code> is not available in this warehouse" in html
    t1 = time.perf_counter()
    assert_renders(page, tmp_path)
    print(
        f"report {page.stat().st_size / 1e6:.1f} MB, {len(charts)} charts; make report "
        f"{build_seconds:.1f} s, Chromium checks {time.perf_counter() - t1:.1f} s"
    )


def test_snapshot_of_the_demo_reads_back_identically(demo_dir, tmp_path):
    out = tmp_path / "snap"
    args = ("--start", "2026-02-01", "--end", "2026-02-07", "--data-dir", str(demo_dir))
    result = run_cli("snapshot", *args, "--out", str(out), check=True)
    assert "fct_sector_daily" in result.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["tables"]) == set(demo_tables(demo_dir))
    assert manifest["gate_status"] == "passed" and manifest["methodology_version"] == "1.0"
    assert manifest["tables"]["fct_sector_daily"]["rows"] == 7
    assert manifest["tables"]["fct_asset_daily"]["rows"] == 7 * 7
    con = duckdb.connect(str(demo_dir / "warehouse" / "tokenrisk.duckdb"), read_only=True)
    try:
        for table, entry in manifest["tables"].items():
            path = out / entry["file"]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
            expected = pl.from_arrow(
                con.sql(
                    f"select * from marts.{table} where date between '2026-02-01' and "
                    "'2026-02-07' order by all"
                ).to_arrow_table()
            )
            assert len(expected) == entry["rows"]
            from_duckdb = pl.from_arrow(
                duckdb.sql(f"select * from read_parquet('{path}')").to_arrow_table()
            )
            assert from_duckdb.equals(expected), table
            assert pl.read_parquet(path).equals(expected), table
            assert pl.from_pandas(pd.read_parquet(path)).equals(expected), table
    finally:
        con.close()
    again = run_cli(
        "snapshot", "--date", "2026-02-05", "--data-dir", str(demo_dir), "--out", str(out)
    )
    assert again.returncode == 0, again.stderr  # a previous snapshot is replaced
    assert (
        json.loads((out / "manifest.json").read_text())["tables"]["fct_sector_daily"]["rows"] == 1
    )
