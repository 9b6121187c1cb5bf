"""A Sail Spark Connect server in its own process, for tests that need a server that is not the
embedded one (a client reaching it through ``SPARK_REMOTE``, like a cluster)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

_LISTENING = re.compile(r"Spark Connect server on 127\.0\.0\.1:(\d+)")


@contextmanager
def sail_server(log_path: Path, memory_bytes: int = 2 * 2**30) -> Iterator[tuple[str, subprocess.Popen]]:
    """``sail spark server`` on a free loopback port until the block ends: its ``sc://`` URL and process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAIL_", "SPARK_"))}
    env.update(
        RUST_LOG="error,sail_cli=info",  # the CLI's line naming the port it bound
        SAIL_RUNTIME__MEMORY_POOL__TYPE="greedy",
        SAIL_RUNTIME__MEMORY_POOL__GREEDY__MAX_SIZE=str(memory_bytes),
    )
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "pysail", "spark", "server", "--ip", "127.0.0.1", "--port", "0"],
            env=env,
            cwd=log_path.parent,  # its default warehouse (spark-warehouse/) goes there, not into the checkout
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield _wait_for_listening(server, log_path), server
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_for_listening(server: subprocess.Popen, log_path: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _LISTENING.search(log_path.read_text())
        if found:
            port = int(found.group(1))
            connections = psutil.Process(server.pid).net_connections("tcp")
            if any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in connections):
                return f"sc://127.0.0.1:{port}"
        if server.poll() is not None:
            raise AssertionError(f"the Sail server exited: {log_path.read_text()}")
        time.sleep(0.2)
    raise AssertionError(f"the Sail server did not listen within {timeout}s: {log_path.read_text()}")
