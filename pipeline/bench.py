"""`tokenrisk bench`: run the pipeline on a scaled demo market and report figures.

Every ratio compares two timings taken in the same run, so it stays meaningful on a noisy
machine: stage efficiency (a bare polars loop over the same raw files / our stage), model
efficiency (one DuckDB scan of every staged column / the whole build), gate overhead (gate
time / stage + build time). Absolute times, rows/s and peak RSS are reported beside them.
"""

from __future__ import annotations

import gzip
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipeline.config import Settings, load_universe, use_universe
from pipeline.demo.transport import body_rows
from pipeline.lake import Lake
from pipeline.stages.context import Progress, RunContext, day_range


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bare_stage(lake: Lake, out_dir: Path) -> tuple[float, int]:
    """The floor for staging: read every raw file, build a frame of its rows with plain
    polars (no validation, no canonical mapping), write one Parquet file per dataset and day."""
    t0 = time.perf_counter()
    rows = 0
    for dataset_dir in sorted((lake.root / "raw").glob("source=*/dataset=*")):
        for day_dir in sorted(dataset_dir.glob("date=*")):
            frames = []
            for path in sorted(day_dir.glob("*.json.gz")):
                body = Lake.raw_body(json.loads(gzip.decompress(path.read_bytes())))
                if isinstance(body, bytes):
                    continue
                if body.startswith("Date"):
                    frames.append(pl.read_csv(body.encode()))
                    continue
                if not body.lstrip().startswith(("{", "[")):
                    continue  # e.g. Stooq's "No data" on a weekend
                records = body_rows(json.loads(body))
                if records and isinstance(records[0], list):
                    frames.append(pl.DataFrame(records, orient="row").cast(pl.String))
                elif records:
                    frames.append(pl.DataFrame(records).cast(pl.String))
            if frames:
                frame = pl.concat(frames, how="diagonal_relaxed")
                rows += frame.height
                target = out_dir / dataset_dir.name / day_dir.name / "part-0.parquet"
                target.parent.mkdir(parents=True, exist_ok=True)
                frame.write_parquet(target, compression="zstd")
    return time.perf_counter() - t0, rows


def scan_staged(lake: Lake) -> float:
    """One DuckDB pass over every staged column: the floor for the model build."""
    con = duckdb.connect()
    t0 = time.perf_counter()
    for dataset_dir in sorted((lake.root / "staged").iterdir()):
        glob = str(dataset_dir / "date=*" / "part-0.parquet")
        columns = [
            r[0] for r in con.execute(f"describe select * from read_parquet('{glob}')").fetchall()
        ]
        counts = ", ".join(f'count("{c}")' for c in columns)
        con.execute(f"select {counts} from read_parquet('{glob}')").fetchall()
    seconds = time.perf_counter() - t0
    con.close()
    return seconds


def dag_import_seconds(repo: Path) -> float | None:
    dag_file = repo / "dags" / "tokenrisk_nightly.py"
    if not dag_file.exists():
        return None
    code = (
        "import time, runpy, airflow.sdk; t = time.perf_counter(); "
        f"runpy.run_path({str(dag_file)!r}); print(time.perf_counter() - t)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        return None
    return float(result.stdout.strip().splitlines()[-1])


def run_bench(assets: int, start: date, end: date, out_root: Path) -> dict:
    from pipeline.stages.build import build
    from pipeline.stages.extract import extract
    from pipeline.stages.publish import publish
    from pipeline.stages.stage import stage

    universe = load_universe().with_synthetic_assets(assets) if assets else load_universe()
    days = day_range(start, end)
    figures: dict = {
        "started_at": datetime.now(UTC).isoformat(),
        "assets": len(universe.assets),
        "days": len(days),
        "interval": "1h",
    }
    with tempfile.TemporaryDirectory(prefix="tokenrisk-bench-") as tmp, use_universe(universe):
        lake = Lake.at(Path(tmp) / "data")
        ctx = RunContext(lake=lake, settings=Settings(), universe=universe, progress=Progress())
        from pipeline.quality.gate import _batch_definition

        _batch_definition()  # pay GX's import outside the timings (once per process anyway)
        stages = {}
        for name, call in [
            ("extract", lambda: extract(ctx, days)),
            ("stage", lambda: stage(ctx, days)),
            ("build", lambda: build(ctx)),
            ("publish", lambda: publish(ctx, days=days)),
        ]:
            t0 = time.perf_counter()
            call()
            stages[name] = {
                "seconds": round(time.perf_counter() - t0, 3),
                "peak_rss_mib": round(peak_rss_mib(), 1),
            }
        stats = ctx.stats["stages"]
        staged_rows = sum(d["rows"] for d in stats["stage"]["datasets"].values())
        stages["extract"]["rows_per_s"] = round(staged_rows / stages["extract"]["seconds"])
        stages["stage"]["rows_per_s"] = round(staged_rows / stages["stage"]["seconds"])
        gate_seconds = stats["stage"].get("gate_seconds", 0) + stats["gate_marts"]["seconds"]
        bare_seconds, bare_rows = bare_stage(lake, Path(tmp) / "bare")
        scan_seconds = scan_staged(lake)
        stage_wo_gate = stages["stage"]["seconds"]
        build_seconds = stats["build"]["seconds"] + stats["gate_marts"]["seconds"]
        figures.update(
            {
                "staged_rows": staged_rows,
                "stages": stages,
                "gate_seconds": round(gate_seconds, 3),
                "bare_stage_seconds": round(bare_seconds, 3),
                "bare_stage_rows": bare_rows,
                "duckdb_scan_seconds": round(scan_seconds, 4),
                "ratios": {
                    "stage_efficiency": round(bare_seconds / stage_wo_gate, 3),
                    "model_efficiency": round(scan_seconds / stats["build"]["seconds"], 3),
                    "gate_overhead": round(gate_seconds / (stage_wo_gate + build_seconds), 3),
                },
                "targets": {
                    "stage_efficiency": ">= 0.5",
                    "model_efficiency": ">= 0.2",
                    "gate_overhead": "<= 0.2",
                },
                "dag_import_seconds": dag_import_seconds(Path(__file__).resolve().parents[1]),
                "peak_rss_mib": round(peak_rss_mib(), 1),
            }
        )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = out_root / "bench" / f"{stamp}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(figures, indent=2) + "\n")
    figures["saved_to"] = str(target)
    return figures
