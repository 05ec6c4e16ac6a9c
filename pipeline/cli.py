"""`tokenrisk`: the command-line front end. Thin: parses options, calls the stages, reports.

Exit codes: 0 ok, 1 a gate failed or a source/run error, 2 a usage error (bad date, path,
source name...). Expected failures print one line, never a traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from rich.table import Table
from typer.exceptions import TyperException

from pipeline.config import Settings
from pipeline.errors import GateFailed, TokenriskError, UsageError
from pipeline.lake import Lake
from pipeline.stages.context import Progress, RunContext, day_range

DEMO_WINDOW = (date(2026, 1, 20), date(2026, 2, 10))

app = typer.Typer(
    name="tokenrisk",
    help="Nightly crypto market-risk pipeline: extract -> stage -> build -> publish, gated by "
    "data-quality checks. Runs offline on the built-in demo market by default.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
out = Console()
if not out.is_terminal:  # piped or logged: keep tables readable instead of wrapping at 80
    out = Console(width=180)
err = Console(stderr=True, soft_wrap=True)


class Stage(StrEnum):
    raw = "raw"
    staged = "staged"
    marts = "marts"


class OutFormat(StrEnum):
    jsonl = "jsonl"
    table = "table"
    parquet = "parquet"


StartOpt = Annotated[str | None, typer.Option("--start", help="First UTC day (YYYY-MM-DD).")]
EndOpt = Annotated[str | None, typer.Option("--end", help="Last UTC day, inclusive (YYYY-MM-DD).")]
DateOpt = Annotated[
    str | None, typer.Option("--date", help="One UTC day; same as --start D --end D.")
]
SourceOpt = Annotated[
    str | None,
    typer.Option(
        "--source",
        help="demo (the seeded offline market, default) or live (the public APIs). "
        "Env: TOKENRISK_SOURCE.",
    ),
]
DataDirOpt = Annotated[
    str | None,
    typer.Option(
        "--data-dir",
        help="Data directory (default ./data), or s3://bucket/prefix on an S3-compatible store "
        "(endpoint and keys from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY). "
        "Env: TOKENRISK_DATA_DIR.",
    ),
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Log every step.")]


class RichBar(Progress):
    """Progress bars on stderr for interactive use."""

    def __init__(self) -> None:
        self._bar: RichProgress | None = None
        self._task = None

    def start(self, label: str, total: int) -> None:
        self._bar = RichProgress(
            f"[bold]{label:8}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=False,
            disable=not err.is_terminal,
        )
        self._bar.start()
        self._task = self._bar.add_task(label, total=total)

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, n)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a date (expected YYYY-MM-DD)") from None


def resolve_days(start: str | None, end: str | None, day: str | None, source: str) -> list[date]:
    if day and (start or end):
        raise UsageError("give either --date or --start/--end, not both")
    if day:
        d = parse_day(day, "--date")
        return [d]
    if start or end:
        if not (start and end):
            raise UsageError("--start and --end go together")
        return day_range(parse_day(start, "--start"), parse_day(end, "--end"))
    if source == "demo":
        return day_range(*DEMO_WINDOW)
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    return [yesterday]


def make_context(source: str | None, data_dir: str | None, verbose: bool) -> RunContext:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False, show_time=verbose)],
        force=True,
    )
    for noisy in ("great_expectations", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = Settings()
    except ValidationError as exc:  # a bad TOKENRISK_* variable
        first = exc.errors()[0]
        name = "TOKENRISK_" + str(first["loc"][0]).upper() if first["loc"] else "TOKENRISK_*"
        raise UsageError(f"environment variable {name}: {first['msg']}") from None
    mode = source or settings.source
    lake = Lake.at(data_dir if data_dir is not None else settings.data_dir)
    return RunContext(
        lake=lake, settings=settings, source_mode=mode, progress=RichBar(), today=settings.today
    )


def describe_lake(lake: Lake) -> str:
    if lake.url is None:
        return str(lake.root)
    return f"{lake.url} (working copy {lake.root})"


def print_stage_summary(ctx: RunContext) -> None:
    table = Table(title=f"run {ctx.run_id}", title_justify="left")
    for col in ("stage", "status", "seconds", "details"):
        table.add_column(col)
    for name, stat in ctx.stats.get("stages", {}).items():
        details = {k: v for k, v in stat.items() if k not in ("status", "seconds", "error")}
        text = ", ".join(f"{k}={v}" for k, v in details.items() if not isinstance(v, dict))
        for k, v in details.items():
            if isinstance(v, dict):
                text += (
                    (", " if text else "")
                    + f"{k}: "
                    + ", ".join(f"{a}={b}" for a, b in v.items() if not isinstance(b, dict))
                )
        table.add_row(name, stat.get("status", ""), f"{stat.get('seconds', 0):.1f}", text)
    out.print(table)


def _fmt(value: object, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "pct":
        return f"{value * 100:+.1f}%"
    if kind == "usd":
        return f"${value / 1e9:,.2f}B"
    if kind == "num":
        return f"{value:+.2f}"
    if kind == "score":
        return f"{value:.0f}"
    return str(value)


def print_sector_table(ctx: RunContext) -> None:
    from pipeline.stages.run import sector_summary

    frame = sector_summary(ctx, last_days=12)
    table = Table(title="marts.fct_sector_daily (latest days)", title_justify="left")
    columns = [
        ("date", "date", "str"),
        ("sector", "sector", "str"),
        ("assets", "n_assets", "str"),
        ("market cap", "market_cap_usd", "usd"),
        ("1d", "return_1d", "pct"),
        ("7d", "return_7d", "pct"),
        ("BTC 1d", "btc_return_1d", "pct"),
        ("equities 1d", "equity_basket_return_1d", "pct"),
        ("drawdown 30d", "drawdown_from_30d_high", "pct"),
        ("corr BTC 30d", "corr_btc_30d", "num"),
        ("best", "best_asset", "str"),
        ("worst", "worst_asset", "str"),
    ]
    for header, _, kind in columns:
        table.add_column(header, justify="left" if kind == "str" else "right")
    for row in frame.iter_rows(named=True):
        table.add_row(*[_fmt(row[c], kind) for _, c, kind in columns])
    out.print(table)
    print_risk_table(ctx)
    out.print(f"published: {ctx.lake.location(ctx.lake.warehouse)}", markup=False)


def print_risk_table(ctx: RunContext) -> None:
    from pipeline.stages.run import risk_summary

    frame = risk_summary(ctx)
    if frame.is_empty():
        return
    day = frame["date"][0]
    table = Table(title=f"marts.fct_liquidation_risk_daily ({day})", title_justify="left")
    columns = [
        ("asset", "asset", "str"),
        ("open interest", "open_interest_usd", "usd"),
        ("OI/cap", "oi_to_market_cap", "pct"),
        ("funding z", "funding_z_30d", "num"),
        ("long liq. at -10%", "est_long_liq_usd_10pct", "usd"),
        ("score", "risk_score", "score"),
        ("tier", "risk_tier", "str"),
        ("top drivers", "top_drivers", "str"),
    ]
    for header, _, kind in columns:
        table.add_column(header, justify="left" if kind == "str" else "right")
    for row in frame.iter_rows(named=True):
        table.add_row(*[_fmt(row[c], kind) for _, c, kind in columns])
    out.print(table)


def _fail_lines(results) -> None:
    for r in results:
        for c in r.checks:
            if not c.success:
                err.print(
                    f"  {r.stage}/{r.dataset}: {c.severity} {c.check} days={c.days[:3]} "
                    f"sample={c.sample[:3]} {c.message}",
                    markup=False,
                )


# --------------------------------------------------------------------------- commands
@app.command()
def run(
    start: StartOpt = None,
    end: EndOpt = None,
    date_: DateOpt = None,
    source: SourceOpt = None,
    data_dir: DataDirOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Run every stage: extract, stage, build, publish (each gated). Ends with the sector table."""
    from pipeline.stages.run import run_pipeline

    ctx = make_context(source, data_dir, verbose)
    days = resolve_days(start, end, date_, ctx.source_mode)
    err.print(
        f"tokenrisk run {ctx.run_id}: {days[0]}..{days[-1]} ({len(days)} days), "
        f"source={ctx.source_mode}, data dir {describe_lake(ctx.lake)}",
        markup=False,
    )
    try:
        run_pipeline(ctx, days)
    finally:
        print_stage_summary(ctx)
    print_sector_table(ctx)


