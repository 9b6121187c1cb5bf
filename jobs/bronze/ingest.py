"""Bronze ingestion: landing files -> bronze Delta tables, exactly once per file.

The story of one run of one source:

1. find the delivered files and fingerprint each (SHA-256); skip what the ledger has seen, and
   record a new path with known bytes as a duplicate;
2. stage each new file (strict decoding, line numbers, CSV splitting), refusing unreadable files
   whole into ``quarantine.files``;
3. parse and classify with Spark: good records to ``bronze.<source>``, failed ones to
   ``quarantine.<source>`` with a reason;
4. reconcile per file (received = bronze + quarantine, counted in the tables), record schema
   drift, then write the ledger entries last.

Every write replaces the rows of exactly the files being ingested (``replaceWhere`` on their landing
dates, the partition column, and their file hashes: only the delivery's partitions are scanned), so a
crash at any point is repaired by running again: nothing is duplicated, nothing lost.

Round trips to the engine are a step's fixed cost (>= ~21 ms each), so a step makes few: records are
parsed once (the classified rows are staged), a write into partitions without data files skips the
DELETE, both tables are counted in one query, and the ledger, reconciliation and drift rows (a few
tuples) are read and written in this process with delta-rs.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable, write_deltalake
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

from jobs.bronze import snapshot_diff
from jobs.bronze.file_rows import rows_of_files
from jobs.bronze.parse import bronze_rows, classify, quarantine_rows
from omnilake import delta
from omnilake.contracts import all_contracts, landing_sources
from omnilake.engine import get_spark
from omnilake.errors import LandingError, add_context
from omnilake.faults import crash_point
from omnilake.feeds import load_feeds
from omnilake.lake import Lake, get_lake
from omnilake.landing import (
    STAGED_SCHEMA,
    LandingFile,
    StagedFile,
    discover,
    erasure_rewrites,
    require_landing,
    stage_file,
    taken_after_rewrites,
)
from omnilake.settings import get_settings
from omnilake.storage.transient import Staging, sweep_stale

log = logging.getLogger(__name__)

STAGING = ("_ops", "staging")  # one folder per batch under it, removed when the batch ends


@dataclass
class SourceReport:
    """What one run did to one source; the CLI prints these."""

    source: str
    batch_id: str
    files_new: int = 0
    files_skipped: int = 0
    files_duplicate: int = 0
    files_quarantined: int = 0
    records: int = 0
    bronze_rows: int = 0
    quarantined_rows: int = 0
    unchanged_rows: int = 0  # snapshot feeds: records as in the previous snapshot, not written again
    quarantine_reasons: Counter = field(default_factory=Counter)
    drift: list[str] = field(default_factory=list)
    unbalanced_files: list[str] = field(default_factory=list)
    seconds: float = 0.0
    declared: bool = True  # False: the retailer does not deliver this source (omnilake.feeds)
    files_ignored: int = 0  # files found for an undeclared source, left in landing untouched


def ingest(
    sources: list[str] | None = None, landing_date: date | None = None, lake: Lake | None = None
) -> list[SourceReport]:
    """Ingest every new landing file of ``sources`` (all by default), optionally of one date.

    Only declared feeds (``omnilake.feeds``) are ingested; an undeclared source gets a report saying
    so, and any files delivered for it stay in landing untouched."""
    lake = lake or get_lake()
    known = landing_sources()
    for source in sources or []:
        if source not in known:
            raise LandingError(f"unknown source {source!r}; known sources: {', '.join(known)}")
    require_landing(lake.landing)
    feeds = load_feeds()
    spark = get_spark()
    lake.ensure_layout()
    sweep_stale(lake.root, *STAGING)
    reports = []
    for source in sources or known:
        if not feeds.declared(source):
            reports.append(_undeclared(lake, source, landing_date, feeds.path))
            continue
        try:
            reports.append(ingest_source(spark, lake, source, landing_date))
        except Exception as exc:
            add_context(exc, source=source)
            raise
    return reports


def _undeclared(lake: Lake, source: str, landing_date: date | None, feeds_path: Path) -> SourceReport:
    report = SourceReport(source, batch_id="", declared=False)
    report.files_ignored = len(discover(lake.landing, source, landing_date))
    if report.files_ignored:
        log.warning(
            "%s is not declared in %s: %d delivered file(s) left in landing, not ingested",
            source,
            feeds_path,
            report.files_ignored,
        )
    return report


def ingest_source(spark: SparkSession, lake: Lake, source: str, landing_date: date | None) -> SourceReport:
    started = time.perf_counter()
    landing_contract = all_contracts()[f"landing.{source}"]
    now = datetime.now(UTC).replace(tzinfo=None)
    batch_id = f"{source}-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    report = SourceReport(source, batch_id)

    files = discover(lake.landing, source, landing_date)
    seen_paths, seen_hashes = _ledger_state(spark, lake, source)
    new_files: list[tuple[LandingFile, str]] = []
    duplicates: list[tuple[LandingFile, str, str]] = []
    hashes_this_run: dict[str, str] = {}
    for landing in files:
        file_hash = landing.sha256()
        if (landing.relative_path, file_hash) in seen_paths:
            report.files_skipped += 1
        elif file_hash in seen_hashes or file_hash in hashes_this_run:
            duplicates.append((landing, file_hash, seen_hashes.get(file_hash) or hashes_this_run[file_hash]))
        else:
            hashes_this_run[file_hash] = landing.relative_path
            new_files.append((landing, file_hash))

    staging = Staging(lake.root, *STAGING, batch_id)
    staging_dir = staging.local
    try:
        staged = [_stage(f, h, landing_contract, staging_dir) for f, h in new_files]
        # Files with no records (every store's header-only file of a quiet day) have the same bytes
        # without being re-deliveries: each is a delivery of its own, of zero records.
        if duplicates:
            empty = _hashes_without_records(spark, lake, source) | {
                s.file_hash for s in staged if s.file_error is None and s.records == 0
            }
            staged += [_stage(f, h, landing_contract, staging_dir) for f, h, _ in duplicates if h in empty]
            duplicates = [d for d in duplicates if d[1] not in empty]
        report.files_duplicate = len(duplicates)
        readable = [s for s in staged if s.file_error is None]
        refused = [s for s in staged if s.file_error is not None]
        report.files_new = len(readable)
        report.files_quarantined = len(refused)
        ingested_at = F.lit(now).cast("timestamp")
        diff = snapshot_diff.prepare(lake, source, landing_contract, readable, staging_dir, batch_id)

        if readable:
            hashes = [s.file_hash for s in readable]
            where = _files_predicate(readable)
            # On an object-store lake Spark reads the copies under the lake: the engine may be elsewhere.
            staged_paths = [staging.shared(p) for h in hashes if (p := staging_dir / f"{h}.parquet").exists()]
            if staged_paths:
                classified = _classified_once(
                    spark, staging, classify(spark.read.parquet(*staged_paths), landing_contract)
                )
            else:
                classified = classify(_empty_stage(spark), landing_contract)
            changes = _stages_changes(staging_dir, hashes)
            bronze = bronze_rows(classified, landing_contract, batch_id, ingested_at, changes=changes)
            if diff is not None:  # a snapshot feed: changes only, plus the keys that went
                bronze = diff.with_gone_rows(spark, lake, staging, classified, bronze, batch_id, ingested_at)
            dates = _landing_dates(readable)
            _replace_files(bronze, lake.table(f"bronze.{source}"), where, dates)
            crash_point("bronze.after_data_write")
            _replace_files(
                quarantine_rows(classified, batch_id, ingested_at),
                lake.table(f"quarantine.{source}"),
                where,
                dates,
            )
            crash_point("bronze.after_quarantine_write")
            if diff is not None:
                diff.record_state(spark, lake)
            _record_drift(spark, lake, source, readable, classified, batch_id, now)
        _quarantine_files(spark, lake, refused, batch_id, now)
        unchanged = diff.counted_unchanged(lake) if diff is not None else {}
        counts, reasons = _reconcile(spark, lake, source, readable, batch_id, now, unchanged)
        crash_point("bronze.before_ledger_write")
        _write_ledger(spark, lake, staged, duplicates, counts, batch_id, now)
    finally:
        staging.remove()

    for s in readable:
        bronze_count, quarantined_count = counts[s.file_hash]
        report.records += s.records
        report.bronze_rows += bronze_count
        report.quarantined_rows += quarantined_count
        report.unchanged_rows += unchanged.get(s.file_hash, 0)
        if s.records != bronze_count + quarantined_count + unchanged.get(s.file_hash, 0):
            report.unbalanced_files.append(s.file.relative_path)
        report.drift.extend(f"{s.file.relative_path}: {note.detail}" for note in s.drift)
    report.quarantine_reasons.update(reasons)
    for s in refused:
        report.quarantine_reasons[f"file:{s.file_error}"] += 1
    report.seconds = time.perf_counter() - started
    log.info("ingested %s: %s", source, report)
    return report


def _stage(landing: LandingFile, file_hash: str, contract, staging_dir: Path) -> StagedFile:
    try:
        return stage_file(landing, file_hash, contract, staging_dir)
    except Exception as exc:
        add_context(exc, file=landing.relative_path)
        raise


def _files_predicate(
    files: list[StagedFile], date_column: str = "_landing_date", hash_column: str = "_file_hash"
) -> str:
    """The rows of ``files`` in a table partitioned by landing date: their landing dates (the
    partition column, so a delete scans only those partitions) and their hashes (the rows themselves)."""
    return f"{_in_landing_dates(date_column, files)} and {delta.in_list(hash_column, [s.file_hash for s in files])}"


def _in_landing_dates(column: str, files: list[StagedFile]) -> str:
    """``column in (...)`` over the landing dates of ``files``: the partition filter of a delete."""
    dates = sorted({s.file.landing_date.isoformat() for s in files})
    return f"{column} in ({', '.join(f'date{delta.sql_literal(d)}' for d in dates)})"


def _landing_dates(files: list[StagedFile]) -> list[date]:
    return sorted({s.file.landing_date for s in files})


def _classified_once(spark: SparkSession, staging: Staging, classified: DataFrame) -> DataFrame:
    """``classified`` written to staging and read back, so that each record is parsed once.

    The bronze write, the quarantine write, the drift count and a snapshot feed's gone rows each
    read the classified records; as one lazy plan every one of them parsed and typed every record
    again (on 45k events the quarantine write alone repeated 2.3 CPU-s of parsing). The record map and
    the problem list are dropped first: nothing after classification reads them."""
    kept = classified.drop("_map", "_fields", "_problems")
    path = staging.for_spark("classified")
    kept.write.mode("overwrite").parquet(path)
    return spark.read.schema(kept.schema).parquet(path)


def _stages_changes(staging_dir: Path, hashes: list[str]) -> bool:
    """Whether the staging files carry a snapshot feed's ``_change`` column (read from their Parquet
    footers, which staging wrote itself, rather than asking the engine for the plan's schema)."""
    for file_hash in hashes:
        path = staging_dir / f"{file_hash}.parquet"
        if path.exists():
            return "_change" in pq.read_schema(path).names
    return False


