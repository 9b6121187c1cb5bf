"""What real exports carry and the sample does not: text web-account ids, a member's web account in
the CRM, a loyalty card and a fulfilment location on orders, stores known only by a UTC offset,
warehouses without a zone, and numeric ids of different widths. Hand-built rows, expected values
worked out from the case."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from deltalake import DeltaTable
from pyspark.sql import types as T

from jobs.bronze.ingest import ingest
from jobs.silver.customers import build_customers
from jobs.silver.identity import resolve
from jobs.silver.orders import transform_orders
from jobs.silver.pos import transform_pos
from jobs.silver.reference import transform_locations
from omnilake import delta
from omnilake.errors import SchemaMismatchError
from omnilake.privacy import pseudonym_of
from tests.integration.silver_bronze import deliver, rows_of

pytestmark = pytest.mark.integration

DAY1, DAY2, DAY3 = date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)


def order(order_id: int, updated_at: str, email: str, financial: str = "paid", **extra) -> dict:
    """One exported version of an order (shop time, UTC-5 in March), in bronze shape."""
    return {
        "id": order_id,
        "order_number": order_id,
        "email": email,
        "created_at": "2024-03-01T09:00:00-05:00",
        "updated_at": updated_at,
        "currency": "USD",
        "financial_status": financial,
        "source_name": "web",
        "total_price": Decimal("20.00"),
        "line_items": [
            {
                "id": order_id * 10 + 1,
                "sku": "SKU-000001",
                "title": "item",
                "quantity": 1,
                "price": Decimal("20.00"),
                "total_discount": Decimal("0.00"),
            }
        ],
        **extra,
    }


def member(member_id: str, card: str, **extra) -> dict:
    return {"member_id": member_id, "loyalty_card": card, "first_name": "Ana", "last_name": "Lee", **extra}


def keys_by_identifier(spark, lake) -> dict[tuple[str, str], str]:
    rows = rows_of(spark, lake, "silver.customer_identifiers", ["identifier_type", "identifier_hash"])
    return {(r["identifier_type"], r["identifier_hash"]): r["customer_key"] for r in rows}


def new_key_of(identifier_type: str, value: str) -> str:
    """The key identity gives a person known by this one identifier (from its node id)."""
    node = f"{identifier_type}:{pseudonym_of(value)}"
    return "ck_" + hashlib.sha256(f"customer_key:{node}".encode()).hexdigest()[:24]


def test_numeric_ids_of_mixed_widths_merge_on_the_second_day(spark, lake):
    """Ids 866 and 59601 (and line ids 8661, 596011): Sail 0.7.2 failed planning on the string
    range ["866", "59601"] carried from the long ids' statistics (docs/sail_issues/mixed_width_ids.py)."""
    day1 = [
        order(866, "2024-03-01T10:00:00-05:00", "a@example.com", customer={"id": "7"}),
        order(59601, "2024-03-01T10:00:00-05:00", "b@example.com", customer={"id": "10042"}),
    ]
    deliver(spark, lake, "orders", DAY1, day1)
    transform_orders(spark, lake)
    day2 = [
        order(866, "2024-03-02T10:00:00-05:00", "a@example.com", "refunded", customer={"id": "7"}),
        order(59601, "2024-03-02T10:00:00-05:00", "b@example.com", customer={"id": "10042"}),
        order(1000003, "2024-03-02T11:00:00-05:00", "c@example.com"),
    ]
    deliver(spark, lake, "orders", DAY2, day2)
    reports = {r.table: r for r in transform_orders(spark, lake)}

    # 866 changed (paid -> refunded), 59601 came again unchanged but newer (updated), 1000003 is new.
    assert (reports["orders"].inserted, reports["orders"].updated) == (1, 2)
    orders = rows_of(spark, lake, "silver.orders", "order_number")
    assert [(o["order_id"], o["order_status"], o["web_customer_id"]) for o in orders] == [
        ("866", "refunded", "7"),
        ("59601", "paid", "10042"),
        ("1000003", "paid", None),
    ]
    lines = rows_of(spark, lake, "silver.order_lines", "line_id")
    assert sorted((x["order_id"], x["line_id"]) for x in lines) == [
        ("1000003", "10000031"),
        ("59601", "596011"),
        ("866", "8661"),
    ]
    resolve(lake)
    assert build_customers(lake).customers == 3  # one per e-mail; accounts 7 and 10042 with theirs
    keys = keys_by_identifier(spark, lake)
    assert keys[("web_customer_id", pseudonym_of("7"))] == keys[("email", pseudonym_of("a@example.com"))]


