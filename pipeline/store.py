"""Object-store data dirs: `--data-dir s3://bucket/prefix` on any S3-compatible store.

The stages keep working on local files: an `s3://` data dir is a local working copy
(`pipeline.working_copy`) that pulls committed objects before a stage reads and pushes what
the stage wrote when it ends. This module holds the parts that talk to the store: the URL,
the credentials and a thin wrapper over pyarrow's S3 file system that turns its errors into
one-line messages.

Endpoint and credentials come only from the standard AWS environment variables
(`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
`AWS_REGION`) or, on Airflow, from a connection (`pipeline.orchestration`); they are never
written to a file, a log line or an error message.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from pipeline.errors import StoreError, UsageError
from pipeline.lake import atomic_path

if TYPE_CHECKING:
    from pipeline.lake import Lake

SCHEME = "s3://"
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
SEGMENT = re.compile(r"^[A-Za-z0-9_=+-][A-Za-z0-9._=+-]{0,254}$")
CHUNK = 1 << 20
WORKERS = 8  # concurrent requests: the work is latency-bound and pyarrow releases the GIL

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class S3Location:
    """A bucket and a key prefix (no leading or trailing slash; may be empty)."""

    bucket: str
    prefix: str

    @property
    def url(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.prefix}".rstrip("/")

    def path(self, key: str = "") -> str:
        """The pyarrow path (`bucket/prefix/key`) of a key relative to the prefix."""
        return "/".join(part for part in (self.bucket, self.prefix, key.strip("/")) if part)


def parse_url(text: str) -> S3Location:
    """Validate `s3://bucket/prefix`; anything else is a one-line usage error."""
    if not text.startswith(SCHEME):
        scheme = text.split("://", 1)[0]
        raise UsageError(
            f"data dir: the scheme {scheme!r}:// is not supported "
            "(use a local path or s3://bucket/prefix)"
        )
    rest = text[len(SCHEME) :]
    if any(c in rest for c in "@?#\\") or any(ord(c) < 32 for c in rest):
        # never echo it: the text may carry credentials (s3://key:secret@bucket)
        raise UsageError(
            "data dir: an s3:// URL is s3://bucket/prefix, without credentials, query or "
            "fragment (credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
        )
    bucket, _, prefix = rest.partition("/")
    if not BUCKET.match(bucket) or ".." in bucket or _is_ip(bucket):
        raise UsageError(
            f"data dir {text!r}: {bucket!r} is not a valid bucket name (3-63 characters: "
            "lower-case letters, digits, '.' and '-', starting and ending with a letter or digit)"
        )
    segments = [s for s in prefix.strip("/").split("/")] if prefix.strip("/") else []
    for segment in segments:
        if not SEGMENT.match(segment):
            raise UsageError(
                f"data dir {text!r}: the prefix segment {segment!r} is not allowed "
                "(letters, digits, '.', '_', '-', '=', '+'; no empty, '.' or '..' segments)"
            )
    return S3Location(bucket, "/".join(segments))


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class S3Credentials:
    """Endpoint, region and keys of the store. The secrets never appear in a repr."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> S3Credentials:
        env = os.environ if env is None else env
        return cls(
            endpoint_url=env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            access_key=env.get("AWS_ACCESS_KEY_ID") or None,
            secret_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
            session_token=env.get("AWS_SESSION_TOKEN") or None,
        )

    def endpoint(self) -> tuple[str, str | None]:
        """(scheme, host[:port]) of the endpoint; (https, None) for AWS itself."""
        if not self.endpoint_url:
            return "https", None
        parts = urlsplit(self.endpoint_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
            raise UsageError(
                "AWS_ENDPOINT_URL must look like http(s)://host[:port] (no credentials in it)"
            )
        if parts.path.strip("/") or parts.query:
            raise UsageError("AWS_ENDPOINT_URL must be http(s)://host[:port], without a path")
        return parts.scheme, parts.netloc

    @property
    def endpoint_name(self) -> str:
        """The endpoint for messages: host and port only."""
        scheme, netloc = self.endpoint()
        return f"{scheme}://{netloc}" if netloc else "AWS S3"


def parallel(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """fn over items on a few threads (requests to the store wait on the network)."""
    items = list(items)
    if len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(items))) as pool:
        return list(pool.map(fn, items))


