"""What the whole pipeline costs per stage, against a copy-through floor, and whether a daily run stays flat.

On a fresh lake root under ``<out_dir>/tmp/`` (removed afterwards), each phase in its own child process
so that its memory, CPU and I/O are its own:

1. generate ``days + 1`` days of landing data (reported, not counted in the pipeline's figures);
2. run the pipeline (``omnilake.pipeline.run_pipeline``) over the first ``days`` dates, measuring every
   step; steps are summed into stages: ingest, bronze gate, silver, silver gate, dbt, gold gate, publish;
3. run the next day on that lake (the incremental run), and the same delivery on a second, fresh lake
   (the baseline): same input, so their ratio is the cost of history;
4. the copy-through floor: DuckDB reads every landing file step 2 read, once, and writes it as Parquet.

What is measured, per step, in the child that runs the pipeline:

- wall seconds: ``StepOutcome.seconds``; the engine's start-up is its own line;
- CPU seconds: ``os.times()`` of the process and its reaped children (the dbt subprocesses), plus
  its live children's (psutil: the engine's server);
- peak RSS: the process plus its live children, sampled every 0.1 s (children re-listed every second);
  the exact high-water marks of the process and of its largest child (``ru_maxrss``) are kept too;
- bytes read: ``rchar`` of ``/proc/self/io`` (bytes passed to read calls, whether from disk or page
  cache; it includes the loopback socket between the Spark Connect client and the embedded Sail server);
  bytes written: ``write_bytes`` (bytes sent to storage); both include reaped children, i.e. dbt;
- input rows: landing records (ingest), bronze + quarantine rows of the date (bronze gate), the silver
  steps' ``rows_in``, rows of every silver table (silver gate), of the silver tables dbt reads (dbt), of
  the staging marts (gold gate), rows published (publish); table counts from Delta file statistics.
  Counting happens between steps, outside every measured window.

Results: one JSON line per invocation appended to ``pipeline.jsonl``, then ``pipeline.md`` (latest run
per scale) and ``pipeline_stages.png`` regenerated from all lines.

    uv run python bench/pipeline_bench.py --scale 0.5 --days 3
    uv run python bench/pipeline_bench.py --scale 0.5 1 --days 3
    uv run python bench/pipeline_bench.py --render        # only rebuild the table and the plot
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
if str(REPO) not in sys.path:  # run as a script: the child processes import omnilake from the repo
    sys.path.insert(0, str(REPO))

from bench.process_cpu import cpu_times  # noqa: E402
from omnilake.errors import OmnilakeError  # noqa: E402

RESULTS_DIR = BENCH_DIR / "results"
JSONL_NAME, MARKDOWN_NAME, PLOT_NAME = "pipeline.jsonl", "pipeline.md", "pipeline_stages.png"
START = date(2026, 1, 1)
SEED = 42
STAGES = ("ingest", "bronze gate", "silver", "silver gate", "dbt", "gold gate", "publish", "maintenance")
GATE_STAGES = ("bronze gate", "silver gate", "gold gate")
PACKAGES = (
    "pysail",
    "pyspark",
    "duckdb",
    "dbt-core",
    "dbt-duckdb",
    "deltalake",
    "great-expectations",
    "pyarrow",
)
MIB = 2**20
_SAMPLE_SECONDS = 0.1
_RELIST_EVERY = 10  # samples between two scans for child processes (a scan reads all of /proc)


class BenchError(OmnilakeError):
    """A benchmark phase failed; the message names the log to read."""


def stage_of(step: str) -> str:
    """The reported stage a pipeline step belongs to."""
    if step.startswith("ingest_"):
        return "ingest"
    if step.startswith("silver_"):
        return "silver"
    named = {
        "gate_bronze": "bronze gate",
        "gate_silver": "silver gate",
        "gold_build": "dbt",
        "gate_gold": "gold gate",
        "publish_gold": "publish",
        "maintain_tables": "maintenance",
    }
    return named.get(step, "other")


# --- measuring, inside a child process -----------------------------------------------------------


def _proc_io() -> dict[str, int]:
    try:
        text = Path("/proc/self/io").read_text()
    except OSError:  # not Linux: I/O is reported as zero
        return {}
    return {key: int(value) for key, value in (line.split(": ") for line in text.splitlines())}


def _maxrss_bytes(who: int) -> int:
    peak = resource.getrusage(who).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


class TreeMemorySampler(threading.Thread):
    """Samples the resident memory of this process plus its children; ``take_peak`` reads and resets."""

    def __init__(self) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        import psutil

        self._psutil = psutil
        self._me = psutil.Process()
        self._children: list[Any] = []
        self._peak = 0
        self._lock = threading.Lock()
        self._halt = threading.Event()

    def run(self) -> None:
        tick = 0
        while not self._halt.wait(_SAMPLE_SECONDS):
            if tick % _RELIST_EVERY == 0:
                try:
                    self._children = self._me.children(recursive=True)
                except self._psutil.Error:
                    self._children = []
            tick += 1
            total = 0
            for process in (self._me, *self._children):
                try:
                    total += process.memory_info().rss
                except self._psutil.Error:
                    continue
            with self._lock:
                self._peak = max(self._peak, total)

    def take_peak(self) -> int:
        with self._lock:
            peak, self._peak = self._peak, self._me.memory_info().rss
        return peak

    def stop(self) -> None:
        self._halt.set()
        self.join()


@dataclass
class _Mark:
    at: float
    io: dict[str, int]
    cpu: dict[str, float]

    @classmethod
    def now(cls) -> _Mark:
        return cls(time.perf_counter(), _proc_io(), cpu_times())

    def since(self, earlier: _Mark) -> dict[str, Any]:
        def io(key: str) -> int:
            return self.io.get(key, 0) - earlier.io.get(key, 0)

        return {
            "cpu_user_seconds": round(self.cpu["user"] - earlier.cpu["user"], 3),
            "cpu_system_seconds": round(self.cpu["system"] - earlier.cpu["system"], 3),
            "cpu_children_seconds": round(self.cpu["children"] - earlier.cpu["children"], 3),
            "read_bytes": io("rchar"),
            "written_bytes": io("write_bytes"),
            "disk_read_bytes": io("read_bytes"),
            "syscall_written_bytes": io("wchar"),
        }


def _tree_bytes(root: Path, skip: str = "landing") -> int:
    total = 0
    for directory, subdirectories, files in os.walk(root):
        if Path(directory) == root and skip in subdirectories:
            subdirectories.remove(skip)
        for name in files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_size
            except OSError:
                continue
    return total


def _delta_rows(paths: Sequence[str]) -> int:
    from deltalake import DeltaTable

    return sum(DeltaTable(p).count() for p in paths if DeltaTable.is_deltatable(p))


def _mart_rows(warehouse: str) -> int:
    import duckdb

    from omnilake.pipeline import GOLD_MARTS

    with duckdb.connect(warehouse, read_only=True) as con:
        return sum(con.execute(f"select count(*) from main.{mart}").fetchone()[0] for mart in GOLD_MARTS)


_RESOURCE_REPORT = re.compile(r"Resource report: (\{.*\})")
_NODES_FINISHED = re.compile(r"Finished running .* \((\d+(?:\.\d+)?)s\)\.")


def dbt_commands(log_text: str) -> list[dict[str, Any]]:
    """Per dbt command in a stretch of ``dbt.log``: its wall, user and kernel seconds, peak RSS, node time."""
    commands: list[dict[str, Any]] = []
    nodes_seconds = None
    for line in log_text.splitlines():
        if match := _NODES_FINISHED.search(line):
            nodes_seconds = float(match.group(1))
        elif match := _RESOURCE_REPORT.search(line):
            report = json.loads(match.group(1))
            commands.append(
                {
                    "command": report.get("command_name"),
                    "wall_seconds": round(float(report.get("command_wall_clock_time", 0)), 2),
                    "user_seconds": round(float(report.get("process_user_time", 0)), 2),
                    "kernel_seconds": round(float(report.get("process_kernel_time", 0)), 2),
                    "peak_rss_mib": round(int(report.get("process_mem_max_rss", 0)) / 1024, 1),
                    "nodes_seconds": nodes_seconds,
                    "partial_parse": "Unable to do partial parsing" not in log_text,
                }
            )
            nodes_seconds = None
    return commands


class _StepRecorder:
    """The ``on_step`` callback: attributes time, CPU, I/O and memory since the last mark to the step."""

    def __init__(self, lake: Any, sampler: TreeMemorySampler) -> None:
        from omnilake.publish import dbt_artifacts_path, silver_sources

        self.lake = lake
        self.root = lake.root.local_path
        self.sampler = sampler
        self.dbt_log = dbt_artifacts_path(lake).parent / "logs" / "dbt.log"
        self.silver_paths = [t.path for t in lake.tables("silver")]
        self.dbt_source_paths = [lake.path("silver", name) for name in silver_sources()]
        self.steps: list[dict[str, Any]] = []
        self.ingested: dict[str, dict[str, int]] = {}
        self.overhead_seconds = 0.0
        self.mark()

    def mark(self) -> None:
        self.sampler.take_peak()
        self.lake_bytes = _tree_bytes(self.root)
        self.dbt_log_offset = self.dbt_log.stat().st_size if self.dbt_log.exists() else 0
        self.last = _Mark.now()

    def __call__(self, outcome: Any) -> None:
        now = _Mark.now()
        peak = self.sampler.take_peak()
        started = time.perf_counter()
        day = outcome.landing_date.isoformat()
        record = {
            "step": outcome.step,
            "stage": stage_of(outcome.step),
            "date": day,
            "seconds": round(outcome.seconds, 3),
            **now.since(self.last),
            "peak_rss_bytes": peak,
            "input_rows": self._input_rows(outcome, day),
            "lake_bytes_delta": _tree_bytes(self.root) - self.lake_bytes,
        }
        if outcome.step == "gold_build" and self.dbt_log.exists():
            with self.dbt_log.open("rb") as handle:
                handle.seek(self.dbt_log_offset)
                record["dbt_commands"] = dbt_commands(handle.read().decode("utf-8", "replace"))
        self.steps.append(record)
        self.mark()
        self.overhead_seconds += time.perf_counter() - started

    def _input_rows(self, outcome: Any, day: str) -> int:
        result = outcome.result if isinstance(outcome.result, dict) else {}
        stage = stage_of(outcome.step)
        if stage == "ingest":
            totals = self.ingested.setdefault(day, {"bronze": 0, "quarantine": 0})
            totals["bronze"] += int(result.get("bronze_rows", 0))
            totals["quarantine"] += int(result.get("quarantined_rows", 0))
            return int(result.get("records", 0))
        if stage == "bronze gate":
            return sum(self.ingested.get(day, {}).values())
        if stage == "silver":
            tables = result.get("tables", [result])
            return sum(int(t.get("rows_in", 0)) for t in tables)
        if stage == "silver gate":
            return _delta_rows(self.silver_paths)
        if stage == "dbt":
            self.staging_warehouse = result.get("warehouse")
            return _delta_rows(self.dbt_source_paths)
        if stage == "gold gate":
            warehouse = getattr(self, "staging_warehouse", None)
            return _mart_rows(warehouse) if warehouse and Path(warehouse).exists() else 0
        if stage == "publish":
            return sum(v for k, v in result.items() if k != "seconds" and isinstance(v, int))
        return 0


def measure_pipeline(dates: Sequence[date]) -> dict[str, Any]:
    """Run the pipeline over ``dates`` on the configured lake (``OMNILAKE_HOME``), measuring each step."""
    from omnilake.engine import get_engine, stop_engine
    from omnilake.lake import get_lake
    from omnilake.pipeline import run_pipeline

    load_start = os.getloadavg()
    lake = get_lake()
    lake.ensure_layout()
    sampler = TreeMemorySampler()
    sampler.start()
    before = _Mark.now()
    get_engine()
    engine = {"seconds": round(time.perf_counter() - before.at, 3), **_Mark.now().since(before)}
    engine["peak_rss_bytes"] = sampler.take_peak()
    recorder = _StepRecorder(lake, sampler)
    run_pipeline(dates, lake, on_step=recorder)
    sampler.stop()
    stop_engine()
    return {
        "dates": [d.isoformat() for d in dates],
        "engine_start": engine,
        "steps": recorder.steps,
        "bench_overhead_seconds": round(recorder.overhead_seconds, 2),
        "peak_rss_self_bytes": _maxrss_bytes(resource.RUSAGE_SELF),
        "peak_rss_largest_child_bytes": _maxrss_bytes(resource.RUSAGE_CHILDREN),
        "load_average": {"start": load_start, "end": os.getloadavg()},
    }


def measure_generation(landing: Path, days: int, scale: float, seed: int) -> dict[str, Any]:
    from omnilake.generate import generate

    before = _Mark.now()
    summary = generate(landing, START, days, scale=scale, seed=seed)
    return {
        "days": days,
        "rows": summary.total_rows,
        "files": summary.total_files,
        "bytes": sum(s.bytes for s in summary.sources.values()),
        "seconds": round(summary.seconds, 3),
        "rows_per_second": round(summary.total_rows / summary.seconds) if summary.seconds else None,
        **_Mark.now().since(before),
        "peak_rss_bytes": _maxrss_bytes(resource.RUSAGE_SELF),
    }


def measure_floor(files: Sequence[dict[str, str]], target: Path) -> dict[str, Any]:
    """DuckDB reads each file once (its contract's format and delimiter, gzip by extension) and writes
    it as Parquet. Malformed lines are skipped, not fatal: the floor measures throughput."""
    import duckdb

    from omnilake.contracts import contract

    before = _Mark.now()
    con = duckdb.connect()
    rows, unreadable = 0, []
    for number, file in enumerate(files):
        source_contract = contract("landing", file["source"])
        path = file["path"].replace("'", "''")
        if source_contract.format == "ndjson":
            scan = f"read_json('{path}', format = 'newline_delimited', ignore_errors = true)"
        else:
            delimiter = str(source_contract.options.get("delimiter", ",")).replace("'", "''")
            scan = (
                f"read_csv('{path}', delim = '{delimiter}', header = true, "
                "ignore_errors = true, strict_mode = false)"
            )
        out = target / f"{number:05d}.parquet"
        try:
            rows += con.execute(f"copy (select * from {scan}) to '{out}' (format parquet)").fetchone()[0]
        except duckdb.Error as exc:
            unreadable.append({"path": file["path"], "error": str(exc).splitlines()[0]})
    con.close()
    seconds = time.perf_counter() - before.at
    return {
        "files": len(files),
        "unreadable_files": unreadable,
        "rows": rows,
        "bytes_in": sum(Path(f["path"]).stat().st_size for f in files),
        "bytes_out": _tree_bytes(target, skip=""),
        "seconds": round(seconds, 3),
        **_Mark.now().since(before),
        "peak_rss_bytes": _maxrss_bytes(resource.RUSAGE_SELF),
    }


def _child(kind: str, spec_path: Path) -> None:
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    spec = json.loads(spec_path.read_text())
    if kind == "generate":
        result = measure_generation(Path(spec["landing"]), spec["days"], spec["scale"], spec["seed"])
    elif kind == "pipeline":
        result = measure_pipeline([date.fromisoformat(d) for d in spec["dates"]])
    elif kind == "floor":
        result = measure_floor(spec["files"], Path(spec["target"]))
    else:
        raise BenchError(f"unknown benchmark phase {kind!r}")
    Path(spec["result"]).write_text(json.dumps(result))


# --- orchestrating, in the parent ----------------------------------------------------------------


def _run_child(kind: str, label: str, spec: dict[str, Any], work: Path, lake_root: Path | None = None):
    spec_path, result_path, log_path = (work / f"{label}.{suffix}" for suffix in ("spec.json", "json", "log"))
    spec_path.write_text(json.dumps({**spec, "result": str(result_path)}))
    env = dict(os.environ)
    if lake_root is not None:
        env["OMNILAKE_HOME"] = str(lake_root)
    with log_path.open("w") as log:
        completed = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--child", kind, str(spec_path)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if completed.returncode != 0 or not result_path.exists():
        tail = " | ".join(log_path.read_text(errors="replace").strip().splitlines()[-3:])
        raise BenchError(
            f"benchmark phase {label!r} failed (exit {completed.returncode}): {tail[-500:]}; "
            f"full log at {log_path}"
        )
    return json.loads(result_path.read_text())


def landing_files(landing: Path, dates: Sequence[date]) -> list[dict[str, str]]:
    """The files the pipeline takes for ``dates``: ``landing/<source>/<date>/<file>``, hidden ones excluded."""
    wanted = {d.isoformat() for d in dates}
    return [
        {"source": path.parent.parent.name, "path": str(path)}
        for path in sorted(landing.glob("*/*/*"))
        if path.is_file()
        and path.parent.name in wanted
        and not path.parent.parent.name.startswith(("_", "."))
        and not path.name.startswith(("_", "."))
    ]


def _copy_delivery(landing: Path, day: date, target: Path) -> None:
    for day_dir in landing.glob(f"*/{day.isoformat()}"):
        if not day_dir.parent.name.startswith(("_", ".")):
            shutil.copytree(day_dir, target / day_dir.parent.name / day_dir.name)


def summarise(run: dict[str, Any]) -> dict[str, Any]:
    """Per-stage, per-step and per-day totals of one measured pipeline run."""
    stages: dict[str, dict[str, Any]] = {}
    steps: dict[str, dict[str, Any]] = {}
    days: dict[str, float] = {}
    for record in run["steps"]:
        for key, bucket in ((record["stage"], stages), (record["step"], steps)):
            total = bucket.setdefault(
                key,
                {
                    "seconds": 0.0,
                    "input_rows": 0,
                    "cpu_seconds": 0.0,
                    "cpu_children_seconds": 0.0,
                    "peak_rss_bytes": 0,
                    "read_bytes": 0,
                    "written_bytes": 0,
                    "lake_bytes_delta": 0,
                },
            )
            total["seconds"] += record["seconds"]
            total["input_rows"] += record["input_rows"]
            total["cpu_seconds"] += record["cpu_user_seconds"] + record["cpu_system_seconds"]
            total["cpu_children_seconds"] += record["cpu_children_seconds"]
            total["peak_rss_bytes"] = max(total["peak_rss_bytes"], record["peak_rss_bytes"])
            for field in ("read_bytes", "written_bytes", "lake_bytes_delta"):
                total[field] += record[field]
        days[record["date"]] = days.get(record["date"], 0.0) + record["seconds"]
    for bucket in (stages, steps):
        for total in bucket.values():
            seconds = total["seconds"]
            total["rows_per_second"] = round(total["input_rows"] / seconds) if seconds else None
            total["cpu_per_wall"] = round(total["cpu_seconds"] / seconds, 2) if seconds else None
            for field in ("seconds", "cpu_seconds", "cpu_children_seconds"):
                total[field] = round(total[field], 2)
    ordered = {s: stages[s] for s in (*STAGES, "other") if s in stages}
    steps_seconds = sum(s["seconds"] for s in ordered.values())
    gates = sum(ordered[s]["seconds"] for s in GATE_STAGES if s in ordered)
    engine = run["engine_start"]
    return {
        "dates": run["dates"],
        "engine_start_seconds": engine["seconds"],
        "steps_seconds": round(steps_seconds, 2),
        "wall_seconds": round(steps_seconds + engine["seconds"], 2),
        "cpu_seconds": round(
            sum(s["cpu_seconds"] for s in ordered.values())
            + engine["cpu_user_seconds"]
            + engine["cpu_system_seconds"],
            2,
        ),
        "gates_share": round(gates / steps_seconds, 3) if steps_seconds else None,
        "peak_rss_bytes": max([engine["peak_rss_bytes"], *(s["peak_rss_bytes"] for s in ordered.values())]),
        "peak_rss_self_bytes": run["peak_rss_self_bytes"],
        "peak_rss_largest_child_bytes": run["peak_rss_largest_child_bytes"],
        "stages": ordered,
        "steps": dict(sorted(steps.items(), key=lambda item: -item[1]["seconds"])),
        "seconds_per_day": {day: round(seconds, 2) for day, seconds in days.items()},
        "dbt_commands": [c for r in run["steps"] for c in r.get("dbt_commands", [])],
        "bench_overhead_seconds": run["bench_overhead_seconds"],
        "load_average": run["load_average"],
    }


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return round(numerator / denominator, 3) if numerator and denominator else None


def run_benchmark(
    scale: float,
    days: int,
    out_dir: Path | str = RESULTS_DIR,
    *,
    seed: int = SEED,
    keep_lakes: bool = False,
    on_progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Benchmark the pipeline at ``scale`` over ``days`` days plus one incremental day, on fresh lakes.

    Appends the record to ``<out_dir>/pipeline.jsonl``, regenerates ``pipeline.md`` and
    ``pipeline_stages.png`` there, and returns the record. The lakes live under ``<out_dir>/tmp/`` and
    are removed unless ``keep_lakes`` (or a phase failed: then the error names its log).
    """
    if not scale > 0:
        raise BenchError(f"--scale must be above 0, got {scale!r}")
    if days < 1:
        raise BenchError(f"--days must be at least 1, got {days!r}")
    progress = on_progress or (lambda message: None)
    out_dir = Path(out_dir)
    (out_dir / "tmp").mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"pipeline-{scale:g}-", dir=out_dir / "tmp"))
    lake, fresh = work / "lake", work / "fresh"
    dates = [START + timedelta(days=n) for n in range(days)]
    next_day = START + timedelta(days=days)
    at = datetime.now(UTC).isoformat(timespec="seconds")
    load_start = os.getloadavg()

    progress(f"generating {days + 1} day(s) at scale {scale:g}")
    spec = {"landing": str(lake / "landing"), "days": days + 1, "scale": scale, "seed": seed}
    generation = _run_child("generate", "generate", spec, work)
    progress(f"running the pipeline over {days} day(s)")
    run = summarise(_run_child("pipeline", "run", {"dates": [d.isoformat() for d in dates]}, work, lake))
    progress(f"running {next_day} incrementally")
    incremental = summarise(
        _run_child("pipeline", "incremental", {"dates": [next_day.isoformat()]}, work, lake)
    )
    progress(f"running {next_day} on a fresh lake")
    _copy_delivery(lake / "landing", next_day, fresh / "landing")
    baseline = summarise(_run_child("pipeline", "baseline", {"dates": [next_day.isoformat()]}, work, fresh))
    progress("copying the landing files through DuckDB (the floor)")
    (work / "floor").mkdir()
    floor_spec = {"files": landing_files(lake / "landing", dates), "target": str(work / "floor")}
    floor = _run_child("floor", "floor", floor_spec, work)

    record = {
        "benchmark": "pipeline",
        "at": at,
        **git_facts(),
        "machine": machine_facts(),
        "versions": package_versions(),
        "load_average": {"start": load_start, "end": os.getloadavg()},
        "scale": scale,
        "days": days,
        "seed": seed,
        "start_date": START.isoformat(),
        "generate": generation,
        "run": run,
        "incremental": incremental,
        "baseline": baseline,
        "floor": floor,
        "floor_ratio": _ratio(run["wall_seconds"], floor["seconds"]),
        "incremental_ratio": _ratio(incremental["wall_seconds"], baseline["wall_seconds"]),
        # CPU seconds move less than wall seconds when other work shares the machine.
        "incremental_cpu_ratio": _ratio(incremental["cpu_seconds"], baseline["cpu_seconds"]),
        "gates_share": run["gates_share"],
    }
    jsonl = out_dir / JSONL_NAME
    with jsonl.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    render(out_dir)
    if not keep_lakes:
        shutil.rmtree(work, ignore_errors=True)
    return record


