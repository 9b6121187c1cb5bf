"""Shared fixtures: one embedded Sail server per test session, a fresh lake root per test that writes.

``make test`` runs the suite in two pytest-xdist workers, a test file at a time (``--dist
loadfile``): each worker is a pytest session of its own, with its own Sail engine, moto server and
temporary folders, and a file's module-scoped fixtures are built once, on the worker that runs the
file. So a test keeps what it writes under ``tmp_path``/``tmp_path_factory`` (or a fresh ``lake`` or
``bucket``) and anything it starts on a free port; it shares state with other files only through
the session fixtures here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The S3-compatible server (moto) fixtures: s3_endpoint, bucket.
pytest_plugins = ["tests.object_store"]

# Tests never touch a developer's lake or a configured cluster.
os.environ.pop("SPARK_REMOTE", None)
os.environ["OMNILAKE_ENGINE"] = "sail"
os.environ["OMNILAKE_ENV"] = "test"
os.environ.setdefault("OMNILAKE_SAIL_MEMORY_LIMIT", "4GiB")


@pytest.fixture(scope="session", autouse=True)
def _dbt_caches(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> None:
    """The dbt parse cache and the unit-test record live in this run's temporary folder, not in the
    developer's ``~/.cache``; both xdist workers share one (their writes are atomic renames)."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if worker_id != "master" else base) / "omnilake-cache"
    for name, folder in (
        ("OMNILAKE_DBT_PARSE_CACHE", "dbt-parse"),
        ("OMNILAKE_DBT_UNIT_TESTS_CACHE", "dbt-unit-tests"),
    ):
        os.environ.setdefault(name, str(root / folder))


@pytest.fixture
def lake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty lake root for this test."""
    from omnilake.settings import reset_settings

    home = tmp_path / "lake"
    monkeypatch.setenv("OMNILAKE_HOME", str(home))
    reset_settings()
    yield home
    reset_settings()


@pytest.fixture(scope="session")
def spark():
    """The session-wide embedded Sail engine (started once, stopped at the end)."""
    from omnilake.engine import get_spark, stop_engine

    session = get_spark()
    yield session
    stop_engine()


@pytest.fixture
def lake(lake_home: Path, spark):
    from omnilake.lake import get_lake

    lake = get_lake()
    lake.ensure_layout()
    return lake
