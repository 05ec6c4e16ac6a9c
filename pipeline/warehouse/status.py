"""What is published and how it was checked: the read side of `warehouse/published.json`.

Readers (the report, snapshots) open the published file read-only with `open_published`, which
also returns the publish record *of that very file*: publishing swaps the file first and then
rewrites the record, so a reader matches the record's sha256 against the file it opened and
retries for a moment when a publish is in flight.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.errors import UsageError
from pipeline.lake import Lake, sha256_file

log = logging.getLogger("tokenrisk.status")


@dataclass
class StageGates:
    """Summary of one stage's gate results in one run (`quality/<run_id>/<stage>.json`)."""

    stage: str
    datasets: int
    checks: int
    failed: int
    warnings: int
    problems: list[str] = field(default_factory=list)  # one line per failed or warning check


@dataclass
class Provenance:
    """Where the published warehouse came from and the verdict of its gates."""

    run_id: str | None
    gate: str  # passed / failed / unknown
    published_at: str | None = None
    methodology_version: str | None = None
    warehouse_sha256: str | None = None
    run: dict = field(default_factory=dict)  # status, source, finished_at of runs/<run_id>.json
    stages: list[StageGates] = field(default_factory=list)

    @property
    def status(self) -> str:
        """passed only when the build gate passed and no recorded stage gate failed."""
        if self.gate != "passed":
            return self.gate
        return "failed" if any(s.failed for s in self.stages) else "passed"

    def to_json(self) -> dict:
        return {
            "run_id": self.run_id,
            "gate_status": self.status,
            "published_at": self.published_at,
            "methodology_version": self.methodology_version,
            "warehouse_sha256": self.warehouse_sha256,
            "run": self.run,
            "quality": {
                s.stage: {
                    "datasets": s.datasets,
                    "checks": s.checks,
                    "failed": s.failed,
                    "warnings": s.warnings,
                }
                for s in self.stages
            },
        }


def summarize_gates(lake: Lake, run_id: str) -> list[StageGates]:
    """Summaries of the gate result files a run wrote, in pipeline order."""
    folder = lake.quality_dir(run_id)
    order = {"raw": 0, "staged": 1, "marts": 2}
    files = sorted(folder.glob("*.json"), key=lambda p: (order.get(p.stem, 9), p.stem))
    out = []
    for path in files:
        results = json.loads(path.read_text())
        problems, failed, warnings, checks = [], 0, 0, 0
        for result in results:
            for check in result["checks"]:
                checks += 1
                if check["success"]:
                    continue
                if check["severity"] == "error":
                    failed += 1
                else:
                    warnings += 1
                days = ",".join(check["days"][:3])
                problems.append(
                    f"{check['severity']}: {result['dataset']} {check['check']}"
                    + (f" days={days}" if days else "")
                    + (f" {check['message']}" if check["message"] else "")
                )
        datasets = len({r["dataset"] for r in results})
        out.append(StageGates(path.stem, datasets, checks, failed, warnings, problems))
    return out


def provenance(lake: Lake, record: dict | None) -> Provenance:
    """The provenance described by a publish record (None: unknown)."""
    if not record:
        return Provenance(run_id=None, gate="unknown")
    run_id = record.get("run_id")
    run: dict = {}
    manifest = lake.run_manifest(run_id) if run_id else None
    if manifest is not None and manifest.exists():
        data = json.loads(manifest.read_text())
        run = {k: data.get(k) for k in ("status", "source", "finished_at", "days")}
    return Provenance(
        run_id=run_id,
        gate=record.get("gate", "unknown"),
        published_at=record.get("published_at"),
        methodology_version=record.get("methodology_version"),
        warehouse_sha256=record.get("sha256"),
        run=run,
        stages=summarize_gates(lake, run_id) if run_id else [],
    )


def _read_record(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


@contextmanager
def open_published(
    lake: Lake, attempts: int = 20, wait: float = 0.25
) -> Iterator[tuple[duckdb.DuckDBPyConnection, Provenance]]:
    """A short-lived read-only connection to the published warehouse and its provenance."""
    lake.sync.pull_published()
    path = lake.warehouse
    if not path.exists():
        raise UsageError(f"nothing published at {lake.location(path)}; run `tokenrisk run` first")
    con = None
    record = None
    for _ in range(attempts):
        before = path.stat()
        con = duckdb.connect(str(path), read_only=True)
        digest = sha256_file(path)
        after = path.stat()
        record = _read_record(lake.published_record)
        same_file = (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
        if same_file and (record is None or record.get("sha256") == digest):
            break
        con.close()
        con = None
        time.sleep(wait)  # a publish is swapping the file or has not rewritten its record yet
    if con is None:  # the record never matched: read the file, but claim no provenance
        log.warning("publish record %s does not describe %s", lake.published_record, path)
        con, record = duckdb.connect(str(path), read_only=True), None
    try:
        yield con, provenance(lake, record)
    finally:
        con.close()
