"""``python -m omnilake.dbt_child <dbt args>``: the dbt command line, killed with its parent.

``omnilake.publish`` runs dbt in a child process. If the pipeline process is killed (an OOM kill, a
task timeout, a crash test), a dbt build left running would keep writing the staging warehouse and
holding its lock. On Linux the child asks the kernel for SIGKILL when its parent dies
(``PR_SET_PDEATHSIG``), here rather than in a ``preexec_fn``, which is unsafe in a parent that runs
threads (the Spark Connect client does).
"""

from __future__ import annotations

import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def main() -> None:
    parent = int(os.environ.get("OMNILAKE_DBT_PARENT_PID", "0"))
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if parent and os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)
    from dbt.cli.main import cli

    cli()


if __name__ == "__main__":
    main()
