"""The full report (all seven marts, synthetic) in headless Chromium: every chart drawn, no
console message, no network; plus a broken page to show the checks do catch failures."""

from __future__ import annotations

import pytest

from pipeline.report import write_report
from tests.report.browser import (
    chart_marks,
    declared_charts,
    external_references,
    png_size,
    render,
    require_chromium,
)
from tests.report.synthetic import build_data_dir
from tests.report.test_data import DAY
from tests.report.test_page import FULL_CHARTS

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def chromium() -> None:
    require_chromium()


def assert_renders(page, workdir) -> dict[str, dict]:
    """Every declared chart has a sized SVG with marks; the browser said nothing; no fetches."""
    html = page.read_text()
    rendered = render(page, workdir)
    assert rendered.console == [], rendered.console
    marks = chart_marks(rendered.dom)
    assert list(marks) == declared_charts(html)
    for name, info in marks.items():
        width, height = info["svg"]
        assert width > 300 and height > 200, (name, info)
        assert info["marks"] > 0, (name, info)
        # side by side in a 1400 px window: a chart sized before its neighbour existed would
        # take the whole row and be clipped to half of it
        assert not info["in_grid"] or width < 700, (name, info)
    assert external_references(rendered.dom) == []  # also after Plotly built its DOM
    assert png_size(rendered.screenshot) == (1400, 6000)
    assert rendered.screenshot.stat().st_size > 100_000  # a blank page compresses to a few KB
    return marks


def test_full_report_renders_every_chart(tmp_path):
    lake = build_data_dir(tmp_path / "data")
    page = write_report(lake, DAY, tmp_path / "report.html")
    marks = assert_renders(page, tmp_path)
    assert list(marks) == FULL_CHARTS
    assert marks["heatmap-TAO"]["marks"] >= 2  # the long and the short heatmap images


def test_the_checks_catch_a_broken_chart_and_a_fetch(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><body>"
        '<figure class="chart" data-chart="never-drawn"><div id="c"></div></figure>'
        '<img src="https://example.org/pixel.png">'
        "<script>Plotly.newPlot('c', [])</script>"  # plotly.js is missing: ReferenceError
        "</body></html>"
    )
    rendered = render(page, tmp_path, size=None)
    assert any("Plotly is not defined" in line for line in rendered.console), rendered.console
    assert chart_marks(rendered.dom) == {
        "never-drawn": {"svg": (0, 0), "marks": 0, "in_grid": False}
    }
    assert external_references(rendered.dom) == ["<img src='https://example.org/pixel.png'>"]
