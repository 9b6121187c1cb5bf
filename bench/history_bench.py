"""Does a day cost the same after a month of history? CPU seconds per step per landing date, and the
slope of each step's cost against the days of history before it.

One delivery of ``--days`` landing dates is generated once; each checkout under test (``--code``:
this repository by default, or another checkout such as ``main`` at an earlier commit, to compare
before and after side by side) gets its own copy of it in a fresh lake and runs the pipeline's steps
one date after another in its own child process, all checkouts at the same time so that they share
the machine's conditions. Per step and date the child records the CPU seconds of the process and its
reaped and live children (``os.times`` and psutil: the Sail engine's server is a live child) and the
wall seconds.

``--steps`` limits the run to steps whose names start with the given prefixes (default: every step
of a day, ingestion, gates, silver, the gold build and publish, so the slope is the whole day's).
The slope is a least-squares fit of CPU seconds against
the date's index over every date but the first (which creates the tables), with its R^2.

Results: one JSON line per invocation appended to ``history.jsonl``, and ``history.md`` and
``history.png`` (CPU per day of the six steps whose cost varies most, per checkout) regenerated.

    uv run python bench/history_bench.py --scale 1 --days 30
    uv run python bench/history_bench.py --scale 0.5 --days 12 --code after=. --code before=/tmp/main
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
if str(REPO) not in sys.path:  # run as a script
    sys.path.insert(0, str(REPO))

from bench.process_cpu import cpu_seconds  # noqa: E402

RESULTS_DIR = BENCH_DIR / "results"
JSONL_NAME, MARKDOWN_NAME, PLOT_NAME = "history.jsonl", "history.md", "history.png"
START = date(2026, 1, 1)
SEED = 42
DEFAULT_STEPS = ("ingest_", "gate_", "silver_", "gold_", "publish_", "maintain_")


# --- inside a child: one checkout's code, one lake ----------------------------------------------


def measure_history(dates: Sequence[date], prefixes: Sequence[str]) -> list[dict[str, Any]]:
    """Run the steps named by ``prefixes`` for each date in order on the configured lake."""
    from omnilake.engine import get_spark
    from omnilake.lake import get_lake
    from omnilake.pipeline import RunContext, build_steps, new_run_id, run_step, topological

    lake = get_lake()
    lake.ensure_layout()
    get_spark()
    steps = [s for s in topological(build_steps()) if s.name.startswith(tuple(prefixes))]
    records = []
    for day in dates:
        context = RunContext(new_run_id("bench"), day, lake)
        for step in steps:
            cpu, wall = cpu_seconds(), time.perf_counter()
            run_step(step, context)
            records.append(
                {
                    "step": step.name,
                    "date": day.isoformat(),
                    "cpu_seconds": round(cpu_seconds() - cpu, 3),
                    "seconds": round(time.perf_counter() - wall, 3),
                }
            )
    return records


def _child(spec_path: Path) -> None:
    spec = json.loads(spec_path.read_text())
    sys.path.insert(0, spec["code"])  # the checkout under test, ahead of the installed project
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if spec["kind"] == "generate":
        from omnilake.generate import generate

        generate(Path(spec["landing"]), START, spec["days"], scale=spec["scale"], seed=spec["seed"])
        result: Any = {}
    else:
        result = measure_history([date.fromisoformat(d) for d in spec["dates"]], spec["steps"])
    Path(spec["result"]).write_text(json.dumps(result))


# --- in the parent ------------------------------------------------------------------------------


def _start_child(spec: dict[str, Any], work: Path, label: str, lake: Path) -> tuple[subprocess.Popen, Path]:
    spec_path, result_path, log_path = (work / f"{label}.{s}" for s in ("spec.json", "json", "log"))
    spec_path.write_text(json.dumps({**spec, "result": str(result_path)}))
    env = {**os.environ, "OMNILAKE_HOME": str(lake), "OMNILAKE_DBT_DOCS": "false"}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child", str(spec_path)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return process, result_path


def _finish(process: subprocess.Popen, result_path: Path, label: str) -> Any:
    code = process.wait()
    if code != 0 or not result_path.exists():
        log_path = result_path.with_suffix(".log")
        tail = " | ".join(log_path.read_text(errors="replace").strip().splitlines()[-3:])
        raise RuntimeError(f"history run {label!r} failed (exit {code}): {tail[-500:]}; log at {log_path}")
    return json.loads(result_path.read_text())


def fit(xs: Sequence[float], ys: Sequence[float]) -> dict[str, float | None]:
    """Least-squares slope and intercept of ``ys`` against ``xs``, and R^2 (None below two points)."""
    n = len(xs)
    if n < 2:
        return {"slope": None, "intercept": None, "r2": None}
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx if sxx else 0.0
    intercept = mean_y - slope * mean_x
    ss_tot = sum((y - mean_y) ** 2 for y in ys)
    ss_res = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys, strict=True))
    return {
        "slope": round(slope, 4),
        "intercept": round(intercept, 3),
        "r2": round(1 - ss_res / ss_tot, 3) if ss_tot else None,
    }


def slopes(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per step: CPU seconds per date, and the fit against the date's index (first date left out)."""
    dates = sorted({r["date"] for r in records})
    index = {d: n for n, d in enumerate(dates)}
    per_step: dict[str, dict[str, Any]] = {}
    for step in dict.fromkeys(r["step"] for r in records):
        rows = sorted((index[r["date"]], r["cpu_seconds"]) for r in records if r["step"] == step)
        fitted = [(x, y) for x, y in rows if x > 0]
        per_step[step] = {
            "cpu_seconds": [y for _, y in rows],
            **fit([x for x, _ in fitted], [y for _, y in fitted]),
        }
    total = [sum(r["cpu_seconds"] for r in records if r["date"] == d) for d in dates]
    per_step["total"] = {
        "cpu_seconds": [round(t, 3) for t in total],
        **fit(list(range(1, len(dates))), total[1:]),
    }
    return per_step


