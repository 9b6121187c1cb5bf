"""One writer per lake on object storage: a lease object, held by one process, refused to another,
renewed while its holder lives and taken over once a killed holder's lease has run out."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from omnilake.errors import LakeLockedError
from omnilake.lake import Lake
from omnilake.lock import writer_lock
from omnilake.settings import LakeRoot, reset_settings
from omnilake.storage.filesystem import filesystem_for

pytestmark = pytest.mark.integration

LEASE = 2.0  # seconds: short, so that expiry is seen within the test

HOLD = textwrap.dedent(
    """
    import sys, time
    from omnilake.lake import Lake
    from omnilake.lock import writer_lock
    from omnilake.settings import LakeRoot
    with writer_lock(Lake(LakeRoot(sys.argv[1])), run_id="run-holder"):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
    print("released", flush=True)
    """
)


@pytest.fixture
def s3_lake(bucket, monkeypatch) -> Lake:
    monkeypatch.setenv("OMNILAKE_LOCK_LEASE_SECONDS", str(LEASE))
    reset_settings()
    yield Lake(LakeRoot(f"s3://{bucket}/lake"))
    reset_settings()


def _hold(lake: Lake, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, lake.root.uri, str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_second_writer_is_refused_naming_the_first_while_its_lease_is_renewed(s3_lake):
    holder = _hold(s3_lake, 60)
    try:
        with (
            pytest.raises(LakeLockedError, match=rf"pid {holder.pid} on .*run run-holder.*--wait"),
            writer_lock(s3_lake),
        ):
            pass
        time.sleep(3 * LEASE)  # three leases: only renewals keep the lock live this long
        with pytest.raises(LakeLockedError, match=rf"pid {holder.pid} on "), writer_lock(s3_lake):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_lease_of_a_killed_holder_expires_and_the_next_writer_proceeds(s3_lake, caplog):
    holder = _hold(s3_lake, 60)
    holder.kill()  # SIGKILL: nothing releases the lock object
    holder.wait()
    with pytest.raises(LakeLockedError, match=rf"pid {holder.pid} on "), writer_lock(s3_lake):
        pass  # the lease has not run out yet
    started = time.monotonic()
    with caplog.at_level("WARNING"), writer_lock(s3_lake, wait_seconds=4 * LEASE):
        waited = time.monotonic() - started
        lock_body = filesystem_for(s3_lake.root.uri).read_bytes(s3_lake.path("_ops", "writer.lock"))
        assert f'"pid": {os.getpid()}'.encode() in lock_body
    assert f"pid {holder.pid}" in caplog.text and "lease expired" in caplog.text
    assert waited < 4 * LEASE
    assert not filesystem_for(s3_lake.root.uri).exists(s3_lake.path("_ops", "writer.lock"))


def test_a_released_lock_is_taken_at_once_without_recovery(s3_lake, caplog):
    holder = _hold(s3_lake, 0.1)
    assert holder.stdout.readline().strip() == "released"
    holder.wait()
    with caplog.at_level("WARNING"), writer_lock(s3_lake):
        pass
    assert "recovered" not in caplog.text


def test_a_holder_whose_lease_was_taken_over_says_so_on_leaving(s3_lake):
    fs = filesystem_for(s3_lake.root.uri)
    path = s3_lake.path("_ops", "writer.lock")
    with pytest.raises(LakeLockedError, match="lost the writer lock"), writer_lock(s3_lake):
        fs.write_bytes(path, b'{"pid": 1, "host": "elsewhere", "command": "omnilake run", "since": "x"}')
        time.sleep(LEASE)  # the next renewal finds another writer's object
    assert b"elsewhere" in fs.read_bytes(path)  # the successor's lock is left alone
