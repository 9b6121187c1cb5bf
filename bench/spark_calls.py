"""How many Spark Connect calls each pipeline step makes, by kind, and where in our code they start.

A round trip costs at least ~21 ms whatever the data, so a step's fixed cost is mostly its count of
calls. This wraps the Spark Connect client's gRPC stub (every ExecutePlan, AnalyzePlan, Config,
ReleaseExecute... goes through it) and runs the named steps for each landing date on the lake that
``OMNILAKE_HOME`` points at, printing per step: CPU seconds of the process and its children (the
engine's server among them), of its main thread (the Python side: our code and the client) and
the calls by kind.

    OMNILAKE_HOME=/tmp/lake uv run python bench/spark_calls.py 2026-01-01 2026-01-02 --steps ingest_
    ... --callers   # also the call sites in omnilake/, jobs/ and quality/ behind each kind
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script
    sys.path.insert(0, str(REPO))

from bench.process_cpu import cpu_seconds  # noqa: E402

_OUR_CODE = (f"{os.sep}omnilake{os.sep}", f"{os.sep}jobs{os.sep}", f"{os.sep}quality{os.sep}")


@dataclass
class Calls:
    """Spark Connect calls by kind, and by kind and call site."""

    by_kind: Counter = field(default_factory=Counter)
    by_site: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    def total(self) -> int:
        return sum(self.by_kind.values())


class _CountingStub:
    """Stands in for the client's gRPC stub and counts each call before passing it on."""

    def __init__(self, stub: Any, calls: Calls, sites: bool) -> None:
        self._stub, self._calls, self._sites = stub, calls, sites

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._stub, name)
        if not callable(method):
            return method

        def counted(*args: Any, **kwargs: Any) -> Any:
            self._calls.by_kind[name] += 1
            if self._sites:
                ours = [f for f in traceback.extract_stack() if any(p in f.filename for p in _OUR_CODE)]
                site = f"{Path(ours[-1].filename).name}:{ours[-1].lineno} {ours[-1].name}" if ours else "-"
                self._calls.by_site[name][site] += 1
            return method(*args, **kwargs)

        return counted


@contextmanager
def counting(spark: Any, *, sites: bool = False) -> Iterator[Calls]:
    """Count the Spark Connect calls ``spark`` makes inside the block."""
    client = spark.client
    calls = Calls()
    original = client._internal_stub  # the stub behind the client's ``_stub`` property
    client._internal_stub = _CountingStub(original, calls, sites)
    try:
        yield calls
    finally:
        client._internal_stub = original


def profile_steps(dates: Sequence[date], prefixes: Sequence[str], *, sites: bool) -> list[dict[str, Any]]:
    from omnilake.engine import get_spark
    from omnilake.lake import get_lake
    from omnilake.pipeline import RunContext, build_steps, new_run_id, run_step, topological

    lake = get_lake()
    lake.ensure_layout()
    spark = get_spark()
    steps = [s for s in topological(build_steps()) if s.name.startswith(tuple(prefixes))]
    records = []
    for day in dates:
        context = RunContext(new_run_id("calls"), day, lake)
        for step in steps:
            cpu, thread, wall = cpu_seconds(), time.thread_time(), time.perf_counter()
            with counting(spark, sites=sites) as calls:
                run_step(step, context)
            records.append(
                {
                    "step": step.name,
                    "date": day.isoformat(),
                    "seconds": round(time.perf_counter() - wall, 3),
                    "cpu_seconds": round(cpu_seconds() - cpu, 3),
                    "main_thread_cpu_seconds": round(time.thread_time() - thread, 3),
                    "calls": calls.total(),
                    "by_kind": dict(calls.by_kind.most_common()),
                    **(
                        {"by_site": {k: dict(v.most_common()) for k, v in calls.by_site.items()}}
                        if sites
                        else {}
                    ),
                }
            )
    return records


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dates", nargs="+", type=date.fromisoformat)
    parser.add_argument("--steps", nargs="+", default=["ingest_"], help="step name prefixes")
    parser.add_argument("--callers", action="store_true", help="also count calls by call site")
    parser.add_argument("--out", type=Path, help="write the records as JSON here")
    args = parser.parse_args(argv)
    records = profile_steps(args.dates, args.steps, sites=args.callers)
    for r in records:
        kinds = " ".join(f"{k}={v}" for k, v in r["by_kind"].items())
        print(
            f"{r['step']:<26} {r['date']} cpu {r['cpu_seconds']:6.2f} s (main thread "
            f"{r['main_thread_cpu_seconds']:5.2f}) wall {r['seconds']:6.2f} s  calls {r['calls']:4d}  {kinds}"
        )
        for kind, sites in r.get("by_site", {}).items():
            for site, n in sites.items():
                print(f"    {kind:<14} {n:4d}  {site}")
    total = Counter()
    for r in records:
        total.update(r["by_kind"])
    print(f"all steps: {sum(total.values())} calls  " + " ".join(f"{k}={v}" for k, v in total.most_common()))
    if args.out:
        args.out.write_text(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