def _replace_files(df: DataFrame, table, where: str, dates: list[date]) -> None:
    """Write ``df`` in place of the table's rows matching ``where`` (rows of files in the landing-date
    partitions ``dates``).

    When the table has no data file in any of those partitions no row can match, so the write is a
    plain (still schema-checked) append and the engine is spared the DELETE's plans: the usual case,
    a new day's delivery. The partition listing comes from the Delta log (delta-rs)."""
    if delta.exists(table) and _has_files_in(table, dates):
        delta.overwrite(df, table, replace_where=where)
    else:
        delta.append(df, table)


def _has_files_in(table, dates: list[date]) -> bool:
    (partition_column,) = table.partition_by
    values = [d.isoformat() for d in dates]
    return bool(DeltaTable(table.path).file_uris(partition_filters=[(partition_column, "in", values)]))


def _empty_stage(spark: SparkSession) -> DataFrame:
    """The stage of files that hold no records (header-only CSV, an empty NDJSON or gzip stream): no
    staging file was written, so the frame is built from the staging schema. An Arrow table with no
    rows would not do: Spark Connect infers the schema from the rows and refuses an empty one."""
    return spark.createDataFrame([], from_arrow_schema(STAGED_SCHEMA))


def _ledger_state(
    spark: SparkSession, lake: Lake, source: str
) -> tuple[set[tuple[str, str]], dict[str, str]]:
    """(path, hash) pairs already handled, and hash -> first path for files whose content was taken."""
    ledger = lake.table("ops.ingestion_ledger")
    if not delta.exists(ledger):
        return set(), {}
    # Read in this process (delta-rs), as the erasure receipts are: a lookup, not engine work.
    rows = (
        DeltaTable(ledger.path)
        .to_pyarrow_table(columns=["path", "file_hash", "status"], filters=[("source", "=", source)])
        .to_pylist()
    )
    # Landing files an erasure rewrote after they were taken are the same deliveries, not new ones.
    rewrites = erasure_rewrites(lake.table("ops.erasure_receipts").path, source)
    seen = taken_after_rewrites({(r["path"], r["file_hash"]) for r in rows}, rewrites)
    taken = {
        r["file_hash"]: r["path"] for r in sorted(rows, key=lambda r: r["path"]) if r["status"] != "duplicate"
    }
    return seen, taken


