"""The dbt models of the gold build as a graph, and what one build did to each model.

The Airflow DAG shows every dbt model as a task (group ``gold_models``, with dbt's lineage as the
task edges), so an operator sees which model failed, which of its tests broke and how long it took.
The build itself stays one ``dbt build`` process (``omnilake.publish.build_gold``): sources,
staging and intermediate relations live only inside that process (views over Arrow data, tables in
an in-memory database), and a DuckDB file takes one writer, so a dbt process per model (cosmos's local mode) cannot build
this project, and would cost a dbt start-up per model. Each model task reports its model from the
build's node results: it fails when the model or one of its tests failed, and is skipped when dbt
did not run the model. Cosmos's watcher mode does the same while the build runs, but its sensors
wait in-process before the build starts under ``airflow dags test`` and never finish.

The graph is read from the project's ``manifest.json`` (``dbt_project/target``), refreshed with
``dbt parse`` only when a project file is newer, so parsing the DAG costs file stats, not a dbt run.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from omnilake.errors import OmnilakeError

log = logging.getLogger(__name__)

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
_PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "models", "macros", "tests")
FAILED = ("error", "fail", "runtime error")  # dbt node statuses that fail a build


class GoldModelError(OmnilakeError):
    """A dbt model of the gold build, or one of its tests, failed."""


@dataclass(frozen=True)
class Model:
    name: str
    unique_id: str
    upstream: tuple[str, ...]  # names of the models it selects from
    folder: str  # staging, intermediate, marts/<area>
    description: str


def _newest_project_change() -> float:
    newest = 0.0
    for name in _PROJECT_FILES:
        path = DBT_PROJECT_DIR / name
        files = [path] if path.is_file() else path.rglob("*") if path.is_dir() else []
        newest = max([newest, *(f.stat().st_mtime for f in files if f.is_file())])
    return newest


def ensure_manifest() -> Path:
    """The project's manifest, parsed again (``dbt parse``) if missing or older than a project file."""
    if MANIFEST.exists() and MANIFEST.stat().st_mtime >= _newest_project_change():
        return MANIFEST
    log.info("parsing the dbt project for its model graph")
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "OMNILAKE_DBT_TARGET": "duckdb"}
    command = [sys.executable, "-m", "dbt.cli.main", "parse", "--project-dir", str(DBT_PROJECT_DIR)]
    command += ["--profiles-dir", str(DBT_PROJECT_DIR), "--log-path", str(DBT_PROJECT_DIR / "logs")]
    parsed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if parsed.returncode != 0 or not MANIFEST.exists():
        tail = "\n".join((parsed.stdout + parsed.stderr).strip().splitlines()[-5:])
        raise OmnilakeError(f"dbt parse failed, so the gold model graph is unknown:\n{tail}")
    return MANIFEST


@cache
def _load(path: Path, mtime: float) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def load_manifest(path: Path | None = None) -> dict[str, Any]:
    path = path or ensure_manifest()
    return _load(path, path.stat().st_mtime)


def models(manifest: Mapping[str, Any] | None = None) -> list[Model]:
    """The project's models, sorted by name, each with the models it depends on."""
    manifest = manifest or load_manifest()
    nodes = {uid: n for uid, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    result = []
    for uid, node in nodes.items():
        upstream = sorted(nodes[d]["name"] for d in node["depends_on"]["nodes"] if d in nodes)
        folder = "/".join(node.get("fqn", [])[1:-1])
        result.append(Model(node["name"], uid, tuple(upstream), folder, node.get("description", "")))
    return sorted(result, key=lambda m: m.name)


def attached_tests(model: Model, manifest: Mapping[str, Any]) -> list[str]:
    """The unique ids of the data tests attached to ``model`` (a relationship test belongs to the
    model it is declared on, not to the one it references)."""
    tests = []
    for uid, node in manifest["nodes"].items():
        if node["resource_type"] not in ("test", "unit_test"):
            continue
        attached = node.get("attached_node") or next(iter(node["depends_on"]["nodes"]), None)
        if attached == model.unique_id:
            tests.append(uid)
    tests.extend(
        uid
        for uid, test in manifest.get("unit_tests", {}).items()
        if model.unique_id in test["depends_on"]["nodes"]
    )
    return sorted(tests)


def model_report(
    model_name: str, node_results: Iterable[Mapping[str, Any]], manifest: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """What the build did to one model and its tests; ``None`` when dbt did not run the model (the build
    stopped before it, or an upstream model failed). Raises ``GoldModelError`` when the model or a
    test failed."""
    manifest = manifest or load_manifest()
    (model,) = [m for m in models(manifest) if m.name == model_name] or [None]
    if model is None:
        raise OmnilakeError(f"no dbt model {model_name!r} in {MANIFEST}")
    results = {r["unique_id"]: r for r in node_results}
    built = results.get(model.unique_id)
    if built is None or built["status"] == "skipped":
        return None
    tests = [results[t] for t in attached_tests(model, manifest) if t in results]
    report = {
        "model": model.name,
        "status": built["status"],
        "seconds": built.get("execution_time"),
        "tests_passed": sum(t["status"] == "pass" for t in tests),
        "tests_warned": [t["unique_id"] for t in tests if t["status"] == "warn"],
        "tests_failed": [t["unique_id"] for t in tests if t["status"] in FAILED],
    }
    if built["status"] in FAILED:
        raise GoldModelError(f"dbt model {model.name} failed: {built.get('message') or 'no message'}")
    if report["tests_failed"]:
        failed = [t for t in tests if t["status"] in FAILED]
        detail = "; ".join(f"{t['unique_id']}: {t.get('message') or t['status']}" for t in failed[:5])
        raise GoldModelError(f"{len(failed)} test(s) of dbt model {model.name} failed: {detail}")
    for warned in report["tests_warned"]:
        log.warning("dbt test warned on %s: %s", model.name, warned)
    return report
