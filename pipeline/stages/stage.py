"""Stage: parse landed raw responses into canonical Parquet, one partition per UTC day, gated."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import defaultdict
from datetime import date, timedelta

import polars as pl

from pipeline.errors import GateFailed, ParseError, SourceError
from pipeline.failpoints import failpoint
from pipeline.lake import write_json_atomic, write_parquet_atomic
from pipeline.quality.frames import (
    EXPECTED_ROWS,
    PARTITION,
    cross_source_frame,
    staged_frames,
)
from pipeline.quality.gate import GateResult, run_checks
from pipeline.quality.suites import cross_source_suite, staged_suite
from pipeline.schemas import KEYS, conform, day_expr, empty, time_column
from pipeline.sources.base import SourceDataset, TwoStep
from pipeline.stages.context import RunContext
from pipeline.stages.extract import select_datasets

log = logging.getLogger("tokenrisk.stage")


def expected_keys(
    ctx: RunContext, entry: SourceDataset, day: date, landed: dict | None = None
) -> list[str]:
    """The request keys of one source/dataset/day. A day the source no longer serves (its
    history limit passed since extract) is staged from what was landed while it could be."""
    try:
        specs = entry.requests(ctx.fetch_context(entry.source, day))
    except SourceError:
        if landed:
            return list(landed)
        raise
    return list(dict.fromkeys(s.key for s in specs))


def parse_day(ctx: RunContext, entry: SourceDataset, day: date) -> pl.DataFrame:
    """Parse the newest landed response of every key of one source/dataset/day."""
    landed = ctx.lake.latest_raw(entry.source, entry.dataset, day)
    expected = expected_keys(ctx, entry, day, landed)
    missing = [k for k in expected if k not in landed]
    if missing:
        raise SourceError(
            f"stage {entry.source}/{entry.dataset} {day}: no raw response for {missing[:5]} "
            f"under {ctx.lake.raw_dir(entry.source, entry.dataset, day)}; run extract first"
        )
    bodies = [(key, path) for key in expected for path in landed[key]]
    if isinstance(entry.parse, TwoStep):
        frames = parse_many(ctx, entry, day, bodies)
    else:
        frames = [parse_body(ctx, entry.parse, key, path) for key, path in bodies]
    return pl.concat(frames) if frames else empty(entry.dataset)


def parse_body(ctx: RunContext, parse, key: str, path, body=None):
    """One raw file (or its already read body) through `parse`; a ParseError names the file."""
    try:
        return parse(ctx.lake.raw_body(ctx.lake.read_raw(path)) if body is None else body, key)
    except ParseError as exc:
        raise ParseError(f"{exc.message} [raw file {path.relative_to(ctx.lake.root)}]") from None


def parse_many(
    ctx: RunContext, entry: SourceDataset, day: date, bodies: list
) -> list[pl.DataFrame]:
    """A two-step parser over a day's bodies: each body's columns, then one vectorised query
    over all of them (in body order, so de-duplication keeps the same row). If that query
    finds a bad value, the bodies are parsed one by one so the error names the raw file."""
    parser: TwoStep = entry.parse  # type: ignore[assignment]
    where = f"{entry.source} {entry.dataset} {day}"
    out: list[pl.DataFrame] = []
    pending: list[tuple[pl.DataFrame, str, object]] = []

    def flush() -> None:
        if not pending:
            return
        try:
            out.append(parser.many([frame for frame, _, _ in pending], where))
        except ParseError:
            for _, key, path in pending:
                parse_body(ctx, parser, key, path)  # raises for the bad body
            raise
        pending.clear()

    for key, path in bodies:
        body = ctx.lake.raw_body(ctx.lake.read_raw(path))
        if isinstance(body, bytes) and parser.binary is not None:
            flush()
            out.append(parse_body(ctx, parser.binary, key, path, body))
            continue
        frame, _ = parse_body(ctx, parser.columns, key, path, body)
        pending.append((frame, key, path))
    flush()
    return out


def clean_day(dataset: str, df: pl.DataFrame, day: date) -> tuple[pl.DataFrame, dict[str, int]]:
    """Keep the day's rows, drop exact key duplicates, sort by key: deterministic output."""
    row_day = day_expr(dataset, df.schema)
    # APIs return neighbours at a day's edges; a row days away is a broken clock or feed
    far = df.filter((row_day < day - timedelta(days=1)) | (row_day > day + timedelta(days=1)))
    if not far.is_empty():
        column = time_column(dataset)
        raise ParseError(
            f"stage {dataset} {day}: {far.height} row(s) timestamped far outside the day, "
            f"e.g. {far[column][0]} ({far.row(0, named=True).get('venue') or ''} "
            f"{far.row(0, named=True).get('asset') or ''}): clock skew or a bad feed"
        )
    kept = df.filter(row_day == day)
    deduped = kept.unique(subset=KEYS[dataset], keep="last", maintain_order=True).sort(
        KEYS[dataset]
    )
    counts = {
        "rows_parsed": df.height,
        "rows_outside_day": df.height - kept.height,
        "duplicate_keys_dropped": kept.height - deduped.height,
    }
    return deduped, counts


