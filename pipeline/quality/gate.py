"""The gate: validate DataFrames with Great Expectations and decide whether the run may go on.

GX is imported only when a gate runs (it costs seconds to import) and the ephemeral context is
kept for the whole process. A check that *errors* (say, its column is missing) fails the gate
just like a check that finds bad values. Rows failing an error-level row check are returned so
the caller can quarantine them.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any

import polars as pl

from pipeline.quality.suites import Check

SAMPLE_SIZE = 5


@dataclass
class CheckResult:
    check: str
    frame: str
    severity: str
    success: bool
    errored: bool = False
    unexpected_count: int = 0
    sample: list[Any] = field(default_factory=list)
    days: list[str] = field(default_factory=list)
    message: str = ""


@dataclass
class GateResult:
    """Outcome of one gate: one stage x one dataset (or mart table) over a set of days."""

    stage: str
    dataset: str
    n_rows: int
    checks: list[CheckResult]
    bad_rows: pl.DataFrame | None = None  # rows of the `rows` frame failing error checks

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success and c.severity == "error"]

    @property
    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success and c.severity == "warn"]

    @property
    def success(self) -> bool:
        return not self.failures

    def describe_failure(self) -> str:
        """One line naming stage, dataset, day, expectation and sample bad values."""
        first = self.failures[0]
        day = ",".join(first.days[:3]) + ("..." if len(first.days) > 3 else "") or "all days"
        what = (
            first.message
            if first.errored
            else f"{first.unexpected_count} bad, e.g. {first.sample[:3]}"
        )
        more = f" (+{len(self.failures) - 1} more failed checks)" if len(self.failures) > 1 else ""
        return (
            f"gate failed: stage={self.stage} dataset={self.dataset} day={day} "
            f"expectation={first.check}: {what}{more}"
        )

    def to_json(self) -> dict:
        return {
            "stage": self.stage,
            "dataset": self.dataset,
            "n_rows": self.n_rows,
            "success": self.success,
            "checks": [asdict(c) for c in self.checks],
        }


@cache
def _batch_definition():  # pragma: no cover - exercised through run_checks
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("tokenrisk")
    return gx, source.add_dataframe_asset("frame").add_batch_definition_whole_dataframe("all")


def _errored(result) -> str | None:
    info = result.exception_info or {}
    candidates = [info] if "raised_exception" in info else list(info.values())
    for item in candidates:
        if isinstance(item, dict) and item.get("raised_exception"):
            return str(
                item.get("exception_message") or "validation raised an exception"
            ).splitlines()[0]
    return None


def _to_pandas(df: pl.DataFrame):
    # dates as ISO strings: GX compares them as plain values, and pandas has no date dtype
    return df.with_columns(pl.col(pl.Date).cast(pl.String)).to_pandas()


def _validate(gx, batch, name: str, checks: list[Check], which, result_format: str) -> dict:
    """Validate checks[i] for i in `which`; results by i (GX does not keep a suite's order
    in its results: they are matched by our own tag)."""
    suite = gx.ExpectationSuite(name=f"{name}.{result_format}")
    for i in which:
        expectation = getattr(gx.expectations, checks[i].expectation)
        suite.add_expectation(expectation(**checks[i].kwargs, meta={"check": i}))
    validation = batch.validate(suite, result_format=result_format)
    return {int(r.expectation_config.meta["check"]): r for r in validation.results}


_CLOCK = {"seconds": 0.0}


def gate_seconds() -> float:
    """Wall time this process has spent in gates so far (the benchmark's gate figures)."""
    return _CLOCK["seconds"]


def run_checks(
    stage: str, dataset: str, frames: dict[str, pl.DataFrame], checks: list[Check], day_column: str
) -> GateResult:
    """Validate each frame against its checks; every frame carries `day_column` (ISO day)."""
    started = time.perf_counter()
    try:
        return _run_checks(stage, dataset, frames, checks, day_column)
    finally:
        _CLOCK["seconds"] += time.perf_counter() - started


def _run_checks(
    stage: str, dataset: str, frames: dict[str, pl.DataFrame], checks: list[Check], day_column: str
) -> GateResult:
    gx, batch_definition = _batch_definition()
    results: list[CheckResult] = []
    bad_index: dict[int, list[str]] = {}
    for frame_name, frame in frames.items():
        frame_checks = [c for c in checks if c.frame == frame_name]
        if not frame_checks:
            continue
        batch = batch_definition.get_batch(batch_parameters={"dataframe": _to_pandas(frame)})
        name = f"{stage}.{dataset}.{frame_name}"
        # pass/fail first (GX computes fewer metrics: about half the time), then the failed
        # or errored checks again with their unexpected values and row indices
        by_check = _validate(
            gx, batch, name, frame_checks, range(len(frame_checks)), "BOOLEAN_ONLY"
        )
        again = [i for i, r in by_check.items() if not r.success or _errored(r)]
        if again:
            by_check.update(_validate(gx, batch, name, frame_checks, again, "COMPLETE"))
        for i, check in enumerate(frame_checks):
            res = by_check[i]
            error = _errored(res)
            index = list(res.result.get("unexpected_index_list") or [])
            days = sorted({str(frame[day_column][i]) for i in index}) if index else []
            results.append(
                CheckResult(
                    check=check.label,
                    frame=frame_name,
                    severity=check.severity,
                    success=bool(res.success) and error is None,
                    errored=error is not None,
                    unexpected_count=int(res.result.get("unexpected_count") or 0),
                    sample=_jsonable(res.result.get("partial_unexpected_list") or [])[:SAMPLE_SIZE],
                    days=days,
                    message=error or "",
                )
            )
            if not res.success and check.severity == "error" and frame_name == "rows":
                for i in index:
                    bad_index.setdefault(i, []).append(check.label)
    rows = frames.get("rows")
    bad_rows = None
    if rows is not None and bad_index:
        order = sorted(bad_index)
        bad_rows = rows[order].with_columns(
            pl.Series("_reason", ["; ".join(bad_index[i]) for i in order], dtype=pl.String)
        )
    n_rows = rows.height if rows is not None else 0
    return GateResult(
        stage=stage, dataset=dataset, n_rows=n_rows, checks=results, bad_rows=bad_rows
    )


def _jsonable(values: list) -> list:
    out = []
    for v in values:
        if isinstance(v, dict):
            out.append({k: _scalar(x) for k, x in v.items()})
        else:
            out.append(_scalar(v))
    return out


def _scalar(v: Any) -> Any:
    if isinstance(v, float | int | str | bool) or v is None:
        return v
    return str(v)
