"""The Airflow DAG is the pipeline graph, and it runs for a logical date on real parts."""

from __future__ import annotations

from datetime import date

import pytest

from omnilake.pipeline import GOLD_MARTS, build_steps
from tests.e2e.airflow_env import DAGS, airflow, airflow_env

pytestmark = pytest.mark.e2e


def test_dag_folder_loads_without_errors_and_mirrors_the_pipeline(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    dag = bag.dags["omnilake_daily"]
    steps = {s.name: s for s in build_steps()}
    assert {t.task_id for t in dag.tasks} == set(steps)
    for task in dag.tasks:
        assert task.upstream_task_ids == set(steps[task.task_id].upstream), task.task_id
        assert task.doc_md and task.execution_timeout is not None
    assert dag.max_active_runs == 1
    assert dag.default_args["retry_exponential_backoff"] is True
    consumer = bag.dags["crm_at_risk_export"]
    assert {a.name for a in consumer.timetable.asset_condition.objects} == {
        "omnilake.gold.mart_customer_rfm",
        "omnilake.gold.dim_customer",
    }


def test_dag_run_processes_the_delivery_of_its_data_interval(tmp_path):
    from omnilake.generate import DefectRates, generate

    lake = tmp_path / "lake"
    generate(lake / "landing", date(2026, 1, 1), 2, scale=0.02, seed=7, defects=DefectRates.none())
    env = airflow_env(tmp_path / "airflow", lake)
    migrated = airflow(env, "db", "migrate")
    assert migrated.returncode == 0, migrated.stderr[-3000:]

    # Run after 2026-01-02: its data interval is [2026-01-01, 2026-01-02), so it takes the 1st's delivery.
    run = airflow(env, "dags", "test", "omnilake_daily", "2026-01-02")

    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    from deltalake import DeltaTable

    ledger = DeltaTable(str(lake / "_ops" / "ingestion_ledger")).to_pyarrow_table().to_pylist()
    assert ledger and {row["landing_date"] for row in ledger} == {date(2026, 1, 1)}

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
