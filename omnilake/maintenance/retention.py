"""Vacuum and log cleanup with a retention window: old versions go, the recent ones stay readable.

Both work from the commits' times in ``_delta_log`` (the storage's modification time of each commit
file, which is when it was committed). The versions kept are every version committed within the
window and the one that was current when the window began (a reader that started then reads it).

The vacuum is delta-rs's full one (every file under the table that no kept version references:
files rewritten away and orphans of crashed writes alike), run as a dry run whose files are then
deleted here. So it adds no commit: a table's version moves only when its data does (the gold
release, the gate scopes and the events' attribution revisions compare versions), and the bytes
freed are counted from the listing. The tombstone-based ("lite") vacuum would miss files whose
``remove`` a later checkpoint dropped (checkpoints keep tombstones for the table's
``deletedFileRetentionDuration`` only), which accumulate on a lake vacuumed weekly.

Only under the writer lock: a full vacuum deletes files no commit references yet, which is what an
unfinished write's files are.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

from deltalake import DeltaTable

from omnilake.delta import checkpoint_if_due
from omnilake.storage.filesystem import FileInfo, filesystem_for

log = logging.getLogger(__name__)

LOG_DIR = "_delta_log"
# ``00000000000000000012.json``, ``….crc``, ``….checkpoint.parquet``, ``….checkpoint.0000000001.0000000002.parquet``
_LOG_FILE = re.compile(r"^(\d{20})\.(json|crc|checkpoint(?:\.\d+\.\d+)?\.parquet)$")


@dataclass(frozen=True)
class Freed:
    """What a cleanup deleted."""

    files: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class LogFile:
    info: FileInfo
    version: int
    kind: str  # "commit", "crc" or "checkpoint"


def log_files(path: str) -> list[LogFile]:
    """The versioned files of the table's log (``_last_checkpoint`` and others are not listed)."""
    fs = filesystem_for(path)
    _, entries = fs.list_dir(fs.join(path, LOG_DIR))
    found = []
    for info in entries:
        match = _LOG_FILE.match(info.name)
        if match:
            suffix = match.group(2)
            kind = "commit" if suffix == "json" else "crc" if suffix == "crc" else "checkpoint"
            found.append(LogFile(info, int(match.group(1)), kind))
    return found


def kept_versions(commits: Mapping[int, datetime], cutoff: datetime) -> list[int]:
    """The versions a retention window starting at ``cutoff`` keeps, oldest first: those committed at
    or after it, and the latest one committed before it (current when the window began)."""
    before = [v for v, at in commits.items() if at < cutoff]
    return sorted({v for v, at in commits.items() if at >= cutoff} | ({max(before)} if before else set()))


def readable_from(files: list[LogFile]) -> int:
    """The oldest version the log can still be read at: 0 with the whole log, else its oldest
    checkpoint. Older versions cannot be read by anyone, so their files need no keeping."""
    if any(f.version == 0 and f.kind == "commit" for f in files):
        return 0
    return min((f.version for f in files if f.kind == "checkpoint"), default=0)


def _cutoff(hours: float, now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)) - timedelta(hours=hours)


def _commit_times(files: list[LogFile]) -> dict[int, datetime]:
    return {f.version: f.info.modified for f in files if f.kind == "commit"}


def vacuum(
    path: str, retention_hours: float, *, now: datetime | None = None, table: DeltaTable | None = None
) -> Freed:
    """Delete the data files no version kept by ``retention_hours`` references (see the module).
    ``table``: the table at ``path`` as already loaded.

    Nothing is done while every version the log can be read at is within the window: then only
    orphans of crashed writes could go, and they go with the first pass after a version ages out
    (asking delta-rs for the files of every kept version costs about four plain vacuums)."""
    files = log_files(path)
    floor = readable_from(files)
    keep = [v for v in kept_versions(_commit_times(files), _cutoff(retention_hours, now)) if v >= floor]
    if keep and keep[0] == floor and retention_hours > 0:
        return Freed()
    table = table or DeltaTable(path)
    if keep and keep[0] == table.version():
        keep = []  # only the current version: what it references is never vacuumed
    stale = table.vacuum(
        retention_hours=0,
        dry_run=True,
        enforce_retention_duration=False,
        full=True,
        keep_versions=keep or None,
    )
    if not stale:
        return Freed()
    fs = filesystem_for(path)
    sizes = {info.path: info.size for info in fs.walk(path)}
    deleted = freed = 0
    for relative in stale:
        target = next(
            (p for p in (fs.join(path, relative), fs.join(path, unquote(relative))) if p in sizes), None
        )
        if target is None:  # gone already
            continue
        fs.delete(target)
        deleted, freed = deleted + 1, freed + sizes[target]
    log.info("vacuumed %s: %d files, %d bytes", path, deleted, freed)
    return Freed(deleted, freed)


def clean_log(
    path: str, retention_hours: float, *, now: datetime | None = None, table: DeltaTable | None = None
) -> tuple[Freed, int | None]:
    """Checkpoint the table if one is due, then delete the log files of versions older than the
    newest checkpoint the versions kept by ``retention_hours`` can be read from. Returns what was
    deleted and the checkpoint written (None if none was due). ``table``: as already loaded."""
    checkpoint = checkpoint_if_due(path, loaded=table)
    files = log_files(path)
    keep = kept_versions(_commit_times(files), _cutoff(retention_hours, now))
    if not keep:
        return Freed(), checkpoint
    anchors = [f.version for f in files if f.kind == "checkpoint" and f.version <= keep[0]]
    if not anchors:
        return Freed(), checkpoint
    anchor = max(anchors)
    fs = filesystem_for(path)
    old = [f for f in files if f.version < anchor]
    for f in old:
        fs.delete(f.info.path)
    if old:
        log.info("cleaned the log of %s: %d files before checkpoint %d", path, len(old), anchor)
    return Freed(len(old), sum(f.info.size for f in old)), checkpoint
