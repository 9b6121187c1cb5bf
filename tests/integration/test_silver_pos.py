"""Till lines into silver.pos_lines: time zones, voids, returns, repeats and sku resolution."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from jobs.silver.pos import transform_pos
from jobs.silver.reference import transform_locations, transform_products
from tests.integration.silver_bronze import deliver, rows_of

pytestmark = pytest.mark.integration

JAN, JUL1, JUL2 = date(2024, 1, 15), date(2024, 7, 1), date(2024, 7, 2)


def till(store: str, txn: str, line_no: int, clock: str, quantity: int, **extra) -> dict:
    return {
        "store_id": store,
        "register_id": "01",
        "transaction_id": txn,
        "line_number": line_no,
        "transaction_ts": clock,
        "sku": "SKU-000001",
        "quantity": quantity,
        "unit_price": Decimal("10.00"),
        "discount_amount": Decimal("0.00"),
        "tender_type": "card",
        "void_flag": "N",
        **extra,
    }


@pytest.fixture
def reference(spark, lake):
    """Two stores three hours apart, and a product master of two skus."""
    stores = [
        {
            "store_id": "S001",
            "location_type": "store",
            "store_name": "Seattle",
            "time_zone": "America/Los_Angeles",
        },
        {
            "store_id": "S002",
            "location_type": "store",
            "store_name": "Boston",
            "time_zone": "America/New_York",
        },
    ]
    products = [
        {
            "sku": "SKU-000001",
            "barcode": "2000000000017",
            "category": "Apparel",
            "list_price": Decimal("10.00"),
        },
        {
            "sku": "SKU-000002",
            "barcode": "2000000000024",
            "category": "Apparel",
            "list_price": Decimal("5.00"),
        },
    ]
    deliver(spark, lake, "stores", JAN, stores)
    deliver(spark, lake, "products", JAN, products)
    transform_locations(spark, lake)
    transform_products(spark, lake)


def test_till_clock_is_converted_to_utc_with_the_store_time_zone(spark, lake, reference):
    deliver(
        spark,
        lake,
        "pos",
        JAN,
        [
            till("S001", "S001-01-20240115-0001", 1, "2024-01-15 09:00:00", 1),  # PST, UTC-8
            till("S002", "S002-01-20240115-0001", 1, "2024-01-15 09:00:00", 1),  # EST, UTC-5
        ],
    )
    deliver(spark, lake, "pos", JUL1, [till("S001", "S001-01-20240701-0001", 1, "2024-07-01 23:30:00", 1)])
    transform_pos(spark, lake)
    got = {
        r["transaction_id"]: (r["transaction_at"], r["business_date"])
        for r in rows_of(spark, lake, "silver.pos_lines", "transaction_id")
    }
    assert got == {
        "S001-01-20240115-0001": (datetime(2024, 1, 15, 17, 0), JAN),
        "S002-01-20240115-0001": (datetime(2024, 1, 15, 14, 0), JAN),
        "S001-01-20240701-0001": (datetime(2024, 7, 2, 6, 30), JUL1),  # PDT, UTC-7: next day in UTC
    }


def test_void_never_counts_and_return_is_negative_and_linked_to_its_sale(spark, lake, reference):
    deliver(
        spark,
        lake,
        "pos",
        JUL1,
        [
            till("S001", "S001-01-20240701-0001", 1, "2024-07-01 10:00:00", 2),
            till("S001", "S001-01-20240701-0002", 1, "2024-07-01 11:00:00", 1, void_flag="Y"),
            till("S002", "S002-01-20240701-0001", 1, "2024-07-01 12:00:00", 1),  # same sku, other store
        ],
    )
    transform_pos(spark, lake)
    deliver(
        spark,
        lake,
        "pos",
        JUL2,
        [
            till(
                "S001", "S001-01-20240702-0001", 1, "2024-07-02 10:00:00", -2, discount_amount=Decimal("4.00")
            ),
            till("S001", "S001-01-20240702-0001", 2, "2024-07-02 10:00:00", -1, sku="SKU-000002"),
        ],
    )
    transform_pos(spark, lake)
    lines = {
        (r["transaction_id"], r["line_no"]): (
            r["line_type"],
            r["quantity"],
            r["net_amount"],
            r["original_transaction_id"],
        )
        for r in rows_of(spark, lake, "silver.pos_lines", ["transaction_id", "line_no"])
    }
    assert lines == {
        ("S001-01-20240701-0001", 1): ("sale", 2, Decimal("20.00"), None),
        ("S001-01-20240701-0002", 1): ("void", 1, Decimal("0.00"), None),
        ("S002-01-20240701-0001", 1): ("sale", 1, Decimal("10.00"), None),
        ("S001-01-20240702-0001", 1): ("return", -2, Decimal("-16.00"), "S001-01-20240701-0001"),
        ("S001-01-20240702-0001", 2): ("return", -1, Decimal("-10.00"), None),  # never sold at S001
    }


def test_repeated_lines_are_kept_once_within_and_across_deliveries(spark, lake, reference):
    sale = till("S001", "S001-01-20240701-0001", 1, "2024-07-01 10:00:00", 1)
    deliver(
        spark,
        lake,
        "pos",
        JUL1,
        [sale, sale, till("S001", "S001-01-20240701-0001", 2, "2024-07-01 10:00:00", 1)],
    )
    first = transform_pos(spark, lake)
    deliver(spark, lake, "pos", JUL2, [sale], name="_redelivered")
    second = transform_pos(spark, lake)
    assert (first.rows_in, first.inserted, second.rows_in, second.inserted, second.updated) == (3, 2, 1, 0, 0)
    assert len(rows_of(spark, lake, "silver.pos_lines", "line_no")) == 2


def test_a_line_delivered_again_weeks_later_is_not_taken_in_twice(spark, lake, reference):
    # The line's first delivery keeps its place (received on 1 July); the redelivery twenty days
    # later brings one new line, the only one taken in.
    sale = till("S001", "S001-01-20240701-0001", 1, "2024-07-01 10:00:00", 1)
    deliver(spark, lake, "pos", JUL1, [sale])
    transform_pos(spark, lake)
    later = date(2024, 7, 21)
    new_sale = till("S001", "S001-01-20240721-0001", 1, "2024-07-21 11:00:00", 2)
    deliver(spark, lake, "pos", later, [{**sale, "tender_type": "cash"}, new_sale], name="_resent")
    report = transform_pos(spark, lake)

    assert (report.rows_in, report.inserted, report.updated) == (2, 1, 0)
    lines = rows_of(spark, lake, "silver.pos_lines", "transaction_id")
    assert [(r["transaction_id"], r["tender"], r["quantity"], r["received_on"]) for r in lines] == [
        ("S001-01-20240701-0001", "card", 1, JUL1),
        ("S001-01-20240721-0001", "card", 2, later),
    ]


def test_barcode_resolves_the_sku_and_unknown_skus_are_flagged_not_dropped(spark, lake, reference):
    deliver(
        spark,
        lake,
        "pos",
        JUL1,
        [
            till("S001", "T1", 1, "2024-07-01 10:00:00", 1, sku=None, barcode="2000000000024"),
            till("S001", "T1", 2, "2024-07-01 10:00:00", 1, sku="SKU-900000"),
            till("S001", "T1", 3, "2024-07-01 10:00:00", 1, sku=None, barcode="2999999999990"),
        ],
    )
    transform_pos(spark, lake)
    got = [
        (r["line_no"], r["sku"], r["is_known_sku"])
        for r in rows_of(spark, lake, "silver.pos_lines", "line_no")
    ]
    assert got == [(1, "SKU-000002", True), (2, "SKU-900000", False), (3, None, False)]


def test_lines_of_a_store_without_a_time_zone_or_dated_in_the_future_are_refused(spark, lake, reference):
    deliver(
        spark,
        lake,
        "pos",
        JUL1,
        [
            till("S001", "T1", 1, "2024-07-01 10:00:00", 1),
            till("S999", "T2", 1, "2024-07-01 10:00:00", 1),
            till("S001", "T3", 1, "2025-02-01 10:00:00", 1),
            till("S001", "T4", 1, "2024-07-01 10:00:00", 1, unit_price=Decimal("-10.00")),
        ],
    )
    report = transform_pos(spark, lake)
    assert (report.rows_in, report.rejected, report.inserted) == (4, 3, 1)
    rejects = rows_of(spark, lake, "quarantine.silver_rejects", "line")
    assert [(r["silver_table"], r["line"], r["reason"]) for r in rejects] == [
        ("pos_lines", 2, "unknown_store"),
        ("pos_lines", 3, "future_timestamp"),
        ("pos_lines", 4, "out_of_range: unit_price"),
    ]


def test_absurd_list_price_is_refused_and_the_previous_price_kept(spark, lake, reference):
    deliver(
        spark,
        lake,
        "products",
        JUL1,
        [
            {
                "sku": "SKU-000001",
                "barcode": "2000000000017",
                "category": "Apparel",
                "list_price": Decimal("999999.99"),
            },
            {
                "sku": "SKU-000002",
                "barcode": "2000000000024",
                "category": "Apparel",
                "list_price": Decimal("4.50"),
            },
        ],
    )
    report = transform_products(spark, lake)
    assert (report.rows_in, report.rejected, report.inserted, report.updated) == (2, 1, 0, 1)
    prices = {r["sku"]: r["list_price"] for r in rows_of(spark, lake, "silver.products", "sku")}
    assert prices == {"SKU-000001": Decimal("10.00"), "SKU-000002": Decimal("4.50")}
