"""What silver refuses from bronze: values outside what the landing contract declares.

Ingestion quarantines records whose required fields are missing or whose values do not parse;
ranges (``min``/``max``) and ``allowed_values`` are silver's to enforce (the bronze gate only warns
about them). A silver job therefore keeps a bronze row that breaks them (or that it cannot place: a
change dated after its delivery, a till line of an unknown store) out of the table, counts it in its
report's ``rejected`` and records it in ``quarantine.silver_rejects`` with the reason, rather than
writing a negative price into a fact or a dimension. Nothing is lost: the record stays in bronze,
and the quarantine row says where.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from omnilake import delta
from omnilake.contracts import Contract
from omnilake.lake import Lake

log = logging.getLogger(__name__)


def contract_violation(contract: Contract, fields: Iterable[str] | None = None) -> Column:
    """The first declared range or value rule a row breaks, as ``out_of_range: <field>`` or
    ``not_allowed: <field>``; null when the row keeps them all. Null values pass (requiredness is
    ingestion's check). ``fields`` narrows the check to some fields."""
    wanted = set(fields) if fields is not None else None
    problem: Column | None = None
    for f in contract.fields:
        if wanted is not None and f.name not in wanted:
            continue
        rules: list[tuple[Column, str]] = []
        if f.min is not None:
            rules.append((F.col(f.name) < F.lit(f.min), f"out_of_range: {f.name}"))
        if f.max is not None:
            rules.append((F.col(f.name) > F.lit(f.max), f"out_of_range: {f.name}"))
        if f.allowed_values is not None:
            rules.append((~F.col(f.name).isin(list(f.allowed_values)), f"not_allowed: {f.name}"))
        for broken, reason in rules:
            problem = (
                F.when(broken, F.lit(reason)) if problem is None else problem.when(broken, F.lit(reason))
            )
    return problem if problem is not None else F.lit(None).cast("string")


def count_rejections(
    rows: DataFrame, table: str, *, lake: Lake, source: str, reason: str = "_reject_reason"
) -> tuple[int, int]:
    """(rows, rows with a reject reason) in one pass; logs the count per reason and records each
    refused row in ``quarantine.silver_rejects`` (``rows`` carry bronze's lineage)."""
    counts = rows.groupBy(reason, "_landing_date").count().collect()
    refused: dict[str, int] = {}
    for r in counts:
        if r[reason] is not None:
            refused[r[reason]] = refused.get(r[reason], 0) + int(r["count"])
    if refused:
        log.warning("%s: refused %s", table, dict(sorted(refused.items())))
        landing_dates = sorted({r["_landing_date"] for r in counts if r[reason] is not None})
        record_rejections(rows.where(F.col(reason).isNotNull()), lake, table, source, reason, landing_dates)
    return sum(int(r["count"]) for r in counts), sum(refused.values())


def record_rejections(
    rows: DataFrame,
    lake: Lake,
    table: str,
    source: str,
    reason: str,
    landing_dates: Sequence[date] | None = None,
) -> None:
    """Refused rows into ``quarantine.silver_rejects`` (insert-only on table, source, file and line,
    so a rerun of the same batches records nothing twice).

    ``landing_dates`` (the rows' ``_landing_date`` values) limits the merge to those partitions:
    bronze takes a file's content once (ingestion skips a file hash it holds), so a file hash has
    one landing date and a record already refused is in the partition of its row's date."""
    rejects = rows.select(
        F.lit(table).alias("silver_table"),
        F.lit(source).alias("source"),
        F.col("_file_hash").alias("file_hash"),
        F.col("_line").cast("long").alias("line"),
        F.col(reason).alias("reason"),
        F.col("_batch_id").alias("batch_id"),
        F.col("_landing_date").alias("landing_date"),
    )
    partitions = None if landing_dates is None else {"landing_date": list(landing_dates)}
    delta.merge(rejects, lake.table("quarantine.silver_rejects"), update="none", target_partitions=partitions)
