"""The Airflow DAG is the pipeline graph, and it runs for logical dates on real parts.

One test loads the DAG folder and checks the task graph against ``build_steps()`` and the dbt
manifest. The other runs the DAG (``airflow dags test``) for two consecutive logical dates, checks
what the first run published and recorded, and compares the lake after the two runs with one
``omnilake run`` over the two dates on a second lake (a backfill: one process, the dates in order),
which runs meanwhile in its own process: content fingerprints must be equal.

Two dates are the two kinds of DAG run there are: the first on an empty lake, the second on the
lake an earlier DAG run left (its own process, state carried only by the lake, every step
incremental). A third date would be another run of the second kind; that many incremental days
equal a recompute is the claim of test_incremental_equals_rebuild (silver) and
test_gold_restatement (gold), and snapshot diffing over later days that of
test_snapshot_diff_equality.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from omnilake import gold_models
from omnilake.fingerprint import all_fingerprints
from omnilake.lake import Lake
from omnilake.pipeline import GOLD_MARTS, build_steps
from omnilake.settings import LakeRoot
from tests.e2e.airflow_env import DAGS, airflow, airflow_env

pytestmark = pytest.mark.e2e

# dbt docs are rendered by every DAG run (each a run of one date) and by the backfill's last date:
# seconds of dbt each, optional (a docs failure leaves the build standing) and compared by nothing
# here; test_dbt_marts checks the docs and test_bench_smoke that a run generates them.
NO_DBT_DOCS = {"OMNILAKE_DBT_DOCS": "false"}


def test_dag_folder_loads_without_errors_and_mirrors_the_pipeline(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    dag = bag.dags["omnilake_daily"]
    steps = {s.name: s for s in build_steps()}
    models = {f"gold_models.{m.name}": m for m in gold_models.models()}
    assert {t.task_id for t in dag.tasks} == set(steps) | set(models) | {"audit"}
    for task in dag.tasks:
        assert task.doc_md and task.execution_timeout is not None, task.task_id
        if task.task_id in steps:
            # A step waits for its upstream steps, and after the gold build for its model reports.
            extra = task.upstream_task_ids - set(steps[task.task_id].upstream)
            assert set(steps[task.task_id].upstream) <= task.upstream_task_ids, task.task_id
            assert all(t in models for t in extra), task.task_id
        elif task.task_id in models:
            upstream = {f"gold_models.{u}" for u in models[task.task_id].upstream}
            assert task.upstream_task_ids == (upstream or {"gold_build"}), task.task_id
    # The gold gate waits for every model report (the group's leaves, and so all before them).
    assert "gold_models.fct_sales" in dag.get_task("gate_gold").get_flat_relative_ids(upstream=True)
    audit = dag.get_task("audit")
    assert audit.is_teardown and set(steps) <= audit.upstream_task_ids
    assert dag.max_active_runs == 1
    assert dag.default_args["retry_exponential_backoff"] is True
    # every task alerts when it fails for good (omnilake.ops.airflow_notifier)
    from omnilake.ops.airflow_notifier import WebhookNotifier

    for task in dag.tasks:
        assert any(isinstance(c, WebhookNotifier) for c in task.on_failure_callback or []), task.task_id
    # and so does every task of the consumer DAGs
    for consumer_id in ("crm_at_risk_export", "partner_aggregates_export"):
        for task in bag.dags[consumer_id].tasks:
            assert any(isinstance(c, WebhookNotifier) for c in task.on_failure_callback or []), task.task_id
            assert task.retries == 2 and task.execution_timeout is not None, task.task_id
    consumer = bag.dags["crm_at_risk_export"]
    assert {a.name for a in consumer.timetable.asset_condition.objects} == {
        "omnilake.gold.mart_customer_rfm",
        "omnilake.gold.dim_customer",
    }


DAYS = [date(2026, 1, 1), date(2026, 1, 2)]


def _fingerprints(home: Path) -> dict:
    return all_fingerprints(Lake(LakeRoot(str(home))))


def test_dag_runs_over_two_dates_match_an_omnilake_run_over_the_same_dates(tmp_path):
    from omnilake.generate import DefectRates, generate

    lake = tmp_path / "lake"
    generate(lake / "landing", DAYS[0], len(DAYS), scale=0.02, seed=7, defects=DefectRates.none())
    reference = tmp_path / "reference"
    shutil.copytree(lake / "landing", reference / "landing")
    # The same dates without a scheduler, on the second lake, while Airflow runs.
    without_scheduler = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("omnilake")),
            "run",
            "--start-date",
            DAYS[0].isoformat(),
            "--end-date",
            DAYS[-1].isoformat(),
        ],
        env={**os.environ, "OMNILAKE_HOME": str(reference), **NO_DBT_DOCS},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    env = {**airflow_env(tmp_path / "airflow", lake), **NO_DBT_DOCS}
    migrated = airflow(env, "db", "migrate")
    assert migrated.returncode == 0, migrated.stderr[-3000:]

    # Run after 2026-01-02: its data interval is [2026-01-01, 2026-01-02), so it takes the 1st's delivery.
    run = airflow(env, "dags", "test", "omnilake_daily", "2026-01-02")

    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    from deltalake import DeltaTable

    ledger = DeltaTable(str(lake / "_ops" / "ingestion_ledger")).to_pyarrow_table().to_pylist()
    assert ledger and {row["landing_date"] for row in ledger} == {DAYS[0]}
    # The marts are published for analysts and apps.
    import duckdb

    with duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True) as con:
        tables = {
            name for (name,) in con.execute("select table_name from information_schema.tables").fetchall()
        }
    assert set(GOLD_MARTS) <= tables
    assert all(DeltaTable.is_deltatable(str(lake / "gold" / mart)) for mart in GOLD_MARTS)

    # Every gate recorded its results.
    results = (
        DeltaTable(str(lake / "_ops" / "quality_results")).to_pyarrow_table(columns=["layer"]).to_pylist()
    )
    assert {row["layer"] for row in results} == {"bronze", "silver", "gold"}

    # The gold Assets were updated, so downstream DAGs scheduled on them run.
    import sqlite3

    with sqlite3.connect(tmp_path / "airflow" / "airflow.db") as db:
        updated = {
            name
            for (name,) in db.execute("select a.name from asset_event e join asset a on a.id = e.asset_id")
        }
    assert updated == {f"omnilake.gold.{mart}" for mart in GOLD_MARTS}

    # The CRM export those Assets trigger holds only people who consent to e-mail marketing.
    import csv

    from omnilake.crm import export_at_risk
    from omnilake.lake import Lake
    from omnilake.settings import LakeRoot

    exported = export_at_risk(Lake(LakeRoot(str(lake))))
    keys = [row["customer_key"] for row in csv.DictReader(exported.open())]
    with duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True) as con:
        consenting = {
            k for (k,) in con.execute("select customer_key from dim_customer where email_opt_in").fetchall()
        }
    assert keys and set(keys) <= consenting

    # Every dbt model's task reported success, and the audit task recorded the run.
    with sqlite3.connect(tmp_path / "airflow" / "airflow.db") as db:
        states = dict(db.execute("select task_id, state from task_instance where dag_id = 'omnilake_daily'"))
    assert {t: s for t, s in states.items() if t.startswith("gold_models.")} == {
        f"gold_models.{m.name}": "success" for m in gold_models.models()
    }
    assert states["audit"] == "success"
    from omnilake.audit import read_entries

    (entry,) = [e for e in read_entries(Lake(LakeRoot(str(lake)))) if e["kind"] == "run"]
    assert entry["status"] == "succeeded" and entry["landing_dates"] == [DAYS[0].isoformat()]

    # The next logical date, as catch-up or a backfill runs it, after the first...
    run = airflow(env, "dags", "test", "omnilake_daily", "2026-01-03")
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    # ...leaves the same lake and marts as the same dates run in order without a scheduler.
    output, _ = without_scheduler.communicate(timeout=1800)
    assert without_scheduler.returncode == 0, output[-4000:]
    airflow_lake, cli_lake = _fingerprints(lake), _fingerprints(reference)
    assert airflow_lake["warehouse.fct_sales"].rows > 0
    assert {k: (v, cli_lake.get(k)) for k, v in airflow_lake.items() if cli_lake.get(k) != v} == {}
