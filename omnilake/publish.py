"""Gold: build the dbt marts into a staging warehouse, then publish it for analysts and apps.

Two pipeline steps with the gold quality gate between them:

1. ``build_gold(context)`` runs one ``dbt build`` (models and their tests) into a *staging* DuckDB
   file next to the published one. The staging file starts as a copy of the published warehouse so
   that the incremental RFM snapshots carry on from run to run. A failed build deletes the staging
   file and raises ``GoldBuildError``: the published warehouse and the gold Delta tables are never
   touched by a build.
2. ``publish_gold(context)`` writes every mart as a Delta table under ``<lake>/gold/<mart>`` (typed by
   its contract, ``schemas/gold/<mart>.yaml``) and then swaps the staging file in as
   ``<lake>/warehouse.duckdb`` with ``os.replace``. DuckDB allows one writer *or* many readers per
   file, so the published file is never opened for writing: an analyst holding the old file open
   keeps reading the old version and the next connection sees the new one.

dbt runs as a subprocess (``python -m omnilake.dbt_child``), not in-process: dbt-duckdb keeps a
process-wide connection to the file it built, and a DuckDB file may be opened only once per process
with a given configuration, which would collide with the read-only connections of the gate and of
this module. One child runs the build and, when asked, ``dbt docs generate`` on the same parse.

dbt keeps its parse between runs (``partial_parse.msgpack`` in the lake's dbt target) only if
nothing it hashes changes: the CLI ``--vars``, and the profile's connection keys, which include the
warehouse path. So dbt always builds into one fixed file per lake (``dbt_build_path``), renamed to
the run's staging file afterwards; it runs in that file's folder and the profile names the file and
its spill folder relative to it, so the profile is the same for every lake; and run parameters (the
RFM snapshot date) reach the models as ``OMNILAKE_RUN_<NAME>`` environment variables read by the
``run_parameter`` macro at execution time (``dbt_project/macros/run_context.sql``), never at parse
time. With nothing lake-specific in the parse, one parse serves every lake (``omnilake.gold.parse_cache``).

The warehouse holds the marts only (schema ``main``). The sources are views over the run's Arrow
data, valid only inside the dbt process, and are dropped after the build; staging and intermediate
relations are built in an in-memory database of the dbt process (``transient``, attached by the
profile), so they are evaluated once per build and none of their rows or blocks reach the file.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from omnilake import delta
from omnilake.analyst_views import ANALYST_SCHEMA, create_analyst_views
from omnilake.contracts import Contract
from omnilake.errors import ConfigError, ContractError, OmnilakeError, SchemaMismatchError
from omnilake.faults import crash_point
from omnilake.gold import copies, event_mirror, parse_cache, silver_mirror, unit_tests
from omnilake.gold.revisions import create_as_known_at_macros, revision_changes
from omnilake.gold_models import DBT_PROJECT_DIR, FAILED
from omnilake.pipeline import GOLD_MARTS
from omnilake.settings import get_settings
from omnilake.storage.filesystem import filesystem_for
from omnilake.storage.local import local_dir
from omnilake.storage.warehouse import fetch_warehouse, publish_warehouse

if TYPE_CHECKING:
    from omnilake.lake import Lake
    from omnilake.pipeline import RunContext

log = logging.getLogger(__name__)

MARTS = GOLD_MARTS
WAREHOUSE_SCHEMA = "main"
# The build's own bookkeeping kept with the marts from build to build (dbt_project/models/change_capture).
CHANGE_CAPTURE_SCHEMA = "change_capture"
_BATCH_ROWS = 256_000
STALE_BUILD_SECONDS = 12 * 3600
RELEASE_FILE = "_release.json"


class GoldBuildError(OmnilakeError):
    """The dbt build of the gold marts failed; nothing was published.

    ``node_results`` holds dbt's result of every node it ran (empty if dbt stopped before any), so
    the DAG's per-model tasks can say which model or test failed."""

    def __init__(self, message: str, node_results: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.node_results = node_results or []


# --- paths ---------------------------------------------------------------------------------------


def published_warehouse_path(lake: Lake) -> Path:
    """``<lake>/warehouse.duckdb``, the file analysts open. On an object-store lake, the local copy
    of the published version (``omnilake.storage.warehouse``), kept in the lake's local folder."""
    if not lake.root.is_local:
        return local_dir(lake.root, "warehouse.duckdb")
    return Path(lake.warehouse_path)


def staging_warehouse_path(context: RunContext) -> Path:
    """Where ``build_gold`` builds this run's warehouse: beside the published file (same file system,
    so the swap is an atomic rename), named after the run."""
    safe_run_id = re.sub(r"[^A-Za-z0-9_.-]", "_", context.run_id)
    return local_dir(context.lake.root, f"warehouse.{safe_run_id}.building.duckdb")


def dbt_build_path(lake: Lake) -> Path:
    """The one file dbt writes, for every run of the lake: a fixed path keeps dbt's parse valid from
    run to run (the path is part of the profile dbt hashes). Beside the published file, so renaming
    it to the run's staging file is atomic. Only the holder of the writer lock builds."""
    return local_dir(lake.root, "warehouse.dbt-build.duckdb")


RUN_PARAMETER_PREFIX = "OMNILAKE_RUN_"


def run_parameter_env(parameters: dict[str, Any]) -> dict[str, str]:
    """Run parameters as the environment variables the ``run_parameter`` dbt macro reads."""
    return {f"{RUN_PARAMETER_PREFIX}{name.upper()}": str(value) for name, value in parameters.items()}


def dbt_artifacts_path(lake: Lake) -> Path:
    """dbt's target directory for this lake: manifest, run results and the generated docs."""
    return local_dir(lake.root, "_ops", "dbt", "target")


def silver_sources() -> list[str]:
    """The silver tables the dbt project reads: those with a staging model."""
    return sorted(
        p.stem.split("__", 1)[1] for p in (DBT_PROJECT_DIR / "models" / "staging").glob("stg_silver__*.sql")
    )


# --- build ---------------------------------------------------------------------------------------


def build_gold(
    context: RunContext,
    *,
    snapshot_date: date | None = None,
    restatement_days: int | None = None,
    full_refresh: bool = False,
    recompute: bool | None = None,
    docs: bool | None = None,
) -> dict[str, Any]:
    """Run ``dbt build`` into this run's staging warehouse; on success the gate can check it.

    ``snapshot_date`` is the landing date the dated marts are known at (default: the run's landing
    date); the run reads only what was delivered by then, so rerunning a date reproduces it.
    ``restatement_days`` is the lateness window (default: the ``OMNILAKE_RESTATEMENT_DAYS``
    setting): the run also revises the dated marts' snapshots of that many business dates before.
    ``full_refresh`` rebuilds the revisions from scratch (only this run's revisions remain).
    ``recompute`` (default: the run's ``rebuild``, ``omnilake rebuild``) recomputes every mart that a
    run otherwise updates incrementally (each snapshot's latest revision) from all the revisions
    kept, and runs every test on whole tables; the revisions themselves are kept.
    ``docs`` also runs ``dbt docs generate`` into ``dbt_artifacts_path``, in the same dbt process
    (default: the ``OMNILAKE_DBT_DOCS`` setting, on the last date of a multi-date run only).
    """
    lake = context.lake
    missing = [name for name in silver_sources() if not DeltaTable.is_deltatable(lake.path("silver", name))]
    if missing:
        raise GoldBuildError(
            f"silver table(s) {', '.join(missing)} missing under {lake.path('silver')}: "
            "run the silver jobs first; nothing was built"
        )
    published = published_warehouse_path(lake)
    staging = staging_warehouse_path(context)
    building = dbt_build_path(lake)
    _remove_database(staging)
    _remove_database(building)  # a build killed before its rename
    _remove_stale_builds(lake)
    building.parent.mkdir(parents=True, exist_ok=True)
    if not lake.root.is_local and fetch_warehouse(lake.root, published) is None:
        _remove_database(published)  # nothing published on the store: a local copy is another lake's
    if published.exists() and not full_refresh:
        shutil.copyfile(published, building)

    snapshot = snapshot_date or context.landing_date
    window = get_settings().restatement_days if restatement_days is None else restatement_days
    if window < 0:
        raise ConfigError(f"restatement_days must be 0 or more, got {window}")
    with_docs = (get_settings().dbt_docs and context.docs) if docs is None else docs
    started = time.perf_counter()
    recompute_all = context.rebuild if recompute is None else recompute
    # the attributed events, brought up to date with silver for the build to read (reloaded whole
    # on a recompute or a full refresh); None: the build joins the silver tables itself
    mirror = event_mirror.refresh(lake, reload=recompute_all or full_refresh)
    # silver's other tables the same way (omnilake.gold.silver_mirror): the staging models read the
    # mirror's tables, which gained only the day's files, instead of loading all of silver
    tables = silver_mirror.refresh(lake, reload=recompute_all or full_refresh)
    mirrored = sorted(tables.tables) if tables is not None else []
    build_args = ["build", *(["--full-refresh"] if full_refresh else [])]
    code_version = unit_tests.code_version()
    with_unit_tests = full_refresh or unit_tests.needs_unit_tests(
        dbt_artifacts_path(lake).parent, code_version
    )
    if not with_unit_tests:  # they passed for this code, on this lake or machine (omnilake.gold.unit_tests)
        build_args += ["--exclude-resource-type", "unit_test"]
    commands: list[dict[str, Any]] = [{"args": build_args}]
    if with_docs:
        # Not compiled again: the build compiled every node it ran into the manifest the plan
        # shares, so the docs show the SQL that ran (compiling again cost ~2 CPU-s and showed the
        # incremental models' SQL of the next run). Optional: a docs failure leaves the build standing.
        commands.append({"args": ["docs", "generate", "--no-compile"], "optional": True})
    try:
        results = run_dbt_plan(
            commands,
            lake=lake,
            warehouse=building,
            parameters={
                "landing_date": snapshot.isoformat(),
                "restatement_days": window,
                "recompute": "true" if recompute_all else "",
                "event_mirror": str(mirror.path) if mirror is not None else "",
                "silver_mirror": str(tables.path) if tables is not None and mirrored else "",
                "silver_mirrored": ",".join(mirrored),
            },
        )
        crash_point("gold.after_dbt_build")
        _keep_only_marts(building)
        os.replace(building, staging)
        revisions = revision_changes(staging, snapshot)
        if with_unit_tests:
            unit_tests.record_passed(dbt_artifacts_path(lake).parent, code_version)
    except BaseException:
        _remove_database(building)
        _remove_database(staging)
        raise
    seconds = time.perf_counter() - started
    warned = [r["unique_id"] for r in results if r["status"] == "warn"]
    for unique_id in warned:
        log.warning("dbt test warned (the build goes on): %s", unique_id)
    summary = {
        "warehouse": str(staging),
        "snapshot_date": snapshot.isoformat(),
        "restatement_days": window,
        "event_mirror": mirror.mode if mirror is not None else "not used",
        "silver_mirror": tables.tables if tables is not None else "not used",
        "revisions": revisions,
        "rfm_revisions": revisions.get("mart_customer_rfm", []),
        "models": sum(r["unique_id"].startswith("model.") for r in results),
        "tests_passed": sum(r["status"] == "pass" for r in results),
        "tests_warned": len(warned),
        "unit_tests": sum(r["unique_id"].startswith("unit_test.") for r in results),
        "seconds": round(seconds, 1),
        "nodes": results,
    }
    log.info("built gold: %s", {k: v for k, v in summary.items() if k != "nodes"})
    return summary


def run_dbt_plan(
    commands: list[dict[str, Any]],
    *,
    lake: Lake,
    warehouse: Path,
    parameters: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Several dbt commands in one dbt process and one parse (``omnilake.dbt_child --plan``);
    returns the node results of the first command.

    Each command is ``{"args": [...], "optional": bool}``; an optional command's failure is logged
    and the others' results stand. Raises ``GoldBuildError`` naming the failed nodes when a required
    command fails.
    """
    artifacts = dbt_artifacts_path(lake)
    artifacts.mkdir(parents=True, exist_ok=True)
    parse = dbt_parse_key(lake, warehouse, parameters or {})
    parse_cache.prime(artifacts, parse)
    status = artifacts.parent / f"plan-status.{os.getpid()}.json"
    plan_path = artifacts.parent / f"plan.{os.getpid()}.json"
    status.unlink(missing_ok=True)
    plan_path.write_text(
        json.dumps({"commands": commands, "common": _dbt_common_args(lake), "status": str(status)}),
        encoding="utf-8",
    )
    names = ", ".join(" ".join(c["args"]) for c in commands)
    spill = spill_directory(warehouse)
    shutil.rmtree(spill, ignore_errors=True)  # a killed build's
    try:
        returncode, stdout = _run_child(["--plan", str(plan_path)], lake, warehouse, parameters or {}, names)
        try:
            outcomes = json.loads(status.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            outcomes = []
    finally:
        plan_path.unlink(missing_ok=True)
        status.unlink(missing_ok=True)
        shutil.rmtree(spill, ignore_errors=True)
    first = next((o for o in outcomes if o["command"] != "parse"), None)
    if first is not None:
        results = first["nodes"]
    else:  # the plan stopped at the parse or died: what dbt wrote, if anything
        results = _node_results(artifacts / "run_results.json") if commands[0]["args"][0] != "docs" else []
    parsed = outcomes and not any(o["command"] == "parse" for o in outcomes)  # a failed parse is an outcome
    if parsed:
        parse_cache.keep(artifacts, parse)
    for outcome in outcomes:
        if not outcome["success"] and outcome.get("optional"):
            log.warning("dbt %s failed; the gold build stands: %s", outcome["command"], outcome["error"])
    # The status file is written when the plan has run to its end.
    finished = bool(outcomes) and all(o["success"] or o.get("optional") for o in outcomes)
    if returncode < 0 and (finished or _finished(stdout, results)):
        log.warning("dbt finished, then its process died on exit (signal %d)", -returncode)
    elif returncode != 0:
        failed = [r for r in results if r["status"] in FAILED]
        if failed:
            detail = "; ".join(f"{r['unique_id']}: {_first_line(r['message'])}" for r in failed[:5])
        else:
            errors = [o["error"] for o in outcomes if not o["success"] and o["error"]]
            detail = _first_line(errors[0]) if errors else _error_summary(stdout)
        raise GoldBuildError(
            f"dbt {commands[0]['args'][0]} failed ({len(failed)} node(s)): {detail}; "
            f"logs in {artifacts.parent / 'logs'}; nothing was published",
            node_results=results,
        )
    return results


def seed_parse_cache() -> bool:
    """Parse the project once into the shared parse cache (``make bootstrap`` runs it), so that
    even the first lake of a machine starts from a parse. Returns whether a parse was cached;
    nothing to do when the cache already holds this code's parse."""
    import tempfile

    from omnilake.lake import Lake
    from omnilake.settings import LakeRoot

    with tempfile.TemporaryDirectory(prefix="omnilake-dbt-parse-") as tmp:
        lake = Lake(LakeRoot(tmp))
        warehouse = dbt_build_path(lake)
        key = dbt_parse_key(lake, warehouse, {})
        if (parse_cache.cache_dir() / f"{key}.msgpack").exists():
            return False
        artifacts = dbt_artifacts_path(lake)
        artifacts.mkdir(parents=True, exist_ok=True)
        status = artifacts.parent / "plan-status.json"
        plan_path = artifacts.parent / "plan.json"
        plan_path.write_text(
            json.dumps({"commands": [], "common": _dbt_common_args(lake), "status": str(status)}),
            encoding="utf-8",
        )
        returncode, stdout = _run_child(["--plan", str(plan_path)], lake, warehouse, {}, "parse")
        if returncode != 0:
            raise GoldBuildError(f"dbt parse failed: {_error_summary(stdout)}")
        parse_cache.keep(artifacts, key)
        return True


def run_dbt(args: list[str], *, lake: Lake, warehouse: Path, parameters: dict[str, Any] | None = None):
    """One dbt command on the project, writing ``warehouse``; returns its node results.

    Raises ``GoldBuildError`` naming the failed nodes when dbt exits non-zero.
    """
    return run_dbt_plan([{"args": args}], lake=lake, warehouse=warehouse, parameters=parameters)


def spill_directory(warehouse: Path) -> Path:
    """Where DuckDB spills the dbt build's in-memory tables beyond its memory limit (the profile's
    ``temp_directory``). DuckDB deletes it when it closes the database, which the dbt process never
    does (it ends with ``os._exit``), so ``run_dbt_plan`` removes it after every build."""
    return warehouse.with_name(warehouse.name + ".tmp")


def _dbt_common_args(lake: Lake) -> list[str]:
    artifacts = dbt_artifacts_path(lake)
    return [
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(artifacts),
        "--log-path",
        str(artifacts.parent / "logs"),
    ]


# The environment variables profiles.yml renders: their values are in the profile dbt hashes.
_PROFILE_ENV = (
    "OMNILAKE_DBT_TARGET",
    "OMNILAKE_WAREHOUSE_PATH",
    "OMNILAKE_DBT_MEMORY_LIMIT",
    "OMNILAKE_DBT_SPILL_DIRECTORY",
    "SPARK_REMOTE",
    "OMNILAKE_GOLD_SCHEMA",
)


def _dbt_child_env(lake: Lake, warehouse: Path, parameters: dict[str, Any]) -> dict[str, str]:
    """The dbt process's environment: the profile's paths and limits, the run's parameters.

    The warehouse and spill paths are relative to the folder dbt runs in (``dbt_working_dir``):
    absolute, they would make the profile, and so the parse, the lake's own."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(RUN_PARAMETER_PREFIX)},
        **run_parameter_env(parameters),
        "OMNILAKE_HOME": lake.root.uri,
        "OMNILAKE_WAREHOUSE_PATH": warehouse.name,
        "OMNILAKE_DBT_TARGET": "duckdb",
        "OMNILAKE_DBT_MEMORY_LIMIT": get_settings().dbt_memory_limit,
        "OMNILAKE_DBT_SPILL_DIRECTORY": spill_directory(warehouse).name,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "OMNILAKE_DBT_PARENT_PID": str(os.getpid()),
    }


def dbt_working_dir(warehouse: Path) -> Path:
    """The folder the dbt process runs in: the warehouse file's (profile paths are relative to it)."""
    return warehouse.parent


def dbt_parse_key(lake: Lake, warehouse: Path, parameters: dict[str, Any]) -> str:
    """The key of this build's parse in the shared parse cache (``omnilake.gold.parse_cache``)."""
    env = _dbt_child_env(lake, warehouse, parameters)
    profile = {k: env.get(k, "") for k in _PROFILE_ENV}
    # the parse records where the project and dbt's own macros are: one cache entry per install
    installed = {"project_dir": str(DBT_PROJECT_DIR), "python": sys.prefix}
    return parse_cache.parse_key(unit_tests.code_version(), {**profile, **installed})


def _run_child(
    child_args: list[str], lake: Lake, warehouse: Path, parameters: dict[str, Any], names: str
) -> tuple[int, str]:
    """Run ``omnilake.dbt_child`` (killed with this process); returns its exit code and output."""
    env = _dbt_child_env(lake, warehouse, parameters)
    command = [sys.executable, "-m", "omnilake.dbt_child", *child_args]
    log.info("dbt %s", names)
    output: list[str] = []
    with subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=dbt_working_dir(warehouse),
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if " OK created " in line:  # a model is built, the build is under way
                crash_point("gold.during_dbt_build")
        returncode = process.wait()
    stdout = "".join(output)
    log.debug("dbt output:\n%s", stdout)
    return returncode, stdout


def _finished(stdout: str, results: list[dict[str, Any]]) -> bool:
    """dbt reported success before its process ended (``Completed successfully``, ``Catalog written``)."""
    failed = any(r["status"] in FAILED for r in results)
    return not failed and ("Completed successfully" in stdout or "Catalog written to" in stdout)


def _node_results(path: Path) -> list[dict[str, Any]]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [
        {
            "unique_id": r["unique_id"],
            "status": r["status"],
            "message": r.get("message") or "",
            "execution_time": round(r.get("execution_time") or 0.0, 2),
        }
        for r in raw.get("results", [])
    ]


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else ""


def _error_summary(output: str) -> str:
    """What dbt said after "Encountered an error:" (a failure outside any node), else its last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if line.endswith("Encountered an error:"):
            return " ".join(lines[i + 1 : i + 3])
    return lines[-1] if lines else "no output"


def _keep_only_marts(warehouse: Path) -> None:
    """Drop every schema but the marts' and the change capture's (the others' views need the dbt
    process) and check the marts are there."""
    with duckdb.connect(str(warehouse)) as con:
        schemas = [
            row[0]
            for row in con.execute(
                "select schema_name from duckdb_schemas() "
                "where database_name = current_database() and not internal and schema_name not in (?, ?)",
                [WAREHOUSE_SCHEMA, CHANGE_CAPTURE_SCHEMA],
            ).fetchall()
        ]
        for schema in schemas:
            con.execute(f'drop schema "{schema}" cascade')
        present = {
            row[0]
            for row in con.execute(
                "select table_name from duckdb_tables() "
                "where database_name = current_database() and schema_name = ?",
                [WAREHOUSE_SCHEMA],
            ).fetchall()
        }
        missing = [mart for mart in MARTS if mart not in present]
        if missing:
            raise GoldBuildError(f"dbt build succeeded but left no table for {missing}")
        con.execute("checkpoint")


def _remove_stale_builds(lake: Lake, older_than_seconds: float = STALE_BUILD_SECONDS) -> None:
    """Delete staging warehouses that runs killed mid-build left behind. Age decides, not ownership:
    a scheduled run builds and publishes in separate tasks, so a young staging file may be waiting
    for its gate and publish."""
    cutoff = time.time() - older_than_seconds
    for leftover in local_dir(lake.root).glob("warehouse.*.building.duckdb*"):
        if leftover.stat().st_mtime < cutoff:
            log.info("removing a stale gold build %s", leftover)
            leftover.unlink(missing_ok=True)


def _remove_database(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)


# --- publish -------------------------------------------------------------------------------------


def publish_gold(context: RunContext) -> dict[str, Any]:
    """Write the gold Delta tables from this run's staging warehouse, then swap it in for analysts.

    Call it only after ``build_gold`` and the gold gate passed. If it fails part way, the staging
    file is kept and calling it again finishes the job.
    """
    lake = context.lake
    staging = staging_warehouse_path(context)
    if not staging.exists():
        raise GoldBuildError(f"no gold build for run {context.run_id} at {staging}: run build_gold first")
    started = time.perf_counter()
    with duckdb.connect(str(staging)) as con:
        create_analyst_views(con)  # here, not in build_gold: the build keeps only schema main
        create_as_known_at_macros(con, (WAREHOUSE_SCHEMA, ANALYST_SCHEMA))
    rows: dict[str, int] = {}
    copied: dict[str, dict[str, Any]] = {}
    released = _released_tables(lake)
    with duckdb.connect(str(staging), read_only=True) as con:
        for mart in MARTS:
            copied[mart] = write_gold_delta(con, mart, lake, context.landing_date, released.get(mart))
            rows[mart] = copied[mart]["rows"]
            crash_point("publish.after_first_mart")
    published = published_warehouse_path(lake)
    # A write-ahead log beside the published file can only be a crashed writer's (the pipeline never
    # writes that file); DuckDB would replay it into the new file, so it goes with the old file.
    published.with_name(published.name + ".wal").unlink(missing_ok=True)
    crash_point("publish.before_swap")
    if not lake.root.is_local:  # upload, then point readers at it; a failure keeps staging for a retry
        publish_warehouse(lake.root, staging, context.run_id)
    os.replace(staging, published)
    write_release(lake, context, rows, copied)
    seconds = time.perf_counter() - started
    actions = {mart: c["action"] for mart, c in copied.items()}
    log.info("published gold to %s and %s in %.1fs: %s", published, lake.path("gold"), seconds, actions)
    return {"warehouse": str(published), "seconds": round(seconds, 1), **rows, "delta_writes": actions}


def _released_tables(lake: Lake) -> dict[str, dict[str, Any]]:
    """The marts of the last complete release (none before the first, or if it is unreadable)."""
    try:
        return read_release(lake)["tables"]
    except (OmnilakeError, ValueError, KeyError, TypeError):
        return {}


def write_release(
    lake: Lake, context: RunContext, rows: dict[str, int], copied: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Record the gold Delta version of every mart this publish wrote, in ``gold/_release.json``.

    Delta commits one table at a time, so an app reading several marts while a publish runs could
    pair a new ``fct_sales`` with an old ``dim_customer``. The release file is replaced atomically
    after every mart is written: apps that need one consistent cut read each mart at the version the
    release names (``read_release``), and a crashed publish leaves the previous release in force.
    Each mart also records the digest and layout of what was written (``copied``), from which the
    next publish decides what it must write (``omnilake.gold.copies``).
    """
    tables: dict[str, dict[str, Any]] = {}
    for mart in MARTS:
        tables[mart] = {"version": DeltaTable(lake.path("gold", mart)).version(), "rows": rows[mart]}
        if copied and mart in copied:
            tables[mart].update(digest=copied[mart]["digest"], schema=copied[mart]["schema"])
            if "partitions" in copied[mart]:
                tables[mart]["partitions"] = copied[mart]["partitions"]
    release = {
        "run_id": context.run_id,
        "landing_date": context.landing_date.isoformat(),
        "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tables": tables,
    }
    path = lake.path("gold", RELEASE_FILE)
    filesystem_for(path).write_bytes(path, json.dumps(release, indent=2).encode("utf-8"))  # atomic
    return release


def read_release(lake: Lake) -> dict[str, Any]:
    """The last complete gold release (see ``write_release``); raises if nothing was published yet."""
    path = lake.path("gold", RELEASE_FILE)
    fs = filesystem_for(path)
    if fs.stat(path) is None:
        raise OmnilakeError(f"no gold release at {path}: run the pipeline (omnilake run) first")
    return json.loads(fs.read_bytes(path))


def release_table(lake: Lake, mart: str) -> DeltaTable:
    """A gold mart at the version of the last complete release."""
    release = read_release(lake)
    if mart not in release["tables"]:
        raise OmnilakeError(f"mart {mart!r} is not in the gold release (marts: {sorted(release['tables'])})")
    return DeltaTable(lake.path("gold", mart), version=release["tables"][mart]["version"])


def write_gold_delta(
    con: duckdb.DuckDBPyConnection,
    mart: str,
    lake: Lake,
    landing_date: date | None = None,
    released: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Bring ``<lake>/gold/<mart>`` to the mart's rows, typed as its contract says: written whole,
    only the run's rows appended, only the partitions that changed replaced, or left as it is
    (``omnilake.gold.copies``, from ``released``, the mart's entry in the last release). Returns the
    rows, the action and the digest written (and the partitions' digests, for the release)."""
    table = lake.table(f"gold.{mart}")
    schema = arrow_schema(table.contract)
    relation = con.table(f"{WAREHOUSE_SCHEMA}.{mart}")
    actual, declared = list(relation.columns), table.contract.field_names
    if actual != declared:
        raise SchemaMismatchError(
            f"mart {mart} has columns {actual}, its contract {table.contract.path} declares {declared}"
        )
    partition_by = tuple(table.partition_by)
    layout = copies.schema_key(schema, partition_by)
    run_column = copies.RUN_COLUMNS.get(mart) if landing_date is not None else None
    partition_column = _replaced_by_partition(schema, partition_by)
    digest = copies.mart_digest(
        con, f"{WAREHOUSE_SCHEMA}.{mart}", declared, run_column, landing_date or date.min, partition_column
    )
    current = DeltaTable(table.path).version() if DeltaTable.is_deltatable(table.path) else None
    if (
        current is not None
        and released
        and isinstance(released.get("version"), int)
        and current > released["version"]
    ):
        # a compaction since the release (omnilake.maintenance) moved the version, not the rows
        current = delta.data_version(table.path, released["version"])
    action = copies.choose_action(digest, layout, released, current)
    written: dict[str, Any] = {
        "rows": digest.rows,
        "action": action,
        "digest": digest.digest,
        "schema": layout,
    }
    if digest.partitions is not None:
        written["partitions"] = [list(p) for p in digest.partitions]
    if action == "unchanged":
        log.info("%s unchanged since the last release: not rewritten", table.path)
        return written
    predicate = None
    if action == "append":
        relation = con.sql(
            f'select * from {WAREHOUSE_SCHEMA}.{mart} where "{run_column}" = $1', params=[landing_date]
        )
    elif action == "partitions":
        assert partition_column is not None and released is not None
        values = copies.changed_partitions(digest, released) or []
        relation = con.sql(
            f"select * from {WAREHOUSE_SCHEMA}.{mart} where {_partition_condition(partition_column, values)}"
        )
        predicate = _partition_condition(partition_column, values, schema.field(partition_column).type)
        written["replaced_partitions"] = len(values)
    reader = relation.fetch_record_batch(_BATCH_ROWS)
    counted = _CountingBatches(reader, schema)
    write_deltalake(
        table.path,
        pa.RecordBatchReader.from_batches(schema, iter(counted)),
        mode="append" if action == "append" else "overwrite",
        schema_mode="overwrite" if action == "overwrite" else None,
        partition_by=list(partition_by) or None,
        predicate=predicate,
    )
    # delta-rs checkpoints its own writes only every 100 commits: without this, each of a publish's
    # opens of a mart (its version, the write, the release) replays one more commit every day.
    delta.checkpoint_if_due(table.path)
    if action == "partitions":
        log.info(
            "replaced %d partition(s) of %s with %s rows",
            written["replaced_partitions"],
            table.path,
            counted.rows,
        )
    else:
        log.info("%s %s rows to %s", "appended" if action == "append" else "wrote", counted.rows, table.path)
    return written


def _replaced_by_partition(schema: pa.Schema, partition_by: tuple[str, ...]) -> str | None:
    """The column whose partitions a publish replaces one by one: the one partition column, when
    its values read back as the same text in DuckDB and in a delta-rs predicate (dates, strings)."""
    if len(partition_by) != 1:
        return None
    typed = schema.field(partition_by[0]).type
    return partition_by[0] if pa.types.is_date32(typed) or pa.types.is_string(typed) else None


def _partition_condition(column: str, values: list[str | None], delta_type: pa.DataType | None = None) -> str:
    """The rows of the partitions ``values`` (texts, None for the null partition) of a date or
    string column: in DuckDB, over the column's text; with ``delta_type``, the column's Arrow type,
    as a delta-rs predicate (which compares a date with dates)."""
    texts = ["'" + v.replace("'", "''") + "'" for v in values if v is not None]
    if delta_type is None:
        quoted = f'"{column}"::varchar'
    else:
        quoted = f'"{column}"'
        if pa.types.is_date32(delta_type):
            texts = [f"cast({t} as date)" for t in texts]
    terms = [f"{quoted} in ({', '.join(texts)})"] if texts else []
    if None in values:
        terms.append(f'"{column}" is null')
    return " or ".join(terms)


class _CountingBatches:
    """Cast each batch to the contract's Arrow schema, counting rows on the way."""

    def __init__(self, reader: pa.RecordBatchReader, schema: pa.Schema) -> None:
        self.reader, self.schema, self.rows = reader, schema, 0

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for batch in self.reader:
            self.rows += batch.num_rows
            yield batch.cast(self.schema)


# --- contract types as Arrow ---------------------------------------------------------------------

_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "long": pa.int64(),
    "bigint": pa.int64(),
    "int": pa.int32(),
    "integer": pa.int32(),
    "short": pa.int16(),
    "smallint": pa.int16(),
    "double": pa.float64(),
    "float": pa.float32(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    # Delta's `timestamp` is an instant (UTC); `timestamp_ntz` a wall-clock time.
    "timestamp": pa.timestamp("us", tz="UTC"),
    "timestamp_ntz": pa.timestamp("us"),
    "binary": pa.binary(),
}
_DECIMAL = re.compile(r"decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)")


def arrow_type(ddl: str) -> pa.DataType:
    """The Arrow type delta-rs writes as the contract's Spark DDL type (scalar types only)."""
    lower = ddl.strip().lower()
    if lower in _ARROW_TYPES:
        return _ARROW_TYPES[lower]
    if match := _DECIMAL.fullmatch(lower):
        return pa.decimal128(int(match.group(1)), int(match.group(2)))
    raise ContractError(f"type {ddl!r} has no Arrow mapping for delta-rs writes; use a scalar type")


def arrow_schema(table_contract: Contract) -> pa.Schema:
    """The contract as an Arrow schema (nullable columns: required is checked by the quality gates)."""
    return pa.schema([pa.field(f.name, arrow_type(f.type)) for f in table_contract.fields])
