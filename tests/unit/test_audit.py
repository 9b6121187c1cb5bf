"""The audit trail is a hash chain: verify names the first entry that was edited, moved or removed."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from omnilake.audit import (
    GENESIS_HASH,
    AuditError,
    append_entry,
    audit_path,
    audit_verify_command,
    canonical,
    entry_hash,
    read_entries,
    record_run,
    sanitised_command,
    verify,
)
from omnilake.lake import Lake
from omnilake.pipeline import RunContext, StepOutcome
from omnilake.settings import LakeRoot

pytestmark = pytest.mark.unit


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(LakeRoot(str(tmp_path / "lake")))


def _lines(lake: Lake) -> list[str]:
    return audit_path(lake).read_text(encoding="utf-8").splitlines()


def _rewrite(lake: Lake, lines: list[str]) -> None:
    audit_path(lake).write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_each_entry_carries_the_hash_of_the_one_before(lake):
    first = append_entry(lake, "run", {"run_id": "r1"})
    second = append_entry(lake, "run", {"run_id": "r2"})
    assert (first["seq"], second["seq"]) == (1, 2)
    assert first["prev_hash"] == GENESIS_HASH
    assert second["prev_hash"] == first["entry_hash"]
    stored = json.loads(_lines(lake)[0])
    assert stored["entry_hash"] == entry_hash(stored)
    assert canonical({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()
    result = verify(lake)
    assert result.ok and result.entries == 2 and result.head_hash == second["entry_hash"]


def test_editing_one_entry_breaks_the_chain_at_that_entry(lake):
    for n in range(1, 4):
        append_entry(
            lake, "run", {"run_id": f"r{n}", "inputs": [{"path": "landing/orders/x", "sha256": "a" * 64}]}
        )
    lines = _lines(lake)
    edited = json.loads(lines[1])
    edited["inputs"][0]["sha256"] = "b" * 64
    lines[1] = json.dumps(edited)
    _rewrite(lake, lines)

    result = verify(lake)
    assert not result.ok
    assert result.first_broken == 2
    assert "run r2" in result.reason and "edited" in result.reason
    with pytest.raises(AuditError, match="broken at entry 2"):
        audit_verify_command(lake)


def test_an_edit_with_its_hash_recomputed_still_shows_at_the_next_entry(lake):
    for n in range(1, 4):
        append_entry(lake, "run", {"run_id": f"r{n}", "status": "failed"})
    lines = _lines(lake)
    forged = json.loads(lines[0])
    forged["status"] = "succeeded"
    forged["entry_hash"] = entry_hash(forged)
    lines[0] = json.dumps(forged)
    _rewrite(lake, lines)
    result = verify(lake)
    assert (result.ok, result.first_broken) == (False, 2)
    assert "prev_hash" in result.reason


def test_removing_an_entry_is_named(lake):
    for n in range(1, 4):
        append_entry(lake, "run", {"run_id": f"r{n}"})
    lines = _lines(lake)
    _rewrite(lake, [lines[0], lines[2]])
    result = verify(lake)
    assert (result.ok, result.first_broken) == (False, 2)
    assert "seq is 3, expected 2" in result.reason


def test_appending_continues_the_chain_of_an_existing_file(lake):
    append_entry(lake, "run", {"run_id": "r1"})
    head = verify(lake).head_hash
    reopened = Lake(LakeRoot(lake.root.uri))
    entry = append_entry(reopened, "erasure", {"request_id": "erasure-1"})
    assert entry["seq"] == 2 and entry["prev_hash"] == head
    assert [e["kind"] for e in read_entries(reopened)] == ["run", "erasure"]
    assert verify(reopened).ok


def test_a_damaged_last_line_stops_appending(lake):
    append_entry(lake, "run", {"run_id": "r1"})
    with audit_path(lake).open("a", encoding="utf-8") as handle:
        handle.write('{"seq": 2, "truncat\n')
    with pytest.raises(AuditError, match="damaged"):
        append_entry(lake, "run", {"run_id": "r2"})
    assert verify(lake).first_broken == 2


def test_a_run_entry_says_what_ran_and_keeps_no_error_message(lake):
    context = RunContext("manual__1", date(2026, 1, 5), lake)
    outcomes = [
        StepOutcome("ingest_orders", date(2026, 1, 5), 1.23456, {"source": "orders", "records": 10}),
        {"step": "gate_bronze", "landing_date": date(2026, 1, 5), "seconds": 2.0, "result": {"checks": 3}},
    ]
    error = RuntimeError("wrong_type: value 'jane@example.com' in email")
    entry = record_run(context, outcomes, error=error, argv=["omnilake", "run", "--start-date", "2026-01-05"])
    assert entry["kind"] == "run" and entry["run_id"] == "manual__1"
    assert entry["status"] == "failed"
    assert entry["error"] == {"type": "RuntimeError", "after_step": "gate_bronze"}
    assert [s["step"] for s in entry["steps"]] == ["ingest_orders", "gate_bronze"]
    assert entry["steps"][0]["seconds"] == 1.235
    assert entry["landing_dates"] == ["2026-01-05"]
    assert entry["inputs"] == [] and entry["outputs"] == {"tables": {}, "warehouse": None}
    actor = entry["actor"]
    assert actor["command"] == ["omnilake", "run", "--start-date", "2026-01-05"]
    assert {"user", "host", "versions", "settings"} <= set(actor)
    assert "pseudonym_key" not in json.dumps(actor)
    assert "jane@example.com" not in audit_path(lake).read_text(encoding="utf-8")
    assert verify(lake).ok


def test_personal_values_on_the_command_line_are_redacted():
    assert sanitised_command(["/usr/bin/omnilake", "erase", "--email", "Jane@Example.com", "--dry-run"]) == [
        "omnilake",
        "erase",
        "--email",
        "<redacted>",
        "--dry-run",
    ]
    assert sanitised_command(["omnilake", "erase", "--phone=5551234567"]) == [
        "omnilake",
        "erase",
        "--phone=<redacted>",
    ]
    assert sanitised_command(["omnilake", "sql", "select 'a@b.c'"]) == ["omnilake", "sql", "<redacted>"]


def test_an_append_chains_to_the_last_entry_read_from_the_end(lake, monkeypatch):
    import io

    from omnilake import audit

    # Chunks far smaller than an entry: the last line is assembled over several reads from the end.
    monkeypatch.setattr(audit, "_HASH_CHUNK", 7)
    trail = b'{"seq": 1}\n{"seq": 2, "long": "' + b"x" * 40 + b'"}\n\n  \n'
    assert audit._last_line(io.BytesIO(trail)) == b'{"seq": 2, "long": "' + b"x" * 40 + b'"}'
    assert audit._last_line(io.BytesIO(b'{"seq": 1}')) == b'{"seq": 1}'
    assert audit._last_line(io.BytesIO(b"\n \n")) is None
    for n in range(1, 5):
        append_entry(lake, "run", {"run_id": f"r{n}", "note": "y" * 30})
    assert [e["seq"] for e in read_entries(lake)] == [1, 2, 3, 4]
    assert verify(lake).ok