def _landing_file(lake, source: str, day: date, name: str, text: str) -> None:
    folder = Path(lake.landing) / source / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def _exported(order_id: int, customer_id, email: str) -> dict:
    """An order as the shop exports it (JSON, money as strings)."""
    record = order(order_id, "2024-03-01T10:00:00-05:00", email, customer={"id": customer_id})
    record["total_price"] = "20.00"
    for item in record["line_items"]:
        item["price"], item["total_discount"] = "20.00", "0.00"
    return record


def test_text_and_numeric_web_account_ids_round_trip_and_numeric_ones_keep_their_key(spark, lake):
    records = [
        _exported(1, "C-00042", "c42@example.com"),
        _exported(2, " 6f1c2b7e-9d2a-4c1e-8f7a-0b5d3e2c1a90 ", "uuid@example.com"),
        _exported(3, 42, "n42@example.com"),
        _exported(4, "42", "n42@example.com"),  # the same account, written as a string
    ]
    _landing_file(
        lake, "orders", DAY1, "orders_2024-03-01.ndjson", "".join(json.dumps(r) + "\n" for r in records)
    )
    (report,) = ingest(["orders"], DAY1, lake)
    assert (report.bronze_rows, report.quarantined_rows) == (4, 0)
    bronze = {r["id"]: r["customer"]["id"] for r in delta.read(spark, lake.table("bronze.orders")).collect()}
    assert bronze == {1: "C-00042", 2: " 6f1c2b7e-9d2a-4c1e-8f7a-0b5d3e2c1a90 ", 3: "42", 4: "42"}

    login = {
        "messageId": "m1",
        "type": "page",
        "anonymousId": "device-1",
        "userId": "C-00042",
        "timestamp": "2024-03-01T15:00:00.000Z",
        "receivedAt": "2024-03-01T15:00:01.000Z",
    }
    deliver(spark, lake, "events", DAY1, [login])

    transform_orders(spark, lake)
    silver = {r["order_id"]: r["web_customer_id"] for r in rows_of(spark, lake, "silver.orders", "order_id")}
    assert silver == {"1": "C-00042", "2": "6f1c2b7e-9d2a-4c1e-8f7a-0b5d3e2c1a90", "3": "42", "4": "42"}

    resolve(lake)
    keys = keys_by_identifier(spark, lake)
    # Account 42 and its e-mail are one person; the key comes from the smaller of the two node ids,
    # exactly as when customer.id was a long.
    account, mail = ("web_customer_id", "42"), ("email", "n42@example.com")
    smallest = min(f"{t}:{pseudonym_of(v)}" for t, v in (account, mail)).split(":", 1)[0]
    expected = new_key_of(smallest, dict((account, mail))[smallest])
    assert keys[("web_customer_id", pseudonym_of("42"))] == expected
    assert keys[("email", pseudonym_of("n42@example.com"))] == expected
    # The text account is one person with its order's e-mail and the device it logged in on.
    text_account = keys[("web_customer_id", pseudonym_of("C-00042"))]
    assert keys[("email", pseudonym_of("c42@example.com"))] == text_account
    assert keys[("device", pseudonym_of("device-1"))] == text_account
    assert ("web_customer_id", pseudonym_of("6f1c2b7e-9d2a-4c1e-8f7a-0b5d3e2c1a90")) in keys

    build_customers(lake)
    accounts = {r["web_customer_id"] for r in rows_of(spark, lake, "silver.customers", "customer_key")}
    assert accounts == {"C-00042", "6f1c2b7e-9d2a-4c1e-8f7a-0b5d3e2c1a90", "42"}


def test_a_crm_member_with_a_web_account_and_no_email_is_one_customer_with_its_orders(spark, lake):
    deliver(spark, lake, "crm_members", DAY1, [member("M1", "6045000000000001", web_customer_id="C-00042")])
    deliver(spark, lake, "orders", DAY1, [order(1, "2024-03-01T10:00:00-05:00", "ana@example.com",
                                               customer={"id": "C-00042"})])  # fmt: skip
    deliver(spark, lake, "pos", DAY1, [{"store_id": "S001", "transaction_id": "T1", "line_number": 1,
                                        "loyalty_card": "6045 0000 0000 0001"}])  # fmt: skip
    result = resolve(lake)
    keys = keys_by_identifier(spark, lake)
    person = {
        keys[("member_id", pseudonym_of("M1"))],
        keys[("loyalty_card", pseudonym_of("6045000000000001"))],
        keys[("web_customer_id", pseudonym_of("C-00042"))],
        keys[("email", pseudonym_of("ana@example.com"))],
    }
    assert len(person) == 1 and result.customers == 1
    build_customers(lake)
    (customer,) = rows_of(spark, lake, "silver.customers", "customer_key")
    assert (customer["member_id"], customer["web_customer_id"], customer["identifiers"]) == (
        "M1",
        "C-00042",
        4,
    )
    assert customer["signup_date"] is None  # the CRM sent none: optional