class ObjectStore:
    """Keys relative to the data dir's prefix, read and written through pyarrow's S3 client."""

    def __init__(self, location: S3Location, credentials: S3Credentials) -> None:
        from pyarrow import fs as pafs

        if not (credentials.access_key and credentials.secret_key):
            raise UsageError(
                f"data dir {location.url}: no credentials; set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (and AWS_ENDPOINT_URL for a store other than AWS)"
            )
        # credentials come from the environment or a connection only: never ask the
        # EC2 instance metadata service (a network call to a link-local address)
        os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
        scheme, netloc = credentials.endpoint()
        self.location = location
        self.endpoint = credentials.endpoint_name
        self.fs = pafs.S3FileSystem(
            access_key=credentials.access_key,
            secret_key=credentials.secret_key,
            session_token=credentials.session_token,
            region=credentials.region or "us-east-1",
            endpoint_override=netloc,
            scheme=scheme,
            allow_delayed_open=True,  # a small object is one PUT, not a multipart upload
            connect_timeout=5,
            request_timeout=60,
            retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=4),
        )

    def __repr__(self) -> str:
        return f"ObjectStore({self.location.url} at {self.endpoint})"

    @contextmanager
    def errors(self, what: str) -> Iterator[None]:
        """pyarrow's OSErrors as one-line messages (FileNotFoundError passes through)."""
        try:
            yield
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise self.translate(exc, what) from None

    def translate(self, exc: OSError, what: str) -> Exception:
        text = " ".join(str(exc).split())
        text = re.sub(r"\s*\(Request ID: [^)]*\)", "", text)
        where = f"object store {self.endpoint}"
        if "NO_SUCH_BUCKET" in text:
            return UsageError(
                f"data dir {self.location.url}: the bucket {self.location.bucket!r} does not "
                f"exist at {self.endpoint} (create it first)"
            )
        if "NETWORK_CONNECTION" in text or "curlCode" in text:
            reason = text.rsplit("curlCode:", 1)[-1].split(";")[0].strip(" ,0123456789")
            return StoreError(f"{where} is unreachable ({reason or 'no connection'}) while {what}")
        if "ACCESS_DENIED" in text or "HTTP status 403" in text or "SIGNATURE" in text.upper():
            return StoreError(
                f"{where} refused the credentials while {what} (check AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, and the bucket policy)"
            )
        return StoreError(f"{where}: {what}: {text}")

    def check(self) -> None:
        """Fail early, in one line, when the bucket is missing or the store unreachable."""
        from pyarrow import fs as pafs

        with self.errors(f"opening {self.location.url}"):
            info = self.fs.get_file_info(self.location.bucket)
        if info.type == pafs.FileType.NotFound:
            raise self.translate(OSError("NO_SUCH_BUCKET"), "opening")

    def list(self, key: str, recursive: bool = False) -> list[str]:
        """The keys of the objects under a folder key (sorted; none: []). Listed sizes are not
        used: some stores (moto) list the size of the upload's chunked encoding."""
        from pyarrow import fs as pafs

        base = self.location.path(key)
        selector = pafs.FileSelector(base, recursive=recursive, allow_not_found=True)
        with self.errors(f"listing {key}/"):
            infos = self.fs.get_file_info(selector)
        start = len(self.location.path()) + 1
        return sorted(info.path[start:] for info in infos if info.type == pafs.FileType.File)

    def list_times(self, key: str) -> dict[str, float]:
        """Objects under a folder key with their modification time (epoch seconds)."""
        from pyarrow import fs as pafs

        selector = pafs.FileSelector(self.location.path(key), allow_not_found=True)
        with self.errors(f"listing {key}/"):
            infos = self.fs.get_file_info(selector)
        start = len(self.location.path()) + 1
        return {
            info.path[start:]: info.mtime.timestamp()
            for info in infos
            if info.type == pafs.FileType.File
        }

    def exists(self, key: str) -> bool:
        from pyarrow import fs as pafs

        with self.errors(f"looking up {key}"):
            return self.fs.get_file_info(self.location.path(key)).type == pafs.FileType.File

    def read(self, key: str) -> bytes | None:
        """A small object's bytes, or None when it does not exist."""
        try:
            with (
                self.errors(f"reading {key}"),
                self.fs.open_input_stream(self.location.path(key)) as stream,
            ):
                return stream.read()
        except FileNotFoundError:
            return None

    def download(self, key: str, target: Path) -> str:
        """Copy an object to `target` (atomically); returns its sha256.
        FileNotFoundError when the object does not exist."""
        digest = hashlib.sha256()
        with (
            atomic_path(target) as tmp,
            open(tmp, "wb") as out,
            self.errors(f"downloading {key}"),
            self.fs.open_input_stream(self.location.path(key)) as stream,
        ):
            while block := stream.read(CHUNK):
                digest.update(block)
                out.write(block)
        return digest.hexdigest()

    def upload(self, source: Path, key: str) -> None:
        """Write a local file as one object: it becomes visible whole, when complete."""
        with (
            self.errors(f"uploading {key}"),
            open(source, "rb") as fh,
            self.fs.open_output_stream(self.location.path(key)) as out,
        ):
            while block := fh.read(CHUNK):
                out.write(block)

    def write(self, key: str, data: bytes) -> None:
        with (
            self.errors(f"writing {key}"),
            self.fs.open_output_stream(self.location.path(key)) as out,
        ):
            out.write(data)

    def copy(self, source: str, target: str) -> None:
        """Server-side copy (one request; the target changes atomically)."""
        with self.errors(f"copying {source} to {target}"):
            self.fs.copy_file(self.location.path(source), self.location.path(target))

    def delete(self, key: str) -> None:
        try:
            with self.errors(f"deleting {key}"):
                self.fs.delete_file(self.location.path(key))
        except FileNotFoundError:
            pass


def default_work_dir(location: S3Location) -> Path:
    """TOKENRISK_CACHE_DIR, else ~/.cache/tokenrisk/<hash of the URL> (XDG_CACHE_HOME)."""
    from pipeline.config import Settings

    configured = Settings().cache_dir
    if configured is not None:
        return Path(configured)
    base = Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser()
    return base / "tokenrisk" / hashlib.sha256(location.url.encode()).hexdigest()[:16]


def open_remote(
    lake_cls: type[Lake],
    url: str,
    *,
    work_dir: Path | None = None,
    credentials: S3Credentials | None = None,
) -> Lake:
    """The lake of an `s3://` data dir: a checked store and a locked local working copy."""
    from pipeline.working_copy import WorkingCopy

    location = parse_url(url)
    store = ObjectStore(location, credentials or S3Credentials.from_env())
    store.check()
    root = (work_dir or default_work_dir(location)).expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise UsageError(f"working copy {root} exists and is not a directory")
    copy = WorkingCopy(store, root)
    lake = lake_cls(root, sync=copy)
    copy.lake = lake
    return lake
