"""Conformed dimensions: silver.products and silver.locations from the daily reference snapshots, and
silver.calendar covering the data's dates.

Reference feeds arrive as full daily snapshots, held in bronze as their changes
(``jobs.bronze.snapshot_diff``): an unchanged row is not in bronze again, so it needs no upsert. A run upserts, per key, the newest valid row of the
snapshots it has not taken in: a row missing from one day's export (quarantined for a defect) or
refused for breaking the landing contract (a list price of 999999.99) keeps the row of the day
before instead of vanishing from the dimension. A snapshot older than one already applied is
recorded as skipped, so replaying an old day never rolls a price back. A key that stops appearing
in the snapshots stays in the dimension (``is_active`` says whether a product is still sold).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date

import pyarrow as pa
from deltalake import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.silver.progress import pending_batches, read_batches, record_batches
from jobs.silver.validity import contract_violation, count_rejections
from jobs.silver.writes import TableReport, changed
from omnilake import delta
from omnilake.contracts import contract
from omnilake.lake import Lake
from omnilake.transforms import latest_by_key

log = logging.getLogger(__name__)

LOCATION_TYPES = {"store": "store", "dc": "warehouse"}
# A fixed UTC offset as stores.utc_offset gives it: +HH:MM or -HH:MM, at most 14 hours.
UTC_OFFSET = r"^[+-](0\d|1[0-4]):[0-5]\d$"


# --- pure transformations ------------------------------------------------------------------------


def _one_per_key(snapshots: DataFrame, key: str) -> DataFrame:
    """One row per key across the snapshots read: the newest delivery's (and within it, a file
    re-delivered with other bytes: the last written)."""
    return latest_by_key(
        snapshots.where(F.col(key).isNotNull()),
        [key],
        [
            F.col("_landing_date").desc(),
            F.col("_ingested_at").desc(),
            F.col("_file_hash").desc(),
            F.col("_line").desc(),
        ],
    )


def product_rows(snapshot: DataFrame) -> DataFrame:
    """bronze.products rows of one snapshot -> silver.products."""
    return _one_per_key(snapshot, "sku").select(
        F.trim("sku").alias("sku"),
        F.trim("barcode").alias("barcode"),
        "product_name",
        "category",
        "subcategory",
        "brand",
        "list_price",
        "is_active",
    )


def location_rows(snapshot: DataFrame) -> DataFrame:
    """bronze.stores rows of one snapshot -> silver.locations (a dc becomes a warehouse). The IANA
    zone wins; ``utc_offset`` is kept only for a location without one (a fixed offset knows no
    daylight saving)."""
    location_type = F.lower(F.trim("location_type"))
    mapped = F.when(location_type == "dc", F.lit(LOCATION_TYPES["dc"])).otherwise(location_type)
    return _one_per_key(snapshot, "store_id").select(
        F.trim("store_id").alias("location_id"),
        mapped.alias("location_type"),
        F.col("store_name").alias("location_name"),
        "city",
        "state",
        "latitude",
        "longitude",
        F.nullif(F.trim("time_zone"), F.lit("")).alias("time_zone"),
        F.when(F.nullif(F.trim("time_zone"), F.lit("")).isNull(), utc_offset(F.col("utc_offset"))).alias(
            "utc_offset"
        ),
    )


def utc_offset(value: Column) -> Column:
    """A stores.utc_offset as +HH:MM (``UTC`` and ``Z`` are +00:00); null when empty or malformed."""
    text = F.upper(F.trim(value))
    text = F.when(text.isin("Z", "UTC", "GMT"), F.lit("+00:00")).otherwise(text)
    return F.when(text.rlike(UTC_OFFSET), text)


def location_problem(snapshot: DataFrame) -> Column:
    """Why a stores row cannot be a location beyond the contract's rules: a utc_offset that is not
    +HH:MM (a store must never be placed in time by a guess)."""
    given = F.nullif(F.trim(F.col("utc_offset")), F.lit(""))
    return F.when(given.isNotNull() & utc_offset(given).isNull(), F.lit("wrong_format: utc_offset"))


def calendar_rows(spark: SparkSession, first_day: date, last_day: date) -> DataFrame:
    """One row per day from ``first_day`` to ``last_day``, with ISO week and Monday-first weekday."""
    days = spark.sql(
        f"select explode(sequence(date'{first_day.isoformat()}', date'{last_day.isoformat()}', "
        "interval 1 day)) as date_day"
    )
    day_of_week = (F.dayofweek("date_day") + 5) % 7 + 1  # Spark: 1 = Sunday; ours: 1 = Monday
    return days.select(
        "date_day",
        F.year("date_day").alias("year"),
        F.quarter("date_day").alias("quarter"),
        F.month("date_day").alias("month"),
        F.weekofyear("date_day").alias("iso_week"),
        day_of_week.cast("int").alias("day_of_week"),
        (day_of_week >= 6).alias("is_weekend"),
    )


# --- jobs ----------------------------------------------------------------------------------------


def apply_snapshot(
    spark: SparkSession,
    lake: Lake,
    table_name: str,
    source: str,
    build: Callable[[DataFrame], DataFrame],
    up_to: date | None = None,
    run_id: str | None = None,
    problem: Callable[[DataFrame], Column] | None = None,
) -> TableReport:
    """Upsert the newest valid row per key of the pending snapshots of ``source`` into
    ``silver.<table_name>``; snapshots older than one already applied are recorded as skipped.

    On a daily run that is today's snapshot; on a backfill of many days, a key refused in the newest
    snapshot (a bad price) still gets its row from the day before. ``problem`` adds a source's own
    reason to refuse a row, checked after the contract's rules.
    """
    started = time.perf_counter()
    report = TableReport(table_name)
    batches = pending_batches(spark, lake, table_name, source, up_to)
    applied = _latest_applied(spark, lake, table_name, source) if batches else None
    usable = [b for b in batches if applied is None or b.landing_date >= applied]
    older = [b for b in batches if b not in usable]
    if older:
        log.info("%s: %d %s snapshot(s) older than %s skipped", table_name, len(older), source, applied)
    if usable:
        # A key gone from a snapshot stays in the dimension: its gone row is not a version.
        snapshots = read_batches(spark, lake, usable).where(~F.col("_change").eqNullSafe("gone"))
        reason = contract_violation(contract("landing", source))
        if problem is not None:
            reason = F.coalesce(reason, problem(snapshots))
        snapshots = snapshots.withColumn("_reject_reason", reason)
        report.rows_in, report.rejected = count_rejections(snapshots, table_name, lake=lake, source=source)
        table = lake.table(f"silver.{table_name}")
        rows = build(snapshots.where(F.col("_reject_reason").isNull()))
        value_columns = [c for c in rows.columns if c not in table.keys]
        result = delta.merge(rows, table, update_when=changed(value_columns))
        report.inserted, report.updated = result.inserted, result.updated
        record_batches(spark, lake, table_name, usable, run_id)
    record_batches(spark, lake, table_name, older, run_id, outcome="skipped")
    report.batches = len(batches)
    report.seconds = time.perf_counter() - started
    return report


def _latest_applied(spark: SparkSession, lake: Lake, table_name: str, source: str) -> date | None:
    progress = lake.table("ops.silver_progress")
    if not delta.exists(progress):
        return None
    # Read in this process (delta-rs), as ``pending_batches`` reads the same table.
    applied = DeltaTable(progress.path).to_pyarrow_table(
        columns=["landing_date"],
        filters=[("table", "=", table_name), ("source", "=", source), ("outcome", "=", "applied")],
    )
    return max(applied.column("landing_date").to_pylist(), default=None)


def transform_products(
    spark: SparkSession, lake: Lake, up_to: date | None = None, run_id: str | None = None
) -> TableReport:
    return apply_snapshot(spark, lake, "products", "products", product_rows, up_to, run_id)


def transform_locations(
    spark: SparkSession, lake: Lake, up_to: date | None = None, run_id: str | None = None
) -> TableReport:
    return apply_snapshot(spark, lake, "locations", "stores", location_rows, up_to, run_id, location_problem)


def _range_from_stats(table, column: str) -> tuple[date, date] | bool | None:
    """(min, max) of ``column`` over the table's rows from the Delta log's per-file statistics (no data
    file opened, so the cost follows the files, not the rows or the days of history); None when no
    row has a value; False when a file with rows lacks the statistics to tell."""
    files = pa.table(DeltaTable(table.path).get_add_actions(flatten=True))
    names = (f"min.{column}", f"max.{column}", f"null_count.{column}")
    if files.num_rows == 0:
        return None
    if any(name not in files.column_names for name in names):
        return False
    lows, highs, nulls = (files.column(name).to_pylist() for name in names)
    span = None
    for rows, low, high, null in zip(
        files.column("num_records").to_pylist(), lows, highs, nulls, strict=True
    ):
        if rows == 0:
            continue
        if rows is None or null is None or (low is None and null < rows):
            return False
        if low is None:  # every row of the file is null in the column
            continue
        span = (low, high) if span is None else (min(span[0], low), max(span[1], high))
    return span


def data_date_range(spark: SparkSession, lake: Lake) -> tuple[date, date] | None:
    """First and last date of the silver facts (order and till business dates, inventory days)."""
    ranges = []
    for name, column in (
        ("silver.orders", "business_date"),
        ("silver.pos_lines", "business_date"),
        ("silver.inventory_positions", "snapshot_date"),
    ):
        table = lake.table(name)
        if delta.exists(table):
            span = _range_from_stats(table, column)
            if span is False:  # some file has rows but no statistics for the column: ask the engine
                row = (
                    delta.read(spark, table).agg(F.min(column).alias("lo"), F.max(column).alias("hi")).first()
                )
                span = (row["lo"], row["hi"]) if row and row["lo"] is not None else None
            if span is not None:
                ranges.append(span)
    if not ranges:
        return None
    return min(lo for lo, _ in ranges), max(hi for _, hi in ranges)


def transform_calendar(spark: SparkSession, lake: Lake) -> TableReport:
    """Extend silver.calendar to whole calendar years around the data's dates (insert-only).

    Whole years, so a month, quarter or year-to-date in a mart always has all its days.
    """
    started = time.perf_counter()
    report = TableReport("calendar")
    span = data_date_range(spark, lake)
    if span is not None:
        first, last = date(span[0].year, 1, 1), date(span[1].year, 12, 31)
        result = delta.merge(calendar_rows(spark, first, last), lake.table("silver.calendar"), update="none")
        report.rows_in, report.inserted = (last - first).days + 1, result.inserted
    report.seconds = time.perf_counter() - started
    return report
