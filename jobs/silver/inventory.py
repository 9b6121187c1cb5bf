"""The two inventory systems side by side: bronze.inventory_online + bronze.inventory_store ->
silver.inventory_positions.

A position is one sku at one location on one day. The online system reports stores and warehouses
(what the web shop lists, what is reserved); the stores' system reports the physical count. They are
joined with a full outer join, so a position either system alone reports is kept and says which
system saw it, and ``deviation_qty = listed_qty - on_hand_qty`` shows where the web shop believes in
stock that is not on the shelf.

The two feeds are ingested separately and may reach silver in different runs (a store count can
land days after the web shop's snapshot of the same day). A run computes the positions of its new
files and combines them with the positions silver holds for the same days: each system's part of
a position comes from the newest delivery of that system, the other system's part stays as it was.
Each part keeps the landing date it arrived on (``online_received_on``, ``store_received_on``), so
gold can read a position as it was known at any landing date.
"""

from __future__ import annotations

import logging
import time
from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.silver import lookups
from jobs.silver.identity import Scratch
from jobs.silver.progress import Batch, pending_batches, record_batches
from jobs.silver.validity import contract_violation, count_rejections
from jobs.silver.writes import TableReport, last_metric
from omnilake import delta
from omnilake.contracts import contract
from omnilake.lake import Lake
from omnilake.transforms import latest_by_key

log = logging.getLogger(__name__)

SOURCES = ("inventory_online", "inventory_store")
POSITION = ["sku", "location_id", "snapshot_date"]


ONLINE_PART = ("listed_qty", "reserved_qty", "online_received_on", "in_online_system")
STORE_PART = ("on_hand_qty", "store_received_on", "in_store_system")


def _last_written() -> list:
    return [F.col("_ingested_at").desc(), F.col("_file_hash").desc(), F.col("_line").desc()]


# --- pure transformations ------------------------------------------------------------------------


def online_positions(online: DataFrame) -> DataFrame:
    """bronze.inventory_online rows -> one (sku, location_id, snapshot_date) row, the last written."""
    rows = online.select(
        F.trim("sku").alias("sku"),
        F.trim("location_id").alias("location_id"),
        "snapshot_date",
        F.col("listed_qty").cast("int").alias("listed_qty"),
        F.col("reserved_qty").cast("int").alias("reserved_qty"),
        F.col("_landing_date").alias("online_received_on"),
        "_ingested_at",
        "_file_hash",
        "_line",
    )
    return latest_by_key(rows, POSITION, _last_written()).drop("_ingested_at", "_file_hash", "_line")


def store_positions(store: DataFrame) -> DataFrame:
    """bronze.inventory_store rows -> one (sku, location_id, snapshot_date) row, the last written."""
    rows = store.select(
        F.trim("sku").alias("sku"),
        F.trim("store_id").alias("location_id"),
        F.col("business_date").alias("snapshot_date"),
        F.col("on_hand_qty").cast("int").alias("on_hand_qty"),
        F.col("_landing_date").alias("store_received_on"),
        "_ingested_at",
        "_file_hash",
        "_line",
    )
    return latest_by_key(rows, POSITION, _last_written()).drop("_ingested_at", "_file_hash", "_line")


def position_rows(online: DataFrame, store: DataFrame, products: DataFrame | None) -> DataFrame:
    """Full outer join of the two systems' positions -> silver.inventory_positions rows."""
    online = online_positions(online).withColumn("in_online_system", F.lit(True))
    store = store_positions(store).withColumn("in_store_system", F.lit(True))
    joined = online.join(store, POSITION, "full_outer")
    return _position_columns(lookups.with_known_sku(joined, products))


def _position_columns(positions: DataFrame) -> DataFrame:
    return positions.select(
        *POSITION,
        "on_hand_qty",
        "listed_qty",
        "reserved_qty",
        (F.col("listed_qty") - F.col("on_hand_qty")).cast("int").alias("deviation_qty"),
        "is_known_sku",
        F.coalesce("in_store_system", F.lit(False)).alias("in_store_system"),
        F.coalesce("in_online_system", F.lit(False)).alias("in_online_system"),
        "online_received_on",
        "store_received_on",
    )


