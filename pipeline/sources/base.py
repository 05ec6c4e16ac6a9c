"""What a source module declares: datasets, the requests that fetch one day, pure parsers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import polars as pl

from pipeline.config import Instrument, SourceConfig, Universe, load_universe
from pipeline.errors import ParseError, SourceError
from pipeline.http import RequestSpec


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


def with_interval_hours(df: pl.DataFrame, default: float = 8.0) -> pl.DataFrame:
    """Funding settlements -> `interval_hours` from the spacing of consecutive distinct
    settlement times in the body (`default` when the body holds one). Duplicated rows (an
    overlapping page) do not count as a zero-hour interval."""
    times = df.select("ts").unique().sort("ts")
    gap = pl.col("ts").diff().dt.total_minutes() / 60
    times = times.with_columns(interval_hours=pl.coalesce(gap, gap.shift(-1), pl.lit(default)))
    return df.join(times, on="ts", how="left", maintain_order="left")


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


def object_columns(rows: list, fields: dict[str, str], where: str) -> pl.DataFrame:
    """JSON objects -> string columns named by `fields` (body field -> column). Every field is
    required in every row (a missing one is named); null or "" values become null."""
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ParseError(f"{where}: row {i} is {type(row).__name__}, expected an object")
        missing = [f for f in fields if f not in row]
        if missing:
            raise ParseError(f"{where}: row {i} is missing field {missing[0]!r}")
    return pl.DataFrame(
        {c: [None if r[f] in (None, "") else str(r[f]) for r in rows] for f, c in fields.items()},
        schema={c: pl.String for c in fields.values()},
    )


def array_columns(rows: list, names: list[str], where: str) -> pl.DataFrame:
    """JSON arrays -> string columns, the first len(names) fields of each row."""
    bad = next((r for r in rows if not (isinstance(r, list) and len(r) >= len(names))), None)
    if bad is not None:
        raise ParseError(f"{where}: row {str(bad)[:60]} is not an array of {len(names)} fields")
    return pl.DataFrame(
        {n: [str(r[i]) for r in rows] for i, n in enumerate(names)},
        schema={n: pl.String for n in names},
    )


def to_float(df: pl.DataFrame, columns: list[str], where: str) -> pl.DataFrame:
    """Cast string columns to Float64; a value that is not a number is a ParseError."""
    try:
        return df.with_columns(pl.col(c).cast(pl.Float64, strict=True) for c in columns)
    except pl.exceptions.InvalidOperationError as exc:
        raise ParseError(
            f"{where}: a numeric field is not a number ({str(exc).splitlines()[0]})"
        ) from None