def test_an_order_with_a_loyalty_card_is_keyed_to_the_store_member(spark, lake):
    deliver(spark, lake, "crm_members", DAY1, [member("M2", "6045000000000002")])
    deliver(spark, lake, "orders", DAY1, [order(1, "2024-03-01T10:00:00-05:00", "guest@example.com",
                                               loyalty_card="6045-0000-0000-0002")])  # fmt: skip
    transform_orders(spark, lake)
    resolve(lake)
    keys = keys_by_identifier(spark, lake)
    member_key = keys[("member_id", pseudonym_of("M2"))]
    assert keys[("email", pseudonym_of("guest@example.com"))] == member_key

    # A later guest order with only the card (a new e-mail) finds the member through the card.
    deliver(spark, lake, "orders", DAY2, [order(2, "2024-03-02T10:00:00-05:00", "other@example.com",
                                               loyalty_card="6045000000000002")])  # fmt: skip
    transform_orders(spark, lake)
    orders = {o["order_id"]: o for o in rows_of(spark, lake, "silver.orders", "order_id")}
    assert orders["2"]["customer_key"] == member_key
    assert "loyalty_card" not in orders["2"]  # the card itself stays in bronze


def test_an_order_keeps_its_fulfilment_location(spark, lake):
    deliver(spark, lake, "orders", DAY1, [
        order(1, "2024-03-01T10:00:00-05:00", "a@example.com", location_id=" DC01 "),
        order(2, "2024-03-01T10:00:00-05:00", "b@example.com"),
    ])  # fmt: skip
    transform_orders(spark, lake)
    orders = rows_of(spark, lake, "silver.orders", "order_id")
    assert [(o["order_id"], o["location_id"]) for o in orders] == [("1", "DC01"), ("2", None)]


def _till(store: str, txn: str, clock: str) -> dict:
    return {
        "store_id": store,
        "register_id": "01",
        "transaction_id": txn,
        "line_number": 1,
        "transaction_ts": clock,
        "sku": "SKU-000001",
        "quantity": 1,
        "unit_price": Decimal("10.00"),
        "tender_type": "card",
        "void_flag": "N",
    }


def test_a_store_known_by_utc_offset_dates_its_sales_locally_and_a_warehouse_needs_no_zone(spark, lake):
    stores = [
        {"store_id": "S800", "location_type": "store", "utc_offset": "+08:00"},
        {"store_id": "S530", "location_type": "store", "utc_offset": "-05:30"},
        {"store_id": "S0Z", "location_type": "store", "utc_offset": " utc "},  # +00:00
        {"store_id": "S000", "location_type": "store"},  # neither zone nor offset
        {"store_id": "S008", "location_type": "store", "utc_offset": "+8"},  # not +HH:MM: refused
        {"store_id": "DC09", "location_type": "dc"},  # a warehouse has no till and needs no zone
        {"store_id": "S100", "location_type": "store", "time_zone": "Asia/Singapore", "utc_offset": "+07:00"},
    ]
    deliver(spark, lake, "stores", DAY1, stores)
    report = transform_locations(spark, lake)
    assert (report.rows_in, report.inserted, report.rejected) == (7, 6, 1)
    locations = {r["location_id"]: r for r in rows_of(spark, lake, "silver.locations", "location_id")}
    assert set(locations) == {"S800", "S530", "S0Z", "S000", "DC09", "S100"}
    assert (locations["S800"]["time_zone"], locations["S800"]["utc_offset"]) == (None, "+08:00")
    assert (locations["S0Z"]["utc_offset"], locations["S000"]["utc_offset"]) == ("+00:00", None)
    assert (locations["DC09"]["location_type"], locations["DC09"]["time_zone"]) == ("warehouse", None)
    # The IANA zone wins over an offset (it knows daylight saving).
    assert (locations["S100"]["time_zone"], locations["S100"]["utc_offset"]) == ("Asia/Singapore", None)
    rejects = rows_of(spark, lake, "quarantine.silver_rejects", "line")
    assert [(r["silver_table"], r["line"], r["reason"]) for r in rejects] == [
        ("locations", 5, "wrong_format: utc_offset")
    ]

    deliver(spark, lake, "pos", DAY2, [
        _till("S800", "T1", "2024-03-01 23:30:00"),  # late evening, +08:00: 15:30 UTC that day
        _till("S800", "T2", "2024-03-02 00:30:00"),  # just after midnight: the next business day
        _till("S530", "T3", "2024-03-01 22:00:00"),  # -05:30: 03:30 UTC the next day
        _till("S100", "T4", "2024-03-01 23:30:00"),  # Singapore is +08:00 too
        _till("S000", "T5", "2024-03-01 12:00:00"),  # no zone known: refused
    ])  # fmt: skip
    pos_report = transform_pos(spark, lake)
    lines = {r["transaction_id"]: r for r in rows_of(spark, lake, "silver.pos_lines", "transaction_id")}
    assert {t: (x["business_date"], x["transaction_at"]) for t, x in lines.items()} == {
        "T1": (DAY1, datetime(2024, 3, 1, 15, 30)),
        "T2": (DAY2, datetime(2024, 3, 1, 16, 30)),
        "T3": (DAY1, datetime(2024, 3, 2, 3, 30)),
        "T4": (DAY1, datetime(2024, 3, 1, 15, 30)),
    }
    assert (pos_report.rows_in, pos_report.rejected) == (5, 1)
    rejects = rows_of(spark, lake, "quarantine.silver_rejects", "line")
    assert {r["reason"] for r in rejects if r["silver_table"] == "pos_lines"} == {"unknown_time_zone"}


