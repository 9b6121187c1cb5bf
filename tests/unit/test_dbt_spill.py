"""The gold build's DuckDB spill directory: bounded by a memory limit, removed after every build.

The dbt process ends with ``os._exit``, so DuckDB never deletes its temporary files itself; a
stand-in for the dbt child writes a spill file and "dies" the same way, and the build must leave
nothing behind, whether dbt succeeded or failed, and must clear what a killed build left.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omnilake import publish
from omnilake.errors import OmnilakeError
from omnilake.lake import Lake
from omnilake.settings import LakeRoot


def _fake_child(seen: dict, *, exit_code: int):
    def run_child(child_args, lake, warehouse, parameters, names):
        env = publish._dbt_child_env(lake, warehouse, parameters)
        seen.update(env)
        spill = publish.dbt_working_dir(warehouse) / env["OMNILAKE_DBT_SPILL_DIRECTORY"]
        seen["left_over_at_start"] = spill.exists()
        spill.mkdir(parents=True, exist_ok=True)
        (spill / "duckdb_temp_storage_DEFAULT-0.tmp").write_bytes(b"\0" * 4096)
        plan = json.loads(Path(child_args[1]).read_text())
        outcomes = [{"command": "build", "success": exit_code == 0, "error": "", "nodes": []}]
        Path(plan["status"]).write_text(json.dumps(outcomes))
        return exit_code, ""

    return run_child


@pytest.mark.parametrize("exit_code", [0, 1])
def test_spill_files_are_removed_after_the_build_and_a_killed_build_s_are_cleared_first(
    tmp_path, monkeypatch, exit_code
):
    monkeypatch.setenv("OMNILAKE_DBT_MEMORY_LIMIT", "300MiB")
    from omnilake.settings import get_settings

    get_settings.cache_clear()
    lake = Lake(LakeRoot(str(tmp_path / "lake")))
    warehouse = publish.dbt_build_path(lake)
    spill = publish.spill_directory(warehouse)
    spill.mkdir(parents=True)
    (spill / "duckdb_temp_storage_DEFAULT-0.tmp").write_bytes(b"left by a killed build")
    seen: dict = {}
    monkeypatch.setattr(publish, "_run_child", _fake_child(seen, exit_code=exit_code))

    if exit_code == 0:
        publish.run_dbt_plan([{"args": ["build"]}], lake=lake, warehouse=warehouse)
    else:
        with pytest.raises(OmnilakeError):
            publish.run_dbt_plan([{"args": ["build"]}], lake=lake, warehouse=warehouse)

    assert seen["left_over_at_start"] is False
    assert seen["OMNILAKE_DBT_MEMORY_LIMIT"] == "300MiB"
    assert publish.dbt_working_dir(warehouse) / seen["OMNILAKE_DBT_SPILL_DIRECTORY"] == Path(
        str(warehouse) + ".tmp"
    )
    assert not spill.exists()
    get_settings.cache_clear()


def test_the_memory_limit_and_spill_directory_are_set_once_when_the_database_opens():
    """As dbt-duckdb ``settings`` they would be SET on every new cursor, and DuckDB refuses to set
    temp_directory again once it has spilled ("Cannot switch temporary directory"): a build would
    fail at its first node after the first spill. ``config_options`` go to ``duckdb.connect``."""
    import yaml

    profile = yaml.safe_load((publish.DBT_PROJECT_DIR / "profiles.yml").read_text())
    duckdb_target = profile["omnilake"]["outputs"]["duckdb"]
    assert {"memory_limit", "temp_directory"} <= set(duckdb_target["config_options"])
    assert not {"memory_limit", "temp_directory"} & set(duckdb_target.get("settings", {}))
    assert "OMNILAKE_DBT_SPILL_DIRECTORY" in duckdb_target["config_options"]["temp_directory"]
    assert "OMNILAKE_DBT_MEMORY_LIMIT" in duckdb_target["config_options"]["memory_limit"]
