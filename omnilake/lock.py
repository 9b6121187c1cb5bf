"""One writer per lake: Sail has no write-conflict detection, so two runs must never overlap.

The lock is an ``flock`` on ``_ops/writer.lock``: the kernel releases it when its holder dies, so a
lock left by a killed process is never stale in effect. The file also records who holds it, for the
message a second writer gets, and for noticing that a previous holder died without releasing.
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

log = logging.getLogger(__name__)


def _holder() -> dict:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": " ".join(sys.argv[:4]),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _describe(raw: str) -> str:
    try:
        holder = json.loads(raw)
        return f"pid {holder['pid']} on {holder['host']} ({holder['command']!r}, since {holder['since']})"
    except (ValueError, KeyError):
        return "an unknown process"


@contextmanager
def writer_lock(lake: Lake, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the lake's writer lock, waiting up to ``wait_seconds``; LakeLockedError names the holder."""
    if not lake.root.is_local:
        log.warning("no writer lock on an object-store lake root; make sure one writer runs at a time")
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
                    raise LakeLockedError(
                        f"another omnilake run holds the lake at {lake.root}: {_describe(handle.read())}; "
                        "wait for it to finish (or pass --wait SECONDS)"
                    ) from None
                time.sleep(0.5)
        handle.seek(0)
        previous = handle.read().strip()
        if previous:
            log.warning(
                "recovered the writer lock left by %s, which ended without releasing it", _describe(previous)
            )
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(_holder()))
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
