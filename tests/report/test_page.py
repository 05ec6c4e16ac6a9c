"""The report page, rendered to HTML from synthetic warehouses (no browser needed here)."""

from __future__ import annotations

import json

import duckdb
import pytest

from pipeline.lake import sha256_file
from pipeline.report.data import load_report_data
from pipeline.report.page import pct, price, render_page, usd
from pipeline.warehouse.status import open_published
from tests.report.browser import declared_charts, external_references
from tests.report.synthetic import build_data_dir
from tests.report.test_data import DAY

FULL_CHARTS = [
    "market-cap",
    "returns",
    "breadth-drawdown",
    "funding",
    "open-interest",
    "liquidations",
    "heatmap-ICP",
    "heatmap-NEAR",
    "heatmap-TAO",
    "risk",
]


def page_for(lake) -> str:
    with open_published(lake) as (con, prov):
        return render_page(load_report_data(con, prov, DAY))


@pytest.fixture(scope="module")
def full_page(tmp_path_factory) -> str:
    return page_for(build_data_dir(tmp_path_factory.mktemp("full") / "data"))


def test_every_panel_has_its_chart(full_page):
    assert declared_charts(full_page) == FULL_CHARTS
    assert 'class="na"' not in full_page
    assert '<span class="tier extreme">extreme</span>' in full_page
    assert "funding z 2.1; OI/cap 5.7%" in full_page
    assert '<span class="status passed">passed</span>' in full_page
    assert "20260210T003000000000Z_abc123" in full_page


def test_page_is_self_contained(full_page):
    assert external_references(full_page) == []
    assert full_page.count("<script") == 2 + len(FULL_CHARTS)  # config, plotly.js, one per chart
    assert "Plotly.newPlot" in full_page
    assert len(full_page) > 4_000_000  # plotly.js itself is inlined


def test_reference_scan_catches_what_a_browser_would_fetch():
    html = (
        '<script src="https://cdn.plot.ly/plotly.min.js"></script>'
        '<link rel="stylesheet" href="//fonts.example.org/x.css">'
        '<div style="background: url(https://img.example.org/a.png)"></div>'
        "<style>@import 'x.css';</style>"
        '<svg xmlns="http://www.w3.org/2000/svg"><a href="#local"></a></svg>'
        '<script>var tiles = "https://tile.openstreetmap.org";</script>'
    )
    found = external_references(html)
    assert len(found) == 4, found
    assert "cdn.plot.ly" in found[0] and "fonts.example.org" in found[1]


def test_missing_marts_show_a_note_per_panel(tmp_path):
    lake = build_data_dir(tmp_path / "data", ("fct_asset_daily", "fct_sector_daily"))
    html = page_for(lake)
    assert declared_charts(html) == ["market-cap", "returns", "breadth-drawdown"]
    for table in ("fct_derivatives_daily", "fct_liquidation_levels", "fct_liquidation_risk_daily"):
        assert f"<code>marts.{table}</code> is not available in this warehouse" in html
    assert external_references(html) == []


def test_text_from_the_warehouse_is_escaped(tmp_path):
    lake = build_data_dir(tmp_path / "data")
    record = json.loads(lake.published_record.read_text())
    con = duckdb.connect(str(lake.warehouse))
    con.execute(
        "update marts.fct_liquidation_risk_daily set top_drivers = '<script>alert(1)</script>'"
    )
    con.close()
    lake.published_record.write_text(json.dumps({**record, "sha256": sha256_file(lake.warehouse)}))
    html = page_for(lake)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_number_formats():
    assert usd(2_615_000_000) == "$2.62B" and usd(None) == "–" and usd(950.0) == "$950.00"
    assert pct(-0.1804) == "-18.0%" and pct(0.25, sign=False) == "25.0%"
    assert price(60123.4) == "$60,123" and price(0.4317) == "$0.4317"
