"""What each silver table has already taken in from bronze, so every run reads only what is new.

The unit of progress is an ingested landing file (its hash, plus the ingestion batch that wrote its
rows). The ingestion ledger (``ops.ingestion_ledger``) lists every file bronze holds; the silver
progress table (``ops.silver_progress``) lists, per silver table, the files already applied. Their
difference is the work of a run, and bronze is read with its partition column (``_landing_date``)
and file hash, so the cost of a run follows the size of the new deliveries, not of the history.

A file re-ingested after a crash gets a new batch id (its bronze rows are replaced), so it shows up
as new work again: every silver write is idempotent, and applying the same rows twice is harmless.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from omnilake import delta
from omnilake.lake import Lake

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Batch:
    """One ingested landing file whose rows sit in ``bronze.<source>``."""

    source: str
    file_hash: str
    batch_id: str
    landing_date: date


def pending_batches(
    spark: SparkSession,
    lake: Lake,
    table: str,
    source: str,
    up_to: date | None = None,
    *,
    everything: bool = False,
) -> list[Batch]:
    """Files of ``source`` ingested (on or before ``up_to``) that ``table`` has not taken in yet
    (``everything``: taken in or not, for a rebuild), oldest delivery first."""
    ledger = lake.table("ops.ingestion_ledger")
    if not delta.exists(ledger):
        return []
    files = (
        delta.read(spark, ledger)
        .where((F.col("source") == source) & (F.col("status") == "ingested"))
        .select("file_hash", "batch_id", "landing_date")
    )
    if up_to is not None:
        files = files.where(F.col("landing_date") <= F.lit(up_to))
    progress = lake.table("ops.silver_progress")
    if delta.exists(progress) and not everything:
        done = (
            delta.read(spark, progress)
            .where((F.col("table") == table) & (F.col("source") == source))
            .select("file_hash", "batch_id")
        )
        files = files.join(done, ["file_hash", "batch_id"], "left_anti")
    rows = files.distinct().collect()
    batches = [Batch(source, r["file_hash"], r["batch_id"], r["landing_date"]) for r in rows]
    return sorted(batches, key=lambda b: (b.landing_date, b.file_hash))


def read_batches(spark: SparkSession, lake: Lake, batches: list[Batch]) -> DataFrame:
    """The bronze rows of ``batches`` (all of one source), pruned by landing date and file hash."""
    sources = {b.source for b in batches}
    if len(sources) != 1:
        raise ValueError(f"read_batches reads one source at a time, got {sorted(sources)}")
    (source,) = sources
    bronze = delta.read(spark, lake.table(f"bronze.{source}"))
    dates = sorted({b.landing_date for b in batches})
    hashes = sorted({b.file_hash for b in batches})
    return bronze.where(F.col("_landing_date").isin(dates) & F.col("_file_hash").isin(hashes))


def record_batches(
    spark: SparkSession,
    lake: Lake,
    table: str,
    batches: list[Batch],
    run_id: str | None,
    outcome: str = "applied",
) -> None:
    """Mark ``batches`` as taken in by ``table`` (after the silver write they fed)."""
    if not batches:
        return
    progress = lake.table("ops.silver_progress")
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [(table, b.source, b.file_hash, b.batch_id, b.landing_date, outcome, run_id, now) for b in batches]
    delta.merge(spark.createDataFrame(rows, progress.contract.spark_schema()), progress, update="none")
    log.info("%s took in %d %s batch(es) (%s)", table, len(batches), batches[0].source, outcome)
