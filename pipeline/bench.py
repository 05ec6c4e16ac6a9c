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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from pipeline.config import Settings, load_universe, use_universe
from pipeline.demo.transport import body_rows
from pipeline.lake import Lake
from pipeline.quality.gate import gate_seconds
from pipeline.stages.context import Progress, RunContext, day_range


def say(message: str) -> None:
    """Progress of the benchmark on stderr (the figures go to stdout and the JSON file)."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


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
    """One DuckDB pass over every staged column: the floor for the model build (on one
    thread, as the build runs: see build_warehouse)."""
    con = duckdb.connect(config={"threads": 1})
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


def tile_history(ctx: RunContext, seed: Lake, seed_days: list[date], first: date) -> int:
    """Stage a long history cheaply: every day from `first` to the last seed day gets a copy of
    a seed day's staged partition with its dates shifted (seed days map onto themselves), with
    a passing gate ledger as stage writes it. Scaffolding for the benchmark: written directly,
    without the temp-file, rename and fsync of real staging. Returns partitions written."""
    from pipeline.schemas import SCHEMAS
    from pipeline.stages.stage import file_sha256, partition_stamp

    days = day_range(first, seed_days[-1])
    written = 0
    for dataset in sorted(SCHEMAS):
        frames = {
            d: pl.read_parquet(seed.staged_file(dataset, d))
            for d in seed_days
            if seed.staged_file(dataset, d).exists()
        }
        sources = sorted(frames)
        for day in days if frames else []:
            src = sources[(day - sources[0]).days % len(sources)]
            frame, delta = frames[src], day - src
            temporal = [
                pl.col(c) + delta
                for c, t in frame.schema.items()
                if t == pl.Date or isinstance(t, pl.Datetime)
            ]
            path = ctx.lake.staged_file(dataset, day)
            path.parent.mkdir(parents=True, exist_ok=True)
            (frame.with_columns(temporal) if delta else frame).write_parquet(
                path, compression="zstd", statistics=True
            )
            ledger = ctx.lake.staged_ledger(dataset, day)
            ledger.parent.mkdir(parents=True, exist_ok=True)
            ledger.write_text(
                json.dumps(
                    {
                        "sha256": file_sha256(path),
                        "stamp": partition_stamp(path),
                        "run_id": ctx.run_id,
                        "gate": "passed",
                        "rows": frame.height,
                    }
                )
            )
            written += 1
    return written


def widen_assets(seed: Lake, seed_days: list[date], target: Lake, assets: list[str]) -> None:
    """Copy the seed's staged days into `target` with the seed's synthetic assets' rows
    repeated under the names `assets` (round-robin): a wide universe without extracting it."""
    from pipeline.schemas import SCHEMAS

    for dataset in sorted(SCHEMAS):
        for day in seed_days:
            src = seed.staged_file(dataset, day)
            if not src.exists():
                continue
            frame = pl.read_parquet(src)
            if "asset" in frame.columns:
                synthetic = pl.col("asset").str.starts_with("SYN")
                base = sorted(frame.filter(synthetic)["asset"].unique())
                if base:
                    frame = pl.concat(
                        [frame.filter(~synthetic)]
                        + [
                            frame.filter(pl.col("asset") == base[i % len(base)]).with_columns(
                                asset=pl.lit(name)
                            )
                            for i, name in enumerate(assets)
                        ]
                    )
            path = target.staged_file(dataset, day)
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.write_parquet(path, compression="zstd", statistics=True)


def backfill_memory_child(seed_root: str, seed_days: list[str], assets: int, days: int) -> dict:
    """In a fresh process: a `days`-long history of `assets` synthetic assets on every venue,
    tiled from the seed, then the full build over all of it; peak RSS of the build."""
    from pipeline.stages.build import build

    universe = load_universe().with_synthetic_assets(assets)
    names = [a.symbol for a in universe.assets if a.symbol.startswith("SYN")]
    seed_list = [date.fromisoformat(d) for d in seed_days]
    with tempfile.TemporaryDirectory(prefix="tokenrisk-mem-") as tmp, use_universe(universe):
        wide = Lake.at(Path(tmp) / "wide")
        widen_assets(Lake.at(Path(seed_root)), seed_list, wide, names)
        lake = Lake.at(Path(tmp) / "data")
        ctx = RunContext(lake=lake, settings=Settings(), universe=universe)
        partitions = tile_history(ctx, wide, seed_list, seed_list[-1] - timedelta(days=days - 1))
        rss_before = peak_rss_mib()
        t0 = time.perf_counter()
        build(ctx)
        seconds = time.perf_counter() - t0
        staged_mib = sum(p.stat().st_size for p in (lake.root / "staged").rglob("*.parquet"))
        return {
            "assets": len(names),
            "days": days,
            "staged_partitions": partitions,
            "staged_mib": round(staged_mib / 2**20, 1),
            "build_seconds": round(seconds, 2),
            "rss_before_build_mib": round(rss_before, 1),
            "peak_rss_mib": round(peak_rss_mib(), 1),
        }


def backfill_memory(seed: Lake, seed_days: list[date], assets: int, days: list[int]) -> dict:
    """Peak RSS of a full build over `days` of history for each value, each in its own
    process (so one measurement does not inherit another's peak)."""
    out = {}
    for n in days:
        code = (
            "import json, sys; from pipeline.bench import backfill_memory_child as f; "
            "print(json.dumps(f(*json.loads(sys.argv[1]))))"
        )
        args = json.dumps([str(seed.root), [str(d) for d in seed_days], assets, n])
        result = subprocess.run(
            [sys.executable, "-c", code, args], capture_output=True, text=True, timeout=3600
        )
        if result.returncode != 0:
            raise RuntimeError(f"bench memory ({n} days) failed: {result.stderr[-2000:]}")
        out[f"{n}d"] = json.loads(result.stdout.strip().splitlines()[-1])
    return out


def nightly_flatness(years: tuple[int, ...] = (1, 5), seed_span: int = 7) -> dict:
    """Time one nightly run (extract, stage, incremental build, publish of one day) on top of
    `years` of staged history, per value of `years`. The history is tiled from `seed_span`
    real demo days (base universe) so that five years cost minutes, not hours, to prepare."""
    from pipeline.stages.build import build
    from pipeline.stages.extract import extract
    from pipeline.stages.publish import publish
    from pipeline.stages.stage import stage

    night = date(2026, 2, 5)
    seed_days = day_range(night - timedelta(days=seed_span), night - timedelta(days=1))
    out: dict = {"night": str(night), "seed_days": seed_span, "runs": {}}
    with tempfile.TemporaryDirectory(prefix="tokenrisk-flat-") as tmp:
        seed = Lake.at(Path(tmp) / "seed")
        seed_ctx = RunContext(lake=seed, settings=Settings())
        extract(seed_ctx, seed_days)
        stage(seed_ctx, seed_days)
        for n in years:
            lake = Lake.at(Path(tmp) / f"y{n}")
            ctx = RunContext(lake=lake, settings=Settings())
            t0 = time.perf_counter()
            partitions = tile_history(ctx, seed, seed_days, night - timedelta(days=365 * n))
            publish(ctx, build(ctx))  # the history as published before the night
            prepare = time.perf_counter() - t0
            nightly = RunContext(lake=lake, settings=Settings())
            t0 = time.perf_counter()
            extract(nightly, [night])
            stage(nightly, [night])
            publish(nightly, build(nightly, since=night - timedelta(days=1)), [night])
            seconds = time.perf_counter() - t0
            out["runs"][f"{n}y"] = {
                "history_days": 365 * n,
                "staged_partitions": partitions,
                "prepare_seconds": round(prepare, 2),
                "nightly_seconds": round(seconds, 3),
                "nightly_stages": {
                    k: v["seconds"] for k, v in nightly.stats["stages"].items() if "seconds" in v
                },
            }
    first, last = (out["runs"][f"{n}y"]["nightly_seconds"] for n in (years[0], years[-1]))
    out["ratio"] = round(last / first, 3)
    return out


def run_bench(
    assets: int,
    start: date,
    end: date,
    out_root: Path,
    flat_years: tuple[int, ...] = (1, 5),
    memory_assets: int = 200,
    memory_days: tuple[int, ...] = (90, 180),
) -> dict:
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
        gates = {}
        for name, call in [
            ("extract", lambda: extract(ctx, days)),
            ("stage", lambda: stage(ctx, days)),
            ("build", lambda: build(ctx)),
            ("publish", lambda: publish(ctx, days=days)),
        ]:
            say(f"{name} ({len(universe.assets)} assets, {len(days)} days) ...")
            t0, g0 = time.perf_counter(), gate_seconds()
            call()
            gates[name] = gate_seconds() - g0
            stages[name] = {
                "seconds": round(time.perf_counter() - t0, 3),
                "gate_seconds": round(gates[name], 3),
                "peak_rss_mib": round(peak_rss_mib(), 1),
            }
        stats = ctx.stats["stages"]
        staged_rows = sum(d["rows"] for d in stats["stage"]["datasets"].values())
        stages["extract"]["rows_per_s"] = round(staged_rows / stages["extract"]["seconds"])
        stages["stage"]["rows_per_s"] = round(staged_rows / stages["stage"]["seconds"])
        say("bare polars stage and DuckDB scan (the floors) ...")
        bare_seconds, bare_rows = bare_stage(lake, Path(tmp) / "bare")
        scan_seconds = scan_staged(lake)
        # gates are a figure of their own: stage and build time net of the gates they run
        gate_total = gates["stage"] + gates["build"]
        stage_net = stages["stage"]["seconds"] - gates["stage"]
        build_net = stages["build"]["seconds"] - gates["build"]
        figures.update(
            {
                "staged_rows": staged_rows,
                "stages": stages,
                "gate_seconds": round(gate_total, 3),
                "stage_seconds_net_of_gates": round(stage_net, 3),
                "build_seconds_net_of_gates": round(build_net, 3),
                "model_build_seconds": stats["build"]["seconds"],
                "bare_stage_seconds": round(bare_seconds, 3),
                "bare_stage_rows": bare_rows,
                "duckdb_scan_seconds": round(scan_seconds, 4),
                "ratios": {
                    "stage_efficiency": round(bare_seconds / stage_net, 3),
                    "stage_efficiency_with_gates": round(
                        bare_seconds / stages["stage"]["seconds"], 3
                    ),
                    "model_efficiency": round(scan_seconds / stats["build"]["seconds"], 3),
                    "gate_overhead": round(gate_total / (stage_net + build_net), 3),
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
        if memory_days:
            seed_days = days[-7:]
            say(f"backfill memory: {memory_assets} assets x 3 venues over {memory_days} days ...")
            memory = backfill_memory(lake, seed_days, memory_assets, list(memory_days))
            figures["backfill_memory"] = memory
            peaks = [m["peak_rss_mib"] for m in memory.values()]
            figures["ratios"]["backfill_peak_rss_gib"] = round(max(peaks) / 1024, 3)
            figures["ratios"]["backfill_rss_growth"] = round(peaks[-1] / peaks[0], 3)
            figures["targets"]["backfill_peak_rss_gib"] = "< 4"
            figures["targets"]["backfill_rss_growth"] = "~1 past one build window"
    if flat_years:
        say(f"nightly flatness: one night on {flat_years} years of history ...")
        flat = nightly_flatness(flat_years)
        figures["nightly_flatness"] = flat
        figures["ratios"]["nightly_flatness"] = flat["ratio"]
        figures["targets"]["nightly_flatness"] = "<= 1.2"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = out_root / "bench" / f"{stamp}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(figures, indent=2) + "\n")
    figures["saved_to"] = str(target)
    return figures
