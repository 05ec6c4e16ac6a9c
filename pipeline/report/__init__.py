"""`tokenrisk report`: one self-contained HTML page for a day, from the published warehouse.

`data` runs the queries (testable without rendering), `charts` builds Plotly figures, `page`
assembles the HTML with plotly.js inlined so the file works offline.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipeline.lake import Lake, write_bytes_atomic
from pipeline.warehouse.status import open_published


def write_report(lake: Lake, day: date, out: Path, sector: str = "ai") -> Path:
    """Render the report for `day` into `out` (written atomically); returns `out`."""
    from pipeline.report.data import load_report_data
    from pipeline.report.page import render_page

    with open_published(lake) as (con, provenance):
        data = load_report_data(con, provenance, day, sector)
    write_bytes_atomic(out, render_page(data).encode())
    return out
