"""The two inventory systems joined into silver.inventory_positions."""

from datetime import date, timedelta

import pytest

from jobs.silver.inventory import transform_inventory
from jobs.silver.reference import transform_calendar
from tests.integration.silver_bronze import deliver, rows_of

pytestmark = pytest.mark.integration

DAY = date(2024, 3, 1)


def online(location: str, sku: str, listed: int, reserved: int = 0) -> dict:
    return {
        "snapshot_date": DAY,
        "location_id": location,
        "sku": sku,
        "listed_qty": listed,
        "reserved_qty": reserved,
    }


def counted(store: str, sku: str, on_hand: int) -> dict:
    return {"business_date": DAY, "store_id": store, "sku": sku, "on_hand_qty": on_hand}


def positions(spark, lake) -> dict:
    return {
        (r["location_id"], r["sku"]): (
            r["on_hand_qty"],
            r["listed_qty"],
            r["deviation_qty"],
            r["in_store_system"],
            r["in_online_system"],
        )
        for r in rows_of(spark, lake, "silver.inventory_positions", ["location_id", "sku"])
    }


def test_deviation_is_what_the_web_shop_lists_minus_what_is_on_the_shelf(spark, lake):
    deliver(
        spark,
        lake,
        "inventory_online",
        DAY,
        [online("S001", "SKU-1", 5, reserved=1), online("S001", "SKU-2", 0), online("DC01", "SKU-1", 300)],
    )
    deliver(
        spark,
        lake,
        "inventory_store",
        DAY,
        [counted("S001", "SKU-1", 3), counted("S001", "SKU-2", 4), counted("S001", "SKU-3", 2)],
    )
    report = transform_inventory(spark, lake)
    assert (report.rows_in, report.inserted) == (6, 4)
    assert positions(spark, lake) == {
        ("S001", "SKU-1"): (3, 5, 2, True, True),  # the web shop believes in 2 units that are gone
        ("S001", "SKU-2"): (4, 0, -4, True, True),
        ("S001", "SKU-3"): (2, None, None, True, False),  # on the shelf, not listed online
        ("DC01", "SKU-1"): (None, 300, None, False, True),  # a warehouse has no store count
    }


def test_a_feed_arriving_in_a_later_run_completes_the_day(spark, lake):
    deliver(spark, lake, "inventory_online", DAY, [online("S001", "SKU-1", 5)])
    transform_inventory(spark, lake)
    assert positions(spark, lake) == {("S001", "SKU-1"): (None, 5, None, False, True)}

    deliver(spark, lake, "inventory_store", DAY, [counted("S001", "SKU-1", 3)])
    report = transform_inventory(spark, lake)
    assert (report.batches, report.inserted, report.updated) == (1, 0, 1)
    assert positions(spark, lake) == {("S001", "SKU-1"): (3, 5, 2, True, True)}


def test_a_store_count_landing_days_later_keeps_the_web_shops_part_and_when_each_arrived(spark, lake):
    late = DAY + timedelta(days=2)
    deliver(spark, lake, "inventory_online", DAY, [online("S001", "SKU-1", 5), online("S001", "SKU-2", 1)])
    transform_inventory(spark, lake)
    deliver(spark, lake, "inventory_store", late, [counted("S001", "SKU-1", 3)])  # DAY's count, 2 days late
    report = transform_inventory(spark, lake)
    assert (report.batches, report.inserted, report.updated) == (1, 0, 2)  # the day's positions rewritten
    assert positions(spark, lake) == {
        ("S001", "SKU-1"): (3, 5, 2, True, True),
        ("S001", "SKU-2"): (None, 1, None, False, True),  # not counted: the web shop's part stays
    }
    received = {
        r["sku"]: (r["online_received_on"], r["store_received_on"])
        for r in rows_of(spark, lake, "silver.inventory_positions", ["sku"])
    }
    assert received == {"SKU-1": (DAY, late), "SKU-2": (DAY, None)}


def test_calendar_covers_whole_years_of_the_data_with_monday_first_weekdays(spark, lake):
    deliver(spark, lake, "inventory_store", DAY, [counted("S001", "SKU-1", 3)])
    transform_inventory(spark, lake)
    assert transform_calendar(spark, lake).inserted == 366  # 2024 is a leap year
    days = {r["date_day"]: r for r in rows_of(spark, lake, "silver.calendar", "date_day")}
    assert (min(days), max(days)) == (date(2024, 1, 1), date(2024, 12, 31))
    friday, sunday, new_year_eve = days[DAY], days[date(2024, 3, 3)], days[date(2024, 12, 30)]
    assert (friday["day_of_week"], friday["is_weekend"], friday["quarter"]) == (5, False, 1)
    assert (sunday["day_of_week"], sunday["is_weekend"]) == (7, True)
    assert (new_year_eve["iso_week"], new_year_eve["year"]) == (1, 2024)  # ISO week 1 of 2025
    assert transform_calendar(spark, lake).inserted == 0
