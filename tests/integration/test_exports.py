"""The CRM marketing export: one RFM segment, only people who consent, read from the warehouse read-only.

A tiny warehouse by hand (the marts typed by their contracts):

    dim_customer        C1 e-mail and SMS consent; C2 withdrew e-mail consent (SMS yes);
                        C3 no consent at all; C4 e-mail consent
    mart_customer_rfm   2026-03-09: C1, C2, C3 champions
                        2026-03-10: C1, C2, C3 champions; C4 at_risk; C5 champions (no dim row)
"""

from __future__ import annotations

import csv
import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from omnilake.contracts import contract
from omnilake.crm import export_audience
from omnilake.exports import (
    AUDIENCE_COLUMNS,
    ExportError,
    campaign_audience,
    marketing_audience,
    partner_aggregates,
    partner_min_customers,
)
from omnilake.lake import Lake
from omnilake.partners import export_partner_aggregates
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


# --- campaign audiences and partner aggregates ----------------------------------------------------

# 2026-03-10, added to the case: C6 Champions with e-mail and SMS consent; C7 Cannot Lose Them with
# SMS consent only; C8 Lost with e-mail consent; C9 Champions without any consent.
CAMPAIGN = {"C6": ("Champions", True, True), "C7": ("Cannot Lose Them", False, True),
            "C8": ("Lost", True, False), "C9": ("Champions", False, False)}  # fmt: skip


@pytest.fixture
def campaign_lake(lake: Lake) -> Lake:
    with duckdb.connect(lake.warehouse_path) as con:
        for key, (segment, email, sms) in CAMPAIGN.items():
            con.execute(
                "insert into dim_customer (customer_key, channel_count, is_member, tier, email_opt_in, sms_opt_in, "
                "profiling_consent, online_orders, online_revenue, store_orders, store_revenue) "
                "values (?, 1, true, 'gold', ?, ?, true, 1, 10, 0, 0)",
                [key, email, sms],
            )
            con.execute(
                "insert into mart_customer_rfm values (?, ?, ?, 3, 4, 250.00, 5, 4, 4, '544', ?)",
                [date(2026, 3, 10), key, date(2026, 3, 7), segment],
            )
    return lake


def test_the_high_value_audience_is_champions_and_cannot_lose_them_who_consent_to_the_channel(campaign_lake):
    by_email = campaign_audience(campaign_lake, "high_value")
    assert [(r["customer_key"], r["segment"]) for r in by_email] == [("C6", "Champions")]
    assert by_email[0]["purpose"] == "exclusive offer and priority shipping"
    by_sms = campaign_audience(campaign_lake, "high_value", channel="sms")
    assert [(r["customer_key"], r["segment"]) for r in by_sms] == [
        ("C6", "Champions"),
        ("C7", "Cannot Lose Them"),
    ]


def test_the_win_back_audience_skips_a_segment_nobody_is_in(campaign_lake):
    # Hibernating is empty at 2026-03-10; Lost holds C8.
    assert [r["customer_key"] for r in campaign_audience(campaign_lake, "win_back")] == ["C8"]
    with pytest.raises(ExportError, match="unknown audience 'vip': use one of high_value, win_back"):
        campaign_audience(campaign_lake, "vip")


def test_the_audience_file_holds_pseudonymous_keys_and_the_purpose_only(campaign_lake):
    path = export_audience("high_value", campaign_lake, channel="sms")
    assert path.name == "high_value_sms_2026-03-10.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert [r["customer_key"] for r in rows] == ["C6", "C7"]
    assert list(rows[0]) == [*AUDIENCE_COLUMNS, "audience", "purpose"]


def _partner_rows(lake: Lake, sales: list[tuple], segments: list[tuple]) -> None:
    with duckdb.connect(lake.warehouse_path) as con:
        con.executemany(
            "insert into mart_partner_sales_weekly values ('2026-03-09', ?, ?, 1, ?, 3, 4, 100.00)", sales
        )
        con.executemany(
            "insert into mart_partner_segments_weekly values ('2026-03-09', '2026-03-10', ?, ?, 1, ?)",
            segments,
        )


def test_partner_aggregates_are_exported_when_every_row_has_k_customers(lake):
    assert partner_min_customers() == 10  # the dbt var's default
    _partner_rows(lake, [("IL", "shoes", 12), ("IL", "other", 10)], [("IL", "Champions", 10)])
    written = export_partner_aggregates(lake)
    assert [p.name for p in written] == [
        "mart_partner_sales_weekly_2026-03-09.csv",
        "mart_partner_segments_weekly_2026-03-09.csv",
    ]
    sales = list(csv.DictReader(written[0].open(encoding="utf-8")))
    assert [(r["category"], r["customers"]) for r in sales] == [("other", "10"), ("shoes", "12")]


def test_a_partner_row_below_k_stops_the_export_and_writes_nothing(lake):
    _partner_rows(lake, [("IL", "shoes", 12)], [("WI", "Lost", 9)])
    with pytest.raises(ExportError, match="mart_partner_segments_weekly has 1 row"):
        export_partner_aggregates(lake)
    assert not Path(lake.path("exports", "partners")).exists()
    assert partner_aggregates(lake, k=9)["mart_partner_segments_weekly"][0]["customers"] == 9