def run_history(
    scale: float,
    days: int,
    codes: dict[str, Path],
    *,
    steps: Sequence[str] = DEFAULT_STEPS,
    seed: int = SEED,
    out_dir: Path = RESULTS_DIR,
    keep_lakes: bool = False,
) -> dict[str, Any]:
    out_dir = Path(out_dir)
    (out_dir / "tmp").mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"history-{scale:g}-", dir=out_dir / "tmp"))
    landing = work / "landing"
    spec = {"kind": "generate", "code": str(REPO), "landing": str(landing), "days": days}
    process, result = _start_child({**spec, "scale": scale, "seed": seed}, work, "generate", work / "gen")
    _finish(process, result, "generate")
    dates = [(START + timedelta(days=n)).isoformat() for n in range(days)]
    commits = {label: _commit(code) for label, code in codes.items()}  # the code the children import
    running = {}
    for label, code in codes.items():
        lake = work / label
        shutil.copytree(landing, lake / "landing")
        child_spec = {"kind": "history", "code": str(code), "dates": dates, "steps": list(steps)}
        running[label] = _start_child(child_spec, work, label, lake)
    results = {label: _finish(*running[label], label) for label in codes}
    record = {
        "benchmark": "history",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "scale": scale,
        "days": days,
        "seed": seed,
        "steps": list(steps),
        "cpus": os.cpu_count(),
        "load_average_end": os.getloadavg(),
        "runs": {
            label: {
                "code": str(codes[label]),
                "commit": commits[label],
                "slopes": slopes(results[label]),
            }
            for label in codes
        },
    }
    with (out_dir / JSONL_NAME).open("a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    render(out_dir)
    if not keep_lakes:
        shutil.rmtree(work, ignore_errors=True)
    return record


def _commit(code: Path) -> str | None:
    done = subprocess.run(
        ["git", "-C", str(code), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or None


def markdown(record: dict[str, Any]) -> str:
    labels = list(record["runs"])
    lines = [
        "# History benchmark: CPU seconds per day of history, per step",
        "",
        f"Latest run {record['at']}: scale {record['scale']:g}, {record['days']} landing dates, seed "
        f"{record['seed']}, steps {', '.join(record['steps'])}, {record['cpus']} CPUs (load average at the end "
        f"{', '.join(f'{v:.1f}' for v in record['load_average_end'])}). Slope: least-squares CPU seconds per "
        "additional day of history (dates 2..N; the first creates the tables); R^2 of the fit; mean CPU "
        "seconds per date.",
        "",
        "| step | "
        + " | ".join(
            f"{label} ({record['runs'][label]['commit']}) slope s/day, R^2, mean" for label in labels
        )
        + " |",
        "|---|" + "---:|" * len(labels),
    ]
    steps = list(record["runs"][labels[0]]["slopes"])
    for step in steps:
        cells = []
        for label in labels:
            fitted = record["runs"][label]["slopes"].get(step)
            if not fitted or fitted["slope"] is None:
                cells.append("n/a")
                continue
            mean = sum(fitted["cpu_seconds"]) / len(fitted["cpu_seconds"])
            r2 = "n/a" if fitted["r2"] is None else f"{fitted['r2']:.2f}"
            cells.append(f"{fitted['slope']:+.3f}, {r2}, {mean:.2f}")
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    lines += ["", f"![CPU per date]({PLOT_NAME})", ""]
    return "\n".join(lines)


def plot(record: dict[str, Any], target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(record["runs"])
    steps = [s for s in record["runs"][labels[0]]["slopes"] if s != "total"]
    varying = sorted(
        steps, key=lambda s: -max(abs(record["runs"][lb]["slopes"][s]["slope"] or 0) for lb in labels)
    )[:6]
    figure, axes = plt.subplots(1, len(labels), figsize=(6 * len(labels), 4), sharey=True, squeeze=False)
    for axis, label in zip(axes[0], labels, strict=True):
        for step in varying:
            values = record["runs"][label]["slopes"][step]["cpu_seconds"]
            axis.plot(range(1, len(values) + 1), values, marker=".", label=step)
        axis.set_title(f"{label} ({record['runs'][label]['commit']})")
        axis.set_xlabel("landing date (days of history + 1)")
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel("CPU seconds")
    axes[0][-1].legend(fontsize=8)
    figure.suptitle(f"CPU per step per date, scale {record['scale']:g}")
    figure.tight_layout()
    figure.savefig(target, dpi=110)
    plt.close(figure)


def render(out_dir: Path = RESULTS_DIR) -> dict[str, Any] | None:
    jsonl = Path(out_dir) / JSONL_NAME
    if not jsonl.exists():
        return None
    record = json.loads(jsonl.read_text().strip().splitlines()[-1])
    (Path(out_dir) / MARKDOWN_NAME).write_text(markdown(record))
    plot(record, Path(out_dir) / PLOT_NAME)
    return record


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--code",
        action="append",
        default=[],
        metavar="LABEL=PATH",
        help="a checkout to measure (repeatable); default: this one, as 'current'",
    )
    parser.add_argument("--steps", nargs="+", default=list(DEFAULT_STEPS), help="step name prefixes")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--keep-lakes", action="store_true")
    parser.add_argument("--render", action="store_true", help="only rebuild the table and the plot")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child)
        return
    if args.render:
        render(args.out_dir)
        return
    if args.days < 3:
        parser.error("--days must be at least 3 (the first date is left out of the fit)")
    codes = dict(item.split("=", 1) for item in args.code) if args.code else {"current": str(REPO)}
    record = run_history(
        args.scale,
        args.days,
        {label: Path(path).resolve() for label, path in codes.items()},
        steps=args.steps,
        seed=args.seed,
        out_dir=args.out_dir,
        keep_lakes=args.keep_lakes,
    )
    print(markdown(record))


if __name__ == "__main__":
    main()
