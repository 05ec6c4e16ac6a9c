"""The data lake: the only module that knows paths, and the only one that writes files.

Every write goes to a temporary name in the target directory, is flushed to disk and then
renamed into place, so a reader (or a crashed run) never sees half a file. Raw responses are
write-once: landing a raw file whose name exists is an error, never an overwrite.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from pipeline.errors import UsageError
from pipeline.failpoints import failpoint

if TYPE_CHECKING:
    from pipeline.store import S3Credentials


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(target: Path, *, exclusive: bool = False) -> Iterator[Path]:
    """Yield a temp path next to `target`; on success move it into place atomically.

    With `exclusive`, the final step fails if `target` already exists (write-once files).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp makes the file private (0600); a lake file gets the permissions of any new file,
    # so that readers on other accounts (BI tools, analysts) can open what is published
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        failpoint("lake.before_rename")
        if exclusive:
            os.link(tmp, target)  # fails with FileExistsError instead of replacing
            tmp.unlink()
        else:
            os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a temp directory next to `target`; on success it takes `target`'s place.

    An existing `target` (the caller decides whether it may be replaced) is first renamed aside
    and removed once the new directory is in place, so readers see the old directory or the
    new one whole (and, between two renames, for a moment neither). On failure nothing changes.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private (0700), like atomic_path's files
    aside: Path | None = None
    try:
        yield tmp
        for path in tmp.rglob("*"):
            if path.is_file():
                with open(path, "rb") as fh:
                    os.fsync(fh.fileno())
        fsync_dir(tmp)
        if target.exists():
            aside = Path(
                tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)
            )
            os.replace(target, aside)  # onto the empty placeholder directory
        try:
            os.rename(tmp, target)
        except OSError:
            if aside is not None:
                os.rename(aside, target)
                aside = None
            raise
        fsync_dir(target.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_bytes_atomic(target: Path, data: bytes, *, exclusive: bool = False) -> None:
    with atomic_path(target, exclusive=exclusive) as tmp:
        tmp.write_bytes(data)


def write_json_atomic(target: Path, obj: object) -> None:
    text = json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n"
    write_bytes_atomic(target, text.encode())


def write_parquet_atomic(df: pl.DataFrame, target: Path) -> None:
    """Write one Parquet file deterministically (same rows -> same bytes)."""
    with atomic_path(target) as tmp:
        df.write_parquet(tmp, compression="zstd", statistics=True, row_group_size=1_000_000)


# the folders of a data dir that the pipeline owns; nothing else may write into them
MANAGED_DIRS = (
    "raw",
    "staged",
    "quarantine",
    "quality",
    "warehouse",
    "marts",
    "runs",
    "demo_truth",
)


class Sync:
    """What a data dir does around the stages. A local one needs nothing: every method is a
    no-op here; `pipeline.store.WorkingCopy` (an `s3://` data dir) pulls committed objects
    before a stage reads and pushes what it wrote when it ends."""

    url: str | None = None

    def pull_raw(self, pairs: Iterable[tuple[str, str]], days: Iterable[date]) -> None:
        """The raw responses of these (source, dataset) pairs and days."""

    def pull_staged(
        self, datasets: Iterable[str], days: Iterable[date] | None = None, since: date | None = None
    ) -> None:
        """The committed staged partitions (and gate records) of these days, or of all days
        from `since` on, or of all days."""

    def pull_published(self) -> None:
        """The publish record and the warehouse it names (and the run's manifest and gates)."""

    def pull_build(self, run_id: str | None = None) -> None:
        """One build (its ledger, and its file when it passed); by default the newest."""

    def pull_file(self, path: Path) -> None:
        """One file, when the store has it (before a read-modify-write)."""

    def pull_tree(self, path: Path) -> None:
        """Every file under a folder."""

    def push(self) -> None:
        """Everything written since the last pull or push, committed in order."""

    def prune_builds(self, keep: int) -> None:
        """Forget all but the newest `keep` builds in the store."""

    def close(self) -> None:
        """Release the working copy."""


LOCAL = Sync()


@dataclass(frozen=True)
class Lake:
    """Paths of one data dir (see docs/design.md section 3).

    For an object-store data dir (`s3://bucket/prefix`), `root` is a local working copy and
    `sync` pulls what a stage reads from the store and pushes what it wrote (pipeline/store.py).
    """

    root: Path
    sync: Sync = field(default=LOCAL, compare=False, repr=False)

    def managed_folder(self, path: Path) -> str | None:
        """The managed folder (e.g. `marts`) that `path` is in or is, else None."""
        resolved = Path(path).expanduser().resolve()
        for name in MANAGED_DIRS:
            if resolved.is_relative_to(self.root / name):
                return name
        return None

    @classmethod
    def at(
        cls,
        data_dir: str | Path,
        *,
        work_dir: Path | None = None,
        credentials: S3Credentials | None = None,
    ) -> Lake:
        """The lake of a local path, or of `s3://bucket/prefix` (in a local working copy:
        `work_dir`, else TOKENRISK_CACHE_DIR, else a folder of ~/.cache/tokenrisk)."""
        text = str(data_dir)
        if "://" in text:
            from pipeline.store import open_remote

            return open_remote(cls, text, work_dir=work_dir, credentials=credentials)
        root = Path(text).expanduser().resolve()
        if root.exists() and not root.is_dir():
            raise UsageError(f"data dir {text!r} exists and is not a directory")
        return cls(root)

    @property
    def url(self) -> str | None:
        """The object store URL of a remote data dir, None for a local one."""
        return self.sync.url

    @property
    def name(self) -> str:
        """The data dir as the user gave it: its URL, or its local path."""
        return self.url or str(self.root)

    def location(self, path: Path) -> str:
        """Where a file of the lake lives for the user: its object URL or its local path."""
        if self.url is None:
            return str(path)
        return f"{self.url}/{Path(path).relative_to(self.root).as_posix()}"

    # raw landing ---------------------------------------------------------------
    def raw_dir(self, source: str, dataset: str, day: date) -> Path:
        return self.root / "raw" / f"source={source}" / f"dataset={dataset}" / f"date={day}"

    def raw_file(self, source: str, dataset: str, day: date, run_id: str, page: str) -> Path:
        return self.raw_dir(source, dataset, day) / f"{run_id}-{page}.json.gz"

    def land_raw(self, path: Path, record: dict) -> None:
        """Write one raw response record, gzipped; refuses to overwrite (immutable landing)."""
        payload = json.dumps(record, sort_keys=True).encode()
        data = gzip.compress(payload, compresslevel=6, mtime=0)
        try:
            write_bytes_atomic(path, data, exclusive=True)
        except FileExistsError:
            raise FileExistsError(f"raw file {path} exists; raw landing never overwrites") from None

    @staticmethod
    def read_raw(path: Path) -> dict:
        return json.loads(gzip.decompress(path.read_bytes()))

    @staticmethod
    def raw_body(record: dict) -> str | bytes:
        """The response body of a raw record: text, or bytes for binary endpoints."""
        response = record["response"]
        if "body_base64" in response:
            return base64.b64decode(response["body_base64"])
        return response["body"]

    def latest_raw(self, source: str, dataset: str, day: date) -> dict[str, list[Path]]:
        """For each key (asset/ticker), the pages landed by the newest run that fetched it.

        File names are `<run_id>-<key>.<page>.json.gz`; run ids sort by time.
        """
        folder = self.raw_dir(source, dataset, day)
        if not folder.is_dir():
            return {}
        by_key: dict[str, dict[str, list[Path]]] = {}
        for path in folder.glob("*.json.gz"):
            run_id, _, rest = path.name.partition("-")
            key = rest.removesuffix(".json.gz").rsplit(".", 1)[0]
            by_key.setdefault(key, {}).setdefault(run_id, []).append(path)
        return {key: sorted(runs[max(runs)]) for key, runs in sorted(by_key.items())}

    # staged --------------------------------------------------------------------
    def staged_dir(self, dataset: str) -> Path:
        return self.root / "staged" / dataset

    def staged_file(self, dataset: str, day: date) -> Path:
        return self.staged_dir(dataset) / f"date={day}" / "part-0.parquet"

    def staged_days(self, dataset: str) -> list[date]:
        folder = self.staged_dir(dataset)
        if not folder.is_dir():
            return []
        days = [
            date.fromisoformat(p.parent.name.removeprefix("date="))
            for p in folder.glob("date=*/part-0.parquet")
        ]
        return sorted(days)

    def staged_glob(self, dataset: str) -> str:
        return str(self.staged_dir(dataset) / "date=*" / "part-0.parquet")

    def staged_ledger_dir(self, dataset: str) -> Path:
        return self.root / "quality" / "staged" / dataset

    def staged_ledger(self, dataset: str, day: date) -> Path:
        """Gate record of one staged partition: its checksum and the gate verdict."""
        return self.staged_ledger_dir(dataset) / f"date={day}.json"

    # quarantine, quality, runs -------------------------------------------------
    def quarantine_file(self, stage: str, dataset: str, day: date | None, run_id: str) -> Path:
        part = f"date={day}" if day else "date=all"
        return self.root / "quarantine" / stage / dataset / part / f"{run_id}.parquet"

    def quality_dir(self, run_id: str) -> Path:
        return self.root / "quality" / run_id

    def quality_file(self, run_id: str, stage: str) -> Path:
        return self.quality_dir(run_id) / f"{stage}.json"

    def run_manifest(self, run_id: str) -> Path:
        return self.root / "runs" / f"{run_id}.json"

    # warehouse and marts -------------------------------------------------------
    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / "tokenrisk.duckdb"

    def published_info(self) -> dict:
        """The publish record (see `published_record`), or {} before the first publish."""
        path = self.published_record
        return json.loads(path.read_text()) if path.exists() else {}

    @property
    def builds_dir(self) -> Path:
        return self.root / "warehouse" / "builds"

    def build_file(self, run_id: str) -> Path:
        return self.builds_dir / f"{run_id}.duckdb"

    def build_ledger(self, run_id: str) -> Path:
        return self.build_file(run_id).with_suffix(".json")

    def builds(self) -> list[Path]:
        """Build attempts, oldest first, as their ledger files (`<run_id>.json`)."""
        return sorted(self.builds_dir.glob("*.json"))

    @property
    def published_record(self) -> Path:
        """What is published: build run id, the models it was built from (fingerprint), gate
        verdict, the file's sha256 (see publish)."""
        return self.root / "warehouse" / "published.json"

    def run_events_dir(self, run_id: str) -> Path:
        """Object stores: one object per manifest update of an Airflow run (no file locks)."""
        return self.root / "runs" / f"{run_id}.events"

    def report_file(self, day: date) -> Path:
        return self.root / "reports" / f"report-{day}.html"

    def mart_file(self, table: str, day: date) -> Path:
        return self.root / "marts" / table / f"date={day}" / "part-0.parquet"

    @property
    def demo_truth_dir(self) -> Path:
        return self.root / "demo_truth"

    def demo_truth_file(self, dataset: str, day: date) -> Path:
        return self.demo_truth_dir / dataset / f"date={day}" / "part-0.parquet"

    # object-store names ---------------------------------------------------------
    # On an object store (pipeline/store.py) a write that spans several objects is committed by
    # the object written last; the data objects it points to have unique names. These are
    # keys relative to the store's prefix; the working copy keeps the local layout above.
    @staticmethod
    def staged_object(dataset: str, day: date, sha256: str) -> str:
        """A staged partition's Parquet, named by its content (its gate record commits it)."""
        return f"staged/{dataset}/date={day}/part-{sha256[:16]}.parquet"

    @staticmethod
    def published_object(sha256: str) -> str:
        """One published warehouse, named by its content (`published.json` commits it)."""
        return f"warehouse/versions/{sha256[:16]}.duckdb"

    def ledger_partition(self, path: Path) -> tuple[str, date] | None:
        """(dataset, day) of a staged gate record path, else None."""
        rel = Path(path).relative_to(self.root).parts
        if len(rel) != 4 or rel[:2] != ("quality", "staged") or not rel[3].startswith("date="):
            return None
        return rel[2], date.fromisoformat(rel[3].removeprefix("date=").removesuffix(".json"))
