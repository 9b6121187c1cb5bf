"""Snapshot feeds ingested as changes: hand-built CRM and product snapshots over three days.

Day 1: members M1 (bronze tier), M2, M3, M6 and a bad row M4 (a signup date that is no date).
Day 2: M1 moves to silver, M2 is no longer listed, M3 and M4 are as before, M5 joins, and M6's row
loses its loyalty card (quarantined). Day 3: the same members as day 2, re-delivered unchanged.
Products: P1 changes price on day 2, P2 leaves on day 2, P3 never changes.

Every expected figure below is counted by hand from those rows.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from deltalake import DeltaTable

from jobs.bronze.ingest import ingest
from jobs.bronze.snapshot_diff import is_snapshot_feed
from jobs.silver.customers import build_customers
from jobs.silver.identity import resolve
from jobs.silver.reference import transform_products
from omnilake import delta
from omnilake.contracts import contract
from omnilake.engine import get_spark
from omnilake.fingerprint import table_fingerprint
from omnilake.lake import Lake
from omnilake.settings import LakeRoot, reset_settings

pytestmark = pytest.mark.integration

DAYS = [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]


def member(member_id: str, card: str, tier: str, **overrides: str) -> dict[str, str]:
    row = {
        "member_id": member_id,
        "loyalty_card": card,
        "first_name": "Ann" + member_id,
        "last_name": "Lee",
        "email": f"{member_id.lower()}@mail.example",
        "phone": "",
        "postal_code": "10001",
        "signup_date": "2025-01-10",
        "signup_channel": "store",
        "signup_store_id": "S001",
        "tier": tier,
        "email_opt_in": "true",
        "sms_opt_in": "false",
        "profiling_consent": "true",
    }
    return {**row, **overrides}


M1 = member("M00000001", "6045000000000001", "bronze")
M2 = member("M00000002", "6045000000000002", "silver")
M3 = member("M00000003", "6045000000000003", "gold")
M4 = member("M00000004", "6045000000000004", "bronze", signup_date="someday")  # wrong_type
M5 = member("M00000005", "6045000000000005", "bronze")
M6 = member("M00000006", "6045000000000006", "silver")
M6_BAD = {**M6, "loyalty_card": ""}  # missing_required
CRM = {
    DAYS[0]: [M1, M2, M3, M4, M6],
    DAYS[1]: [{**M1, "tier": "silver"}, M3, M4, M5, M6_BAD],
    DAYS[2]: [{**M1, "tier": "silver"}, M3, M4, M5, M6_BAD],
}


def product(sku: str, price: str) -> dict[str, str]:
    return {
        "sku": sku,
        "barcode": "4006381333931",
        "product_name": f"Item {sku}",
        "category": "shoes",
        "subcategory": "",
        "brand": "Acme",
        "color": "red",
        "list_price": price,
        "currency": "USD",
        "launch_date": "2025-06-01",
        "is_active": "true",
    }


PRODUCTS = {
    DAYS[0]: [product("SKU-000001", "10.00"), product("SKU-000002", "20.00"), product("SKU-000003", "5.00")],
    DAYS[1]: [product("SKU-000001", "12.50"), product("SKU-000003", "5.00")],
    DAYS[2]: [product("SKU-000001", "12.50"), product("SKU-000003", "5.00")],
}


def _deliver(root: Path, source: str, day: date, rows: list[dict[str, str]]) -> None:
    header = [f.raw_name for f in contract("landing", source).fields]
    out = io.StringIO()
    writer = csv.DictWriter(out, header, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({"snapshot_date": day.isoformat(), **row})
    folder = root / "landing" / source / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{source}_{day.isoformat()}.csv").write_text(out.getvalue(), encoding="utf-8")


def _run_days(lake: Lake) -> list:
    """Ingest and build silver day by day, as the daily pipeline does; the ingestion reports."""
    reports = []
    for day in DAYS:
        _deliver(lake.root.local_path, "crm_members", day, CRM[day])
        _deliver(lake.root.local_path, "products", day, PRODUCTS[day])
        reports.append(ingest(["crm_members", "products"], day, lake))
        transform_products(get_spark(), lake, day)
        resolve(lake)
        build_customers(lake)
    return reports


def _bronze(spark, lake: Lake, source: str, day: date) -> list[tuple]:
    rows = delta.read(spark, lake.table(f"bronze.{source}")).where(f"_landing_date = date'{day}'")
    key = "member_id" if source == "crm_members" else "sku"
    return sorted((r[key], r["_change"]) for r in rows.collect())


@pytest.fixture
def off_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lake: Lake):
    """A second lake, ingested with the diffing switched off (every snapshot whole)."""
    other = Lake(LakeRoot(str(tmp_path / "off")))
    other.ensure_layout()
    monkeypatch.setenv("OMNILAKE_SNAPSHOT_DIFF", "false")
    reset_settings()
    try:
        reports = _run_days(other)
    finally:
        monkeypatch.delenv("OMNILAKE_SNAPSHOT_DIFF")
        reset_settings()
    return other, reports


def test_the_reference_and_crm_feeds_are_snapshot_feeds_and_the_others_not():
    assert is_snapshot_feed("crm_members") and is_snapshot_feed("products") and is_snapshot_feed("stores")
    for source in ("orders", "events", "pos", "inventory_online", "inventory_store"):
        assert not is_snapshot_feed(source)


def test_three_snapshots_become_changes_that_reconcile_and_give_the_silver_of_whole_snapshots(
    spark, lake: Lake, off_lake
):
    reports = _run_days(lake)
    crm = [next(r for r in day if r.source == "crm_members") for day in reports]
    # received = bronze (gone rows aside) + quarantined + unchanged, per day
    assert [(r.records, r.bronze_rows, r.quarantined_rows, r.unchanged_rows) for r in crm] == [
        (5, 4, 1, 0),  # M1 M2 M3 M6 new, M4 quarantined
        (5, 2, 1, 2),  # M1 changed, M5 new; M6 quarantined; M3 and M4 unchanged
        (5, 0, 0, 5),  # the same five records again
    ]
    assert not any(r.unbalanced_files for r in crm)
    assert _bronze(spark, lake, "crm_members", DAYS[0]) == [
        ("M00000001", "new"),
        ("M00000002", "new"),
        ("M00000003", "new"),
        ("M00000006", "new"),
    ]
    assert _bronze(spark, lake, "crm_members", DAYS[1]) == [
        ("M00000001", "changed"),
        ("M00000002", "gone"),  # no longer listed
        ("M00000005", "new"),
        ("M00000006", "gone"),  # its only record was quarantined
    ]
    assert _bronze(spark, lake, "crm_members", DAYS[2]) == []
    gone = {
        r["member_id"]: r
        for r in delta.read(spark, lake.table("bronze.crm_members")).where("_change = 'gone'").collect()
    }
    # A gone row carries the last version's values, dated by the snapshot it is missing from.
    assert gone["M00000002"]["tier"] == "silver" and gone["M00000002"]["snapshot_date"] == DAYS[1]
    assert gone["M00000006"]["loyalty_card"] == "6045000000000006"
    assert {r["_previous_snapshot"] for r in gone.values()} == {DAYS[0]}
    # The repeated bad rows were quarantined once, on the day they first arrived.
    quarantined = delta.read(spark, lake.table("quarantine.crm_members")).collect()
    assert sorted((r["_landing_date"], r["reason"]) for r in quarantined) == [
        (DAYS[0], "wrong_type"),
        (DAYS[1], "missing_required"),
    ]
    reconciliation = delta.read(spark, lake.table("ops.reconciliation")).where("source = 'crm_members'")
    assert sorted(
        (
            r["landing_date"],
            r["records_received"],
            r["bronze_rows"],
            r["quarantined_rows"],
            r["unchanged_rows"],
        )
        for r in reconciliation.collect()
        if r["balanced"]
    ) == [(DAYS[0], 5, 4, 1, 0), (DAYS[1], 5, 2, 1, 2), (DAYS[2], 5, 0, 0, 5)]
    # The state holds the last snapshot's five records; M4 and M6 stay known as quarantined.
    state = DeltaTable(lake.table("ops.snapshot_state").path).to_pyarrow_table().to_pylist()
    last = {
        r["record_key"]: r for r in state if r["source"] == "crm_members" and r["landing_date"] == DAYS[2]
    }
    assert sorted(last) == ["M00000001", "M00000003", "M00000004", "M00000005", "M00000006"]
    assert {k for k, r in last.items() if r["status"] == "quarantined"} == {"M00000004", "M00000006"}
    assert {r["outcome"] for r in last.values()} == {"unchanged"}

    products = [next(r for r in day if r.source == "products") for day in reports]
    assert [(r.bronze_rows, r.unchanged_rows) for r in products] == [(3, 0), (1, 1), (0, 2)]
    assert _bronze(spark, lake, "products", DAYS[1]) == [("SKU-000001", "changed"), ("SKU-000002", "gone")]

    # Silver from the changes equals silver from whole snapshots, table by table.
    off, off_reports = off_lake
    assert [next(r for r in day if r.source == "crm_members").bronze_rows for day in off_reports] == [4, 3, 3]
    for name in (
        "silver.customers",
        "silver.customer_identifiers",
        "silver.customer_key_merges",
        "silver.products",
    ):
        assert table_fingerprint(lake.table(name)) == table_fingerprint(off.table(name)), name
    customers = {r["member_id"]: r for r in delta.read(spark, lake.table("silver.customers")).collect()}
    # M2 left the snapshot and keeps its last version; M1 is silver now; M6 keeps its day-1 row.
    assert customers["M00000002"]["tier"] == "silver" and customers["M00000001"]["tier"] == "silver"
    assert "M00000006" in customers and "M00000004" not in customers
    prices = {
        r["sku"]: str(r["list_price"]) for r in delta.read(spark, lake.table("silver.products")).collect()
    }
    assert prices == {"SKU-000001": "12.50", "SKU-000002": "20.00", "SKU-000003": "5.00"}


def test_three_snapshots_in_one_run_give_the_bronze_of_three_daily_runs(spark, lake: Lake, tmp_path: Path):
    for day in DAYS:
        _deliver(lake.root.local_path, "crm_members", day, CRM[day])
    (report,) = ingest(["crm_members"], None, lake)  # a backfill: each day compared with the one before
    assert (report.records, report.bronze_rows, report.quarantined_rows, report.unchanged_rows) == (
        15,
        6,
        2,
        7,
    )
    assert not report.unbalanced_files

    daily = Lake(LakeRoot(str(tmp_path / "daily")))
    daily.ensure_layout()
    for day in DAYS:
        _deliver(daily.root.local_path, "crm_members", day, CRM[day])
        ingest(["crm_members"], day, daily)
    for name in ("bronze.crm_members", "quarantine.crm_members"):
        assert table_fingerprint(lake.table(name)) == table_fingerprint(daily.table(name)), name
    assert table_fingerprint(lake.table("bronze.crm_members")).rows == 8  # 4 + (2 + 2 gone) + 0


def test_a_snapshot_delivered_late_is_taken_whole_and_leaves_the_state_alone(spark, lake: Lake):
    for day in (DAYS[0], DAYS[2]):
        _deliver(lake.root.local_path, "crm_members", day, CRM[day])
        ingest(["crm_members"], day, lake)
    _deliver(lake.root.local_path, "crm_members", DAYS[1], CRM[DAYS[1]])
    (late,) = ingest(["crm_members"], DAYS[1], lake)
    # Older than the state's snapshot: every good record to bronze as `full`, nothing compared.
    assert (late.bronze_rows, late.quarantined_rows, late.unchanged_rows) == (3, 2, 0)
    assert _bronze(spark, lake, "crm_members", DAYS[1]) == [
        ("M00000001", "full"),
        ("M00000003", "full"),
        ("M00000005", "full"),
    ]
    state = DeltaTable(lake.table("ops.snapshot_state").path).to_pyarrow_table().to_pylist()
    assert {r["landing_date"] for r in state} == {DAYS[0], DAYS[2]}
