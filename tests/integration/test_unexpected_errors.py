"""An unexpected error (a bug, not the user's doing) is one line naming the step, the source and file
when known, and the log file that holds its traceback; the exit code is non-zero (70)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omnilake.cli import BUG_EXIT_CODE, app

pytestmark = pytest.mark.integration

DAY = date(2026, 3, 2)
ORDER = {
    "id": 1,
    "created_at": "2026-03-02T09:00:00-05:00",
    "updated_at": "2026-03-02T10:00:00-05:00",
    "currency": "USD",
    "financial_status": "paid",
    "total_price": "20.00",
    "line_items": [{"id": 10, "sku": "SKU-000001", "quantity": 1, "price": "20.00"}],
}


def _deliver_an_order(lake) -> str:
    folder = Path(lake.landing) / "orders" / DAY.isoformat()
    folder.mkdir(parents=True)
    (folder / f"orders_{DAY}.ndjson").write_text(json.dumps(ORDER) + "\n")
    return f"landing/orders/{DAY}/orders_{DAY}.ndjson"


def _bug_line(result) -> tuple[str, Path]:
    """The one stderr line of a bug, and the log file it names (which must hold the traceback)."""
    assert result.exit_code == BUG_EXIT_CODE, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    (line,) = lines
    assert line.startswith("bug: unexpected error in step ")
    assert "This is a bug in Omnilake, not in your data or settings" in line
    log_path = Path(re.search(r"the full traceback is in (\S+\.log)$", line).group(1))
    return line, log_path


def test_a_bug_while_staging_a_file_names_step_source_file_and_log(lake, monkeypatch):
    import jobs.bronze.ingest as ingestion

    def broken_stage(*_args, **_kwargs):
        raise RuntimeError("staging exploded\nsecond line of detail")

    monkeypatch.setattr(ingestion, "stage_file", broken_stage)
    relative = _deliver_an_order(lake)

    result = CliRunner().invoke(app, ["run", "--start-date", str(DAY)])

    line, log_path = _bug_line(result)
    assert line.startswith(f"bug: unexpected error in step ingest_orders (source orders, file {relative}, ")
    assert "RuntimeError: staging exploded." in line and "second line" not in line
    assert log_path.parent == Path(lake.root.local_path) / "_ops" / "logs"
    assert log_path.name.startswith("manual__") or log_path.name.startswith("run__")
    logged = log_path.read_text()
    assert "Traceback (most recent call last)" in logged
    assert "second line of detail" in logged and "broken_stage" in logged


def test_a_bug_in_a_gate_names_the_gate(lake, monkeypatch):
    import quality.gates

    def broken_suites(*_args, **_kwargs):
        raise KeyError("no such suite")

    monkeypatch.setattr(quality.gates, "run_suites", broken_suites)

    result = CliRunner().invoke(app, ["gate", "silver"])

    line, log_path = _bug_line(result)
    assert line.startswith("bug: unexpected error in step gate_silver: KeyError: 'no such suite'.")
    assert log_path.name.startswith("gate__") and "broken_suites" in log_path.read_text()


def test_an_error_the_user_caused_is_still_one_plain_error_line(lake):
    result = CliRunner().invoke(app, ["ingest", "--date", "2026-13-01"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["error: invalid date '2026-13-01': use YYYY-MM-DD"]
