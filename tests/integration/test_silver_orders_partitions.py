"""silver.orders and silver.order_lines are partitioned by business_date: a run rewrites only the
days of the orders it changes, even when a change moves an order to another day."""

import shutil
from collections import Counter
from datetime import date

import pytest
from deltalake import DeltaTable
from pyspark.sql import functions as F

from jobs.silver.orders import transform_orders
from omnilake import delta
from tests.integration.silver_bronze import deliver, rows_of
from tests.integration.test_silver_orders import line, version

pytestmark = pytest.mark.integration

DAY1, DAY2 = date(2024, 3, 1), date(2024, 3, 2)


def placed(order_id: int, created_at: str, updated_at: str, **extra) -> dict:
    return version(order_id, updated_at, created_at=created_at, **extra)


def files_by_day(lake, table: str) -> dict[date, set[str]]:
    """The live data files of ``table`` per business_date partition."""
    files: dict[date, set[str]] = {}
    for f in delta.snapshot(lake.table(table)).files.values():
        day = dict(f.partition_values)["business_date"]
        files.setdefault(date.fromisoformat(str(day)), set()).add(f.uri)
    return files


def test_a_late_change_to_an_old_order_rewrites_only_that_orders_day(spark, lake):
    deliver(
        spark,
        lake,
        "orders",
        DAY1,
        [
            placed(1, "2024-02-20T09:00:00-05:00", "2024-02-20T09:00:00-05:00"),
            placed(2, "2024-02-25T09:00:00-05:00", "2024-02-25T09:00:00-05:00"),
            placed(3, "2024-03-01T09:00:00-05:00", "2024-03-01T09:00:00-05:00"),
        ],
    )
    transform_orders(spark, lake)
    before = {t: files_by_day(lake, t) for t in ("silver.orders", "silver.order_lines")}
    assert set(before["silver.orders"]) == {date(2024, 2, 20), date(2024, 2, 25), DAY1}

    refunded = placed(
        1,
        "2024-02-20T09:00:00-05:00",
        "2024-03-02T08:00:00-05:00",
        financial="refunded",
        line_items=[line(11, "SKU-000001", 2, "10.00")],
    )
    new = placed(4, "2024-03-02T07:00:00-05:00", "2024-03-02T07:00:00-05:00")
    deliver(spark, lake, "orders", DAY2, [refunded, new])
    reports = {r.table: r for r in transform_orders(spark, lake)}
    assert (reports["orders"].inserted, reports["orders"].updated) == (1, 1)

    after = {t: files_by_day(lake, t) for t in ("silver.orders", "silver.order_lines")}
    for table in after:
        # untouched days keep their files; the old order's day is rewritten; the new day is added
        assert after[table][date(2024, 2, 25)] == before[table][date(2024, 2, 25)]
        assert after[table][DAY1] == before[table][DAY1]
        assert after[table][date(2024, 2, 20)].isdisjoint(before[table][date(2024, 2, 20)])
        assert date(2024, 3, 2) in after[table]
    orders = {r["order_id"]: r for r in rows_of(spark, lake, "silver.orders", "order_id")}
    assert {k: (r["order_status"], r["business_date"]) for k, r in orders.items()} == {
        "1": ("refunded", date(2024, 2, 20)),
        "2": ("paid", date(2024, 2, 25)),
        "3": ("paid", DAY1),
        "4": ("paid", date(2024, 3, 2)),
    }
    lines = rows_of(spark, lake, "silver.order_lines", ["order_id", "line_id"])
    assert [(r["order_id"], r["quantity"], r["business_date"]) for r in lines] == [
        ("1", 2, date(2024, 2, 20)),
        ("2", 1, date(2024, 2, 25)),
        ("3", 1, DAY1),
        ("4", 1, date(2024, 3, 2)),
    ]


def test_a_change_that_moves_an_order_to_another_day_leaves_no_copy_on_the_old_day(spark, lake):
    deliver(
        spark, lake, "orders", DAY1, [placed(5, "2024-03-01T09:00:00-05:00", "2024-03-01T09:00:00-05:00")]
    )
    transform_orders(spark, lake)
    # the shop corrected the order's creation time: it now belongs to the day before
    moved = placed(5, "2024-02-29T22:00:00-05:00", "2024-03-02T09:00:00-05:00", financial="refunded")
    deliver(spark, lake, "orders", DAY2, [moved])
    transform_orders(spark, lake)

    (order,) = rows_of(spark, lake, "silver.orders", "order_id")
    assert (order["business_date"], order["order_status"]) == (date(2024, 2, 29), "refunded")
    (only_line,) = rows_of(spark, lake, "silver.order_lines", ["order_id", "line_id"])
    assert only_line["business_date"] == date(2024, 2, 29)
    for table in ("silver.orders", "silver.order_lines"):
        rows_per_day = Counter(r["business_date"] for r in rows_of(spark, lake, table, "order_id"))
        assert rows_per_day == Counter({date(2024, 2, 29): 1})


def test_an_unpartitioned_orders_table_is_partitioned_once_on_its_next_write(spark, lake, tmp_path):
    table = lake.table("silver.orders")
    deliver(
        spark, lake, "orders", DAY1, [placed(6, "2024-02-20T09:00:00-05:00", "2024-02-20T09:00:00-05:00")]
    )
    transform_orders(spark, lake)
    held = rows_of(spark, lake, "silver.orders", "order_id")
    # as a lake written before the partitioning holds it
    copy = str(tmp_path / "orders.parquet")
    delta.read(spark, table).write.parquet(copy)
    shutil.rmtree(table.path)
    spark.read.parquet(copy).write.format("delta").save(table.path)
    assert DeltaTable(table.path).metadata().partition_columns == []

    delta.ensure_table(spark, table)
    assert DeltaTable(table.path).metadata().partition_columns == ["business_date"]
    assert rows_of(spark, lake, "silver.orders", "order_id") == held


def test_the_compaction_before_a_pruned_merge_leaves_the_partitions_it_targets(spark, lake):
    table = lake.table("silver.orders")
    first, second = date(2024, 2, 20), date(2024, 2, 25)
    deliver(
        spark,
        lake,
        "orders",
        DAY1,
        [
            placed(7, "2024-02-20T09:00:00-05:00", "2024-02-20T09:00:00-05:00"),
            placed(8, "2024-02-25T09:00:00-05:00", "2024-02-25T09:00:00-05:00"),
        ],
    )
    transform_orders(spark, lake)
    more = delta.read(spark, table).withColumn("order_id", F.concat("order_id", F.lit("-b")))
    delta.append(more, table)  # a second file in each day
    held = files_by_day(lake, "silver.orders")
    assert {day: len(files) for day, files in held.items()} == {first: 2, second: 2}

    delta.bound_files_for_merge(table, 1, leave={"business_date": [first]})
    after = files_by_day(lake, "silver.orders")
    assert after[first] == held[first]  # the merge's target: left for the merge to rewrite
    assert len(after[second]) == 1 and after[second].isdisjoint(held[second])
    assert len(rows_of(spark, lake, "silver.orders", "order_id")) == 4