# --- machine facts -------------------------------------------------------------------------------


def git_facts() -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True)
        except (OSError, subprocess.CalledProcessError):
            return None
        return out.stdout.strip()

    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(status) if status is not None else None,
    }


def machine_facts() -> dict[str, Any]:
    import psutil

    model = None
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.read_text().splitlines()
                if "model name" in line
            ),
            None,
        )
    return {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": model or platform.processor() or None,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "engine": os.environ.get("OMNILAKE_ENGINE", "remote" if os.environ.get("SPARK_REMOTE") else "sail"),
    }


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions


# --- reporting -----------------------------------------------------------------------------------


def latest_per_scale(jsonl: Path) -> list[dict[str, Any]]:
    """The newest complete record of each scale, by ascending scale."""
    latest: dict[float, dict[str, Any]] = {}
    if jsonl.exists():
        for line in jsonl.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                if record.get("benchmark") == "pipeline":
                    latest[record["scale"]] = record
    return [latest[s] for s in sorted(latest)]


def _mib(value: float) -> str:
    return f"{value / MIB:,.0f}" if value >= 10 * MIB else f"{value / MIB:,.1f}"


def _ratio_text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _load(record: dict[str, Any]) -> str:
    start, end = record["load_average"]["start"], record["load_average"]["end"]
    return f"{start[0]:.2f} → {end[0]:.2f}"