def _hashes_without_records(spark: SparkSession, lake: Lake, source: str) -> set[str]:
    """Hashes of the source's files already ingested that held no record."""
    ledger = lake.table("ops.ingestion_ledger")
    if not delta.exists(ledger):
        return set()
    rows = DeltaTable(ledger.path).to_pyarrow_table(
        columns=["file_hash"],
        filters=[("source", "=", source), ("status", "=", "ingested"), ("records", "=", 0)],
    )
    return set(rows.column("file_hash").to_pylist())


def _record_drift(
    spark: SparkSession,
    lake: Lake,
    source: str,
    readable: list[StagedFile],
    classified: DataFrame,
    batch_id: str,
    now: datetime,
) -> None:
    """Header drift found while staging (CSV) plus unknown JSON fields found while parsing."""
    rows = []
    for s in readable:
        for note in s.drift:
            rows.append(
                (
                    s.file.relative_path,
                    s.file_hash,
                    source,
                    s.file.landing_date,
                    note.kind,
                    note.column,
                    note.detail,
                    None,
                    batch_id,
                    now,
                )
            )
    # A CSV record's fields are named by its file's header, whose unknown columns staging noted
    # above: only JSON records can carry fields of their own, so only they are asked of the engine.
    unknown = (
        []
        if all_contracts()[f"landing.{source}"].format == "csv"
        else classified.select(
            "_source_file", "_file_hash", "_landing_date", F.explode("_unknown_fields").alias("column")
        )
        .groupBy("_source_file", "_file_hash", "_landing_date", "column")
        .count()
        .collect()
    )
    header_noted = {(s.file_hash, n.column) for s in readable for n in s.drift}
    for r in unknown:
        if (r["_file_hash"], r["column"]) in header_noted:
            continue
        rows.append(
            (
                r["_source_file"],
                r["_file_hash"],
                source,
                date.fromisoformat(r["_landing_date"]),
                "unknown_field",
                r["column"],
                f"field {r['column']!r} is not in the contract; kept in _rescued",
                int(r["count"]),
                batch_id,
                now,
            )
        )
    _replace_rows(spark, lake.table("ops.schema_drift"), rows, _these_files_sql(readable))


