"""Hand-written bronze deliveries for the silver tests: rows in bronze plus their ingestion ledger entry,
exactly what ``jobs.bronze.ingest`` leaves behind for one landing file, without the landing file."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

from omnilake import delta
from omnilake.lake import Lake


def deliver(
    spark, lake: Lake, source: str, landing_date: date, records: list[dict[str, Any]], name: str = ""
) -> str:
    """Write ``records`` (landing fields by name; missing ones are null) as one ingested file of
    ``source`` delivered on ``landing_date``. Returns the file's hash."""
    table = lake.table(f"bronze.{source}")
    path = f"landing/{source}/{landing_date.isoformat()}/{source}{name}_{landing_date.isoformat()}"
    file_hash = hashlib.sha256(f"{path}:{records!r}".encode()).hexdigest()
    batch_id = f"{source}-test-{file_hash[:8]}"
    ingested_at = datetime.now(UTC).replace(tzinfo=None)
    landing_fields = [f.name for f in table.contract.fields if not f.name.startswith("_")]
    rows = [
        {
            **dict.fromkeys(landing_fields),
            **record,
            "_rescued": None,
            "_raw": "(hand-written)",
            "_source_file": path,
            "_file_hash": file_hash,
            "_line": line,
            "_batch_id": batch_id,
            "_ingested_at": ingested_at,
            "_change": None,  # a change feed's row, or a snapshot's taken whole (jobs.bronze.snapshot_diff)
            "_previous_snapshot": None,
            "_landing_date": landing_date,
        }
        for line, record in enumerate(records, start=1)
    ]
    delta.append(spark.createDataFrame(rows, table.contract.spark_schema()), table)
    ledger = lake.table("ops.ingestion_ledger")
    entry = (
        path,
        file_hash,
        source,
        landing_date,
        1,
        "ingested",
        None,
        len(rows),
        len(rows),
        0,
        0,
        batch_id,
        ingested_at,
    )
    delta.append(spark.createDataFrame([entry], ledger.contract.spark_schema()), ledger)
    return file_hash


def rows_of(spark, lake: Lake, table: str, order_by: str | list[str]) -> list[dict[str, Any]]:
    """Every row of a table as dicts, sorted."""
    frame = delta.read(spark, lake.table(table))
    return [r.asDict() for r in frame.orderBy(order_by).collect()]
