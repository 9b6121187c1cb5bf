"""Every dbt model builds on Spark, not only on DuckDB: the ``spark`` target of
dbt_project/profiles.yml (dbt-spark's session method over Spark Connect) against a Sail server
started here in its own process.

``dbt compile --target spark`` renders every model and test for Spark; ``dbt run --empty --target
spark`` then creates every model on the server with no rows (sources and refs read as ``limit 0``),
so the server parses and analyses each model's SQL against its upstream relations: a function, cast
or syntax only DuckDB understands fails here. The silver sources are the contracts' empty Delta
tables, registered by the project's on-run-start hook.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from omnilake import delta
from tests.sail_server import sail_server

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "dbt_project"


def _dbt(args: list[str], env: dict[str, str], artifacts: Path) -> subprocess.CompletedProcess:
    dbt = Path(sys.executable).with_name("dbt")
    common = ["--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT), "--target", "spark"]
    paths = ["--target-path", str(artifacts / "target"), "--log-path", str(artifacts / "logs")]
    return subprocess.run(
        [str(dbt), *args, *common, *paths], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )


def test_every_model_compiles_and_builds_on_the_spark_target(spark, lake, tmp_path: Path):
    for table in lake.tables("silver"):
        delta.ensure_table(spark, table)
    with sail_server(tmp_path / "sail_server.log") as (url, _):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "OMNILAKE_DBT_"))}
        env.update(SPARK_REMOTE=url, OMNILAKE_HOME=str(lake.root), OMNILAKE_GOLD_SCHEMA="gold")
        compiled = _dbt(["compile"], env, tmp_path)
        assert compiled.returncode == 0, compiled.stdout[-4000:]
        # Parsed afresh: the two partition-overwriting incremental marts take their strategy from
        # --empty at parse time (dbt_project.yml), which a partial parse of the compile would keep.
        built = _dbt(["run", "--empty", "--no-partial-parse"], env, tmp_path)
        assert built.returncode == 0, built.stdout[-6000:]

    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    models = {k for k, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    built_models = {r["unique_id"] for r in results if r["unique_id"] in models and r["status"] == "success"}
    assert len(models) >= 30
    assert built_models == models