def _quarantine_files(
    spark: SparkSession, lake: Lake, refused: list[StagedFile], batch_id: str, now: datetime
) -> None:
    if not refused:
        return
    table = lake.table("quarantine.files")
    rows = [
        (
            s.file.source,
            s.file.relative_path,
            s.file_hash,
            s.file.size_bytes,
            s.file_error,
            s.file_error_detail,
            batch_id,
            now,
            s.file.landing_date,
        )
        for s in refused
    ]
    delta.overwrite(
        _frame(spark, table, rows),
        table,
        replace_where=_these_files(refused, partition_column="landing_date"),
    )


def _reconcile(
    spark: SparkSession,
    lake: Lake,
    source: str,
    readable: list[StagedFile],
    batch_id: str,
    now: datetime,
    unchanged: dict[str, int],
) -> tuple[dict[str, tuple[int, int]], Counter]:
    """Count each file's rows in bronze and quarantine (the tables, not our intentions) and store it;
    also this batch's quarantined rows by reason.

    A snapshot feed's file also has ``unchanged`` records (counted in ``ops.snapshot_state``); its
    ``gone`` rows in bronze are not records of the file and are not counted. Both tables are read
    in this process (``file_rows``): a count per file, not engine work."""
    if not readable:
        return {}, Counter()
    hashes = [s.file_hash for s in readable]
    in_table: dict[tuple[str, bool], int] = Counter()
    reasons: Counter = Counter()
    bronze = lake.table(f"bronze.{source}")
    if delta.exists(bronze):
        rows = rows_of_files(bronze.path, readable, ["_file_hash", "_change"])
        for file_hash, change in zip(*(rows.column(c).to_pylist() for c in rows.column_names), strict=True):
            if change != "gone":
                in_table[(file_hash, True)] += 1
    quarantine = lake.table(f"quarantine.{source}")
    if delta.exists(quarantine):
        rows = rows_of_files(quarantine.path, readable, ["_file_hash", "reason", "_batch_id"])
        for file_hash, reason, row_batch in zip(
            *(rows.column(c).to_pylist() for c in rows.column_names), strict=True
        ):
            in_table[(file_hash, False)] += 1
            if row_batch == batch_id:
                reasons[reason] += 1
    counts = {h: (in_table.get((h, True), 0), in_table.get((h, False), 0)) for h in hashes}
    rows = [
        (
            s.file.relative_path,
            s.file_hash,
            source,
            s.file.landing_date,
            s.records,
            *counts[s.file_hash],
            s.records == sum(counts[s.file_hash]) + unchanged.get(s.file_hash, 0),
            batch_id,
            now,
            unchanged.get(s.file_hash) if s.file_hash in unchanged else None,
        )
        for s in readable
    ]
    _replace_rows(spark, lake.table("ops.reconciliation"), rows, _these_files_sql(readable))
    return counts, reasons


