"""The engine's memory across the dates of one multi-date run, for two code trees.

Sail 0.7.2 keeps the parser of every string it parses for the life of its process
(``docs/sail_issues/parser_memory_per_call.py``), so in one process that runs many landing dates
the engine only grows. This generates ``--days`` days at ``--scale``, then, for each ``--code``
tree in turn, runs ``run_pipeline`` over all of them in one process on a fresh lake (the steps up
to the silver gate: dbt and the gold steps run in processes of their own and are left out) and
records after each date the resident memory of the runner and of its live children (the engine's
server, when it is one) and the CPU seconds of the date (the runner, its reaped children and its
live ones).

    uv run python bench/engine_memory_bench.py --code before=/work/wt/_base --code after=. \\
        --days 10 --scale 0.2 --out-dir /tmp/engine-memory

Writes ``engine_memory.json`` and ``engine_memory.md`` under ``--out-dir``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.pipeline_bench import START, _run_child, machine_facts  # noqa: E402

# Run with the tree's own interpreter; prints one JSON line per date.
DRIVER = """
import json, os, sys
from datetime import date
import psutil
from omnilake import pipeline

full = pipeline.build_steps
pipeline.build_steps = lambda: [s for s in full() if not s.name.startswith(("gold_", "gate_gold", "publish_"))]
me = psutil.Process()
dates = [date.fromisoformat(d) for d in sys.argv[1:]]

def cpu_seconds():
    # the process, its reaped children and its live ones (the engine's server, when it is one)
    total = sum(os.times()[:4])
    for child in me.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.Error:
            pass
    return total

def children_rss_mib():
    total = 0
    for child in me.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20

cpu = [cpu_seconds()]

def record(outcome):
    if outcome.step == "gate_silver":
        now = cpu_seconds()
        runner, children = me.memory_info().rss / 2**20, children_rss_mib()
        print(json.dumps({"date": outcome.landing_date.isoformat(), "rss_mib": round(runner + children),
                          "runner_rss_mib": round(runner), "children_rss_mib": round(children),
                          "cpu_seconds": round(now - cpu[0], 2)}), flush=True)
        cpu[0] = now

pipeline.run_pipeline(dates, on_step=record)
"""


def run_tree(label: str, tree: Path, landing: Path, dates: list[str], work: Path) -> list[dict[str, Any]]:
    lake = work / f"lake-{label}"
    shutil.copytree(landing, lake / "landing")
    # The tree's own environment, or this one for a tree without (an exported commit).
    python = tree / ".venv" / "bin" / "python"
    python = python if python.exists() else Path(sys.executable)
    env = {**os.environ, "OMNILAKE_HOME": str(lake), "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [str(python), "-c", DRIVER, *dates], cwd=tree, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{label} failed: {done.stderr[-3000:]}")
    shutil.rmtree(lake, ignore_errors=True)
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def markdown(record: dict[str, Any]) -> str:
    labels = list(record["trees"])
    lines = [
        "# Engine memory across the dates of one run",
        "",
        f"{record['days']} landing dates at scale {record['scale']:g} in one `run_pipeline` process "
        "(ingestion, gates and silver; dbt and the gold steps excluded), each tree on a fresh lake, one "
        "after the other. RSS of the runner and its live children (the engine's server when it runs in "
        "one) after each date's silver gate; CPU seconds of the date, the server's included.",
        "",
        "| date | "
        + " | ".join(f"{label} RSS MiB (runner + server) | {label} CPU s" for label in labels)
        + " |",
        "| --- | " + " | ".join("---: | ---:" for _ in labels) + " |",
    ]
    for index, day in enumerate(record["dates"]):
        cells = []
        for label in labels:
            row = record["trees"][label][index]
            split = (
                f" ({row['runner_rss_mib']} + {row['children_rss_mib']})" if row["children_rss_mib"] else ""
            )
            cells += [f"{row['rss_mib']}{split}", str(row["cpu_seconds"])]
        lines.append(f"| {day} | " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--code", action="append", required=True, help="label=path of a checkout with .venv")
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--out-dir", type=Path, required=True)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="engine-memory-", dir=args.out_dir))
    dates = [(START + timedelta(days=i)).isoformat() for i in range(args.days)]
    try:
        landing = work / "landing"
        _run_child(
            "generate",
            "generate",
            {"landing": str(landing), "days": args.days, "scale": args.scale, "seed": 42},
            work,
        )
        trees = {}
        for code in args.code:
            label, _, path = code.partition("=")
            trees[label] = run_tree(label, Path(path).resolve(), landing, dates, work)
            print(label, json.dumps(trees[label]), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    record = {
        "days": args.days,
        "scale": args.scale,
        "dates": dates,
        "machine": machine_facts(),
        "trees": trees,
    }
    (args.out_dir / "engine_memory.json").write_text(json.dumps(record, indent=1))
    (args.out_dir / "engine_memory.md").write_text(markdown(record))
    print(markdown(record))


if __name__ == "__main__":
    main()
