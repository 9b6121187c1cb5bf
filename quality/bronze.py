"""The bronze gate: did the processed landing date arrive whole, and is what arrived usable?

Suites, all on Spark over the lake:

- ``bronze.<source>``: each bronze table's contract checks, on the processed date's partition;
- ``bronze.reconciliation``: one row per file of the date from ``ops.reconciliation``;
    - ``reconciliation_balanced`` (fail): received = bronze + quarantine rows for every file;
- ``bronze.deliveries``: one row per source (due or delivered) from ``ops.ingestion_ledger``;
    - ``freshness`` (fail): every source due on the date delivered at least one file for it. Due
      follows the declared feeds (``omnilake.feeds``): a daily feed every date, a weekly feed on its
      weekday, an on-change feed never, an undeclared feed never;
    - ``quarantine_ratio`` (fail): quarantined_rows / records ≤ ``quarantine_ratio_max``;
    - ``volume`` (warn): records / average of the source's previous ``volume_window`` deliveries
      (the landing dates it delivered on, so a weekly feed is compared with earlier weeks, never
      with the days it was not due) within 1 ± ``volume_tolerance``;
    - ``no_refused_files`` (warn): no file of the date was refused whole (``quarantine.files``).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from pyspark.sql import Window
from pyspark.sql import functions as F

from quality import expectations
from quality.checks import Check, GateContext, Suite, fail, warn
from quality.contract_checks import contract_suite

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

E = expectations


def processed_date(ctx: GateContext) -> date | None:
    """The landing date the gate is about: the one asked for, else the newest in the ledger."""
    if ctx.landing_date is not None:
        return ctx.landing_date
    latest = ctx.read("ops.ingestion_ledger").agg(F.max("landing_date").alias("latest")).first()
    return latest["latest"] if latest else None


def _on_processed_date(ctx: GateContext) -> Column:
    return F.col("_landing_date") == F.lit(ctx.landing_date)


def reconciliation(ctx: GateContext) -> DataFrame:
    return ctx.read("ops.reconciliation").where(F.col("landing_date") == F.lit(ctx.landing_date))


def deliveries(ctx: GateContext) -> DataFrame:
    """Per source: files delivered, records and quarantined rows for the date, and the trailing volume."""
    ledger = ctx.read("ops.ingestion_ledger")
    ingested = F.col("status") == "ingested"
    today = (
        ledger.where(F.col("landing_date") == F.lit(ctx.landing_date))
        .groupBy("source")
        .agg(
            F.count(F.lit(1)).alias("files_delivered"),
            F.count(F.when(F.col("status") == "quarantined", 1)).alias("files_refused"),
            F.sum(F.when(ingested, F.col("records")).otherwise(0)).alias("records"),
            F.sum(F.when(ingested, F.col("quarantined_rows")).otherwise(0)).alias("quarantined_rows"),
        )
    )
    recent_first = Window.partitionBy("source").orderBy(F.col("landing_date").desc())
    trailing = (
        ledger.where(ingested & (F.col("landing_date") < F.lit(ctx.landing_date)))
        .groupBy("source", "landing_date")
        .agg(F.sum("records").alias("day_records"))
        .withColumn("recency", F.row_number().over(recent_first))
        .where(F.col("recency") <= ctx.config.volume_window)
        .groupBy("source")
        .agg(F.avg("day_records").alias("trailing_average"))
    )
    due = ctx.config.sources_required(ctx.landing_date)
    required = ctx.spark.createDataFrame([(s,) for s in due], "source string")
    sources = required.unionByName(today.select("source")).distinct()
    return (
        sources.join(today, "source", "left")
        .join(trailing, "source", "left")
        .select(
            "source",
            F.coalesce("files_delivered", F.lit(0)).alias("files_delivered"),
            F.coalesce("files_refused", F.lit(0)).alias("files_refused"),
            F.coalesce("records", F.lit(0)).alias("records"),
            F.coalesce("quarantined_rows", F.lit(0)).alias("quarantined_rows"),
            F.when(F.col("records") > 0, F.col("quarantined_rows") / F.col("records")).alias(
                "quarantine_ratio"
            ),
            # Null (not judged) without history or without a delivery: freshness reports the latter.
            F.when(
                (F.col("files_delivered") > 0) & (F.col("trailing_average") > 0),
                F.col("records") / F.col("trailing_average"),
            ).alias("volume_ratio"),
        )
    )


def delivery_checks(ctx: GateContext) -> tuple[Check, ...]:
    cfg = ctx.config
    return (
        fail(
            "freshness",
            E.ExpectColumnValuesToBeBetween(column="files_delivered", min_value=1),
            "Every required source delivered at least one file for the landing date.",
        ),
        fail(
            "quarantine_ratio",
            E.ExpectColumnValuesToBeBetween(
                column="quarantine_ratio", min_value=0, max_value=cfg.quarantine_ratio_max
            ),
            f"quarantined_rows / records per source, at most {cfg.quarantine_ratio_max}.",
        ),
        warn(
            "volume",
            E.ExpectColumnValuesToBeBetween(
                column="volume_ratio", min_value=1 - cfg.volume_tolerance, max_value=1 + cfg.volume_tolerance
            ),
            f"records / average of the previous {cfg.volume_window} landing dates, "
            f"within 1 ± {cfg.volume_tolerance}.",
        ),
        warn(
            "no_refused_files",
            E.ExpectColumnValuesToBeBetween(column="files_refused", max_value=0),
            "No file of the landing date was refused whole (see quarantine.files).",
        ),
    )


def suites(ctx: GateContext) -> list[Suite]:
    """Every suite of the bronze gate for ``ctx.landing_date`` (already resolved by the gate)."""
    # Optional: a source that delivered nothing has no table yet, and freshness says so.
    tables = [
        contract_suite(t, where=_on_processed_date, row_id=("_source_file", "_line"), required=False)
        for t in sorted(ctx.lake.tables("bronze"), key=lambda t: t.name)
    ]
    rules = [
        Suite(
            name="bronze.reconciliation",
            checks=(
                fail(
                    "reconciliation_balanced",
                    E.ExpectColumnValuesToBeInSet(column="balanced", value_set=[True]),
                    "records_received = bronze_rows + quarantined_rows for every file of the date.",
                ),
            ),
            data=reconciliation,
            row_id=("path", "records_received", "bronze_rows", "quarantined_rows"),
            unit="files",
            description="Files of the landing date, as reconciled by ingestion (ops.reconciliation).",
        ),
        Suite(
            name="bronze.deliveries",
            checks=delivery_checks(ctx),
            data=deliveries,
            row_id=("source",),
            unit="sources",
            description="One row per source for the landing date (ops.ingestion_ledger).",
        ),
    ]
    return tables + rules
