"""Transient folders of the lake (ingestion staging, silver scratch): where Spark can reach them,
removed when the step ends, and swept by age when a killed run left them behind.

Bronze ingestion stages each landing file as Parquet on this machine (pure Python, before Spark).
On a local lake that folder is in the lake and Spark reads it in place. On an object-store lake the
engine may run on other machines (``SPARK_REMOTE``), which cannot see this machine's disk, so each
file Spark must read is uploaded to the same relative path under ``<lake>/<parts>`` and Spark is
given its URI; what Spark writes for itself there goes to the store too. ``remove`` deletes both
copies; ``sweep_stale`` removes what a killed run left behind, on both, by age (on an object store
a folder has no time of its own: its age is that of its newest object).
"""

from __future__ import annotations

import logging
import shutil
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from omnilake.errors import StorageError
from omnilake.settings import LakeRoot
from omnilake.storage.filesystem import S3FileSystem, filesystem_for, split_s3
from omnilake.storage.local import local_dir

log = logging.getLogger(__name__)

# A live run's transient folder is minutes old; one older than this was left by a killed run.
STALE_SECONDS = 12 * 3600
_DELETE_BATCH = 1000  # S3 DeleteObjects takes at most 1000 keys per request


class Staging:
    """One run's staging folder ``<parts>`` of a lake (e.g. ``_ops/staging/<batch id>``)."""

    def __init__(self, root: LakeRoot, *parts: str) -> None:
        self.local = local_dir(root, *parts)
        self.remote = None if root.is_local else root.join(*parts)
        self._on_store = False  # anything put under the lake yet (else ``remove`` need not list it)

    def shared(self, path: Path) -> str:
        """Where Spark reads the local staging file ``path``: the file itself on a local lake, else
        its copy under the lake, uploaded now (after the file is final)."""
        if self.remote is None:
            return str(path)
        target = "/".join([self.remote, *path.relative_to(self.local).parts])
        self._on_store = True
        filesystem_for(target).upload(path, target)
        return target

    def for_spark(self, name: str) -> str:
        """A location in this staging folder for Spark to write and read back itself."""
        if self.remote is None:
            return str(self.local / name)
        self._on_store = True
        return f"{self.remote}/{name}"

    def remove(self) -> None:
        """Delete the staging folder, the local one and its copy under the lake."""
        shutil.rmtree(self.local, ignore_errors=True)
        if self.remote is not None and self._on_store:
            remove_tree(self.remote)


def remove_tree(location: str) -> None:
    """Delete every file under a local folder or an object-store prefix."""
    filesystem = filesystem_for(location)
    if isinstance(filesystem, S3FileSystem):
        _delete_objects(filesystem, [info.path for info in filesystem.walk(location)])
    else:
        shutil.rmtree(location, ignore_errors=True)


def sweep_stale(
    root: LakeRoot, *parts: str, older_than: float = STALE_SECONDS, now: datetime | None = None
) -> list[str]:
    """Remove the sub-folders of ``<parts>`` (one per run) whose newest file is older than
    ``older_than`` seconds, in the local folder and, on an object-store lake, under the lake.
    Returns the names removed. ``now`` is for tests."""
    cutoff = (now or datetime.now(UTC)).timestamp() - older_than
    removed = _sweep_local(local_dir(root, *parts), cutoff)
    if not root.is_local:
        removed += _sweep_store(root.join(*parts), cutoff)
    if removed:
        log.info("removed from %s what killed runs left: %s", "/".join(parts), ", ".join(sorted(removed)))
    return sorted(set(removed))


def _sweep_local(folder: Path, cutoff: float) -> list[str]:
    if not folder.is_dir():
        return []
    removed = []
    for child in folder.iterdir():
        entries = [child, *child.rglob("*")] if child.is_dir() else [child]
        try:
            newest = max(p.stat().st_mtime for p in entries)
        except FileNotFoundError:  # removed meanwhile
            continue
        if newest < cutoff:
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
            removed.append(child.name)
    return removed


def _sweep_store(prefix: str, cutoff: float) -> list[str]:
    """Object stores have no folder times: a run's folder is as old as its newest object."""
    filesystem = filesystem_for(prefix)
    by_folder: dict[str, list] = defaultdict(list)
    base = prefix.rstrip("/") + "/"
    for info in filesystem.walk(prefix):
        by_folder[info.path[len(base) :].split("/", 1)[0]].append(info)
    stale = {
        name: infos
        for name, infos in by_folder.items()
        if max(i.modified.timestamp() for i in infos) < cutoff
    }
    _delete_objects(filesystem, [i.path for infos in stale.values() for i in infos])
    return list(stale)


def _delete_objects(filesystem: S3FileSystem, uris: list[str]) -> None:
    """Delete objects in batches (one request per thousand keys, not one per key)."""
    by_bucket: dict[str, list[str]] = defaultdict(list)
    for uri in uris:
        bucket, key = split_s3(uri)
        by_bucket[bucket].append(key)
    for bucket, keys in by_bucket.items():
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = [{"Key": k} for k in keys[start : start + _DELETE_BATCH]]
            first = f"s3://{bucket}/{batch[0]['Key']}"
            response = filesystem._call(
                "delete_objects", first, Bucket=bucket, Delete={"Objects": batch, "Quiet": True}
            )
            if errors := response.get("Errors"):
                error = errors[0]
                raise StorageError(
                    f"object storage failed deleting s3://{bucket}/{error.get('Key')}: "
                    f"{error.get('Code')}: {error.get('Message')} ({len(errors)} key(s) not deleted)"
                )
