"""Snapshot feeds read as history: which version of each key was present on which days.

``jobs.bronze.snapshot_diff`` writes a snapshot feed to bronze as changes: a ``new`` or ``changed``
row starts a version of its key on its ``_landing_date``; the version is present in every snapshot
up to the ``_previous_snapshot`` of the key's next change (a ``changed`` row, or a ``gone`` row when
the key left the snapshot or its record was quarantined), or up to the latest snapshot ingested.
A ``full`` row (a snapshot taken whole) and a row of a change feed (``_change`` null) are present on
their own day only, which is what every row of a full snapshot meant before.

``versions`` gives every version with ``_seen_from`` and ``_seen_to``: the first and last delivery
date it was present. A consumer that read every daily row of a full snapshot gets the same answer
from it: "the latest row of a member" is the version with the greatest ``_seen_to``, "first and last
seen" are ``_seen_from`` and ``_seen_to``. It is also the attribute history (valid from, valid to)
of a CRM member, a product or a store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from deltalake import DeltaTable
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from omnilake import delta
from omnilake.lake import Lake

CHAIN = ("new", "changed", "gone")


def latest_snapshot(lake: Lake, source: str) -> date | None:
    """The delivery date of the latest ingested file of ``source`` (the ledger, read without Spark)."""
    ledger = lake.table("ops.ingestion_ledger")
    if not DeltaTable.is_deltatable(ledger.path):
        return None
    dates = (
        DeltaTable(ledger.path)
        .to_pyarrow_table(
            columns=["landing_date"], filters=[("source", "=", source), ("status", "=", "ingested")]
        )
        .column("landing_date")
        .to_pylist()
    )
    return max(dates, default=None)


def versions(bronze: DataFrame, keys: Sequence[str], latest: date | None) -> DataFrame:
    """Bronze rows that are versions (``gone`` rows left out), with ``_seen_from`` and ``_seen_to``."""
    change = F.coalesce(F.col("_change"), F.lit("full"))
    chain = bronze.where(change.isin(*CHAIN))
    days = chain.groupBy(*keys, "_landing_date").agg(F.min("_previous_snapshot").alias("_previous"))
    by_day = Window.partitionBy(*keys).orderBy("_landing_date")
    ends = days.select(
        *keys,
        "_landing_date",
        F.lead("_landing_date").over(by_day).alias("_next_day"),
        F.lead("_previous").over(by_day).alias("_next_previous"),
    )
    last_day = F.lit(latest).cast("date") if latest is not None else F.col("_landing_date")
    seen_to = (
        F.when(F.col("_next_day").isNull(), F.greatest(last_day, F.col("_landing_date")))
        # A next change with no previous snapshot restarted the chain: the version ends on its own day.
        .otherwise(F.coalesce(F.col("_next_previous"), F.col("_landing_date")))
    )
    chained = (
        chain.where(change != "gone")
        .join(ends, [*keys, "_landing_date"], "left")
        .withColumn("_seen_to", seen_to)
        .drop("_next_day", "_next_previous")
    )
    whole = bronze.where(~change.isin(*CHAIN)).withColumn("_seen_to", F.col("_landing_date"))
    return chained.unionByName(whole).withColumn("_seen_from", F.col("_landing_date"))


def changed_versions(
    spark: SparkSession, lake: Lake, source: str, keys: Sequence[str], new: DataFrame
) -> DataFrame:
    """The versions an incremental run must (re)consider: those of every change row of ``source`` in
    bronze (few: they follow changes, not days) and of the whole rows among ``new`` (this run's
    batches). A version's ``_seen_to`` only grows as snapshots arrive (the current one's is the latest
    snapshot, an ended one's the day before its next change), so merging these with evidence compacted
    earlier by min(first seen) and max(last seen) or by the latest ``_seen_to`` is what reading all of
    bronze gives; a row taken whole is present on its own day only, so it is read once."""
    change = F.coalesce(F.col("_change"), F.lit("full"))
    chain = delta.read(spark, lake.table(f"bronze.{source}")).where(change.isin(*CHAIN))
    return versions(chain.unionByName(new.where(~change.isin(*CHAIN))), keys, latest_snapshot(lake, source))
