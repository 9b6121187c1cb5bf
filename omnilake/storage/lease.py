"""A lock held through a lease object on object storage, for writers on different machines.

An OS lock means nothing across machines, and an object store has no locks, only conditional
writes. So the lock is an object (``_ops/writer.lock``) that:

- is created with a conditional put (``If-None-Match: *``): of two writers starting together,
  exactly one creates it, the other gets "precondition failed" and reads who holds it;
- names its holder (host, pid, run id, command, started) for the refusal message;
- carries a lease: a live holder rewrites it every third of the lease (``If-Match`` on the ETag it
  last wrote, so it never overwrites a successor), and the object's modification time moves on;
- expires: a lock object not rewritten for longer than the lease belongs to a holder that died
  (or lost its connection). The next writer takes it over with ``If-Match`` on the ETag it found,
  so of two writers recovering together exactly one wins, and logs whose lock it recovered.

Expiry compares the store's modification time of the object with the store's own clock (the
``Date`` of a response), never the holders' wall clocks, so clock skew between machines cannot
expire a live lease. A holder that cannot renew in time (a stalled process, a partition) loses the
lock: its renewer stops, logs an error, and leaving the lock raises ``LakeLockedError`` so that the
run reports that its writes may have overlapped with another's.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from omnilake.errors import LakeLockedError, StorageError
from omnilake.storage.filesystem import FileSystem

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5


@dataclass
class _Held:
    version: str
    lost: str | None = None


def describe_holder(raw: bytes | str) -> str:
    """'pid 123 on host (run …, 'omnilake run', since …)' from a lock object's body."""
    try:
        holder = json.loads(raw)
        run = f"run {holder['run_id']}, " if holder.get("run_id") else ""
        return (
            f"pid {holder['pid']} on {holder['host']} ({run}{holder['command']!r}, since {holder['since']})"
        )
    except (ValueError, KeyError, TypeError):
        return "an unknown process"


@contextmanager
def lease_lock(
    fs: FileSystem,
    path: str,
    holder: dict,
    *,
    lease_seconds: float,
    wait_seconds: float = 0.0,
    refusal: Callable[[str], str],
) -> Iterator[None]:
    """Hold the lease lock at ``path`` (see the module docstring); ``refusal(holder)`` words the
    LakeLockedError of a writer that finds a live lease after waiting ``wait_seconds``."""
    body = json.dumps({**holder, "lease_seconds": lease_seconds}).encode("utf-8")
    held = _Held(_acquire(fs, path, body, lease_seconds, wait_seconds, refusal))
    stop = threading.Event()
    renewer = threading.Thread(
        target=_renew, args=(fs, path, body, lease_seconds, held, stop), name="writer-lease", daemon=True
    )
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
        if held.lost is None and not fs.delete_if_match(path, held.version):
            held.lost = "the lock object was replaced while the run held it"
    if held.lost is not None:
        raise LakeLockedError(
            f"this run lost the writer lock at {path} ({held.lost}); another writer may have overlapped "
            "with it: check the lake with `omnilake audit verify` and rerun the dates"
        )


def _acquire(
    fs: FileSystem,
    path: str,
    body: bytes,
    lease_seconds: float,
    wait_seconds: float,
    refusal: Callable[[str], str],
) -> str:
    deadline = time.monotonic() + wait_seconds
    while True:
        version = fs.put_if_absent(path, body)
        if version is not None:
            return version
        found = fs.stat(path)
        if found is None:  # released between our put and our look: try again at once
            continue
        try:
            current = fs.read_bytes(path)
        except (StorageError, OSError):  # deleted or replaced in between: look again
            continue
        age = fs.server_time(path) - found.modified
        if age > timedelta(seconds=lease_seconds):
            version = fs.put_if_match(path, body, found.version)
            if version is not None:
                log.warning(
                    "recovered the writer lock left by %s, whose lease expired %.0fs ago without renewal",
                    describe_holder(current),
                    age.total_seconds() - lease_seconds,
                )
                return version
            continue  # another writer recovered it first, or its holder renewed: look again
        if time.monotonic() >= deadline:
            raise LakeLockedError(refusal(describe_holder(current)))
        time.sleep(POLL_SECONDS)


def _renew(
    fs: FileSystem, path: str, body: bytes, lease_seconds: float, held: _Held, stop: threading.Event
) -> None:
    """Rewrite the lock object every third of the lease while the run goes on."""
    interval = lease_seconds / 3
    last_renewed = time.monotonic()
    while not stop.wait(interval):
        try:
            version = fs.put_if_match(path, body, held.version)
        except (StorageError, OSError) as exc:  # the store is unreachable: retry until the lease runs out
            if time.monotonic() - last_renewed < lease_seconds:
                log.warning("could not renew the writer lease at %s (%s); retrying", path, exc)
                continue
            held.lost = f"renewal failed for longer than the {lease_seconds:g}s lease: {exc}"
        else:
            if version is not None:
                held.version, last_renewed = version, time.monotonic()
                continue
            held.lost = "another writer took over the lease, which had expired"
        log.error("the writer lease at %s is lost: %s", path, held.lost)
        return