@app.command()
def extract(
    start: StartOpt = None,
    end: EndOpt = None,
    date_: DateOpt = None,
    source: SourceOpt = None,
    data_dir: DataDirOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Fetch every source for the days and land the responses raw (immutable) under raw/."""
    from pipeline.stages.extract import extract as do_extract

    ctx = make_context(source, data_dir, verbose)
    days = resolve_days(start, end, date_, ctx.source_mode)
    n = do_extract(ctx, days)
    print_stage_summary(ctx)
    out.print(f"landed {n} responses under {ctx.lake.location(ctx.lake.root / 'raw')}")


@app.command()
def stage(
    start: StartOpt = None,
    end: EndOpt = None,
    date_: DateOpt = None,
    source: SourceOpt = None,
    data_dir: DataDirOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Parse the newest raw responses into canonical Parquet partitions (gated)."""
    from pipeline.stages.stage import stage as do_stage

    ctx = make_context(source, data_dir, verbose)
    days = resolve_days(start, end, date_, ctx.source_mode)
    do_stage(ctx, days)
    print_stage_summary(ctx)


@app.command()
def build(
    start: StartOpt = None,
    end: EndOpt = None,
    date_: DateOpt = None,
    source: SourceOpt = None,
    data_dir: DataDirOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Build a new warehouse file from the staged data; its marts are gated. Publishes nothing.

    Without days, everything is rebuilt. With --date or --start, only the marts from that day on
    are recomputed and older rows are taken from the published warehouse (incremental; falls
    back to a full build when the SQL models or the risk configuration changed).
    """
    from pipeline.stages.build import build as do_build

    ctx = make_context(source, data_dir, verbose)
    since = resolve_days(start, end, date_, ctx.source_mode)[0] if (start or date_) else None
    path = do_build(ctx, since=since)
    print_stage_summary(ctx)
    out.print(
        f"built {ctx.lake.location(path)} (gate passed); run `tokenrisk publish` to publish it"
    )


@app.command()
def publish(
    start: StartOpt = None,
    end: EndOpt = None,
    date_: DateOpt = None,
    source: SourceOpt = None,
    data_dir: DataDirOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Publish the newest build (only if it passed its gate) and export the marts to Parquet."""
    from pipeline.stages.publish import publish as do_publish

    ctx = make_context(source, data_dir, verbose)
    days = resolve_days(start, end, date_, "live") if (start or end or date_) else None
    do_publish(ctx, days=days)
    print_stage_summary(ctx)
    print_sector_table(ctx)


@app.command()
def check(
    stage_: Annotated[
        Stage, typer.Option("--stage", help="Which stage's gates to run.")
    ] = Stage.staged,
    start: StartOpt = None,
    end: EndOpt = None,
    date_: DateOpt = None,
    data_dir: DataDirOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Run one stage's data-quality gates on what is on disk; exit 1 if any fails."""
    from pipeline.stages.run import check as do_check

    ctx = make_context(None, data_dir, verbose)
    days = resolve_days(start, end, date_, "live") if (start or end or date_) else None
    results = do_check(ctx, stage_.value, days)
    table = Table(title=f"gates: {stage_.value}", title_justify="left")
    for col in ("dataset", "rows", "checks", "failed", "warnings"):
        table.add_column(col)
    for r in results:
        table.add_row(
            r.dataset, str(r.n_rows), str(len(r.checks)), str(len(r.failures)), str(len(r.warnings))
        )
    out.print(table)
    failed = [r for r in results if not r.success]
    if failed:
        _fail_lines(failed)
        raise GateFailed(failed[0].describe_failure())


@app.command()
def sources() -> None:
    """List every source, dataset and endpoint."""
    from pipeline.config import load_sources
    from pipeline.sources import REGISTRY

    cfgs = load_sources()
    table = Table(title="sources", title_justify="left")
    for col in ("source", "dataset", "endpoint", "rate limit", "notes"):
        table.add_column(col)
    for e in REGISTRY:
        cfg = cfgs[e.source]
        table.add_row(
            e.source,
            e.dataset,
            cfg.base_url + " " + e.endpoint,
            f"{cfg.rate_limit_per_minute:g}/min",
            e.notes,
        )
    out.print(table)


@app.command()
def parse(
    source: Annotated[str, typer.Argument(help="Source name, e.g. coingecko.")],
    dataset: Annotated[str, typer.Argument(help="Canonical dataset, e.g. spot_prices.")],
    file: Annotated[
        Path,
        typer.Argument(
            help="A saved response body (JSON or CSV, optionally .gz) or a raw landing file."
        ),
    ],
    asset: Annotated[
        str | None,
        typer.Option(
            "--asset", help="Asset or ticker the body is for, when the body does not name it."
        ),
    ] = None,
    fmt: Annotated[OutFormat, typer.Option("--format", help="Output format.")] = OutFormat.jsonl,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Write here instead of stdout (required for parquet)."),
    ] = None,
) -> None:
    """Parse one saved response with the pipeline's own parser and print canonical rows."""
    import polars as pl

    from pipeline.parse_file import parse_file

    frame = parse_file(source, dataset, file, asset)
    if fmt is OutFormat.parquet:
        if out_file is None:
            raise UsageError("--format parquet needs --out FILE")
        from pipeline.lake import write_parquet_atomic

        write_parquet_atomic(frame, out_file.resolve())
        return
    if fmt is OutFormat.table:
        text = str(frame)
    else:
        iso = "%Y-%m-%dT%H:%M:%S%.fZ"  # ISO-8601 UTC
        text = frame.with_columns(
            pl.col(c).dt.strftime(iso)
            for c, t in frame.schema.items()
            if isinstance(t, pl.Datetime)
        ).write_ndjson()
    if out_file:
        out_file.write_text(text)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


@app.command()
def validate(
    data_dir: DataDirOpt = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the figures to this JSON file.")
    ] = None,
) -> None:
    """Validate the liquidation-risk marts against the demo market's ground truth.

    Needs a published demo run (`tokenrisk run --source demo`): the demo market writes what it
    really liquidated under demo_truth/, and this compares the estimates with it.
    """
    from pipeline.validate import validate as do_validate

    lake = Lake.at(data_dir or Settings().data_dir)
    figures = do_validate(lake)
    table = Table(title="liquidation-risk validation (demo ground truth)", title_justify="left")
    for col in ("figure", "value", "what it means"):
        table.add_column(col)

    def num(v: object) -> str:
        return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)

    table.add_row(
        "spearman_long_10pct",
        num(figures["spearman_long_10pct"]),
        f"rank corr. of est. long liq. (10% move) on day t with true long liq. on t+1, "
        f"{figures['asset_days_with_fall']} asset-days with a fall >= 5% (target >= 0.6)",
    )
    table.add_row(
        "spearman_levels",
        num(figures["spearman_levels"]),
        f"rank corr. per price bucket, estimated levels vs true liquidations "
        f"({figures['bucket_pairs']} bucket pairs)",
    )
    table.add_row(
        "tier_precision",
        num(figures["tier_precision"]),
        f"share of {figures['flagged_asset_days']} high/extreme asset-days followed by "
        "top-quartile liquidations (share of OI)",
    )
    table.add_row(
        "top5_overlap",
        num(figures["top5_overlap"]),
        f"top-5 risk on the eve {figures['top5_risk_on_eve']} vs top-5 true liquidations "
        f"{figures['top5_true_liquidations_on_crash_day']} (target >= 3)",
    )
    table.add_row(
        "lead_days_high_or_above",
        ", ".join(f"{a} {n}" for a, n in figures["lead_days_high_or_above"].items()),
        "days before the crash the most levered assets had been high or above",
    )
    table.add_row(
        "true liquidations on the crash day",
        f"${figures['true_liquidations_crash_day_usd'] / 1e9:.2f}B, "
        f"{100 * (figures['true_long_share_crash_day'] or 0):.0f}% longs",
        figures["crash_day"],
    )
    out.print(table)
    if json_out is not None:
        json_out.write_text(json.dumps(figures, indent=2, default=str) + "\n")
        out.print(f"saved {json_out}")