STAGE_COLUMNS = (
    "stage",
    "wall s",
    "share",
    "input rows",
    "rows/s",
    "CPU s",
    "CPU/wall",
    "peak RSS MiB",
    "read MiB",
    "written MiB",
)


def stage_rows(record: dict[str, Any]) -> list[tuple[str, ...]]:
    """The stage table of one record: the engine's start, each stage, then the total."""
    run = record["run"]
    rows = []
    total = run["wall_seconds"]
    engine_seconds = run["engine_start_seconds"]
    rows.append(("engine start", f"{engine_seconds:.1f}", f"{engine_seconds / total:.0%}", *("",) * 7))
    for name, stage in run["stages"].items():
        rows.append(
            (
                name,
                f"{stage['seconds']:.1f}",
                f"{stage['seconds'] / total:.0%}",
                f"{stage['input_rows']:,}",
                f"{stage['rows_per_second']:,}" if stage["rows_per_second"] is not None else "",
                f"{stage['cpu_seconds']:.1f}",
                f"{stage['cpu_per_wall']:.2f}" if stage["cpu_per_wall"] is not None else "",
                _mib(stage["peak_rss_bytes"]),
                _mib(stage["read_bytes"]),
                _mib(stage["written_bytes"]),
            )
        )
    rows.append(
        (
            "**total**",
            f"**{total:.1f}**",
            "100%",
            "",
            "",
            f"{run['cpu_seconds']:.1f}",
            f"{run['cpu_seconds'] / total:.2f}",
            _mib(run["peak_rss_bytes"]),
            _mib(sum(s["read_bytes"] for s in run["stages"].values())),
            _mib(sum(s["written_bytes"] for s in run["stages"].values())),
        )
    )
    return rows


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right_from: int = 1) -> list[str]:
    align = ["---" if i < right_from else "---:" for i in range(len(header))]
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(align) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def markdown(records: Sequence[dict[str, Any]]) -> str:
    lines = [
        "# Pipeline benchmark",
        "",
        "Generated by `bench/pipeline_bench.py` from `pipeline.jsonl` (the latest run per scale); do not "
        "edit. How each figure is measured is in the script's docstring. Wall seconds are summed over "
        "the run's days; CPU counts the process and its dbt subprocesses (2.0 = both cores busy on a "
        "2-core machine); read = bytes through read calls (page cache and the loopback Spark Connect "
        "socket included), written = bytes sent to storage; peak RSS is the process plus its children.",
        "",
        "## Summary",
        "",
    ]
    summary = []
    for r in records:
        inc, base = r["incremental"], r["baseline"]
        summary.append(
            (
                f"{r['scale']:g}",
                str(r["days"]),
                f"{r['run']['stages']['ingest']['input_rows']:,}",
                f"{r['run']['wall_seconds']:.0f}",
                f"{r['floor']['seconds']:.1f}",
                f"{r['floor_ratio']:.0f}×" if r["floor_ratio"] else "",
                f"{base['wall_seconds']:.0f}",
                f"{inc['wall_seconds']:.0f}",
                f"{_ratio_text(r.get('incremental_ratio'))} / {_ratio_text(r.get('incremental_cpu_ratio'))}",
                f"{r['gates_share']:.0%}",
                _mib(r["run"]["peak_rss_bytes"]),
                _load(r),
            )
        )
    lines += _table(
        (
            "scale",
            "days",
            "landing rows",
            "pipeline s",
            "floor s",
            "× floor",
            "fresh day s",
            "next day s",
            "next / fresh (wall / CPU)",
            "gates",
            "peak RSS MiB",
            "load avg",
        ),
        summary,
    )
    for r in records:
        run, floor, gen = r["run"], r["floor"], r["generate"]
        slowest = list(run["steps"].items())[:3]
        lines += [
            "",
            f"## Scale {r['scale']:g}: {r['days']} day(s) from {r['start_date']}, then 1 incremental",
            "",
            *_table(STAGE_COLUMNS, stage_rows(r)),
            "",
            f"- {r['at']}, commit {r['commit']}{' (uncommitted changes)' if r['dirty'] else ''}; "
            f"{r['machine']['cores']} cores, {r['machine']['memory_gib']} GiB; load average {_load(r)}; "
            + ", ".join(f"{k} {v}" for k, v in r["versions"].items() if v),
            f"- Generation (not counted above): {gen['rows']:,} rows in {gen['files']} files "
            f"({_mib(gen['bytes'])} MiB, {gen['days']} days) in {gen['seconds']:.1f} s.",
            f"- Floor: DuckDB copies the {floor['files']} landing files of the run ({_mib(floor['bytes_in'])} "
            f"MiB, {floor['rows']:,} rows) to Parquet in {floor['seconds']:.1f} s; the pipeline takes "
            f"{r['floor_ratio']:.0f}× as long.",
            f"- Incremental: the next day takes {r['incremental']['wall_seconds']:.1f} s after "
            f"{r['days']} day(s) of history, {r['baseline']['wall_seconds']:.1f} s on a fresh lake "
            f"(same delivery): ratio {_ratio_text(r.get('incremental_ratio'))} in wall time, "
            f"{_ratio_text(r.get('incremental_cpu_ratio'))} in CPU time. Per day in the run: "
            + ", ".join(f"{s:.0f} s" for s in run["seconds_per_day"].values())
            + ".",
            f"- Gates: {r['gates_share']:.0%} of the run's step time. Slowest steps: "
            + "; ".join(
                f"{name} {s['seconds']:.1f} s (CPU/wall {s['cpu_per_wall']:.2f})" for name, s in slowest
            )
            + ".",
        ]
        builds = [c for c in run["dbt_commands"] if c["command"] == "build"]
        docs = [c for c in run["dbt_commands"] if c["command"] != "build"]
        if builds:
            node_seconds = sum(c["nodes_seconds"] or 0 for c in builds)
            inside = sum(c["wall_seconds"] for c in run["dbt_commands"])
            lines.append(
                f"- dbt, over the run: {len(builds)} `dbt build` ({sum(c['wall_seconds'] for c in builds):.1f} s "
                f"inside dbt, of which models and tests {node_seconds:.1f} s) and {len(docs)} "
                f"`dbt docs generate` ({sum(c['wall_seconds'] for c in docs):.1f} s); "
                f"the other {run['stages']['dbt']['seconds'] - inside:.1f} s of the stage is outside dbt's "
                "own clock (each dbt process's interpreter start and imports, copying and trimming the "
                "warehouse)."
            )
    return "\n".join(lines) + "\n"


