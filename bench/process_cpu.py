"""CPU of this process and its children, reaped (dbt) or live (the engine's server, which runs in a
child process): a step's cost is all of it, wherever it runs."""

from __future__ import annotations

import os


def cpu_times() -> dict[str, float]:
    """User and system CPU seconds, children included, and the children's share."""
    import psutil

    times = os.times()
    live_user = live_system = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            usage = child.cpu_times()
        except psutil.Error:
            continue
        live_user, live_system = live_user + usage.user, live_system + usage.system
    return {
        "user": times.user + times.children_user + live_user,
        "system": times.system + times.children_system + live_system,
        "children": times.children_user + times.children_system + live_user + live_system,
    }


def cpu_seconds() -> float:
    """All CPU seconds so far: this process and every child, reaped or live."""
    times = cpu_times()
    return times["user"] + times["system"]