@app.command()
def report(
    date_: Annotated[str, typer.Option("--date", help="The report's UTC day (YYYY-MM-DD).")],
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out", help="HTML file to write (default: <data dir>/reports/report-<date>.html)."
        ),
    ] = None,
    data_dir: DataDirOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Write one self-contained HTML report for a day (charts embedded, works offline)."""
    from pipeline.report import write_report

    ctx = make_context(None, data_dir, verbose)
    day = parse_day(date_, "--date")
    target = (out_file or ctx.lake.report_file(day)).expanduser().resolve()
    folder = ctx.lake.managed_folder(target)
    if folder:
        raise UsageError(
            f"--out {target} is inside the data dir's {folder}/ folder, which the pipeline "
            "manages; choose another path"
        )
    if target.is_dir():
        raise UsageError(f"--out {target} is a directory; give a file name")
    write_report(ctx.lake, day, target)
    ctx.lake.sync.push()  # the default target is the data dir's reports/ folder
    out.print(str(target), markup=False, highlight=False, soft_wrap=True)


@app.command()
def snapshot(
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Directory to create (or a previous snapshot directory to replace); "
            "refuses any other non-empty directory.",
        ),
    ],
    start: StartOpt = None,
    end: EndOpt = None,
    date_: DateOpt = None,
    data_dir: DataDirOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Copy the published marts for the days to DIR as Parquet, with manifest.json."""
    from pipeline.snapshot import write_snapshot

    if not (date_ or start or end):
        raise UsageError("snapshot needs --date D or --start D --end D")
    ctx = make_context(None, data_dir, verbose)
    days = resolve_days(start, end, date_, "live")
    manifest = write_snapshot(ctx.lake, days[0], days[-1], out_dir)
    table = Table(title=f"snapshot {days[0]}..{days[-1]}", title_justify="left")
    for col in ("table", "rows", "sha256"):
        table.add_column(col)
    for name, entry in manifest["tables"].items():
        table.add_row(name, str(entry["rows"]), entry["sha256"][:16])
    out.print(table)
    out.print(
        f"run {manifest['run_id']} (gate {manifest['gate_status']}), "
        f"methodology {manifest['methodology_version']}: {out_dir.expanduser().resolve()}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def _int_list(text: str, option: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise UsageError(f"{option} {text!r}: expected whole numbers, e.g. 1,5") from None
    if any(v <= 0 for v in values):
        raise UsageError(f"{option} {text!r}: numbers must be positive")
    return values


@app.command()
def bench(
    assets: Annotated[
        int, typer.Option("--assets", help="Synthetic assets added to the universe.")
    ] = 20,
    start: Annotated[
        str, typer.Option("--start", help="First day of the scaled market.")
    ] = "2026-01-20",
    end: Annotated[
        str, typer.Option("--end", help="Last day of the scaled market.")
    ] = "2026-02-10",
    flat_years: Annotated[
        str,
        typer.Option(
            "--flat-years",
            help="Histories (years, comma-separated) under the one-day nightly run; the "
            "flatness ratio is last/first. Empty: skip.",
        ),
    ] = "1,5",
    memory_assets: Annotated[
        int, typer.Option("--memory-assets", help="Assets (x 3 venues) of the backfill memory run.")
    ] = 200,
    memory_days: Annotated[
        str,
        typer.Option(
            "--memory-days",
            help="History lengths (days, comma-separated) of the backfill memory runs; "
            "empty: skip.",
        ),
    ] = "90,180",
    data_dir: DataDirOpt = None,
) -> None:
    """Benchmark every stage on a scaled demo market; print and save figures (JSON).

    Times extract, stage, gates, build and publish on `--assets` synthetic assets (every venue,
    hourly) over --start..--end, with ratios against a bare polars loop and a DuckDB scan; the
    nightly run's cost on 1 and 5 years of history; the peak memory of a full build over a
    200-asset history. Figures go to <data dir>/bench/<timestamp>.json.
    """
    from pipeline.bench import run_bench

    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    day_range(first, last)
    years = _int_list(flat_years, "--flat-years")
    mem_days = _int_list(memory_days, "--memory-days")
    if len(day_range(first, last)) < 7 and mem_days:
        raise UsageError("bench: --memory-days needs at least 7 days in --start..--end")
    root_text = str(data_dir or Settings().data_dir)
    if "://" in root_text:
        raise UsageError("bench measures local files: give a local --data-dir")
    root = Path(root_text)
    err.print(
        f"bench: {assets} synthetic assets, {first}..{last}, hourly (scratch data in a temp dir)"
    )
    figures = run_bench(assets, first, last, root, years, memory_assets, mem_days)
    table = Table(title="tokenrisk bench", title_justify="left")
    for col in ("figure", "value", "target"):
        table.add_column(col)
    for name, stat in figures["stages"].items():
        rate = f", {stat['rows_per_s']:,} rows/s" if "rows_per_s" in stat else ""
        table.add_row(
            f"{name} time",
            f"{stat['seconds']:.2f} s{rate}, peak RSS {stat['peak_rss_mib']:.0f} MiB",
            "",
        )
    for name, value in figures["ratios"].items():
        table.add_row(name, f"{value:.3f}", figures["targets"].get(name, ""))
    table.add_row("gate time (stage + build)", f"{figures['gate_seconds']:.2f} s", "")
    table.add_row("stage net of gates", f"{figures['stage_seconds_net_of_gates']:.2f} s", "")
    table.add_row("build: the models alone", f"{figures['model_build_seconds']:.2f} s", "")
    table.add_row("bare polars stage", f"{figures['bare_stage_seconds']:.2f} s", "")
    table.add_row("DuckDB scan of staged", f"{figures['duckdb_scan_seconds']:.3f} s", "")
    for name, run in figures.get("nightly_flatness", {}).get("runs", {}).items():
        table.add_row(
            f"nightly run, {name} history",
            f"{run['nightly_seconds']:.2f} s ({run['staged_partitions']:,} staged partitions)",
            "",
        )
    for name, run in figures.get("backfill_memory", {}).items():
        table.add_row(
            f"full build, {run['assets']} assets x 3 venues, {name}",
            f"{run['build_seconds']:.1f} s, peak RSS {run['peak_rss_mib']:.0f} MiB "
            f"({run['staged_mib']:.0f} MiB staged)",
            "",
        )
    dag = figures["dag_import_seconds"]
    table.add_row("DAG import (own time)", "-" if dag is None else f"{dag:.3f} s", "< 0.5 s")
    out.print(table)
    out.print_json(json.dumps({k: v for k, v in figures.items() if k != "stages"}))
    out.print(f"saved {figures['saved_to']}")


def main() -> None:
    """Console-script entry point: map expected errors to exit codes and one-line messages."""
    command = typer.main.get_command(app)
    try:
        command.main(standalone_mode=False, prog_name="tokenrisk")
    except typer.Abort:
        err.print("aborted", markup=False)
        sys.exit(130)
    except TyperException as exc:  # click's usage errors, as vendored by typer
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            out.print(ctx.get_help(), markup=False, highlight=False)
            sys.exit(0)
        hint = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
        err.print(f"error: {exc.format_message()}{hint}", markup=False, highlight=False)
        sys.exit(getattr(exc, "exit_code", 2))
    except TokenriskError as exc:
        err.print(f"error: {exc.message}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
