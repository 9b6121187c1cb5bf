"""One writer per lake: a second run is refused with the holder named; a dead holder's lock is recovered."""

import subprocess
import sys
import textwrap

import pytest

from omnilake.errors import LakeLockedError
from omnilake.lake import Lake
from omnilake.lock import writer_lock
from omnilake.settings import LakeRoot

pytestmark = pytest.mark.integration

HOLD = textwrap.dedent(
    """
    import sys, time
    from omnilake.lake import Lake
    from omnilake.lock import writer_lock
    from omnilake.settings import LakeRoot
    with writer_lock(Lake(LakeRoot(sys.argv[1]))):
        print("held", flush=True)
        time.sleep(60)
    """
)


def test_second_writer_is_refused_with_the_holder_named(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(LakeLockedError, match=rf"pid {holder.pid} on .*--wait"),
            writer_lock(Lake(LakeRoot(str(tmp_path)))),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_lock_of_a_killed_process_is_recovered(tmp_path, caplog):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    holder.kill()  # SIGKILL: no cleanup runs
    holder.wait()
    with caplog.at_level("WARNING"), writer_lock(Lake(LakeRoot(str(tmp_path)))):
        pass
    assert f"pid {holder.pid}" in caplog.text and "ended without releasing" in caplog.text
