"""What one day of a full-snapshot CRM feed costs to ingest, with the snapshot diffing on and off.

For each scale, the generator writes two days of landing data (``omnilake generate``); the CRM
snapshots are copied to fresh lake roots under ``<out_dir>/tmp/`` (removed afterwards). Each lake
gets day 1 ingested, then day 2 measured, in its own child process (its own embedded Sail engine,
started before the measured window). Day 2 comes in two variants:

- ``few``: the generator's day 2 as written (new sign-ups, tier moves, consent changes, its defects);
- ``10pct``: the same file with every tenth member's tier changed, ten times as many changes.

Measured per child, around ``ingest(["crm_members"], day 2)`` only: CPU seconds of the process and its
reaped children (``os.times``; the embedded engine runs in the process), wall seconds, and the
ingestion report (records, rows written to bronze, unchanged, quarantined). Diffing on and off run
side by side in one invocation, on the same files.

Results: one JSON line per invocation appended to ``results/snapshot.jsonl``, and
``results/snapshot.md`` rewritten from the latest line.

    uv run python bench/snapshot_bench.py --scale 1 10
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SOURCE = "crm_members"
FIRST_DAY = date(2026, 1, 1)
TIERS = ("bronze", "silver", "gold", "platinum")


def _child(lake_root: str, diff: str, day1: str, day2: str) -> dict:
    """Run in a child process: ingest day 1, then measure day 2."""
    os.environ["OMNILAKE_HOME"] = lake_root
    os.environ["OMNILAKE_SNAPSHOT_DIFF"] = diff
    from jobs.bronze.ingest import ingest
    from omnilake.engine import get_spark
    from omnilake.lake import get_lake

    lake = get_lake()
    lake.ensure_layout()
    get_spark()
    (first,) = ingest([SOURCE], date.fromisoformat(day1), lake)
    before, started = os.times(), time.perf_counter()
    (report,) = ingest([SOURCE], date.fromisoformat(day2), lake)
    wall, after = time.perf_counter() - started, os.times()
    cpu = sum(after[:4]) - sum(before[:4])
    return {
        "day1": {
            "records": first.records,
            "bronze_rows": first.bronze_rows,
            "seconds": round(first.seconds, 3),
        },
        "records": report.records,
        "bronze_rows": report.bronze_rows,
        "unchanged_rows": report.unchanged_rows,
        "quarantined_rows": report.quarantined_rows,
        "balanced": not report.unbalanced_files,
        "cpu_seconds": round(cpu, 3),
        "wall_seconds": round(wall, 3),
    }


def _run_child(lake_root: Path, diff: bool, day1: date, day2: date) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNILAKE_")}
    command = [sys.executable, __file__, "--child", str(lake_root), str(diff).lower(), str(day1), str(day2)]
    done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"child failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _more_changes(text: str, every: int = 10) -> tuple[str, int]:
    """The snapshot with every ``every``-th member's tier moved to the next tier."""
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    tier = header.index("tier")
    changed = 0
    for n, row in enumerate(body):
        if n % every == 0 and len(row) == len(header) and row[tier] in TIERS:
            row[tier] = TIERS[(TIERS.index(row[tier]) + 1) % len(TIERS)]
            changed += 1
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *body])
    return out.getvalue(), changed


def run_benchmark(scales: list[float], out_dir: Path) -> dict:
    from omnilake.generate import generate

    day1, day2 = FIRST_DAY, FIRST_DAY + timedelta(days=1)
    tmp = out_dir / "tmp"
    results = []
    try:
        for scale in scales:
            landing = tmp / f"generated-{scale}" / "landing"
            generate(landing, day1, 2, scale, 42, None)
            day2_file = landing / SOURCE / day2.isoformat() / f"{SOURCE}_{day2.isoformat()}.csv"
            text = day2_file.read_text(encoding="utf-8")
            variants = {"few": (text, 0), "10pct": _more_changes(text)}
            for variant, (day2_text, extra_changes) in variants.items():
                for diff in (True, False):
                    root = tmp / f"lake-{scale}-{variant}-{'on' if diff else 'off'}"
                    target = root / "landing" / SOURCE
                    target.mkdir(parents=True)
                    shutil.copytree(landing / SOURCE / day1.isoformat(), target / day1.isoformat())
                    (target / day2.isoformat()).mkdir()
                    (target / day2.isoformat() / day2_file.name).write_text(day2_text, encoding="utf-8")
                    measured = _run_child(root, diff, day1, day2)
                    results.append(
                        {
                            "scale": scale,
                            "variant": variant,
                            "diff": diff,
                            "tiers_moved": extra_changes,
                            **measured,
                        }
                    )
                    print(json.dumps(results[-1]), flush=True)
                    shutil.rmtree(root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "benchmark": "snapshot",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "results": results,
    }


def render(record: dict) -> str:
    lines = [
        "# One day of the CRM snapshot feed: ingestion with the snapshot diffing on and off",
        "",
        f"Latest measurement {record['at']} (commit {record['commit']}) on {record['cpus']} shared cores "
        "(`bench/snapshot_bench.py`). Day 2 ingested after day 1, each lake in its own process; "
        "CPU seconds of the ingestion of day 2 only (engine start-up excluded).",
        "",
        "| scale | day 2 | records | rows to bronze (on) | unchanged (on) | CPU s on | CPU s off | wall s on | wall s off |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    by = {(r["scale"], r["variant"], r["diff"]): r for r in record["results"]}
    for scale, variant in sorted(
        {(r["scale"], r["variant"]) for r in record["results"]}, key=lambda k: (k[0], k[1] != "few")
    ):
        on, off = by[(scale, variant, True)], by[(scale, variant, False)]
        lines.append(
            f"| {scale:g} | {variant} | {on['records']:,} | {on['bronze_rows']:,} | {on['unchanged_rows']:,} | "
            f"{on['cpu_seconds']:.2f} | {off['cpu_seconds']:.2f} | {on['wall_seconds']:.2f} | {off['wall_seconds']:.2f} |"
        )
    lines += [
        "",
        "`few`: the generator's day 2; `10pct`: the same file with every tenth member's tier moved. "
        "Rows to bronze count the received records written (gone rows aside); with the diffing off every "
        "good record is written. With the diffing on, staging still reads, splits and hashes every "
        "record in Python, and the state of the whole snapshot is read and written (delta-rs): that part "
        "grows with the snapshot, the Spark part with the changes; the split between them is not measured here.",
        "",
    ]
    return "\n".join(lines)


def _latest_per_scale(path: Path) -> dict:
    """One record holding, per scale, the results of the latest invocation that measured it."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    latest: dict[float, dict] = {}
    for record in records:
        for scale in {r["scale"] for r in record["results"]}:
            latest[scale] = record
    newest = records[-1]
    results = [r for scale, rec in sorted(latest.items()) for r in rec["results"] if r["scale"] == scale]
    commits = sorted({rec["commit"] for rec in latest.values()})
    return {**newest, "commit": ", ".join(commits), "results": results}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(_child(*sys.argv[2:6])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    record = run_benchmark(args.scale, args.out)
    with (args.out / "snapshot.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    (args.out / "snapshot.md").write_text(
        render(_latest_per_scale(args.out / "snapshot.jsonl")), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
