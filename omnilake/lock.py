"""One writer per lake: Sail has no write-conflict detection, so two runs must never overlap.

On a local lake the lock is an ``flock`` on ``_ops/writer.lock``: the kernel releases it when its
holder dies, so a lock left by a killed process is never stale in effect. The file also records who
holds it, for the message a second writer gets, and for noticing that a previous holder died
without releasing.

On an object-store lake, where writers may run on different machines, it is a lease object at the
same key, created by a conditional put and renewed while the run lives (``omnilake.storage.lease``);
a killed holder's lease expires after ``OMNILAKE_LOCK_LEASE_SECONDS`` and the next run takes over.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from omnilake.errors import LakeLockedError
from omnilake.lake import Lake
from omnilake.settings import get_settings
from omnilake.storage.filesystem import filesystem_for
from omnilake.storage.lease import describe_holder, lease_lock

log = logging.getLogger(__name__)


def _holder(run_id: str | None = None) -> dict:
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": " ".join(sys.argv[:4]),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return {**holder, "run_id": run_id} if run_id else holder


def _describe(raw: str) -> str:
    return describe_holder(raw)


def _refusal(lake: Lake, holder: str) -> str:
    return (
        f"another omnilake run holds the lake at {lake.root}: {holder}; "
        "wait for it to finish (or pass --wait SECONDS)"
    )


@contextmanager
def writer_lock(lake: Lake, wait_seconds: float = 0.0, run_id: str | None = None) -> Iterator[None]:
    """Hold the lake's writer lock, waiting up to ``wait_seconds``; LakeLockedError names the holder."""
    if not lake.root.is_local:
        with lease_lock(
            filesystem_for(lake.root.uri),
            lake.path("_ops", "writer.lock"),
            _holder(run_id),
            lease_seconds=get_settings().lock_lease_seconds,
            wait_seconds=wait_seconds,
            refusal=lambda holder: _refusal(lake, holder),
        ):
            yield
        return
    path = Path(lake.path("_ops", "writer.lock"))
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    raise LakeLockedError(_refusal(lake, _describe(handle.read()))) from None
                time.sleep(0.5)
        handle.seek(0)
        previous = handle.read().strip()
        if previous:
            log.warning(
                "recovered the writer lock left by %s, which ended without releasing it", _describe(previous)
            )
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(_holder(run_id)))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()
