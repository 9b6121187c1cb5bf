"""Every `omnilake sql` query lands in the hash-chained audit trail, and unusual access is flagged.

The warehouse: dim_customer with three people, C1 and C2 gold tier, C3 silver; price_sensitivity is
confidential (the analysts' view shows it as null, so their queries never read it).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from omnilake.analyst_views import create_analyst_views
from omnilake.audit import audit_path, read_entries, verify
from omnilake.errors import OmnilakeError
from omnilake.governance.access_audit import audited_query, flagged_access
from omnilake.settings import reset_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def warehouse(lake) -> Path:
    path = Path(lake.warehouse_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute(
            "create table dim_customer as select * from (values "
            "('C1', 'gold', 'high', 3::bigint), ('C2', 'gold', 'low', 1::bigint), ('C3', 'silver', null, 0::bigint)"
            ") as t(customer_key, tier, price_sensitivity, online_orders)"
        )
        create_analyst_views(con)
    return path


def _access(lake) -> list[dict]:
    return [e for e in read_entries(lake) if e["kind"] == "access"]


def test_a_query_is_recorded_with_its_tables_columns_and_rows_and_no_literal(lake, warehouse, monkeypatch):
    out = audited_query(
        "select customer_key, tier from dim_customer where tier = 'gold' and online_orders > 0"
    )
    assert out.splitlines()[-1] == "(2 rows)"
    audited_query("select tier, count(*) as n from dim_customer group by tier", "csv")
    with pytest.raises(OmnilakeError):
        audited_query("delete from dim_customer where customer_key = 'C1'")
    monkeypatch.setenv("OMNILAKE_ANALYST_ROLE", "privileged")
    reset_settings()
    audited_query("select customer_key, price_sensitivity from main.dim_customer", "json")

    first, second, refused, privileged = _access(lake)
    assert (
        first["query"] == "select customer_key, tier from dim_customer where tier = ? and online_orders > ?"
    )
    assert first["tables"] == ["main.dim_customer"]
    # online_orders is read by the scan's filter; price_sensitivity is masked by the view, never read
    assert first["columns"] == {
        "main.dim_customer": {"customer_key": "internal", "online_orders": "internal", "tier": "internal"}
    }
    assert (first["rows"], first["personal"], first["personal_rows"], first["role"]) == (
        2,
        True,
        2,
        "analyst",
    )
    assert (second["rows"], second["personal"], second["personal_rows"]) == (2, False, 0)
    assert second["columns"] == {"main.dim_customer": {"tier": "internal"}}
    assert refused["status"] == "refused" and "'C1'" not in refused["query"] and refused["rows"] is None
    assert privileged["columns"] == {
        "main.dim_customer": {"customer_key": "internal", "price_sensitivity": "confidential"}
    }
    assert privileged["classifications"] == ["confidential", "internal"]
    assert (privileged["role"], privileged["personal_rows"]) == ("privileged", 3)
    assert first["query_sha256"] != second["query_sha256"]
    assert "C1" not in audit_path(lake).read_text()  # no result value, no literal
    assert verify(lake).ok

    # one edited entry breaks the chain there
    lines = audit_path(lake).read_text().splitlines()
    edited = json.loads(lines[1])
    edited["rows"] = 0
    lines[1] = json.dumps(edited, sort_keys=True, separators=(",", ":"))
    audit_path(lake).write_text("\n".join(lines) + "\n")
    broken = verify(lake)
    assert (broken.ok, broken.first_broken) == (False, 2)
    assert "edited" in broken.reason


def test_a_reader_over_the_daily_personal_rows_threshold_is_flagged_and_warned_by_the_gold_gate(
    spark, lake, warehouse, monkeypatch
):
    from quality.access import access_suite
    from quality.checks import GateContext
    from quality.gates import run_suites

    monkeypatch.setenv("OMNILAKE_ACCESS_PERSONAL_ROWS_PER_DAY", "4")
    reset_settings()
    audited_query("select customer_key from dim_customer")  # 3 personal rows
    audited_query("select tier from dim_customer")  # 3 rows, none personal
    assert flagged_access(lake) == []
    audited_query("select customer_key from dim_customer where tier = 'gold'")  # 2 more: 5 > 4
    (flag,) = flagged_access(lake)
    assert (flag.personal_rows, flag.threshold) == (5, 4)

    ctx = GateContext("gold", "manual__access", lake)
    report = run_suites(ctx, [access_suite()], docs=False)
    (warned,) = report.warned
    assert warned.label == "gold.access: personal_rows_per_reader_per_day"
    assert report.failed == []
    assert warned.unexpected_count == 1 and flag.reader in warned.observed
