"""What a source module declares: datasets, the requests that fetch one day, pure parsers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import polars as pl

from pipeline.config import SourceConfig, Universe
from pipeline.errors import ParseError
from pipeline.http import RequestSpec

RequestBuilder = Callable[[date, Universe, SourceConfig], list[RequestSpec]]
Parser = Callable[[str, str], pl.DataFrame]


@dataclass(frozen=True)
class SourceDataset:
    """One dataset served by one source: how to request a UTC day, and how to parse a body.

    `parse(body, key)` is pure: the response text and the key (asset or ticker) the request
    was for, in; canonical rows out. It keeps every row of the body: filtering to the day and
    de-duplication belong to staging.
    """

    source: str
    dataset: str
    endpoint: str
    requests: RequestBuilder
    parse: Parser
    key_kind: str = "asset"  # what --asset means for `tokenrisk parse`
    notes: str = ""


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


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
