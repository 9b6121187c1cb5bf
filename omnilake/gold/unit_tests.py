"""dbt unit tests once per version of the gold code, not once per run.

A dbt unit test runs a model's SQL on hand-written input rows and compares the output with
hand-written expected rows: its result depends on the project's files and on dbt, its adapter and
DuckDB, never on the lake's data. ``dbt build`` runs them every time, about a fifth of a gold
build's node time; a daily run of unchanged code learns nothing from them. So a build runs them
when the project or those libraries changed since the last build that passed them (and on every
full refresh), and skips them otherwise. The version that passed is recorded in the lake's dbt
folder after a successful build, and in the machine's cache (``machine_dir``, beside the shared
dbt parse of ``omnilake.gold.parse_cache``): since the outcome does not depend on the lake, a new
lake on a machine that already passed this code's unit tests does not run them again (on a fresh
scale-1 day they were ~2-3 CPU-s, most of it sqlparse injecting their fixtures as CTEs).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from omnilake.gold_models import DBT_PROJECT_DIR

log = logging.getLogger(__name__)

_PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "models", "macros", "tests")
_LIBRARIES = ("dbt-core", "dbt-duckdb", "dbt-adapters", "duckdb")
RECORD = "unit_tests_passed.json"


def code_version(project_dir: Path = DBT_PROJECT_DIR) -> str:
    """A digest of every project file (path and content) and of the dbt and DuckDB versions."""
    digest = hashlib.sha256()
    for name in _PROJECT_FILES:
        path = project_dir / name
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            digest.update(file.relative_to(project_dir).as_posix().encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
    for library in _LIBRARIES:
        try:
            digest.update(f"{library}=={version(library)}\0".encode())
        except PackageNotFoundError:
            digest.update(f"{library} absent\0".encode())
    return digest.hexdigest()


def passed_version(dbt_dir: Path) -> str | None:
    """The code version whose unit tests last passed on this lake, if recorded."""
    try:
        return json.loads((dbt_dir / RECORD).read_text(encoding="utf-8"))["code_version"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def machine_dir() -> Path:
    """The machine's record of the code versions whose unit tests passed here: one empty file per
    version. ``$OMNILAKE_DBT_UNIT_TESTS_CACHE``, else ``$XDG_CACHE_HOME/omnilake/dbt-unit-tests``
    (default ``~/.cache``)."""
    configured = os.environ.get("OMNILAKE_DBT_UNIT_TESTS_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "omnilake" / "dbt-unit-tests"


def needs_unit_tests(dbt_dir: Path, current: str, machine: Path | None = None) -> bool:
    """Whether this build must run the unit tests: they never passed for this code, neither on
    this lake nor on this machine."""
    if passed_version(dbt_dir) == current:
        return False
    return not ((machine or machine_dir()) / current).is_file()


def record_passed(dbt_dir: Path, current: str, machine: Path | None = None) -> None:
    """Record that the unit tests of ``current`` passed (after a successful build that ran them),
    on the lake and on the machine (a read-only cache only costs the next new lake a run)."""
    dbt_dir.mkdir(parents=True, exist_ok=True)
    path = dbt_dir / RECORD
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"code_version": current}), encoding="utf-8")
    tmp.replace(path)
    try:
        (machine or machine_dir()).mkdir(parents=True, exist_ok=True)
        ((machine or machine_dir()) / current).touch()
    except OSError as exc:
        log.debug("dbt unit tests not recorded for the machine: %s", exc)
    log.info("dbt unit tests passed for gold code version %s", current[:12])
