"""The fixed cost of a day, side by side: a fresh scale-S day on this tree and on an older commit.

A "fresh day" is ``omnilake run --start-date D`` on an empty lake whose landing zone holds one
generated day: the whole command as a user runs it (interpreter start, imports, the embedded engine,
every step, the dbt subprocess, the audit entry). Its CPU seconds are those of the command and every
process it waited for (``RUSAGE_CHILDREN`` around it), so they count dbt too; CPU rather than wall,
because the machine is shared. Peak RSS is the command plus its live children (dbt), sampled every
0.1 s: the embedded engine runs inside the command, so this is the day's memory high-water mark.

Both trees run the same landing files, alternately (A, B, A, B...), so that load on the machine
falls on both. The older commit runs from an exported copy (``git archive``) in its own virtual
environment, installed as its own Makefile did at the time (no bytecode compiled: these machines set
``PYTHONDONTWRITEBYTECODE=1``, so none is ever written); this tree runs in the repository's
environment as ``make bootstrap`` installs it. The floor is ``pipeline_bench``'s DuckDB copy-through
of the same files.

    uv run python bench/fixed_cost_bench.py --baseline f37cc46 --scale 1 --repeats 2
    uv run python bench/fixed_cost_bench.py --baseline main --baseline-tree /path/to/main-checkout

Appends one JSON line to ``bench/results/fixed_cost.jsonl`` and rewrites ``fixed_cost.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.pipeline_bench import (  # noqa: E402
    RESULTS_DIR,
    _run_child,
    git_facts,
    landing_files,
    machine_facts,
)

DAY = date(2026, 1, 1)
JSONL_NAME, MARKDOWN_NAME = "fixed_cost.jsonl", "fixed_cost.md"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def export_tree(commit: str, tree: Path) -> Path:
    """The commit's files under ``tree`` (``git archive``): what runs never changes while it runs."""
    tree.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", commit], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def prepare_baseline(commit: str, work: Path) -> tuple[Path, Path]:
    """The commit's files under ``work/tree`` and its locked environment (no bytecode) beside them."""
    tree, venv = export_tree(commit, work / "tree"), work / "venv"
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}
    env.pop("UV_COMPILE_BYTECODE", None)
    subprocess.run(["uv", "sync", "--frozen", "--quiet"], cwd=tree, env=env, check=True)
    return tree, venv


def _tree_peak_rss(pid: int, halt: threading.Event, peak: list[int]) -> None:
    """Until ``halt``: the largest summed RSS of process ``pid`` and its descendants, into ``peak[0]``."""
    import psutil

    try:
        root = psutil.Process(pid)
    except psutil.Error:
        return
    tick, children = 0, []
    while not halt.wait(0.1):
        if tick % 10 == 0:
            try:
                children = root.children(recursive=True)
            except psutil.Error:
                children = []
        tick += 1
        total = 0
        for process in (root, *children):
            try:
                total += process.memory_info().rss
            except psutil.Error:
                continue
        peak[0] = max(peak[0], total)


def fresh_day(label: str, tree: Path, python_bin: Path, landing: Path, work: Path) -> dict[str, Any]:
    """One ``omnilake run`` of DAY on a new lake holding ``landing``; CPU and wall seconds, peak RSS."""
    lake = work / f"lake-{label}"
    shutil.copytree(landing, lake / "landing")
    # The tree's own modules first (an editable install may point elsewhere), for dbt's child too.
    env = {**os.environ, "OMNILAKE_HOME": str(lake), "PYTHONPATH": str(tree)}
    env.pop("OMNILAKE_CRASH_AT", None)
    log = work / f"{label}.log"
    before_cpu, before_wall = _children_cpu(), time.perf_counter()
    halt, peak = threading.Event(), [0]
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(python_bin / "omnilake"), "run", "--start-date", DAY.isoformat()],
            cwd=tree,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        sampler = threading.Thread(target=_tree_peak_rss, args=(process.pid, halt, peak), daemon=True)
        sampler.start()
        returncode = process.wait()
        halt.set()
        sampler.join()
    wall, cpu = time.perf_counter() - before_wall, _children_cpu() - before_cpu
    if returncode != 0:
        raise SystemExit(f"{label} failed (exit {returncode}); log: {log}")
    shutil.rmtree(lake, ignore_errors=True)
    return {
        "label": label,
        "cpu_seconds": round(cpu, 2),
        "wall_seconds": round(wall, 2),
        "peak_rss_mib": round(peak[0] / 2**20),
    }