def file_sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def partition_stamp(path) -> dict:
    """Size and modification time of a staged file: a cheap proof it is unchanged since gated."""
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def gate_staged(
    ctx: RunContext, dataset: str, rows: pl.DataFrame, expected: pl.DataFrame | None = None
) -> GateResult:
    return run_checks(
        "staged",
        dataset,
        staged_frames(dataset, rows, expected),
        staged_suite(dataset, ctx.universe),
        PARTITION,
    )


def expected_series(
    ctx: RunContext, entries: list[SourceDataset], days: list[date]
) -> pl.DataFrame | None:
    """The series each day's partition must hold: one per request key of every source.

    Keys are canonical assets (or `ASSET@kind`); who reports them is the venue (venue
    datasets) or the source. None for datasets without a completeness expectation.
    """
    dataset = entries[0].dataset
    if dataset not in EXPECTED_ROWS:
        return None
    who = "venue" if "venue" in KEYS[dataset] else "source"
    rows = [
        (day, entry.source, key.split("@")[0])
        for day in days
        for entry in entries
        for key in expected_keys(
            ctx, entry, day, ctx.lake.latest_raw(entry.source, entry.dataset, day)
        )
    ]
    frame = pl.DataFrame(
        rows, schema={PARTITION: pl.Date, who: pl.String, "asset": pl.String}, orient="row"
    )
    return frame.unique().sort(PARTITION, who, "asset")


def gate_cross_source(ctx: RunContext, staged: dict[str, pl.DataFrame]) -> GateResult | None:
    """Perp closes against spot prices of the same hours (when both are staged in this run)."""
    if "spot_prices" not in staged or "perp_klines" not in staged:
        return None
    frame = cross_source_frame(staged["spot_prices"], staged["perp_klines"])
    return run_checks(
        "staged", "cross_source", {"perp_vs_spot": frame}, cross_source_suite(), PARTITION
    )


def quarantine(ctx: RunContext, result: GateResult) -> list[str]:
    """Write the rows that failed error-level checks under quarantine/, one file per day."""
    if result.bad_rows is None or result.bad_rows.is_empty():
        return []
    written = []
    bad = result.bad_rows
    for (day,), part in bad.group_by(PARTITION, maintain_order=True):
        day_value = date.fromisoformat(str(day))
        path = ctx.lake.quarantine_file(result.stage, result.dataset, day_value, ctx.run_id)
        write_parquet_atomic(part, path)
        written.append(str(path.relative_to(ctx.lake.root)))
    return written


def save_gate_results(ctx: RunContext, stage: str, results: list[GateResult]) -> None:
    path = ctx.lake.quality_file(ctx.run_id, stage)
    ctx.lake.sync.pull_file(path)  # another task of the same run may have written it
    existing = json.loads(path.read_text()) if path.exists() else []
    write_json_atomic(path, existing + [r.to_json() for r in results])