def _these_files(files: list[StagedFile], partition_column: str | None = None) -> str:
    """The rows of exactly these files (path and hash): files without records can share their bytes
    (every quiet till's header-only file), so the hash alone would also match earlier deliveries.
    With ``partition_column`` (a landing-date partition), a delete scans only those partitions."""
    paths = delta.in_list("path", [s.file.relative_path for s in files])
    these = f"{paths} and {delta.in_list('file_hash', [s.file_hash for s in files])}"
    if partition_column is None:
        return these
    return f"{_in_landing_dates(partition_column, files)} and {these}"


def _write_ledger(
    spark: SparkSession,
    lake: Lake,
    staged: list[StagedFile],
    duplicates: list[tuple[LandingFile, str, str]],
    counts: dict[str, tuple[int, int]],
    batch_id: str,
    now: datetime,
) -> None:
    rows = []
    for s in staged:
        status = "quarantined" if s.file_error else "ingested"
        bronze_count, quarantined_count = counts.get(s.file_hash, (0, 0))
        rows.append(
            (
                s.file.relative_path,
                s.file_hash,
                s.file.source,
                s.file.landing_date,
                s.file.size_bytes,
                status,
                None,
                s.records,
                bronze_count,
                quarantined_count,
                s.blank_lines,
                batch_id,
                now,
            )
        )
    for landing, file_hash, first_path in duplicates:
        rows.append(
            (
                landing.relative_path,
                file_hash,
                landing.source,
                landing.landing_date,
                landing.size_bytes,
                "duplicate",
                first_path,
                0,
                0,
                0,
                0,
                batch_id,
                now,
            )
        )
    if rows:
        _upsert_rows(spark, lake.table("ops.ingestion_ledger"), rows)