def run(
    baseline: str,
    after: str,
    scale: float,
    repeats: int,
    out_dir: Path,
    seed: int = 42,
    baseline_tree: Path | None = None,
) -> dict[str, Any]:
    out_dir.joinpath("tmp").mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="fixed-cost-", dir=out_dir / "tmp"))
    try:
        landing = work / "landing"
        _run_child(
            "generate", "generate", {"landing": str(landing), "days": 1, "scale": scale, "seed": seed}, work
        )
        if baseline_tree is not None:  # a checkout installed as its Makefile does (bytecode and all)
            base_tree, base_venv = baseline_tree, baseline_tree / ".venv"
        else:
            base_tree, base_venv = prepare_baseline(baseline, work / "baseline")
        trees = {
            "before": (base_tree, base_venv / "bin"),
            "after": (export_tree(after, work / "after" / "tree"), Path(sys.executable).parent),
        }
        runs: list[dict[str, Any]] = []
        for repeat in range(repeats):
            for label, (tree, python_bin) in trees.items():
                runs.append(
                    {**fresh_day(f"{label}-{repeat}", tree, python_bin, landing, work), "tree": label}
                )
                print(json.dumps(runs[-1]), flush=True)
        (work / "floor").mkdir()
        floor = _run_child(
            "floor", "floor", {"files": landing_files(landing, [DAY]), "target": str(work / "floor")}, work
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    floor_cpu = floor["cpu_user_seconds"] + floor["cpu_system_seconds"]
    summary = {}
    for label in trees:
        mine = [r for r in runs if r["tree"] == label]
        cpu = statistics.median(r["cpu_seconds"] for r in mine)
        wall = statistics.median(r["wall_seconds"] for r in mine)
        summary[label] = {
            "cpu_seconds": round(cpu, 2),
            "peak_rss_mib": max(r["peak_rss_mib"] for r in mine),
            "wall_seconds": round(wall, 2),
            "cpu_x_floor_cpu": round(cpu / floor_cpu, 1) if floor_cpu else None,
            "wall_x_floor_wall": round(wall / floor["seconds"], 1) if floor["seconds"] else None,
        }
    record = {
        "benchmark": "fixed_cost",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        **git_facts(),
        "baseline_commit": baseline,
        "after_commit": after,
        "machine": machine_facts(),
        "scale": scale,
        "landing_rows": floor["rows"],
        "floor": {"cpu_seconds": round(floor_cpu, 3), "wall_seconds": floor["seconds"]},
        "runs": runs,
        "summary": summary,
    }
    with (out_dir / JSONL_NAME).open("a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    (out_dir / MARKDOWN_NAME).write_text(markdown(record), encoding="utf-8")
    return record


def markdown(record: dict[str, Any]) -> str:
    before, after = record["summary"]["before"], record["summary"]["after"]
    floor = record["floor"]
    lines = [
        "# A fresh day, before and after",
        "",
        f"`omnilake run` of one fresh day at scale {record['scale']:g} ({record['landing_rows']:,} landing rows), "
        f"{record['baseline_commit']} (before) against {record['after_commit'][:7]} (after), alternately in one invocation "
        f"({record['at']}; {record['machine'].get('cores', '?')} cores, shared). Median of "
        f"{len(record['runs']) // 2} runs each. CPU counts the command and its dbt subprocesses.",
        "",
        "| tree | CPU s | wall s | CPU x floor CPU | wall x floor wall | peak RSS MiB |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, figures in (("before", before), ("after", after)):
        lines.append(
            f"| {label} | {figures['cpu_seconds']} | {figures['wall_seconds']} | "
            f"{figures['cpu_x_floor_cpu']} | {figures['wall_x_floor_wall']} | "
            f"{figures.get('peak_rss_mib', 'n/a')} |"
        )
    lines += [
        "",
        f"Floor (DuckDB copy-through of the same files to Parquet): {floor['cpu_seconds']} CPU s, "
        f"{floor['wall_seconds']} s wall.",
        "",
        "Every run: "
        + "; ".join(f"{r['label']} {r['cpu_seconds']} CPU s / {r['wall_seconds']} s" for r in record["runs"]),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", default="f37cc46", help="the commit to compare with")
    parser.add_argument(
        "--baseline-tree",
        type=Path,
        help="instead of --baseline's export: a checkout with its own .venv (e.g. one `make bootstrap` "
        "installed, bytecode compiled); --baseline then only names it in the results",
    )
    parser.add_argument("--after", default="HEAD", help="the commit measured against it")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args()
    after = subprocess.run(
        ["git", "rev-parse", args.after], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    record = run(
        args.baseline, after, args.scale, args.repeats, args.out_dir, baseline_tree=args.baseline_tree
    )
    print(json.dumps(record["summary"]))


if __name__ == "__main__":
    main()
