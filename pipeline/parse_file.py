"""Parse one saved response file with the pipeline's own parser (`tokenrisk parse`)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl

from pipeline.errors import ParseError, UsageError
from pipeline.lake import Lake
from pipeline.sources import find


def read_body(path: Path) -> tuple[str | bytes, str | None]:
    """The response text of `path`, and the key recorded in it if it is a raw landing file."""
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise UsageError(f"{path}: corrupt gzip ({exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data, None  # a binary body (e.g. a zip archive): the parser decides
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        return text, None
    if isinstance(doc, dict) and {"request", "response"} <= doc.keys():  # a raw landing record
        return Lake.raw_body(doc), doc["request"].get("key")
    return text, None


def parse_file(source: str, dataset: str, path: Path, key: str | None) -> pl.DataFrame:
    entry = find(source, dataset)
    body, recorded_key = read_body(path)
    key = key or recorded_key or ""
    if not key and not entry.body_names_key:
        raise UsageError(
            f"{source}/{dataset} bodies do not name the {entry.key_kind}: pass --asset"
        )
    try:
        return entry.parse(body, key)
    except ParseError as exc:
        raise UsageError(f"{path}: {exc.message}") from None
