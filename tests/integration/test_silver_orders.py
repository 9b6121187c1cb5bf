"""Orders CDC into silver.orders, silver.order_lines and silver.order_status_history, on tiny cases."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from jobs.silver.orders import transform_orders
from jobs.silver.reference import transform_products
from omnilake import delta
from omnilake.privacy import pseudonym_of
from tests.integration.silver_bronze import deliver, rows_of

pytestmark = pytest.mark.integration

DAY1, DAY2 = date(2024, 3, 1), date(2024, 3, 2)


def line(line_id: int, sku: str, quantity: int, price: str, discount: str = "0.00") -> dict:
    return {
        "id": line_id,
        "sku": sku,
        "title": "item",
        "quantity": quantity,
        "price": Decimal(price),
        "total_discount": Decimal(discount),
    }


def version(order_id: int, updated_at: str, financial: str = "paid", fulfillment=None, **extra) -> dict:
    """One exported version of an order, shop time (UTC-5 in March before DST)."""
    return {
        "id": order_id,
        "order_number": order_id + 1000,
        "email": "  Jane.Doe@Example.COM ",
        "created_at": "2024-03-01T09:00:00-05:00",
        "updated_at": updated_at,
        "currency": "USD",
        "financial_status": financial,
        "fulfillment_status": fulfillment,
        "source_name": "web",
        "total_price": Decimal("20.00"),
        "line_items": [line(11, "SKU-000001", 1, "20.00")],
        "shipping_address": {"city": "Boston", "province_code": "MA", "zip": "02110", "country_code": "US"},
        **extra,
    }


def test_late_older_change_never_overwrites_newer_order(spark, lake):
    deliver(spark, lake, "orders", DAY1, [version(1, "2024-03-01T10:00:00-05:00", "paid")])
    transform_orders(spark, lake)
    late = version(1, "2024-03-01T09:00:00-05:00", "pending")
    deliver(spark, lake, "orders", DAY2, [late])
    reports = {r.table: r for r in transform_orders(spark, lake)}

    assert reports["orders"].rows_in == 1
    assert (reports["orders"].inserted, reports["orders"].updated) == (0, 0)
    (order,) = rows_of(spark, lake, "silver.orders", "order_id")
    assert (order["order_status"], order["financial_status"]) == ("paid", "paid")
    assert order["updated_at"] == datetime(2024, 3, 1, 15, 0)
    assert order["business_date"] == DAY1
    history = rows_of(spark, lake, "silver.order_status_history", "changed_at")
    assert [(h["changed_at"], h["order_status"], h["received_on"]) for h in history] == [
        (datetime(2024, 3, 1, 14, 0), "placed", DAY2),
        (datetime(2024, 3, 1, 15, 0), "paid", DAY1),
    ]


def test_latest_version_in_one_delivery_wins_whatever_the_file_order(spark, lake):
    deliver(
        spark,
        lake,
        "orders",
        DAY1,
        [
            version(2, "2024-03-01T18:00:00-05:00", "paid", "fulfilled"),
            version(2, "2024-03-01T09:00:00-05:00", "pending"),
            version(2, "2024-03-01T10:00:00-05:00", "paid"),
        ],
    )
    reports = {r.table: r for r in transform_orders(spark, lake)}
    assert (reports["orders"].inserted, reports["order_status_history"].inserted) == (1, 3)
    (order,) = rows_of(spark, lake, "silver.orders", "order_id")
    assert (order["order_status"], order["updated_at"]) == ("fulfilled", datetime(2024, 3, 1, 23, 0))


def test_lines_are_replaced_by_the_newer_version_with_refunds(spark, lake):
    deliver(
        spark,
        lake,
        "products",
        DAY1,
        [
            {
                "sku": "SKU-000001",
                "barcode": "2000000000017",
                "category": "Apparel",
                "list_price": Decimal("10.00"),
            }
        ],
    )
    transform_products(spark, lake)
    placed = version(
        3,
        "2024-03-01T09:00:00-05:00",
        line_items=[line(31, "SKU-000001", 2, "10.00", "1.00"), line(32, "SKU-999999", 1, "5.00")],
    )
    deliver(spark, lake, "orders", DAY1, [placed])
    transform_orders(spark, lake)
    assert rows_of(spark, lake, "silver.orders", "order_id")[0]["has_unknown_sku"] is True

    refund = {
        "id": 900,
        "created_at": "2024-03-02T08:00:00-05:00",
        "note": "Customer return",
        "refund_line_items": [{"line_item_id": 31, "quantity": 1, "subtotal": Decimal("9.50")}],
    }
    edited = version(
        3,
        "2024-03-02T08:00:00-05:00",
        "partially_refunded",
        "fulfilled",
        line_items=[line(31, "SKU-000001", 2, "10.00", "1.00")],
        refunds=[refund],
    )
    deliver(spark, lake, "orders", DAY2, [edited])
    reports = {r.table: r for r in transform_orders(spark, lake)}

    assert reports["orders"].updated == 1
    (order,) = rows_of(spark, lake, "silver.orders", "order_id")
    assert order["order_status"] == "partially_refunded"
    assert order["refunded_amount"] == Decimal("9.50")
    assert order["has_unknown_sku"] is False
    (kept,) = rows_of(spark, lake, "silver.order_lines", "line_id")
    assert (kept["line_id"], kept["sku"], kept["is_known_sku"]) == ("31", "SKU-000001", True)
    assert (kept["quantity"], kept["net_amount"], kept["refunded_quantity"]) == (2, Decimal("19.00"), 1)


def test_change_dated_after_its_delivery_or_with_a_negative_price_is_refused(spark, lake):
    future = version(4, "2025-06-01T10:00:00-04:00", "paid")
    negative = version(7, "2024-03-01T10:00:00-05:00", line_items=[line(71, "SKU-000001", 1, "-20.00")])
    deliver(spark, lake, "orders", DAY1, [future, negative])
    reports = {r.table: r for r in transform_orders(spark, lake)}
    assert (reports["orders"].rows_in, reports["orders"].rejected, reports["orders"].inserted) == (2, 2, 0)
    assert rows_of(spark, lake, "silver.orders", "order_id") == []
    # Nothing is lost: each refused record is in quarantine with its reason and its place in bronze.
    rejects = rows_of(spark, lake, "quarantine.silver_rejects", "line")
    assert [(r["silver_table"], r["source"], r["line"], r["reason"]) for r in rejects] == [
        ("orders", "orders", 1, "future_timestamp"),
        ("orders", "orders", 2, "out_of_range: line_items.price"),
    ]
    transform_orders(spark, lake)  # nothing new: nothing recorded twice
    assert len(rows_of(spark, lake, "quarantine.silver_rejects", "line")) == 2
    # the same batch taken in again (its progress lost): its refusals are in its landing date's
    # partition, the one the insert-only merge reads, so none is recorded twice
    delta.delete_where(spark, lake.table("ops.silver_progress"), "true")
    transform_orders(spark, lake)
    assert len(rows_of(spark, lake, "quarantine.silver_rejects", "line")) == 2


def test_each_delivery_is_taken_in_once_and_a_crashed_run_is_repaired(spark, lake):
    deliver(spark, lake, "orders", DAY1, [version(5, "2024-03-01T10:00:00-05:00")])
    transform_orders(spark, lake)
    again = {r.table: r for r in transform_orders(spark, lake)}
    assert (again["orders"].batches, again["orders"].rows_in) == (0, 0)

    # A crash after the orders merge, before the lines were written and the progress recorded:
    delta.delete_where(spark, lake.table("silver.order_lines"), "true")
    delta.delete_where(spark, lake.table("ops.silver_progress"), "true")
    rerun = {r.table: r for r in transform_orders(spark, lake)}
    assert (rerun["orders"].inserted, rerun["orders"].updated) == (0, 0)
    assert [r["line_id"] for r in rows_of(spark, lake, "silver.order_lines", "line_id")] == ["11"]
    assert len(rows_of(spark, lake, "silver.order_status_history", "changed_at")) == 1


def test_customer_key_comes_from_the_identity_graph_when_it_exists(spark, lake):
    identifiers = lake.table("silver.customer_identifiers")
    email_hash = pseudonym_of("jane.doe@example.com")
    delta.append(
        spark.createDataFrame(
            [("email", email_hash, "C-1", None, None)], identifiers.contract.spark_schema()
        ),
        identifiers,
    )
    deliver(spark, lake, "orders", DAY1, [version(6, "2024-03-01T10:00:00-05:00")])
    transform_orders(spark, lake)
    (order,) = rows_of(spark, lake, "silver.orders", "order_id")
    assert (order["customer_key"], order["email_hash"], order["email_masked"]) == (
        "C-1",
        email_hash,
        "j***@example.com",
    )


def test_status_change_of_an_old_order_is_recorded_once_when_it_comes_weeks_later(spark, lake):
    # Day 1: order 7 placed and paid. Twenty days later its refund arrives with the paid change
    # delivered again: the refund is a new state (the order's only new history row), the paid
    # change is held already and keeps the day it first arrived.
    later = date(2024, 3, 21)
    paid = version(7, "2024-03-01T10:00:00-05:00", "paid")
    deliver(spark, lake, "orders", DAY1, [paid])
    transform_orders(spark, lake)
    refunded = version(7, "2024-03-20T12:00:00-04:00", "refunded")  # EDT from 10 March
    deliver(spark, lake, "orders", later, [paid, refunded])
    reports = {r.table: r for r in transform_orders(spark, lake)}

    assert reports["order_status_history"].inserted == 1
    history = rows_of(spark, lake, "silver.order_status_history", "changed_at")
    assert [(h["changed_at"], h["order_status"], h["received_on"]) for h in history] == [
        (datetime(2024, 3, 1, 15, 0), "paid", DAY1),
        (datetime(2024, 3, 20, 16, 0), "refunded", later),
    ]