def test_a_lake_written_with_numeric_account_ids_is_migrated_to_text_once(spark, lake):
    """bronze.orders of a lake from before customer.id became text: without the rewrite, Sail would
    cast an appended "C-00042" back to long, i.e. to null."""
    table = lake.table("bronze.orders")
    old_customer = T.StructType(
        [T.StructField("id", T.LongType())]
        + [f for f in table.contract.field("customer").spark_type.fields[1:]]
    )
    old_schema = T.StructType(
        [
            T.StructField(f.name, old_customer if f.name == "customer" else f.dataType)
            for f in table.contract.spark_schema()
        ]
    )
    old_row = {f.name: None for f in old_schema.fields} | {"id": 1, "customer": {"id": 42}}
    spark.createDataFrame([old_row], old_schema).write.format("delta").save(table.path)

    deliver(spark, lake, "orders", DAY1, [order(2, "2024-03-01T10:00:00-05:00", "a@example.com",
                                               customer={"id": "C-00042"})])  # fmt: skip
    ids = {r["id"]: r["customer"]["id"] for r in delta.read(spark, table).collect()}
    assert ids == {1: "42", 2: "C-00042"}
    versions = len(DeltaTable(table.path).history())
    delta.read(spark, table).count()  # the migration happens once
    assert len(DeltaTable(table.path).history()) == versions


def test_a_column_type_change_that_is_not_a_widening_to_text_is_refused(spark, lake):
    table = lake.table("bronze.orders")
    schema = T.StructType(
        [
            T.StructField(f.name, T.StringType() if f.name == "order_number" else f.dataType)
            for f in table.contract.spark_schema()
        ]
    )
    spark.createDataFrame([{f.name: None for f in schema.fields} | {"id": 1}], schema).write.format(
        "delta"
    ).save(table.path)
    with pytest.raises(SchemaMismatchError, match="'order_number' as string, the contract says bigint"):
        delta.read(spark, table)


def test_exports_without_the_columns_most_sources_lack_ingest_without_drift(spark, lake):
    stores = "snapshot_date,store_id,location_type,time_zone\n2024-03-01,S001,store,America/Chicago\n"
    with_offset = "snapshot_date,store_id,location_type,utc_offset\n2024-03-02,S800,store,+08:00\n"
    crm = "snapshot_date,member_id,loyalty_card\n2024-03-01,M1,6045000000000001\n"
    _landing_file(lake, "stores", DAY1, "stores_2024-03-01.csv", stores)
    _landing_file(lake, "stores", DAY2, "stores_2024-03-02.csv", with_offset)
    _landing_file(lake, "crm_members", DAY1, "crm_members_2024-03-01.csv", crm)
    reports = ingest(["stores", "crm_members"], None, lake)

    assert [(r.bronze_rows, r.quarantined_rows) for r in reports] == [(2, 0), (1, 0)]
    drift = {(r["source"], r["column"]) for r in rows_of(spark, lake, "ops.schema_drift", "column")}
    missing = {column for _, column in drift}
    # The optional columns every export of the sample omits are drift as before, the two new ones not.
    assert "utc_offset" not in missing and "web_customer_id" not in missing
    assert ("crm_members", "signup_date") in drift and ("stores", "store_name") in drift
    offsets = {
        r["store_id"]: r["utc_offset"] for r in delta.read(spark, lake.table("bronze.stores")).collect()
    }
    assert offsets == {"S001": None, "S800": "+08:00"}
