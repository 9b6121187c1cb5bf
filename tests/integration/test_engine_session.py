"""The embedded Sail session outlives idle spells (a long dbt build, a worker between tasks).

Sail ends a Spark Connect session idle for ``spark.session_timeout_secs`` (900 s by default). The
control case shows the knob is the one that matters, with a 2-second timeout; the engine sets it
to the life of the process unless the operator chose a value.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from omnilake.engine import EMBEDDED_SESSION_TIMEOUT_SECONDS

pytestmark = pytest.mark.integration

IDLE_THEN_QUERY = """
import os, time
from omnilake.engine import get_spark, stop_engine
spark = get_spark()
spark.range(1).collect()
time.sleep(4)
try:
    print("rows", spark.range(3).count())
except Exception as exc:
    print("failed", str(exc).splitlines()[0])
print("timeout", os.environ["SAIL_SPARK__SESSION_TIMEOUT_SECS"])
stop_engine()
"""


def _idle_then_query(timeout: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "SAIL_SPARK__SESSION_TIMEOUT_SECS"}
    if timeout is not None:
        env["SAIL_SPARK__SESSION_TIMEOUT_SECS"] = timeout
    done = subprocess.run(
        [sys.executable, "-c", IDLE_THEN_QUERY], env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_session_idle_past_sails_timeout_is_gone():
    assert "failed invalid argument: session" in _idle_then_query("2")


def test_the_embedded_session_lives_as_long_as_the_process():
    out = _idle_then_query(None)
    assert "rows 3" in out and f"timeout {EMBEDDED_SESSION_TIMEOUT_SECONDS}" in out


RECYCLE = """
import os
from omnilake.engine import get_engine, get_spark, recycle_engine, stop_engine
first = get_engine()._server
assert get_spark().range(3).count() == 3
recycle_engine()
print("first exit code", first.poll())
second = get_engine()._server
print("fresh server", second.pid != first.pid, get_spark().range(4).count())
stop_engine()
print("second exit code", second.poll())
"""


def test_recycling_the_engine_ends_its_server_and_the_next_session_gets_a_fresh_one():
    done = subprocess.run([sys.executable, "-c", RECYCLE], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "first exit code 0" in done.stdout
    assert "fresh server True 4" in done.stdout
    assert "second exit code 0" in done.stdout


DIE_WITH_SERVER = """
import os, signal
from omnilake.engine import get_engine, get_spark
get_spark().range(1).collect()
print(get_engine()._server.pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no atexit, no stop: only the closed pipe tells the server
"""


def test_the_server_does_not_outlive_a_killed_pipeline_process():
    import time
    from pathlib import Path

    # No pipe of the test's is inherited by the server: a write to a closed one could end it too.
    pipeline = subprocess.Popen(
        [sys.executable, "-c", DIE_WITH_SERVER], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    server = int(pipeline.stdout.readline())
    pipeline.wait(timeout=180)
    status = Path(f"/proc/{server}/status")

    def running() -> bool:  # a zombie has exited, and waits only for init to reap it
        try:
            return "zombie" not in status.read_text()
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 30
    while running() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not running()
