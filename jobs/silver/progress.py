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

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import to_arrow_schema

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
    (``everything``: taken in or not, for a rebuild), oldest delivery first.

    Both tables are read in this process (delta-rs), as ingestion reads the ledger: a lookup of a
    few rows per delivery, not engine work (through Spark Connect, two scans, a join and a collect)."""
    ledger = lake.table("ops.ingestion_ledger")
    if not delta.exists(ledger):
        return []
    files = DeltaTable(ledger.path).to_pyarrow_table(
        columns=["file_hash", "batch_id", "landing_date"],
        filters=[("source", "=", source), ("status", "=", "ingested")],
    )
    pending = {
        (file_hash, batch_id, landing_date)
        for file_hash, batch_id, landing_date in _rows(files)
        if up_to is None or landing_date <= up_to
    }
    if not everything:
        done = taken_in(lake, table, source)
        pending = {(h, b, d) for h, b, d in pending if (h, b) not in done}
    batches = [Batch(source, h, b, d) for h, b, d in pending]
    return sorted(batches, key=lambda b: (b.landing_date, b.file_hash, b.batch_id))


def taken_in(lake: Lake, table: str, source: str) -> set[tuple[str, str]]:
    """(file hash, batch id) of every ``source`` batch ``table`` has recorded (applied or skipped)."""
    progress = lake.table("ops.silver_progress")
    if not delta.exists(progress):
        return set()
    rows = DeltaTable(progress.path).to_pyarrow_table(
        columns=["file_hash", "batch_id"], filters=[("table", "=", table), ("source", "=", source)]
    )
    return set(_rows(rows))


def _rows(table: pa.Table) -> list[tuple]:
    return list(zip(*(table.column(c).to_pylist() for c in table.column_names), strict=True))


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
    """Mark ``batches`` as taken in by ``table`` (after the silver write they fed); insert-only on
    the keys, so a batch recorded before keeps its first outcome. Written in this process
    (delta-rs), bounded in files and checkpointed like every write (``delta.prepare_write``)."""
    if not batches:
        return
    progress = lake.table("ops.silver_progress")
    delta.prepare_write(spark, progress)
    now = datetime.now(UTC).replace(tzinfo=None)
    recorded = {
        (source, *key) for source in {b.source for b in batches} for key in taken_in(lake, table, source)
    }
    new = {}
    for b in batches:
        key = (b.source, b.file_hash, b.batch_id)
        if key not in recorded:
            new.setdefault(
                key, (table, b.source, b.file_hash, b.batch_id, b.landing_date, outcome, run_id, now)
            )
    if new:
        schema = progress.contract.spark_schema()
        rows = pa.Table.from_pylist(
            [dict(zip(schema.names, row, strict=True)) for row in new.values()],
            schema=to_arrow_schema(schema, timezone="UTC"),
        )
        write_deltalake(progress.path, rows, mode="append")
        delta.checkpoint_if_due(progress.path)
    log.info("%s took in %d %s batch(es) (%s)", table, len(batches), batches[0].source, outcome)
