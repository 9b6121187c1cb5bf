"""What does the next day cost on a lake that already holds a long history?

Building 30 landing dates takes the better part of an hour; comparing two commits on the day after
does not need to rebuild them. This copies a lake kept aside (``--lake``: a lake some commit built,
never written to; its parquet files are hard-linked, since Delta never rewrites a data file in
place, everything else is copied), adds the next landing dates' files (``--landing``: a folder
laid out like a lake's ``landing/``), and runs the pipeline's steps for each of ``--dates`` in
order, in one child process per checkout (``history_bench.py --child``; CPU of the process and its
reaped and live children, per step and date).

Checkouts run one after the other, not at the same time: run twice with the order reversed and
quote both. A lake built by an older commit is migrated on the first date by newer code (and its
first incremental build may pay a full one), so the second date is the steady figure.

    uv run python bench/day_after_bench.py --lake /data/lake30 --landing /data/landing_extra \\
        --dates 2026-01-31 2026-02-01 --code before=/tmp/main --code after=. --work /tmp/d31
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from pathlib import Path


def copy_lake(source: Path, landing: Path, target: Path) -> None:
    """A writable copy of ``source`` with the extra landing files added."""
    if target.exists():
        shutil.rmtree(target)
    for root, _dirs, files in os.walk(source):
        rel = Path(root).relative_to(source)
        (target / rel).mkdir(parents=True, exist_ok=True)
        for name in files:
            src, dst = Path(root) / name, target / rel / name
            if name.endswith(".parquet"):
                os.link(src, dst)
            else:
                shutil.copy2(src, dst)
    for feed in landing.iterdir():
        for day in feed.iterdir():
            shutil.copytree(day, target / "landing" / feed.name / day.name, dirs_exist_ok=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lake", type=Path, required=True, help="the lake to start from (only read)")
    p.add_argument("--landing", type=Path, required=True, help="landing files of the next dates")
    p.add_argument("--dates", nargs="+", required=True, help="landing dates to run, in order")
    p.add_argument("--code", action="append", required=True, help="label=/path/to/checkout")
    p.add_argument(
        "--steps", nargs="+", default=["ingest_", "gate_", "silver_", "gold_", "publish_", "maintain_"]
    )
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--keep", action="store_true", help="keep the copied lakes")
    a = p.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    for item in a.code:
        label, code = item.split("=", 1)
        code = Path(code).resolve()
        lake = a.work / f"lake-{label}"
        copy_lake(a.lake, a.landing, lake)
        result = a.work / f"{label}.json"
        spec = {"kind": "history", "code": str(code), "dates": a.dates, "steps": a.steps}
        spec["result"] = str(result)
        spec_path = a.work / f"{label}.spec.json"
        spec_path.write_text(json.dumps(spec))
        env = {**os.environ, "OMNILAKE_HOME": str(lake), "OMNILAKE_DBT_DOCS": "false"}
        child = [str(code / ".venv/bin/python"), str(code / "bench/history_bench.py")]
        with (a.work / f"{label}.log").open("w") as log:
            rc = subprocess.call(
                [*child, "--child", str(spec_path)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=code,
            )
        if rc:
            print(f"{label}: failed (exit {rc}); log {a.work / (label + '.log')}")
            continue
        records = json.loads(result.read_text())
        for day in a.dates:
            rows = [r for r in records if r["date"] == day]
            total = sum(r["cpu_seconds"] for r in rows)
            detail = " ".join(f"{r['step']}={r['cpu_seconds']:.2f}" for r in rows)
            print(f"{label} {day} total={total:.2f} CPU-s | {detail}")
        if not a.keep:
            shutil.rmtree(lake)


if __name__ == "__main__":
    main()