def fail_gate(ctx: RunContext, result: GateResult) -> GateFailed:
    files = quarantine(ctx, result)
    save_gate_results(ctx, result.stage, [result])
    where = (
        f"; {result.bad_rows.height} row(s) quarantined under "
        f"quarantine/{result.stage}/{result.dataset}/"
        if files
        else ""
    )
    return GateFailed(result.describe_failure() + where, [result.to_json()])


def parse_and_gate(
    ctx: RunContext, entries: list[SourceDataset], days: list[date], stat: dict
) -> tuple[list[pl.DataFrame], GateResult]:
    """Parse, clean and gate one dataset over `days`; nothing is written here."""
    dataset = entries[0].dataset
    parts: list[pl.DataFrame] = []
    counts: dict[str, int] = defaultdict(int)
    for day in days:
        raw = [parse_day(ctx, e, day) for e in entries]
        cleaned, c = clean_day(dataset, pl.concat(raw), day)
        for k, v in c.items():
            counts[k] += v
        parts.append(cleaned.with_columns(pl.lit(day).alias(PARTITION)))
        ctx.progress.advance()
    rows = pl.concat(parts)
    t_gate = time.perf_counter()
    result = gate_staged(ctx, dataset, rows, expected_series(ctx, entries, days))
    stat["gate_seconds"] = round(stat.get("gate_seconds", 0.0) + time.perf_counter() - t_gate, 3)
    stat.setdefault("datasets", {})[dataset] = {"rows": rows.height, **counts}
    log.info("stage %s: %d rows over %d day(s) %s", dataset, rows.height, len(days), dict(counts))
    return parts, result


def write_partitions(ctx: RunContext, dataset: str, days: list[date], parts: list) -> None:
    for day, part in zip(days, parts, strict=True):
        path = ctx.lake.staged_file(dataset, day)
        write_parquet_atomic(conform(part, dataset), path)
        failpoint("stage.between_partitions")
        write_json_atomic(
            ctx.lake.staged_ledger(dataset, day),
            {
                "sha256": file_sha256(path),
                "stamp": partition_stamp(path),
                "run_id": ctx.run_id,
                "gate": "passed",
                "rows": part.height,
            },
        )


def stage(ctx: RunContext, days: list[date], datasets: list[str] | None = None) -> dict[str, int]:
    """Stage every dataset for `days`: parse and gate all of them (and across them) first,
    then write; a failed gate writes nothing at all."""
    by_dataset: dict[str, list[SourceDataset]] = defaultdict(list)
    for entry in select_datasets(datasets):
        by_dataset[entry.dataset].append(entry)
    staged: dict[str, list[pl.DataFrame]] = {}
    results: list[GateResult] = []
    with ctx.stage_timer("stage") as stat:
        pairs = {(e.source, e.dataset) for entries in by_dataset.values() for e in entries}
        ctx.lake.sync.pull_raw(sorted(pairs), days)
        ctx.progress.start("stage", len(by_dataset) * len(days))
        try:
            for dataset, entries in by_dataset.items():
                parts, result = parse_and_gate(ctx, entries, days, stat)
                if not result.success:
                    raise fail_gate(ctx, result)
                results.append(result)
                staged[dataset] = parts
        finally:
            ctx.progress.stop()
        cross = gate_cross_source(ctx, {k: pl.concat(v) for k, v in staged.items()})
        if cross is not None:
            if not cross.success:
                raise fail_gate(ctx, cross)
            results.append(cross)
        if not datasets:  # watch-list reference tables (issue 9): gated before any write
            from pipeline.reference import prepare_reference

            reference, reference_results = prepare_reference(ctx, days)
            staged.update(reference)
            results.extend(reference_results)
        save_gate_results(ctx, "staged", results)
        for dataset, parts in staged.items():
            write_partitions(ctx, dataset, days, parts)
    return {dataset: sum(p.height for p in parts) for dataset, parts in staged.items()}
