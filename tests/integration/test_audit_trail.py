"""A run's audit entry on real tables: the landing files with their ledger hashes, the Delta version of
every table, the gate results by name (never the observed values), and a chain that keeps verifying."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from deltalake import DeltaTable

from omnilake.audit import read_entries, record_run, verify
from omnilake.pipeline import RunContext, StepOutcome
from quality.results import CheckResult, GateReport, write_results
from tests.integration.silver_bronze import deliver

pytestmark = pytest.mark.integration

DAY = date(2026, 1, 5)


def test_a_run_entry_names_its_inputs_outputs_and_gate_results(spark, lake):
    orders = deliver(spark, lake, "orders", DAY, [{"id": 1, "email": "jane@example.com"}])
    pos = deliver(spark, lake, "pos", DAY, [{"store_id": "S001"}])
    deliver(spark, lake, "orders", date(2026, 1, 6), [{"id": 2}])  # another day: not an input
    report = GateReport(
        "bronze",
        "manual__1",
        DAY,
        [
            CheckResult("bronze.orders", "not_null(id)", "expect_column_values_to_not_be_null", "fail", True, "0"),
            CheckResult(
                "bronze.orders", "email_format", "expect_column_values_to_match_regex", "warn", False,
                "1 row: jane@example.com",
            ),
        ],
    )  # fmt: skip
    write_results(spark, lake, report, datetime.now(UTC).replace(tzinfo=None))
    outcomes = [
        StepOutcome("ingest_orders", DAY, 1.0, {"source": "orders"}),
        StepOutcome("gate_bronze", DAY, 2.0, report.as_dict()),
    ]

    entry = record_run(RunContext("manual__1", DAY, lake), outcomes)

    assert [(i["source"], i["sha256"], i["landing_date"]) for i in entry["inputs"]] == [
        ("orders", orders, "2026-01-05"),
        ("pos", pos, "2026-01-05"),
    ]
    tables = entry["outputs"]["tables"]
    assert tables["bronze.orders"] == DeltaTable(lake.table("bronze.orders").path).version()
    assert tables["ops.ingestion_ledger"] == DeltaTable(lake.table("ops.ingestion_ledger").path).version()
    assert entry["gates"] == [
        {
            "run_id": "manual__1",
            "layer": "bronze",
            "landing_date": "2026-01-05",
            "checks": 2,
            "failed": [],
            "warned": ["bronze.orders: email_format"],
        }
    ]
    assert "jane@example.com" not in json.dumps(entry)

    record_run(RunContext("manual__2", date(2026, 1, 6), lake), [])
    entries = read_entries(lake)
    assert [e["run_id"] for e in entries] == ["manual__1", "manual__2"]
    assert entries[1]["prev_hash"] == entries[0]["entry_hash"]
    assert verify(lake).ok
