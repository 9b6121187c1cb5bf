"""Files of the lake, on a local disk or on S3, behind one small interface.

Delta tables go through Sail and delta-rs, which reach object storage themselves. Everything else
the lake keeps as plain files (landing deliveries, the audit trail, logs, Data Docs, the published
warehouse, the writer lock) goes through a ``FileSystem``, addressed by the same strings the
``Lake`` hands out: a local path or an ``s3://bucket/key`` URI.

What each operation promises, on both:

- ``write_bytes`` / ``upload``: a reader sees the old object or the new one whole, never a part
  (local: a temporary file renamed over the target; S3: a PUT, or a multipart upload, which becomes
  visible only when it completes).
- ``put_if_absent``: creates the object only if nothing is there (S3: ``If-None-Match: *``; local:
  a hard link of a finished temporary file, which fails if the name exists).
- ``put_if_match`` / ``delete_if_match``: replaces or deletes the object only if it is still the
  version the caller saw (S3: ``If-Match`` on the ETag; local: the content digest compared under an
  ``flock``).

S3 credentials, region and endpoint come from the usual AWS variables (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``, ``AWS_ENDPOINT_URL``) through boto3's own chain; this
module never reads or logs them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import urlparse

from omnilake.errors import StorageError

log = logging.getLogger(__name__)

HASH_CHUNK = 1 << 20
# boto3 switches to a multipart upload above this size; each part is retried on its own.
_MULTIPART_THRESHOLD = 64 << 20


@dataclass(frozen=True)
class FileInfo:
    """One object: its full address, size, version token and the storage's modification time."""

    path: str
    size: int
    version: str  # S3: the ETag; local: the content's SHA-256 (computed only by ``stat``)
    modified: datetime

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]


class FileSystem(Protocol):
    """The file operations the lake needs beyond Delta tables (see the module docstring)."""

    def join(self, base: str, *parts: str) -> str: ...
    def exists(self, path: str) -> bool: ...
    def is_dir(self, path: str) -> bool: ...
    def stat(self, path: str) -> FileInfo | None: ...
    def list_dir(self, path: str) -> tuple[list[str], list[FileInfo]]: ...
    def walk(self, path: str) -> Iterator[FileInfo]: ...
    def open_read(self, path: str) -> IO[bytes]: ...
    def read_bytes(self, path: str) -> bytes: ...
    def write_bytes(self, path: str, data: bytes) -> None: ...
    def upload(self, local: Path, path: str) -> None: ...
    def download(self, path: str, local: Path) -> None: ...
    def put_if_absent(self, path: str, data: bytes) -> str | None: ...
    def put_if_match(self, path: str, data: bytes, version: str) -> str | None: ...
    def delete(self, path: str) -> None: ...
    def delete_if_match(self, path: str, version: str) -> bool: ...
    def sha256(self, path: str) -> str: ...
    def server_time(self, path: str) -> datetime: ...


