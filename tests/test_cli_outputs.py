"""`tokenrisk report` and `tokenrisk snapshot` options and errors, on a synthetic warehouse.

The CLI's `main()` runs in-process (exit code, stdout, stderr as a user sees them) to keep these
many small cases fast; tests/e2e runs both commands as subprocesses on the demo warehouse.
"""

from __future__ import annotations

import json
import logging
import sys

import pytest

from pipeline.cli import main
from tests.report.synthetic import build_data_dir


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return build_data_dir(tmp_path_factory.mktemp("cli") / "data").root


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run `tokenrisk ARGS...`; returns (exit code, stdout, stderr lines)."""
    monkeypatch.setattr(logging, "basicConfig", lambda **kw: None)  # keep pytest's handlers

    def invoke(*args: str) -> tuple[int, str, list[str]]:
        monkeypatch.setattr(sys, "argv", ["tokenrisk", *args])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code or 0
        out, err = capsys.readouterr()
        return code, out, [line for line in err.splitlines() if line.strip()]

    return invoke


def test_report_writes_the_default_file_and_prints_its_path(cli, data_dir):
    code, out, err = cli("report", "--date", "2026-02-05", "--data-dir", str(data_dir))
    assert code == 0, err
    page = data_dir / "reports" / "report-2026-02-05.html"
    assert out.strip() == str(page)
    assert page.read_text().count('<figure class="chart"') == 10


def test_snapshot_prints_tables_and_provenance(cli, data_dir, tmp_path):
    out_dir = tmp_path / "snap"
    code, out, err = cli(
        "snapshot", "--start", "2026-02-04", "--end", "2026-02-05", "--out", str(out_dir),
        "--data-dir", str(data_dir),
    )  # fmt: skip
    assert code == 0, err
    assert "fct_liquidation_risk_daily" in out and "gate passed" in out
    assert (
        json.loads((out_dir / "manifest.json").read_text())["tables"]["fct_sector_daily"]["rows"]
        == 2
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--date", "2026-03-01"), "no data for 2026-03-01"),
        (("--date", "05.02.2026"), "is not a date"),
        (("--date", "2026-02-05", "--out", "{data}/marts/r.html"), "inside the data dir's marts/"),
        (("--date", "2026-02-05", "--out", "{tmp}"), "is a directory"),
        (("--date", "2026-02-05", "--data-dir", "{tmp}/none"), "nothing published"),
        ((), "Missing option '--date'"),
    ],
)
def test_report_usage_errors_exit_2_with_one_line(cli, data_dir, tmp_path, args, needle):
    args = [a.format(data=data_dir, tmp=tmp_path) for a in args]
    if "--data-dir" not in args:
        args += ["--data-dir", str(data_dir)]
    code, _, err = cli("report", *args)
    assert code == 2, err
    assert len(err) == 1 and needle in err[0], err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--out", "{tmp}/s"), "needs --date D or --start D --end D"),
        (("--date", "2025-01-01", "--out", "{tmp}/s"), "no mart rows between 2025-01-01"),
        (("--date", "2026-02-05", "--out", "{data}/marts/s"), "inside the data dir's marts/"),
        (("--date", "2026-02-05", "--out", "{busy}"), "not a tokenrisk snapshot"),
        (("--start", "2026-02-05", "--out", "{tmp}/s"), "go together"),
        (("--date", "2026-02-05", "--start", "2026-02-01", "--out", "{tmp}/s"), "not both"),
        (("--date", "2026-02-05"), "Missing option '--out'"),
    ],
)
def test_snapshot_usage_errors_exit_2_with_one_line(cli, data_dir, tmp_path, args, needle):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "thesis.tex").write_text("do not delete")
    args = [a.format(data=data_dir, tmp=tmp_path, busy=busy) for a in args]
    code, _, err = cli("snapshot", *args, "--data-dir", str(data_dir))
    assert code == 2, err
    assert len(err) == 1 and needle in err[0], err
    assert (busy / "thesis.tex").read_text() == "do not delete"
    assert not (tmp_path / "s").exists()
    assert not (data_dir / "marts").exists()