STAGE_COLOURS = {
    "engine start": "#bbbbbb",
    "ingest": "#4e79a7",
    "bronze gate": "#f28e2b",
    "silver": "#59a14f",
    "silver gate": "#edc948",
    "dbt": "#b07aa1",
    "gold gate": "#ff9da7",
    "publish": "#9c755f",
    "maintenance": "#bab0ac",
    "other": "#79706e",
}


def _stage_seconds(summary: dict[str, Any]) -> dict[str, float]:
    return {
        "engine start": summary["engine_start_seconds"],
        **{name: stage["seconds"] for name, stage in summary["stages"].items()},
    }


def plot(records: Sequence[dict[str, Any]], target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 5.5), gridspec_kw={"width_ratios": [1, 1.4]})
    labels = [f"scale {r['scale']:g}\n{r['days']} days" for r in records]

    def stacked(axis, x: float, seconds: dict[str, float], width: float) -> float:
        bottom = 0.0
        for name, value in seconds.items():
            axis.bar(x, value, width, bottom=bottom, color=STAGE_COLOURS.get(name, "#79706e"), label=name)
            bottom += value
        axis.text(x, bottom, f"{bottom:.0f}", ha="center", va="bottom", fontsize=8)
        return bottom

    for i, r in enumerate(records):
        stacked(left, i - 0.18, _stage_seconds(r["run"]), 0.34)
        left.bar(i + 0.18, r["floor"]["seconds"], 0.34, color="#222222", label="DuckDB floor")
        left.text(
            i + 0.18,
            r["floor"]["seconds"],
            f"{r['floor']['seconds']:.1f}",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    left.set_xticks(range(len(records)), labels)
    left.set_ylabel("wall seconds")
    left.set_title("Whole run, by stage (left bar) vs copy-through floor (right bar)", fontsize=10)

    ticks, tick_labels = [], []
    for i, r in enumerate(records):
        for offset, (name, summary) in zip(
            (-0.2, 0.2),
            (("fresh lake", r["baseline"]), (f"after {r['days']} days", r["incremental"])),
            strict=True,
        ):
            stacked(right, i + offset, _stage_seconds(summary), 0.36)
            ticks.append(i + offset)
            tick_labels.append(f"{name}\nscale {r['scale']:g}")
    right.set_xticks(ticks, tick_labels, fontsize=8)
    right.set_ylabel("wall seconds")
    right.set_title("One day's delivery: on a fresh lake vs after the run (incremental)", fontsize=10)

    handles, names = left.get_legend_handles_labels()
    unique = dict(zip(names, handles, strict=True))
    figure.legend(
        unique.values(), unique.keys(), loc="lower center", ncol=len(unique), fontsize=8, frameon=False
    )
    figure.suptitle("Omnilake pipeline: where the time goes", fontsize=12)
    figure.tight_layout(rect=(0, 0.06, 1, 0.97))
    figure.savefig(target, dpi=120)
    plt.close(figure)


def render(out_dir: Path | str = RESULTS_DIR) -> list[dict[str, Any]]:
    """Rebuild ``pipeline.md`` and ``pipeline_stages.png`` from ``pipeline.jsonl`` (latest run per scale)."""
    out_dir = Path(out_dir)
    records = latest_per_scale(out_dir / JSONL_NAME)
    if records:
        (out_dir / MARKDOWN_NAME).write_text(markdown(records), encoding="utf-8")
        plot(records, out_dir / PLOT_NAME)
    return records


def rich_table(record: dict[str, Any]):
    """The stage table of one record, for the terminal."""
    from rich.table import Table

    table = Table(title=f"omnilake pipeline, scale {record['scale']:g}, {record['days']} day(s)")
    for i, column in enumerate(STAGE_COLUMNS):
        table.add_column(column, justify="left" if i == 0 else "right")
    for row in stage_rows(record):
        table.add_row(*(cell.replace("**", "") for cell in row))
    return table


def summary_line(record: dict[str, Any]) -> str:
    return (
        f"{record['floor_ratio']:.0f}× the DuckDB copy-through floor; next day / fresh day "
        f"{record['incremental_ratio']:.2f} (CPU {record['incremental_cpu_ratio']:.2f}); "
        f"gates {record['gates_share']:.0%} of the run"
    )


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        _child(argv[1], Path(argv[2]))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, nargs="+", default=[0.5], help="one or more scales")
    parser.add_argument("--days", type=int, default=3, help="days in the run (one more runs incrementally)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--keep-lakes", action="store_true", help="keep the lakes under <out-dir>/tmp/")
    parser.add_argument("--render", action="store_true", help="only rebuild the table and the plot")
    args = parser.parse_args(argv)

    from rich.console import Console

    console = Console()
    if args.render:
        records = render(args.out_dir)
        console.print(f"rendered {len(records)} scale(s) into {args.out_dir}")
        return
    for scale in args.scale:
        try:
            with console.status(f"scale {scale:g}") as status:
                record = run_benchmark(
                    scale,
                    args.days,
                    args.out_dir,
                    seed=args.seed,
                    keep_lakes=args.keep_lakes,
                    on_progress=lambda message: status.update(f"scale {scale:g}: {message}"),  # noqa: B023
                )
        except OmnilakeError as exc:
            console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise SystemExit(1) from None
        console.print(rich_table(record))
        console.print(summary_line(record))
    console.print(f"appended to {args.out_dir / JSONL_NAME}; see {MARKDOWN_NAME} and {PLOT_NAME} there")


if __name__ == "__main__":
    main()
