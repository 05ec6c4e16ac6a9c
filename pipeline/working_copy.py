"""The local working copy of an `s3://` data dir, synced around every stage.

The stages read and write the working copy exactly as a local data dir. Before a stage reads,
it pulls what it needs, committed objects only; when a stage ends, everything it wrote is
pushed. The store is the truth: a pull also drops local files of its scope that the store
does not have (a crashed command's leftovers), except files this process wrote and has not
pushed yet.

A store has no atomic rename, so a write spanning several objects is committed by the small
object written last, and readers follow it:

- staged partition: the Parquet under a name of its content
  (`staged/<dataset>/date=<day>/part-<sha>.parquet`), then its gate record
  (`quality/staged/<dataset>/date=<day>.json`, with the sha256): the record is the commit;
- build: `warehouse/builds/<run_id>.duckdb`, then its ledger `<run_id>.json`;
- published warehouse: `warehouse/versions/<sha>.duckdb`, then `warehouse/published.json`
  (with the sha256), then a server-side copy to `warehouse/tokenrisk.duckdb` for readers that
  want a fixed name;
- raw responses are write-once: an existing key is never written again.

Everything else is one object per file, and a PUT is all-or-nothing.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import StoreError
from pipeline.failpoints import failpoint
from pipeline.lake import Sync, sha256_file, write_bytes_atomic
from pipeline.store import ObjectStore, parallel

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pipeline.lake import Lake

log = logging.getLogger("tokenrisk.store")

LOCK = ".tokenrisk.lock"
PUBLISHED = "warehouse/published.json"
STABLE_WAREHOUSE = "warehouse/tokenrisk.duckdb"
KEEP_VERSIONS = 3  # published warehouses kept besides the current one (readers mid-download)
Stat = tuple[int, int, int]


def _stat(path: Path) -> Stat:
    st = path.stat()
    return (st.st_size, st.st_mtime_ns, st.st_ino)


class WorkingCopy(Sync):
    """A local folder mirroring the committed state of a store, one command at a time."""

    lake: Lake  # set by pipeline.store.open_remote

    def __init__(self, store: ObjectStore, root: Path) -> None:
        self.store = store
        self.url = store.location.url
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._lock = open(root / LOCK, "a")  # noqa: SIM115 (held for the process's life)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning("waiting for another tokenrisk command using the working copy %s", root)
            fcntl.flock(self._lock, fcntl.LOCK_EX)
        self._seen = self._scan()

    # -- bookkeeping: what this process wrote is what differs from what it saw --------------
    def _scan(self) -> dict[str, Stat]:
        out = {}
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                if name.startswith(".") or name.endswith(".wal"):
                    continue  # temp files and the lock
                path = Path(folder) / name
                out[path.relative_to(self.root).as_posix()] = _stat(path)
        return out

    def _key(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _dirty(self, path: Path) -> bool:
        return path.exists() and self._seen.get(self._key(path)) != _stat(path)

    def _remember(self, *paths: Path) -> None:
        for path in paths:
            if path.exists():
                self._seen[self._key(path)] = _stat(path)

    def _drop(self, *paths: Path) -> None:
        """Remove local files the store does not have (never this process's unpushed ones)."""
        for path in paths:
            if path.exists() and not self._dirty(path):
                log.info("working copy: dropping %s (not committed in the store)", path)
                path.unlink()
                self._seen.pop(self._key(path), None)

    def _fetch(self, key: str, target: Path, sha256: str | None = None) -> None:
        digest = self.store.download(key, target)
        if sha256 and digest != sha256:
            target.unlink(missing_ok=True)
            raise StoreError(
                f"object store: {self.url}/{key} has sha256 {digest[:12]}..., its record says "
                f"{sha256[:12]}...; not using it"
            )
        self._remember(target)

    def _put_if_changed(self, target: Path, data: bytes) -> None:
        if not target.exists() or target.read_bytes() != data:
            write_bytes_atomic(target, data)
        self._remember(target)

    # -- pulls ----------------------------------------------------------------------------
    def pull_raw(self, pairs: Iterable[tuple[str, str]], days: Iterable[date]) -> None:
        days = list(days)
        folders = [self.lake.raw_dir(s, d, day) for s, d in pairs for day in days]
        listings = parallel(lambda f: self.store.list(self._key(f)), folders)
        todo = []
        for folder, remote in zip(folders, listings, strict=True):
            # raw objects are write-once: a name the working copy has is the same response
            local = {self._key(p): p for p in folder.glob("*.json.gz")}
            todo += [key for key in remote if key not in local]
            self._drop(*(p for key, p in local.items() if key not in remote))
        parallel(lambda key: self._fetch(key, self.root / key), todo)
        log.info("pulled %d raw response(s) from %s", len(todo), self.url)

    def pull_staged(
        self, datasets: Iterable[str], days: Iterable[date] | None = None, since: date | None = None
    ) -> None:
        datasets = list(datasets)
        wanted = set(days) if days is not None else None

        def in_scope(day: date) -> bool:
            return (wanted is None or day in wanted) and (since is None or day >= since)

        folders = [self.lake.staged_ledger_dir(ds) for ds in datasets]
        committed: dict[tuple[str, date], str] = {}
        for listing in parallel(lambda f: self.store.list(self._key(f)), folders):
            for key in listing:
                partition = self.lake.ledger_partition(self.root / key)
                if partition and in_scope(partition[1]):
                    committed[partition] = key
        pulled = sum(parallel(self._pull_partition, sorted(committed)))
        for dataset in datasets:  # local partitions the store never committed
            for day in self.lake.staged_days(dataset):
                if in_scope(day) and (dataset, day) not in committed:
                    self._drop(
                        self.lake.staged_file(dataset, day), self.lake.staged_ledger(dataset, day)
                    )
        log.info("pulled %d of %d staged partition(s) from %s", pulled, len(committed), self.url)

    def _pull_partition(self, partition: tuple[str, date]) -> int:
        """Bring one committed partition into the working copy; 1 if it was downloaded."""
        dataset, day = partition
        ledger, part = self.lake.staged_ledger(dataset, day), self.lake.staged_file(dataset, day)
        if self._dirty(ledger) or self._dirty(part):
            return 0  # written here and not pushed yet: ours is newer
        for _ in range(3):
            data = self.store.read(self._key(ledger))
            if data is None:
                return 0
            record = json.loads(data)
            sha, stamp = record["sha256"], record.get("stamp") or {}
            if part.exists() and (_stamp(part) == stamp or sha256_file(part) == sha):
                self._put_if_changed(ledger, data)
                self._remember(part)
                return 0
            try:
                self._fetch(self.lake.staged_object(dataset, day, sha), part, sha)
            except FileNotFoundError:
                continue  # superseded while we read its record: read the record again
            if stamp.get("mtime_ns"):
                # the bytes are the ones gated: give them the recorded stamp, so that the
                # build trusts them without hashing (pipeline.stages.build.unverified_days)
                os.utime(part, ns=(stamp["mtime_ns"], stamp["mtime_ns"]))
                self._remember(part)
            self._put_if_changed(ledger, data)
            return 1
        raise StoreError(f"object store: staged {dataset} {day} keeps changing; try again")

    def pull_published(self) -> None:
        target, record_path = self.lake.warehouse, self.lake.published_record
        if self._dirty(target) or self._dirty(record_path):
            return
        for _ in range(3):
            data = self.store.read(PUBLISHED)
            if data is None:
                self._drop(target, record_path)
                return
            record = json.loads(data)
            sha = record["sha256"]
            if not (target.exists() and sha256_file(target) == sha):
                try:
                    self._fetch(self.lake.published_object(sha), target, sha)
                except FileNotFoundError:
                    continue  # replaced by a newer publish meanwhile
                log.info("pulled the published warehouse %s from %s", sha[:12], self.url)
            self._put_if_changed(record_path, data)
            run_id = record.get("run_id")
            if run_id:  # provenance: the run's manifest and gate results
                self.pull_file(self.lake.run_manifest(run_id))
                self.pull_tree(self.lake.quality_dir(run_id))
            return
        raise StoreError(f"object store: {self.url}/{PUBLISHED} keeps changing; try again")

    def pull_build(self, run_id: str | None = None) -> None:
        folder = self.lake.builds_dir
        remote = {Path(k).name for k in self.store.list(self._key(folder)) if k.endswith(".json")}
        if run_id is None:
            for ledger in self.lake.builds():
                if ledger.name not in remote:
                    self._drop(ledger, ledger.with_suffix(".duckdb"))
            if not remote:
                return
            run_id = max(remote).removesuffix(".json")
        ledger, target = self.lake.build_ledger(run_id), self.lake.build_file(run_id)
        if self._dirty(ledger) or self._dirty(target):
            return
        data = self.store.read(self._key(ledger))
        if data is None:
            return
        record = json.loads(data)
        if record.get("gate") == "passed":
            sha = record.get("sha256")
            if not (target.exists() and sha and sha256_file(target) == sha):
                self._fetch(self._key(target), target, sha)
        self._put_if_changed(ledger, data)

    def pull_file(self, path: Path) -> None:
        if self._dirty(path):
            return
        data = self.store.read(self._key(path))
        if data is not None:
            self._put_if_changed(path, data)

    def pull_tree(self, path: Path) -> None:
        """Every object under a folder (small ones: gate results, the demo's truth). Listed
        sizes are not compared: some stores (moto) list the size of the upload's encoding."""
        remote = self.store.list(self._key(path), recursive=True)
        todo = [key for key in remote if not self._dirty(self.root / key)]
        parallel(lambda key: self._fetch(key, self.root / key), todo)

    # -- push -------------------------------------------------------------------------------
    def push(self) -> None:
        """Upload what changed since the last pull or push, each kind in its commit order."""
        now = self._scan()
        changed = sorted(k for k, st in now.items() if self._seen.get(k) != st)
        if not changed:
            return
        done: list[str] = []
        groups = _group(changed)
        done += self._push_raw(groups["raw"])
        done += self._push_plain(groups["early"])
        done += self._push_staged(groups["staged"])
        done += self._push_builds(groups["builds"])
        done += self._push_published(groups["published"])
        done += self._push_plain(groups["late"])
        for key in done:
            self._seen[key] = now[key]
        log.info("pushed %d file(s) to %s", len(done), self.url)

    def _push_plain(self, keys: list[str]) -> list[str]:
        parallel(lambda key: self.store.upload(self.root / key, key), keys)
        return keys

    def _push_raw(self, keys: list[str]) -> list[str]:
        """Raw responses are write-once: a key the store has is never written again."""
        folders = sorted({str(Path(k).parent) for k in keys})
        existing: set[str] = set()
        for listing in parallel(self.store.list, folders):
            existing |= set(listing)
        clash = [k for k in keys if k in existing]
        if clash:
            log.warning("raw objects exist and are never overwritten: %s", clash[:3])
        self._push_plain([k for k in keys if k not in existing])
        return keys

    def _push_staged(self, keys: list[str]) -> list[str]:
        """Data objects first (under their content's name), then the gate records that commit
        them, then the superseded objects of those partitions go."""
        partitions = set()
        for key in keys:
            path = self.root / key
            found = self.lake.ledger_partition(path) if key.startswith("quality/") else None
            if found is None and key.startswith("staged/"):
                dataset, part = path.relative_to(self.root / "staged").parts[:2]
                found = (dataset, date.fromisoformat(part.removeprefix("date=")))
            if found:
                partitions.add(found)
        ready = []
        for dataset, day in sorted(partitions):
            ledger = self.lake.staged_ledger(dataset, day)
            part = self.lake.staged_file(dataset, day)
            record = json.loads(ledger.read_text()) if ledger.exists() else {}
            if not part.exists() or record.get("sha256") != sha256_file(part):
                log.warning("staged %s %s: no gate record of these bytes; not pushed", dataset, day)
                continue
            ready.append((dataset, day, record["sha256"], ledger, part))

        def upload_data(item) -> str:
            dataset, day, sha, _, part = item
            key = self.lake.staged_object(dataset, day, sha)
            existing = self.store.list(str(Path(key).parent))
            if key not in existing:
                self.store.upload(part, key)
            return key

        data_keys = parallel(upload_data, ready)

        def commit(item) -> None:
            failpoint("store.before_staged_commit")
            self.store.upload(item[3], self._key(item[3]))

        parallel(commit, ready)

        def drop_superseded(key: str) -> None:
            for old in self.store.list(str(Path(key).parent)):
                if old != key and Path(old).name.startswith("part-"):
                    self.store.delete(old)

        parallel(drop_superseded, data_keys)
        pushed = {self._key(p) for item in ready for p in item[3:]}
        return [k for k in keys if k in pushed]

    def _push_builds(self, keys: list[str]) -> list[str]:
        files = [k for k in keys if not k.endswith(".json")]
        self._push_plain(files)  # build files before the ledgers that name them
        self._push_plain([k for k in keys if k.endswith(".json")])
        return keys

    def _push_published(self, keys: list[str]) -> list[str]:
        if PUBLISHED not in keys:
            return keys  # the file without a new record: nothing to commit yet
        record = json.loads((self.root / PUBLISHED).read_text())
        sha = record["sha256"]
        if sha256_file(self.lake.warehouse) != sha:
            log.warning("the publish record does not describe the warehouse file; not pushed")
            return []
        key = self.lake.published_object(sha)
        if not self.store.exists(key):
            self.store.upload(self.lake.warehouse, key)
        failpoint("store.before_publish_commit")
        self.store.upload(self.root / PUBLISHED, PUBLISHED)
        self.store.copy(key, STABLE_WAREHOUSE)
        versions = self.store.list_times(str(Path(key).parent))
        old = sorted((k for k in versions if k != key), key=versions.get, reverse=True)
        parallel(self.store.delete, old[KEEP_VERSIONS:])
        log.info("published %s as %s/%s", sha[:12], self.url, key)
        return keys

    def prune_builds(self, keep: int) -> None:
        folder = self._key(self.lake.builds_dir)
        ledgers = sorted(k for k in self.store.list(folder) if k.endswith(".json"))
        for key in ledgers[:-keep] if keep else ledgers:
            self.store.delete(key)  # the ledger first: the build is no longer committed
            self.store.delete(key.removesuffix(".json") + ".duckdb")

    def close(self) -> None:
        self._lock.close()


def _stamp(path: Path) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _group(keys: list[str]) -> dict[str, list[str]]:
    """Changed files by commit step: raw, early plain files, staged partitions, builds,
    the published warehouse, then the mart export, gate results and manifests."""
    groups: dict[str, list[str]] = {
        name: [] for name in ("raw", "early", "staged", "builds", "published", "late")
    }
    for key in keys:
        top = key.split("/", 1)[0]
        if top == "raw":
            groups["raw"].append(key)
        elif top in ("demo_truth", "quarantine"):
            groups["early"].append(key)
        elif top == "staged" or key.startswith("quality/staged/"):
            groups["staged"].append(key)
        elif key.startswith("warehouse/builds/"):
            groups["builds"].append(key)
        elif top == "warehouse":
            groups["published"].append(key)
        else:
            groups["late"].append(key)
    return groups
