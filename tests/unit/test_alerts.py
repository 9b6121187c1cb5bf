"""Alerts reach a webhook on loopback and name the check, the observed value and the run."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omnilake.audit import append_entry, read_entries
from omnilake.errors import QualityGateError
from omnilake.lake import Lake
from omnilake.ops.alerts import alert_failure, alert_flagged_access, gate_alert, send
from omnilake.settings import LakeRoot, reset_settings
from quality.results import CheckResult, GateReport
from tests.webhook_receiver import WebhookReceiver

DAY = date(2026, 1, 5)


def _report(*failed: CheckResult) -> GateReport:
    passed = CheckResult(
        "bronze.orders", "not_null(id)", "expect_column_values_to_not_be_null", "fail", True, "0"
    )
    return GateReport("bronze", "run-1", DAY, [passed, *failed])


FRESHNESS = CheckResult(
    "bronze.deliveries",
    "freshness",
    "expect_column_values_to_be_in_set",
    "fail",
    False,
    "1 of 8 sources: source=pos",
)
VOLUME = CheckResult(
    "bronze.deliveries", "volume", "expect_column_values_to_be_between", "fail", False, "1 of 8 sources: x"
)


@pytest.fixture
def webhook(monkeypatch):
    with WebhookReceiver() as receiver:
        monkeypatch.setenv("OMNILAKE_ALERT_WEBHOOK", receiver.url)
        reset_settings()
        yield receiver
    reset_settings()


def test_a_failed_gate_posts_one_message_naming_each_failed_check(webhook):
    error = QualityGateError("bronze gate failed")
    error.report = _report(FRESHNESS, VOLUME)
    alert_failure(error, run_id="run-1", step="gate_bronze")
    (message,) = webhook.messages
    assert message["kind"] == "gate_failed"  # not only freshness: a gate failure
    assert (message["check"], message["observed"], message["run_id"]) == (
        "bronze.deliveries: freshness",
        "1 of 8 sources: source=pos",
        "run-1",
    )
    assert [c["check"] for c in message["checks"]] == [
        "bronze.deliveries: freshness",
        "bronze.deliveries: volume",
    ]
    assert (
        message["landing_date"] == "2026-01-05" and "volume (observed: 1 of 8 sources: x)" in message["text"]
    )


def test_a_missed_freshness_deadline_and_a_failed_task_have_their_own_kind(webhook):
    assert gate_alert(_report(FRESHNESS)).kind == "freshness_missed"
    alert_failure(RuntimeError("disk on fire"), run_id="run-2", step="silver_orders")
    (message,) = webhook.messages
    assert (message["kind"], message["check"], message["observed"]) == (
        "task_failed",
        "task silver_orders",
        "RuntimeError: disk on fire",
    )


def test_an_unreachable_webhook_is_logged_not_raised(monkeypatch, caplog):
    with WebhookReceiver() as receiver:
        url = receiver.url
    assert send(gate_alert(_report(FRESHNESS)), url) is False  # the receiver is gone
    assert "not delivered" in caplog.text


def test_flagged_access_alerts_each_reader_day_over_the_threshold(webhook, tmp_path, monkeypatch):
    lake = Lake(LakeRoot(str(tmp_path / "lake")))
    monkeypatch.setenv("OMNILAKE_ACCESS_PERSONAL_ROWS_PER_DAY", "100")
    reset_settings()
    for reader, rows in (("ann@h", 60), ("ann@h", 50), ("bob@h", 100)):
        append_entry(lake, "access", {"reader": reader, "status": "ran", "rows": rows, "personal_rows": rows})
    flags = alert_flagged_access(lake, "run-3")
    assert [(f.reader, f.personal_rows) for f in flags] == [("ann@h", 110)]  # bob is at, not over
    (message,) = webhook.messages
    assert message["kind"] == "access_flagged" and message["run_id"] == "run-3"
    assert message["check"] == "access: personal_rows_per_reader_per_day"
    assert "110 personal rows by ann@h" in message["observed"]


def test_omnilake_run_alerts_the_gate_that_stopped_it_once(webhook, tmp_path, monkeypatch):
    import omnilake.pipeline
    from omnilake.cli import app

    home = tmp_path / "lake"
    (home / "landing" / "orders" / DAY.isoformat()).mkdir(parents=True)
    monkeypatch.setenv("OMNILAKE_HOME", str(home))
    reset_settings()

    def stopped_at_the_bronze_gate(dates, lake, on_step=None, **_):
        on_step(omnilake.pipeline.StepOutcome("ingest_stores", DAY, 0.1, {"rows": 1}))
        error = QualityGateError("bronze gate failed")
        error.report = _report(FRESHNESS)
        raise error

    monkeypatch.setattr(omnilake.pipeline, "run_pipeline", stopped_at_the_bronze_gate)
    result = CliRunner().invoke(app, ["run", "--start-date", DAY.isoformat()])
    assert result.exit_code == 1, result.output
    (message,) = webhook.messages
    (entry,) = read_entries(Lake(LakeRoot(str(home))))
    assert message["kind"] == "freshness_missed" and message["check"] == "bronze.deliveries: freshness"
    assert message["run_id"] == entry["run_id"] and entry["status"] == "failed"
    assert Path(home, "_ops", "audit", "audit.jsonl").exists()
