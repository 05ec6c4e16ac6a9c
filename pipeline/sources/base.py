"""What a source module declares: datasets, the requests that fetch one day, pure parsers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import polars as pl

from pipeline.config import Instrument, SourceConfig, Universe, load_universe
from pipeline.errors import ParseError, SourceError
from pipeline.http import RequestSpec
from pipeline.schemas import SCHEMAS


@dataclass(frozen=True)
class FetchContext:
    """What a request builder may know: the UTC day wanted and the run's clock.

    `today` is the date the requests are issued on (live: the real UTC date; demo: the day after
    `day`, as in a nightly run). Builders use it for history limits (e.g. Binance serves open
    interest for 30 days only) and for snapshot endpoints, which can only describe "now".
    """

    day: date
    today: date
    universe: Universe
    cfg: SourceConfig

    @property
    def as_of(self) -> datetime:
        """When a snapshot request for `day` is taken: 00:30 UTC the day after, like the
        nightly run (the demo market serves snapshots at this time)."""
        return datetime.combine(self.day + timedelta(days=1), time(0, 30), tzinfo=UTC)

    def history_start(self) -> date | None:
        """The oldest day the source still serves, or None when it has no limit."""
        if self.cfg.history_days is None:
            return None
        return self.today - timedelta(days=self.cfg.history_days)


RequestBuilder = Callable[[FetchContext], list[RequestSpec]]
# parse(body, key): body is the response text (bytes for binary endpoints); key is the
# canonical asset/ticker the request was for, or "" when the body names its instrument.
Parser = Callable[[str | bytes, str], pl.DataFrame]
# next_page(spec just fetched, its body, pages fetched so far) -> the next request or None
Paginator = Callable[[RequestSpec, str, int], "RequestSpec | None"]


@dataclass(frozen=True)
class SourceDataset:
    """One dataset served by one source: how to request a UTC day, and how to parse a body.

    `parse(body, key)` is pure: the response text and the key (asset or ticker) the request
    was for, in; canonical rows out. It keeps every row of the body: filtering to the day and
    de-duplication belong to staging. `next_page` follows the API's pagination (None: one
    request per key is the whole answer).
    """

    source: str
    dataset: str
    endpoint: str
    requests: RequestBuilder
    parse: Parser
    next_page: Paginator | None = None
    key_kind: str = "asset"  # what --asset means for `tokenrisk parse`
    body_names_key: bool = False  # the body names its instrument: --asset is optional
    notes: str = ""


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


def day_bounds_ms(day: date) -> tuple[int, int]:
    """[start, end) of a UTC day in epoch milliseconds."""
    start, end = day_bounds(day)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def require_history(ctx: FetchContext, source: str, dataset: str) -> None:
    """Refuse a day older than the source serves, with the limit named (never truncate)."""
    oldest = ctx.history_start()
    if oldest is not None and ctx.day < oldest:
        raise SourceError(
            f"{source}/{dataset} {ctx.day}: the API serves only the last "
            f"{ctx.cfg.history_days} days (oldest {oldest} as of {ctx.today})"
        )


def ms_to_ts(column: str) -> pl.Expr:
    """Epoch milliseconds (int or numeric string) -> timestamp[us, UTC]."""
    return pl.from_epoch(pl.col(column).cast(pl.Int64), time_unit="ms").dt.replace_time_zone("UTC")


def load_json(body: str, where: str) -> object:
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        snippet = " ".join(body[:80].split())
        raise ParseError(
            f"{where}: body is not JSON ({exc.msg} at char {exc.pos}): {snippet!r}"
        ) from None


def require(obj: dict, name: str, where: str) -> object:
    if not isinstance(obj, dict):
        raise ParseError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    if name not in obj:
        raise ParseError(f"{where}: missing field {name!r} (fields: {sorted(obj)[:8]})")
    return obj[name]


def with_interval_hours(lf: pl.LazyFrame, default: float = 8.0) -> pl.LazyFrame:
    """Funding settlements -> `interval_hours` from the spacing of consecutive distinct
    settlement times in the same body (`_body`; `default` when the body holds one).
    Duplicated rows (an overlapping page) do not count as a zero-hour interval."""
    times = lf.select("_body", "ts").unique().sort("_body", "ts")
    gap = (pl.col("ts").diff().dt.total_minutes() / 60).over("_body")
    after = gap.shift(-1).over("_body")
    times = times.with_columns(interval_hours=pl.coalesce(gap, after, pl.lit(default)))
    return lf.join(times, on=["_body", "ts"], how="left", maintain_order="left")


def funding_rows(venue: str, mark: bool = False) -> Callable[[pl.DataFrame, str], pl.DataFrame]:
    """`rows` of a funding history: rate, settlement time, the settlement interval measured
    within each body (8 h when it holds one settlement), and with `mark` the mark price from
    a `mark` column in venue units (Binance), else NULL (Bybit, OKX)."""
    floats = ["funding_rate", "mark"] if mark else ["funding_rate"]
    mark_price = pl.col("mark") / pl.col("_m") if mark else pl.lit(None, pl.Float64)

    def rows(df: pl.DataFrame, where: str) -> pl.DataFrame:
        return finish(
            df,
            "funding_rates",
            where,
            floats,
            {"ts": ms_to_ts("ms")},
            lambda lf: with_interval_hours(lf.sort("_body", "ts")),
            {"venue": pl.lit(venue), "mark_price": mark_price},
        )

    return rows


def instrument_columns(inst: Instrument, rows: list) -> dict[str, pl.Series]:
    """The instrument of a body as columns: asset and multiplier (`_m`)."""
    return {
        "asset": constant(inst.asset, rows, pl.String),
        "_m": constant(inst.multiplier, rows, pl.Float64),
    }


def resolve_instrument(venue: str, key: str, symbol: str | None, where: str) -> Instrument:
    """The instrument a body is about: from the request key (`ASSET` or `ASSET@kind`), else
    from the venue symbol the body names; unknown ones are a ParseError naming them."""
    universe = load_universe()
    asset = key.split("@")[0]
    try:
        if asset:
            return universe.instrument(venue, asset)
        if symbol:
            return universe.instrument_for_symbol(venue, symbol)
    except KeyError as exc:
        raise ParseError(f"{where}: {exc.args[0]}") from None
    raise ParseError(f"{where}: the body does not name its instrument: pass --asset")


def object_columns(
    rows: list, fields: dict[str, str], where: str, extra: dict[str, pl.Series] | None = None
) -> pl.DataFrame:
    """JSON objects -> string columns named by `fields` (body field -> column), plus `extra`
    columns. Every field is required in every row (a missing one is named); null or ""
    values become null."""
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ParseError(f"{where}: row {i} is {type(row).__name__}, expected an object")
        missing = [f for f in fields if f not in row]
        if missing:
            raise ParseError(f"{where}: row {i} is missing field {missing[0]!r}")
    columns = {
        c: pl.Series([None if r[f] in (None, "") else str(r[f]) for r in rows], dtype=pl.String)
        for f, c in fields.items()
    }
    return pl.DataFrame({**columns, **(extra or {})})


def array_columns(
    rows: list,
    names: list[str | None],
    where: str,
    extra: dict[str, pl.Series] | None = None,
    what: str = "row",
) -> pl.DataFrame:
    """JSON arrays -> string columns of the fields named in `names` (None skips a field),
    plus `extra` columns; every row must hold at least len(names) fields."""
    bad = next((r for r in rows if not (isinstance(r, list) and len(r) >= len(names))), None)
    if bad is not None:
        raise ParseError(f"{where}: {what} {str(bad)[:60]} is not an array of {len(names)} fields")
    columns = {
        n: pl.Series([str(r[i]) for r in rows], dtype=pl.String)
        for i, n in enumerate(names)
        if n is not None
    }
    return pl.DataFrame({**columns, **(extra or {})})


Step = dict[str, pl.Expr] | Callable[[pl.LazyFrame], pl.LazyFrame]


def finish(
    df: pl.DataFrame, dataset: str, where: str, floats: list[str], *steps: Step
) -> pl.DataFrame:
    """String columns of one body -> canonical rows, as ONE polars query: cast `floats`
    strictly, add each step's columns (a dict of expressions, or a function of the lazy
    frame) in turn, then select and cast to the canonical schema. Stage parses thousands of
    small bodies and every eager polars operation costs about 0.25 ms whatever the row
    count, so a parser makes one query per body rather than one per step.
    A value that does not convert is a ParseError naming the body."""
    lazy = df.lazy().with_columns(pl.col(c).cast(pl.Float64, strict=True) for c in floats)
    for step in steps:
        lazy = step(lazy) if callable(step) else lazy.with_columns(**step)
    schema = SCHEMAS[dataset]
    have = lazy.collect_schema().names()
    missing = [c for c in schema if c not in have]
    if missing:
        raise ParseError(f"{where}: missing canonical columns {missing}")
    try:
        return lazy.select(pl.col(c).cast(t, strict=True) for c, t in schema.items()).collect()
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as exc:
        raise ParseError(
            f"{where}: a numeric field is not a number ({str(exc).splitlines()[0]})"
        ) from None


@dataclass(frozen=True)
class TwoStep:
    """A parser in two steps, so stage can vectorise over many bodies.

    `columns(body, key) -> (frame, where)`: the body checked and its fields as columns (the
    per-body constants too, such as asset and multiplier, so that no expression depends on
    the body); `rows(frame, where)`: canonical rows in one polars query. Called on one body it
    is an ordinary parser (`tokenrisk parse`, the tests); stage concatenates the columns of
    every body of a dataset and day and runs `rows` once, because every polars query costs
    about 0.25 ms whatever its size and a day holds hundreds of small bodies. `rows` must
    treat rows independently, or group by the `_body` column (the body's index).
    """

    columns: Callable[[str | bytes, str], tuple[pl.DataFrame, str]]
    rows: Callable[[pl.DataFrame, str], pl.DataFrame]
    binary: Parser | None = None  # bodies in another format (e.g. Binance's daily archives)

    def __call__(self, body: str | bytes, key: str) -> pl.DataFrame:
        if isinstance(body, bytes) and self.binary is not None:
            return self.binary(body, key)
        frame, where = self.columns(body, key)
        return self.rows(frame.with_columns(_body=pl.lit(0, pl.Int32)), where)

    def many(self, frames: list[pl.DataFrame], where: str) -> pl.DataFrame:
        """`rows` over the concatenated columns of several bodies."""
        body = np.repeat(np.arange(len(frames), dtype=np.int32), [f.height for f in frames])
        frame = pl.concat(frames, how="vertical", rechunk=False)
        return self.rows(frame.with_columns(_body=pl.Series(body, dtype=pl.Int32)), where)


def constant(value: object, rows: list, dtype: pl.DataType) -> pl.Series:
    """A per-body constant as a column of the body's length."""
    return pl.Series([value] * len(rows), dtype=dtype)


def to_float(df: pl.DataFrame, columns: list[str], where: str) -> pl.DataFrame:
    """Cast string columns to Float64; a value that is not a number is a ParseError."""
    try:
        return df.with_columns(pl.col(c).cast(pl.Float64, strict=True) for c in columns)
    except pl.exceptions.InvalidOperationError as exc:
        raise ParseError(
            f"{where}: a numeric field is not a number ({str(exc).splitlines()[0]})"
        ) from None
