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
