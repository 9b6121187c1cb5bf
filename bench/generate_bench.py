"""How fast the source-data generator writes, and whether its memory stays flat as scale grows.

Each scale runs in a fresh child process (so peak RSS is that run's alone) writing into a
temporary landing zone under bench/results/tmp/, which is removed afterwards. Prints a table and
appends one JSON line per invocation to bench/results/generate.jsonl.

    uv run python bench/generate_bench.py                 # scales 0.5 and 2, 3 days
    uv run python bench/generate_bench.py --scales 1 4 --days 7
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "generate.jsonl"
TMP_ROOT = BENCH_DIR / "results" / "tmp"
START = date(2024, 3, 1)


def run_one(scale: float, days: int, seed: int) -> dict[str, object]:
    """Generate in this process and report; called in a child so RSS is measured alone."""
    sys.path.insert(0, str(BENCH_DIR.parent))
    from omnilake.generate import generate

    TMP_ROOT.mkdir(parents=True, exist_ok=True)
    landing = Path(tempfile.mkdtemp(prefix=f"scale-{scale}-", dir=TMP_ROOT))
    try:
        began = time.perf_counter()
        summary = generate(landing, START, days, scale=scale, seed=seed)
        seconds = time.perf_counter() - began
        size = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file())
    finally:
        shutil.rmtree(landing, ignore_errors=True)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    if sys.platform == "darwin":
        peak_kib //= 1024  # bytes on macOS
    return {
        "scale": scale,
        "days": days,
        "seed": seed,
        "rows": summary.total_rows,
        "rows_by_source": {name: s.rows for name, s in summary.sources.items()},
        "files": summary.total_files,
        "bytes": size,
        "seconds": round(seconds, 3),
        "rows_per_second": round(summary.total_rows / seconds),
        "peak_rss_mib": round(peak_kib / 1024, 1),
    }


def run_in_child(scale: float, days: int, seed: int) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", str(scale), str(days), str(seed)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=BENCH_DIR, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(run_one(float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", type=float, nargs="+", default=[0.5, 2.0])
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    console = Console()
    results = []
    for scale in args.scales:
        with console.status(f"generating scale {scale:g}, {args.days} day(s)"):
            results.append(run_in_child(scale, args.days, args.seed))

    table = Table(title=f"omnilake generate, {args.days} day(s) from {START}")
    for column in ("scale", "rows", "files", "MiB written", "seconds", "rows/s", "peak RSS MiB"):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(
            f"{r['scale']:g}",
            f"{r['rows']:,}",
            f"{r['files']:,}",
            f"{r['bytes'] / 2**20:.1f}",
            f"{r['seconds']:.1f}",
            f"{r['rows_per_second']:,}",
            f"{r['peak_rss_mib']:.0f}",
        )
    console.print(table)

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": "generate",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "results": results,
    }
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    console.print(f"appended to {RESULTS.relative_to(BENCH_DIR.parent)}")


if __name__ == "__main__":
    main()
