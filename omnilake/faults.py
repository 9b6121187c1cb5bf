"""Fault injection for crash-recovery tests: ``OMNILAKE_CRASH_AT=<point>`` kills the process there.

The kill is SIGKILL, as an OOM killer or a lost node would do it: no cleanup, no atexit.
"""

from __future__ import annotations

import logging
import os
import signal

log = logging.getLogger(__name__)

ENV = "OMNILAKE_CRASH_AT"


def crash_point(name: str) -> None:
    """Die here if the environment names this point (a no-op otherwise)."""
    if os.environ.get(ENV) == name:
        log.warning("fault injection: killing the process at %s", name)
        os.kill(os.getpid(), signal.SIGKILL)
