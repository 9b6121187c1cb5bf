"""The CRM marketing export: one RFM segment, only people who consent, read from the warehouse read-only.

A tiny warehouse by hand (the marts typed by their contracts):

    dim_customer        C1 e-mail and SMS consent; C2 withdrew e-mail consent (SMS yes);
                        C3 no consent at all; C4 e-mail consent
    mart_customer_rfm   2026-03-09: C1, C2, C3 champions
                        2026-03-10: C1, C2, C3 champions; C4 at_risk; C5 champions (no dim row)
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from omnilake.contracts import contract
from omnilake.exports import ExportError, marketing_audience
from omnilake.lake import Lake
from omnilake.publish import MARTS
from omnilake.settings import LakeRoot

pytestmark = pytest.mark.integration

CUSTOMERS = {"C1": (True, True), "C2": (False, True), "C3": (False, False), "C4": (True, False)}
RFM = [
    ("2026-03-09", "C1", "champions"),
    ("2026-03-09", "C2", "champions"),
    ("2026-03-09", "C3", "champions"),
    ("2026-03-10", "C1", "champions"),
    ("2026-03-10", "C2", "champions"),
    ("2026-03-10", "C3", "champions"),
    ("2026-03-10", "C4", "at_risk"),
    ("2026-03-10", "C5", "champions"),
]


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    lake = Lake(LakeRoot(str(tmp_path / "lake")))
    Path(lake.root.local_path).mkdir(parents=True)
    with duckdb.connect(lake.warehouse_path) as con:
        for mart in MARTS:
            columns = ", ".join(f'"{f.name}" {f.type}' for f in contract("gold", mart).fields)
            con.execute(f"create table main.{mart} ({columns})")
        for key, (email, sms) in CUSTOMERS.items():
            con.execute(
                "insert into dim_customer (customer_key, channel_count, is_member, tier, email_opt_in, sms_opt_in, "
                "profiling_consent, online_orders, online_revenue, store_orders, store_revenue) "
                "values (?, 1, true, 'gold', ?, ?, true, 1, 10, 0, 0)",
                [key, email, sms],
            )
        for snapshot, key, segment in RFM:
            con.execute(
                "insert into mart_customer_rfm values (?, ?, ?, 3, 4, 250.00, 5, 4, 4, '544', ?)",
                [date.fromisoformat(snapshot), key, date(2026, 3, 7), segment],
            )
    return lake


def _digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_the_audience_is_the_latest_snapshot_of_the_segment_minus_people_without_consent(lake):
    before = _digest(lake.warehouse_path)
    audience = marketing_audience(lake, "champions")
    assert [row["customer_key"] for row in audience] == ["C1"]
    assert audience[0] == {
        "customer_key": "C1",
        "snapshot_date": date(2026, 3, 10),
        "segment": "champions",
        "rfm_cell": "544",
        "recency_days": 3,
        "frequency": 4,
        "monetary": Decimal("250.00"),
        "tier": "gold",
    }
    assert _digest(lake.warehouse_path) == before  # read only


def test_sms_consent_is_its_own_channel(lake):
    assert [r["customer_key"] for r in marketing_audience(lake, "champions", channel="sms")] == ["C1", "C2"]


def test_an_older_snapshot_can_be_exported(lake):
    audience = marketing_audience(lake, "champions", snapshot_date=date(2026, 3, 9))
    assert [(r["customer_key"], r["snapshot_date"]) for r in audience] == [("C1", date(2026, 3, 9))]


def test_an_unknown_segment_names_the_segments_there_are(lake):
    with pytest.raises(ExportError, match="segments: at_risk, champions"):
        marketing_audience(lake, "loyal")


def test_no_warehouse_is_an_error_that_says_what_to_do(tmp_path):
    with pytest.raises(ExportError, match="omnilake run"):
        marketing_audience(Lake(LakeRoot(str(tmp_path / "empty"))), "champions")