def sha256_stream(handle: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := handle.read(HASH_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


# --- local ---------------------------------------------------------------------------------------


class LocalFileSystem:
    """The lake on a local (or mounted) disk."""

    def join(self, base: str, *parts: str) -> str:
        return str(Path(base, *parts))

    def exists(self, path: str) -> bool:
        return Path(path).exists()

    def is_dir(self, path: str) -> bool:
        return Path(path).is_dir()

    def stat(self, path: str) -> FileInfo | None:
        target = Path(path)
        if not target.is_file():
            return None
        return FileInfo(path, target.stat().st_size, self.sha256(path), _mtime(target))

    def list_dir(self, path: str) -> tuple[list[str], list[FileInfo]]:
        """(sub-folder paths, files) directly under ``path``, each sorted by name."""
        folder = Path(path)
        if not folder.is_dir():
            return [], []
        entries = sorted(folder.iterdir())
        dirs = [str(p) for p in entries if p.is_dir()]
        files = [FileInfo(str(p), p.stat().st_size, "", _mtime(p)) for p in entries if p.is_file()]
        return dirs, files

    def walk(self, path: str) -> Iterator[FileInfo]:
        """Every file under ``path``, in a stable (sorted) order."""
        root = Path(path)
        if not root.is_dir():
            return
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            yield FileInfo(str(file), file.stat().st_size, "", _mtime(file))

    def open_read(self, path: str) -> IO[bytes]:
        return Path(path).open("rb")

    def read_bytes(self, path: str) -> bytes:
        return Path(path).read_bytes()

    def write_bytes(self, path: str, data: bytes) -> None:
        partial = self._partial(path)
        partial.write_bytes(data)
        os.replace(partial, path)

    def upload(self, local: Path, path: str) -> None:
        partial = self._partial(path)
        shutil.copyfile(local, partial)
        os.replace(partial, path)

    def download(self, path: str, local: Path) -> None:
        local.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, local)

    def put_if_absent(self, path: str, data: bytes) -> str | None:
        partial = self._partial(path)
        partial.write_bytes(data)
        try:
            os.link(partial, path)  # atomic, and refuses an existing name
        except FileExistsError:
            return None
        finally:
            partial.unlink(missing_ok=True)
        return hashlib.sha256(data).hexdigest()

    def put_if_match(self, path: str, data: bytes, version: str) -> str | None:
        with self._guard(path):
            if not Path(path).is_file() or self.sha256(path) != version:
                return None
            self.write_bytes(path, data)
        return hashlib.sha256(data).hexdigest()

    def delete(self, path: str) -> None:
        Path(path).unlink(missing_ok=True)

    def delete_if_match(self, path: str, version: str) -> bool:
        with self._guard(path):
            if not Path(path).is_file() or self.sha256(path) != version:
                return False
            Path(path).unlink()
        return True

    def sha256(self, path: str) -> str:
        with Path(path).open("rb") as handle:
            return sha256_stream(handle)

    def server_time(self, path: str) -> datetime:
        return datetime.now(UTC)

    @staticmethod
    def _partial(path: str) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.partial")

    @staticmethod
    @contextlib.contextmanager
    def _guard(path: str) -> Iterator[None]:
        """Serialise compare-and-swap on ``path`` among local processes."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.with_name(f".{target.name}.cas").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


# --- S3 ------------------------------------------------------------------------------------------

_PRECONDITION_CODES = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}
_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` → (bucket, key); ``s3a://`` is the same store."""
    parsed = urlparse(uri)
    if parsed.scheme not in ("s3", "s3a") or not parsed.netloc:
        raise StorageError(f"{uri!r} is not an s3://bucket/key URI")
    return parsed.netloc, parsed.path.lstrip("/")


class S3FileSystem:
    """The lake in an S3 (or S3-compatible) bucket, through boto3.

    Keys are flat: a "folder" is a key prefix ending in ``/`` and exists when an object is under it.
    """

    def __init__(self, client=None) -> None:
        self._client = client

    @property
    def client(self):
        if self._client is None:
            self._client = _s3_client()
        return self._client

    def join(self, base: str, *parts: str) -> str:
        return "/".join([base.rstrip("/"), *parts])

    def exists(self, path: str) -> bool:
        return self.stat(path) is not None or self.is_dir(path)

    def is_dir(self, path: str) -> bool:
        bucket, key = split_s3(path)
        prefix = key.rstrip("/") + "/" if key else ""
        response = self._call("list_objects_v2", path, Bucket=bucket, Prefix=prefix, MaxKeys=1)
        return response.get("KeyCount", 0) > 0

    def stat(self, path: str) -> FileInfo | None:
        bucket, key = split_s3(path)
        try:
            head = self.client.head_object(Bucket=bucket, Key=key)
        except self._errors() as exc:
            if _code(exc) in _MISSING_CODES:
                return None
            raise _storage_error(exc, "reading", path) from exc
        return FileInfo(path, head["ContentLength"], head["ETag"], head["LastModified"])

    def list_dir(self, path: str) -> tuple[list[str], list[FileInfo]]:
        bucket, key = split_s3(path)
        prefix = key.rstrip("/") + "/" if key else ""
        dirs: list[str] = []
        files: list[FileInfo] = []
        for page in self._pages(path, Bucket=bucket, Prefix=prefix, Delimiter="/"):
            dirs.extend(f"s3://{bucket}/{p['Prefix'].rstrip('/')}" for p in page.get("CommonPrefixes", []))
            files.extend(self._info(bucket, item) for item in page.get("Contents", []))
        return sorted(dirs), sorted(files, key=lambda f: f.path)

    def walk(self, path: str) -> Iterator[FileInfo]:
        bucket, key = split_s3(path)
        prefix = key.rstrip("/") + "/" if key else ""
        for page in self._pages(path, Bucket=bucket, Prefix=prefix):  # keys come in UTF-8 order
            for item in page.get("Contents", []):
                yield self._info(bucket, item)

    def open_read(self, path: str) -> IO[bytes]:
        bucket, key = split_s3(path)
        try:
            return self.client.get_object(Bucket=bucket, Key=key)["Body"]
        except self._errors() as exc:
            raise _storage_error(exc, "reading", path) from exc

    def read_bytes(self, path: str) -> bytes:
        with contextlib.closing(self.open_read(path)) as body:
            return body.read()

    def write_bytes(self, path: str, data: bytes) -> None:
        bucket, key = split_s3(path)
        self._call("put_object", path, Bucket=bucket, Key=key, Body=data)

    def upload(self, local: Path, path: str) -> None:
        from boto3.s3.transfer import TransferConfig

        bucket, key = split_s3(path)
        try:
            self.client.upload_file(
                str(local), bucket, key, Config=TransferConfig(multipart_threshold=_MULTIPART_THRESHOLD)
            )
        except (*self._errors(), OSError) as exc:
            raise _storage_error(exc, "uploading to", path) from exc

    def download(self, path: str, local: Path) -> None:
        bucket, key = split_s3(path)
        local.parent.mkdir(parents=True, exist_ok=True)
        partial = local.with_name(f".{local.name}.{uuid.uuid4().hex[:12]}.partial")
        try:
            self.client.download_file(bucket, key, str(partial))
            os.replace(partial, local)
        except (*self._errors(), OSError) as exc:
            partial.unlink(missing_ok=True)
            raise _storage_error(exc, "downloading", path) from exc

    def put_if_absent(self, path: str, data: bytes) -> str | None:
        return self._conditional_put(path, data, IfNoneMatch="*")

    def put_if_match(self, path: str, data: bytes, version: str) -> str | None:
        return self._conditional_put(path, data, IfMatch=version)

    def delete(self, path: str) -> None:
        bucket, key = split_s3(path)
        self._call("delete_object", path, Bucket=bucket, Key=key)

    def delete_if_match(self, path: str, version: str) -> bool:
        bucket, key = split_s3(path)
        try:
            self.client.delete_object(Bucket=bucket, Key=key, IfMatch=version)
        except self._errors() as exc:
            if _code(exc) in _PRECONDITION_CODES or _code(exc) in _MISSING_CODES:
                return False
            raise _storage_error(exc, "deleting", path) from exc
        return True

    def sha256(self, path: str) -> str:
        with contextlib.closing(self.open_read(path)) as body:
            return sha256_stream(body)

    def server_time(self, path: str) -> datetime:
        """The storage's own clock (the ``Date`` of a response), so leases do not depend on ours."""
        bucket, _ = split_s3(path)
        response = self._call("list_objects_v2", path, Bucket=bucket, Prefix="", MaxKeys=0)
        from email.utils import parsedate_to_datetime

        return parsedate_to_datetime(response["ResponseMetadata"]["HTTPHeaders"]["date"])

    # internals

    def _conditional_put(self, path: str, data: bytes, **condition: str) -> str | None:
        bucket, key = split_s3(path)
        try:
            return self.client.put_object(Bucket=bucket, Key=key, Body=data, **condition)["ETag"]
        except self._errors() as exc:
            if _code(exc) in _PRECONDITION_CODES or ("IfMatch" in condition and _code(exc) in _MISSING_CODES):
                return None
            raise _storage_error(exc, "writing", path) from exc

    def _pages(self, path: str, **kwargs) -> Iterator[dict]:
        try:
            yield from self.client.get_paginator("list_objects_v2").paginate(**kwargs)
        except self._errors() as exc:
            raise _storage_error(exc, "listing", path) from exc

    def _call(self, operation: str, path: str, **kwargs) -> dict:
        try:
            return getattr(self.client, operation)(**kwargs)
        except self._errors() as exc:
            raise _storage_error(exc, operation.split("_")[0] + "ing", path) from exc

    @staticmethod
    def _info(bucket: str, item: dict) -> FileInfo:
        return FileInfo(f"s3://{bucket}/{item['Key']}", item["Size"], item["ETag"], item["LastModified"])

    @staticmethod
    def _errors() -> tuple[type[Exception], ...]:
        from botocore.exceptions import BotoCoreError, ClientError

        return (ClientError, BotoCoreError)


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    error = response.get("Error", {})
    return str(error.get("Code") or response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


def _storage_error(exc: Exception, doing: str, path: str) -> StorageError:
    """One line naming the object and the store's answer (never the credentials)."""
    code = _code(exc)
    reason = f"{code}: " if code else ""
    message = (
        getattr(exc, "response", {}).get("Error", {}).get("Message") if hasattr(exc, "response") else None
    )
    return StorageError(f"object storage failed {doing} {path}: {reason}{message or type(exc).__name__}")


@cache
def _s3_client():
    """One client per process; boto3 reads the AWS variables (and AWS_ENDPOINT_URL) itself."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3", config=Config(retries={"max_attempts": 5, "mode": "standard"})
    )


def reset_clients() -> None:
    """Forget the cached S3 client (tests point the AWS variables at a new server)."""
    _s3_client.cache_clear()


def upload_tree(local: Path, target: str) -> int:
    """Copy every file under the local folder ``local`` to the same relative paths under
    ``target``, each atomically; returns how many."""
    fs = filesystem_for(target)
    count = 0
    for file in sorted(p for p in Path(local).rglob("*") if p.is_file()):
        fs.upload(file, fs.join(target, *file.relative_to(local).parts))
        count += 1
    return count


def append_text(path: str, text: str) -> str:
    """Append ``text`` to a log file (object storage has no append: the object is rewritten)."""
    fs = filesystem_for(path)
    existing = fs.read_bytes(path) if fs.stat(path) is not None else b""
    fs.write_bytes(path, existing + text.encode("utf-8"))
    return path


_LOCAL = LocalFileSystem()
_S3 = S3FileSystem()


def filesystem_for(path: str | os.PathLike) -> FileSystem:
    """The file system that holds ``path`` (a local path or an s3:// URI)."""
    scheme = urlparse(str(path)).scheme
    if scheme in ("s3", "s3a"):
        return _S3
    if scheme in ("", "file") or len(scheme) == 1:
        return _LOCAL
    raise StorageError(f"{path}: only local paths and s3:// URIs are supported for lake files")
