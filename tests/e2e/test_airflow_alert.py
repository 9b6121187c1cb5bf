"""A breached `fail` rule in an Airflow DAG run sends exactly one webhook message, naming the check.

The store tills' delivery of the day (pos, a daily feed) is missing, so the bronze gate's freshness
check fails: the gate task fails for good (no retries here), everything downstream is never run, and
the gate task's notifier posts one message to a receiver on 127.0.0.1.
"""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from tests.e2e.airflow_env import airflow, airflow_env
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e

DAY = date(2026, 1, 1)


def test_a_missed_delivery_fails_the_bronze_gate_and_alerts_once(tmp_path):
    from omnilake.generate import DefectRates, generate

    lake = tmp_path / "lake"
    generate(lake / "landing", DAY, 1, scale=0.02, seed=5, defects=DefectRates.none())
    shutil.rmtree(lake / "landing" / "pos" / DAY.isoformat())
    with WebhookReceiver() as receiver:
        env = {**airflow_env(tmp_path / "airflow", lake), "OMNILAKE_ALERT_WEBHOOK": receiver.url}
        migrated = airflow(env, "db", "migrate")
        assert migrated.returncode == 0, migrated.stderr[-3000:]
        run = airflow(env, "dags", "test", "omnilake_daily", "2026-01-02")
        messages = list(receiver.messages)

    assert run.returncode != 0, "the DAG run should fail at the bronze gate"
    (message,) = messages
    assert message["kind"] == "freshness_missed"
    assert message["check"] == "bronze.deliveries: freshness"
    assert "pos" in message["observed"]
    assert message["landing_date"] == DAY.isoformat()
    assert message["run_id"] and message["run_id"] in run.stdout + run.stderr
