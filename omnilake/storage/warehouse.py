"""The analyst warehouse of an object-store lake: immutable versions and a pointer written last.

DuckDB opens local files only, so the warehouse is built on this machine and uploaded. S3 has no
rename: "upload to a temporary key, then copy over the published key" is a second full write that a
reader can catch half-way through a multipart copy, and a reader that listed the old object and
fetched the new would mix versions. So each publish uploads the finished file under a key of its
own that is never written again::

    warehouse/versions/<run id>.duckdb     immutable, one per publish
    warehouse/CURRENT.json                 the pointer: key, SHA-256, size, run, time

and only then replaces the small pointer object (one PUT, atomic). A reader reads the pointer, then
the key it names, and checks the digest: it gets the old warehouse or the new one, whole, never a
mix. The version before the current one is kept, so a reader that read the previous pointer just
before a publish can still fetch what it named; older versions are deleted (an erasure deletes
every version but the new one: an old file still holds the erased person).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from omnilake.errors import OmnilakeError
from omnilake.settings import LakeRoot
from omnilake.storage.filesystem import HASH_CHUNK, filesystem_for

log = logging.getLogger(__name__)

POINTER = ("warehouse", "CURRENT.json")
VERSIONS = ("warehouse", "versions")


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def current_pointer(root: LakeRoot) -> dict[str, Any] | None:
    """The published warehouse's pointer, or None before the first publish."""
    fs = filesystem_for(root.uri)
    pointer = root.join(*POINTER)
    if fs.stat(pointer) is None:
        return None
    return json.loads(fs.read_bytes(pointer))


def publish_warehouse(
    root: LakeRoot, built: Path, run_id: str, *, keep_previous: bool = True
) -> dict[str, Any]:
    """Upload ``built`` as a new immutable version, then point readers at it; returns the pointer."""
    fs = filesystem_for(root.uri)
    safe_run_id = re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    key = root.join(*VERSIONS, f"{stamp}-{safe_run_id}.duckdb")
    previous = current_pointer(root)
    fs.upload(built, key)
    pointer = {
        "path": key,
        "sha256": _file_sha256(built),
        "bytes": built.stat().st_size,
        "run_id": run_id,
        "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    fs.write_bytes(root.join(*POINTER), json.dumps(pointer, indent=2).encode("utf-8"))
    keep = {key} | ({previous["path"]} if previous and keep_previous else set())
    for version in fs.walk(root.join(*VERSIONS)):
        if version.path not in keep:
            fs.delete(version.path)
            log.info("deleted warehouse version %s", version.path)
    log.info("published warehouse version %s", key)
    return pointer


def fetch_warehouse(root: LakeRoot, target: Path) -> Path | None:
    """The published warehouse as a local file at ``target`` (downloaded only if it changed);
    None before the first publish. The digest is checked, so a damaged download never serves."""
    pointer = current_pointer(root)
    if pointer is None:
        return None
    if (
        target.exists()
        and target.stat().st_size == pointer["bytes"]
        and _file_sha256(target) == pointer["sha256"]
    ):
        return target
    fs = filesystem_for(root.uri)
    fs.download(pointer["path"], target)
    if _file_sha256(target) != pointer["sha256"]:
        target.unlink(missing_ok=True)
        raise OmnilakeError(
            f"the warehouse at {pointer['path']} does not match its pointer's digest; publish again"
        )
    return target