def combined_positions(fresh: DataFrame, held: DataFrame) -> DataFrame:
    """The new positions (``fresh``) over those silver holds for the same days (``held``): per
    position, each system's part from ``fresh`` when that system reported it anew, else as held."""
    new, old = fresh.alias("new"), held.alias("old")
    joined = new.join(old, [new[c] == old[c] for c in POSITION], "full_outer")

    def part(columns: tuple[str, ...], reported: str) -> list[Column]:
        from_new = F.coalesce(F.col(f"new.{reported}"), F.lit(False))
        return [F.when(from_new, F.col(f"new.{c}")).otherwise(F.col(f"old.{c}")).alias(c) for c in columns]

    return _position_columns(
        joined.select(
            *[F.coalesce(F.col(f"new.{c}"), F.col(f"old.{c}")).alias(c) for c in POSITION],
            *part(ONLINE_PART, "in_online_system"),
            *part(STORE_PART, "in_store_system"),
            F.coalesce(F.col("new.is_known_sku"), F.col("old.is_known_sku")).alias("is_known_sku"),
        )
    )


# --- the job -------------------------------------------------------------------------------------


def _bronze_of_days(spark: SparkSession, lake: Lake, source: str, days: list[date]) -> DataFrame:
    """The source's bronze rows delivered on ``days``, with ``_reject_reason`` for contract breaks."""
    bronze = delta.read(spark, lake.table(f"bronze.{source}")).where(F.col("_landing_date").isin(days))
    return bronze.withColumn("_reject_reason", contract_violation(contract("landing", source)))


def transform_inventory(
    spark: SparkSession, lake: Lake, up_to: date | None = None, run_id: str | None = None
) -> TableReport:
    """Recompute the positions of every day with a pending file of either feed."""
    started = time.perf_counter()
    report = TableReport("inventory_positions")
    pending: dict[str, list[Batch]] = {
        source: pending_batches(spark, lake, "inventory_positions", source, up_to) for source in SOURCES
    }
    days = sorted({b.landing_date for batches in pending.values() for b in batches})
    if days:
        online, store = (_bronze_of_days(spark, lake, source, days) for source in SOURCES)
        for source, frame in zip(SOURCES, (online, store), strict=True):
            rows_in, rejected = count_rejections(frame, "inventory_positions", lake=lake, source=source)
            report.rows_in, report.rejected = report.rows_in + rows_in, report.rejected + rejected
        accepted = F.col("_reject_reason").isNull()
        fresh = position_rows(online.where(accepted), store.where(accepted), lookups.products(spark, lake))
        snapshot_days = [r["snapshot_date"] for r in fresh.select("snapshot_date").distinct().collect()]
        table = lake.table("silver.inventory_positions")
        deleted = written = 0
        if snapshot_days:
            delta.ensure_table(spark, table)
            listed = ", ".join(f"date'{d.isoformat()}'" for d in sorted(snapshot_days))
            held = delta.read(spark, table).where(f"snapshot_date in ({listed})")
            scratch = Scratch(lake, "inventory")
            try:
                rows = scratch.materialise(combined_positions(fresh, held), "positions")
                before = delta.version(table)
                delta.delete_where(spark, table, f"snapshot_date in ({listed})")
                deleted = last_metric(table, before, "numDeletedRows")
                before = delta.version(table)
                delta.append(rows, table)
                written = last_metric(table, before, "numOutputRows")
            finally:
                scratch.cleanup()
        for source in SOURCES:
            record_batches(spark, lake, "inventory_positions", pending[source], run_id)
        report.inserted, report.updated = max(0, written - deleted), min(deleted, written)
        report.batches = sum(len(b) for b in pending.values())
    report.seconds = time.perf_counter() - started
    return report
