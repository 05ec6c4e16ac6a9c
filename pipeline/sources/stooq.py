"""Stooq daily CSV: equity OHLCV bars.

Endpoint: GET /q/d/l/?s=<symbol>&d1=YYYYMMDD&d2=YYYYMMDD&i=d, answering
`Date,Open,High,Low,Close,Volume` lines, or the plain text `No data` for a range without
trading days (weekends, holidays) or an unknown symbol.
"""

from __future__ import annotations

import io

import polars as pl

from pipeline.errors import ParseError
from pipeline.http import RequestSpec
from pipeline.schemas import conform, empty
from pipeline.sources.base import FetchContext, SourceDataset

SOURCE = "stooq"
COLUMNS = {"Date": "date", "Open": "open", "High": "high", "Low": "low", "Close": "close"}


def daily_requests(ctx: FetchContext) -> list[RequestSpec]:
    day, cfg = ctx.day, ctx.cfg
    stamp = day.strftime("%Y%m%d")
    return [
        RequestSpec(
            source=SOURCE,
            dataset="equity_prices",
            key=equity.ticker,
            day=day,
            url=f"{cfg.base_url}/q/d/l/",
            params={"s": equity.stooq_symbol, "d1": stamp, "d2": stamp, "i": "d"},
        )
        for equity in ctx.universe.equities
    ]


def parse_daily_csv(body: str, ticker: str) -> pl.DataFrame:
    """Stooq daily CSV body -> equity_prices rows for `ticker`."""
    where = f"stooq daily CSV ({ticker})"
    text = body.lstrip("\ufeff").strip()
    if text == "" or text.lower() == "no data":
        return empty("equity_prices")
    if text.startswith("Get your apikey"):
        raise ParseError(
            f"{where}: Stooq asks for an API key; set STOOQ_API_KEY (see docs/sources.md)"
        )
    if text.startswith("Exceeded the daily hits limit"):
        raise ParseError(f"{where}: Stooq's daily hits limit is exceeded; try again tomorrow")
    header = text.splitlines()[0]
    if "," not in header or not header.startswith("Date"):
        snippet = " ".join(text[:80].split())
        raise ParseError(f"{where}: body is not a Stooq CSV: {snippet!r}")
    try:
        df = pl.read_csv(io.StringIO(text), infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise ParseError(f"{where}: unreadable CSV ({exc})") from None
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ParseError(f"{where}: missing column {missing[0]!r} (columns: {df.columns})")
    volume = pl.col("Volume") if "Volume" in df.columns else pl.lit(None)
    try:
        out = df.select(
            pl.col("Date").str.to_date("%Y-%m-%d").alias("date"),
            pl.lit(ticker).alias("ticker"),
            *[
                pl.col(src).cast(pl.Float64).alias(dst)
                for src, dst in COLUMNS.items()
                if dst != "date"
            ],
            volume.cast(pl.Float64).alias("volume"),
        )
    except pl.exceptions.PolarsError as exc:
        raise ParseError(f"{where}: bad value ({str(exc).splitlines()[0]})") from None
    return conform(out, "equity_prices")


DATASETS = [
    SourceDataset(
        source=SOURCE,
        dataset="equity_prices",
        endpoint="GET /q/d/l/?s={symbol}&i=d",
        requests=daily_requests,
        parse=parse_daily_csv,
        key_kind="ticker",
        notes="daily bars; 'No data' on days without trading",
    )
]