# --- the run's own bookkeeping rows, written in this process ------------------------------------
# Reconciliation, drift and ledger rows are a handful of tuples built here. Sent through the engine
# each write cost a DataFrame, a schema analysis, a DELETE and an append or a MERGE (about 40 ms of
# CPU and five round trips per table and step); written with delta-rs, as ``ops.snapshot_state``
# is, about 10 ms and none. They are still checked: the rows are typed by the table's contract
# (a value of another type is refused while building them), ``ensure_table`` brings the table to
# its contract first, and delta-rs refuses a batch whose schema differs from the table's.


def _rows_table(table, rows: list[tuple]) -> pa.Table:
    """Rows in a table's contract order as Arrow, typed by the contract (timestamps are UTC)."""
    schema = table.contract.spark_schema()
    return pa.Table.from_pylist(
        [dict(zip(schema.names, row, strict=True)) for row in rows],
        schema=to_arrow_schema(schema, timezone="UTC"),
    )


def _replace_rows(spark: SparkSession, table, rows: list[tuple], predicate: str) -> None:
    """Replace the table's rows matching ``predicate`` (delta-rs SQL) with ``rows``, in one commit;
    with no rows, only a delete, which commits nothing when nothing matches (most runs' drift).
    Bounded in files and checkpointed like every other write (``delta.prepare_write``)."""
    loaded = delta.prepare_write(spark, table) or DeltaTable(table.path)
    if rows:
        write_deltalake(loaded, _rows_table(table, rows), mode="overwrite", predicate=predicate)
    else:
        loaded.delete(predicate)
    delta.checkpoint_if_due(table.path, loaded=loaded)  # delta-rs checkpoints only every 100 commits itself


def _upsert_rows(spark: SparkSession, table, rows: list[tuple]) -> None:
    """Upsert ``rows`` on the table's (text) keys: a replace of exactly those keys' rows.

    Not delta-rs's MERGE: it writes its files with Arrow string views, which pyarrow's dataset
    filters (``silver.snapshots``, the ledger lookups here) then fail to compare with strings. The
    table is compacted once it has more than ``merge_max_files`` files, as ``delta.merge`` would,
    so that the lookups of a long-lived lake read few files."""
    delta.ensure_table(spark, table)
    delta.bound_files_for_merge(table, get_settings().merge_max_files)  # partitioned tables too
    positions = [table.contract.field_names.index(k) for k in table.keys]
    predicate = " or ".join(
        "("
        + " and ".join(f"{k} = {_quoted(row[i])}" for k, i in zip(table.keys, positions, strict=True))
        + ")"
        for row in rows
    )
    _replace_rows(spark, table, rows, predicate)


def _these_files_sql(files: list[StagedFile]) -> str:
    """``_these_files`` as a delta-rs (DataFusion) predicate: strings quoted by doubling quotes."""

    def listed(column: str, values: list[str]) -> str:
        return f"{column} in ({', '.join(_quoted(v) for v in values)})"

    paths = listed("path", [s.file.relative_path for s in files])
    return f"{paths} and {listed('file_hash', [s.file_hash for s in files])}"


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _frame(spark: SparkSession, table, rows: list[tuple]) -> DataFrame:
    """Rows in a table's contract order as a DataFrame with the contract's exact schema."""
    return spark.createDataFrame(rows, table.contract.spark_schema())


def ingest_step(context, source: str) -> dict:
    """Pipeline step: ingest one source's delivery for the run's landing date."""
    (report,) = ingest([source], context.landing_date, context.lake)
    if not report.declared:
        return {"source": source, "declared": False, "files_ignored": report.files_ignored}
    if report.unbalanced_files:
        raise LandingError(f"reconciliation failed for {', '.join(report.unbalanced_files)}")
    return {
        "source": source,
        "files_new": report.files_new,
        "files_skipped": report.files_skipped,
        "files_duplicate": report.files_duplicate,
        "files_refused": report.files_quarantined,
        "records": report.records,
        "bronze_rows": report.bronze_rows,
        "quarantined_rows": report.quarantined_rows,
        "unchanged_rows": report.unchanged_rows,
    }
