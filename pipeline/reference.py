"""Curated reference tables kept in the repository and staged like a dataset.

`reference/capex_guidance.csv` holds the capital-expenditure guidance the large cloud and chip
companies announced (one row per company and fiscal period, the latest figure; git keeps its
history). It is read strictly (a malformed row stops the run with its line number), gated as
a whole (no duplicate company-period, no announcement in the future) and staged as
`capex_guidance`: the partition of day D holds the rows announced on or before D, so every day
of the marts sees the guidance known at the time, whatever its look-back window.
"""

from __future__ import annotations

import csv
import logging
import re
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from pipeline.config import Universe
from pipeline.errors import GateFailed, ParseError
from pipeline.quality.frames import PARTITION, staged_frames
from pipeline.quality.gate import GateResult, run_checks
from pipeline.quality.suites import staged_suite
from pipeline.schemas import SCHEMAS, conform
from pipeline.stages.context import RunContext
from pipeline.stages.stage import fail_gate

log = logging.getLogger("tokenrisk.reference")

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "reference"
CAPEX_CSV = REFERENCE_DIR / "capex_guidance.csv"
CAPEX_COLUMNS = [c for c in SCHEMAS["capex_guidance"] if c != "as_of_date"]
AMOUNTS = ("capex_guidance_usd", "capex_guidance_low_usd", "capex_guidance_high_usd")
PERIOD = re.compile(r"^FY\d{4}(Q[1-4])?$")


def _amount(text: str, column: str, where: str) -> float | None:
    value = text.strip().replace("_", "")
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise ParseError(
            f"{where}: {column} {text!r} is not a number (USD, e.g. 175000000000)"
        ) from None
    if not number > 0:
        raise ParseError(f"{where}: {column} {text!r} must be a positive amount in USD")
    return number


def _day(text: str, column: str, where: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ParseError(f"{where}: {column} {text!r} is not a date (YYYY-MM-DD)") from None


def _row(raw: dict[str, str], where: str) -> dict:
    for column in ("company", "ticker", "fiscal_period", "source_title", "source_url"):
        if not (raw.get(column) or "").strip():
            raise ParseError(f"{where}: {column} is empty")
    if not PERIOD.match(raw["fiscal_period"].strip()):
        raise ParseError(
            f"{where}: fiscal_period {raw['fiscal_period']!r} is not FYyyyy or FYyyyyQn"
        )
    amounts = {c: _amount(raw.get(c) or "", c, where) for c in AMOUNTS}
    guidance, low, high = (amounts[c] for c in AMOUNTS)
    note = (raw.get("note") or "").strip()
    if guidance is None:
        if low is not None or high is not None:
            raise ParseError(f"{where}: a range without capex_guidance_usd (give the midpoint)")
        if not note:
            raise ParseError(f"{where}: no capex_guidance_usd: say why in the note column")
    else:
        low = guidance if low is None else low
        high = guidance if high is None else high
        if not low <= guidance <= high:
            raise ParseError(f"{where}: capex_guidance_usd is outside its low-high range")
    return {
        "company": raw["company"].strip(),
        "ticker": raw["ticker"].strip(),
        "fiscal_period": raw["fiscal_period"].strip(),
        "capex_guidance_usd": guidance,
        "capex_guidance_low_usd": low,
        "capex_guidance_high_usd": high,
        "announcement_date": _day(raw.get("announcement_date") or "", "announcement_date", where),
        "source_title": raw["source_title"].strip(),
        "source_url": raw["source_url"].strip(),
        "note": note or None,
    }


def read_capex_guidance(path: Path = CAPEX_CSV) -> pl.DataFrame:
    """The reference CSV as typed rows; a malformed row raises ParseError naming its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ParseError(f"capex guidance: cannot read {path}: {exc.strerror}") from None
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    if header != CAPEX_COLUMNS:
        raise ParseError(f"{path.name}: header {header} is not {CAPEX_COLUMNS}")
    rows = []
    for raw in reader:
        line = reader.line_num
        label = f"{(raw.get('company') or '?').strip()} {(raw.get('fiscal_period') or '?').strip()}"
        where = f"{path.name} line {line} ({label})"
        if None in raw or any(v is None for v in raw.values()):
            raise ParseError(f"{where}: expected {len(CAPEX_COLUMNS)} fields")
        rows.append(_row(raw, where))
    schema = {c: t for c, t in SCHEMAS["capex_guidance"].items() if c != "as_of_date"}
    return pl.DataFrame(rows, schema=schema, orient="row")


def capex_as_of(table: pl.DataFrame, day: date) -> pl.DataFrame:
    """The guidance known on `day`: rows announced on or before it."""
    known = table.filter(pl.col("announcement_date") <= day)
    return conform(known.with_columns(as_of_date=pl.lit(day)), "capex_guidance").sort(
        "company", "fiscal_period"
    )


def gate_capex(universe: Universe, frame: pl.DataFrame) -> GateResult:
    """The staged suite of capex_guidance over rows carrying their partition day."""
    return run_checks(
        "staged",
        "capex_guidance",
        staged_frames("capex_guidance", frame),
        staged_suite("capex_guidance", universe),
        PARTITION,
    )


def prepare_reference(
    ctx: RunContext, days: list[date], path: Path | None = None, today: date | None = None
) -> tuple[dict[str, list[pl.DataFrame]], list[GateResult]]:
    """Read and gate the capex reference for `days`, writing nothing: ({dataset: one frame per
    day}, gate results). Raises GateFailed (or ParseError) when the table does not pass.

    The whole table is gated first as known today (the real UTC date: an announcement after it
    is a typo), then the partition of each day.
    """
    today = today or datetime.now(UTC).date()
    table = read_capex_guidance(path or CAPEX_CSV)
    parts = [capex_as_of(table, d) for d in days]
    results = [
        gate_capex(ctx.universe, table_today(table, today)),
        gate_capex(
            ctx.universe,
            pl.concat([with_partition(p, d) for p, d in zip(parts, days, strict=True)]),
        ),
    ]
    for result in results:
        if not result.success:
            raise fail_gate(ctx, result)
    log.info("stage capex_guidance: %d company-periods, %d days", table.height, len(days))
    return {"capex_guidance": parts}, results


def with_partition(frame: pl.DataFrame, day: date) -> pl.DataFrame:
    return frame.with_columns(pl.lit(day).alias(PARTITION))


def table_today(table: pl.DataFrame, today: date) -> pl.DataFrame:
    """Every row as of `today`, future announcements included (so the gate can refuse them)."""
    frame = conform(table.with_columns(as_of_date=pl.lit(today)), "capex_guidance")
    return with_partition(frame, today)


def check_capex(
    universe: Universe, path: Path = CAPEX_CSV, today: date | None = None
) -> GateFailed | None:
    """Validate the reference file alone (tests, before a commit): None when it passes."""
    today = today or datetime.now(UTC).date()
    result = gate_capex(universe, table_today(read_capex_guidance(path), today))
    return None if result.success else GateFailed(result.describe_failure(), [result.to_json()])
