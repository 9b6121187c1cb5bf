"""Delta I/O for every job: checked writes through the engine, maintenance through delta-rs.

Sail silently drops extra columns and casts mistyped ones on append, so every write checks the
DataFrame against the table's contract first and refuses what does not match, naming the column.
A contract that grew a column evolves the table explicitly (delta-rs ``add_columns``); a column is
never dropped. A contract that widened an id to text (``customer.id`` long -> string) rewrites the
table once with the new type, since Sail would otherwise cast appended text back to the old type and
turn ``"C-00042"`` into null; any other change of a column's type is refused.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable
from deltalake import Field as DeltaField
from pyspark.sql import functions as F
from pyspark.sql import types as T

from omnilake.contracts import same_type
from omnilake.errors import SchemaMismatchError
from omnilake.settings import get_settings
from omnilake.storage.filesystem import filesystem_for

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from omnilake.lake import Table

log = logging.getLogger(__name__)


# --- schema enforcement --------------------------------------------------------------------------


def schema_problems(actual: T.StructType, declared: T.StructType) -> list[str]:
    """What keeps ``actual`` from being written to a table declared as ``declared`` (empty if fine).

    Columns are matched by name; order does not matter (Delta keeps partition columns last).
    """
    problems = []
    declared_by_name = {f.name: f for f in declared.fields}
    actual_by_name = {f.name: f for f in actual.fields}
    for name in actual_by_name.keys() - declared_by_name.keys():
        problems.append(
            f"extra column {name!r} ({actual_by_name[name].dataType.simpleString()}) is not in the contract"
        )
    for name in declared_by_name.keys() - actual_by_name.keys():
        problems.append(f"missing column {name!r} ({declared_by_name[name].dataType.simpleString()})")
    for name in declared_by_name.keys() & actual_by_name.keys():
        want, got = declared_by_name[name].dataType, actual_by_name[name].dataType
        if not same_type(got, want):
            problems.append(
                f"column {name!r} is {got.simpleString()}, the contract says {want.simpleString()}"
            )
    return sorted(problems)


def check_schema(df: DataFrame, table: Table) -> DataFrame:
    """The DataFrame with its columns in contract order, or SchemaMismatchError naming each problem."""
    declared = table.contract.spark_schema()
    problems = schema_problems(df.schema, declared)
    if problems:
        raise SchemaMismatchError(f"refusing to write {table}: " + "; ".join(problems))
    return df.select(*[F.col(f"`{f.name}`") for f in declared.fields])


# --- table lifecycle -----------------------------------------------------------------------------


def exists(table: Table) -> bool:
    return DeltaTable.is_deltatable(table.path)


def ensure_table(spark: SparkSession, table: Table) -> DeltaTable | None:
    """Create the table from its contract if missing (None); add columns the contract gained since
    (the table as loaded after that)."""
    declared = table.contract.spark_schema()
    if not exists(table):
        writer = spark.createDataFrame([], declared).write.format("delta").mode("append")
        if table.partition_by:
            writer = writer.partitionBy(*table.partition_by)
        writer.save(table.path)
        log.info("created %s at %s", table, table.path)
        return None
    delta = DeltaTable(table.path)
    on_disk = {f.name for f in delta.schema().fields}
    unknown = on_disk - set(table.contract.field_names)
    if unknown:
        raise SchemaMismatchError(
            f"{table} on disk has column(s) {sorted(unknown)} that its contract lacks; "
            f"add them to {table.contract.path} (columns are never dropped silently)"
        )
    if _retype_to_text(spark, table, delta, declared) or _repartition(spark, table, delta):
        delta = DeltaTable(table.path)
    added = [f for f in declared.fields if f.name not in on_disk]
    if added:
        delta.alter.add_columns([DeltaField.from_json(json.dumps(f.jsonValue())) for f in added])
        log.info("evolved %s: added %s", table, [f.name for f in added])
        delta = DeltaTable(table.path)
    return delta


def prepare_write(spark: SparkSession, table: Table) -> DeltaTable | None:
    """``ensure_table``, then bound the data files of an unpartitioned table (``_bound_files``);
    every write of this module starts here (never a read: reading must not commit).

    Returns the table as now loaded (None when it was just created): a delta-rs write given it,
    and ``checkpoint_if_due`` after, load the table no more (each load replays its log)."""
    delta = ensure_table(spark, table)
    compacted = (
        delta is not None
        and not table.partition_by
        and _bound_files(table, delta, get_settings().merge_max_files) is not None
    )
    if compacted:
        delta = DeltaTable(table.path)
    return delta


def widens_to_text(on_disk: T.DataType, declared: T.DataType) -> bool:
    """``declared`` is ``on_disk`` with some numbers or booleans turned into strings (nested too):
    every value keeps its meaning as text, so the table can be rewritten without loss."""
    if isinstance(on_disk, T.StructType) and isinstance(declared, T.StructType):
        return [f.name for f in on_disk.fields] == [f.name for f in declared.fields] and all(
            same_type(a.dataType, b.dataType) or widens_to_text(a.dataType, b.dataType)
            for a, b in zip(on_disk.fields, declared.fields, strict=True)
        )
    if isinstance(on_disk, T.ArrayType) and isinstance(declared, T.ArrayType):
        return widens_to_text(on_disk.elementType, declared.elementType)
    return isinstance(declared, T.StringType) and isinstance(
        on_disk, T.ByteType | T.ShortType | T.IntegerType | T.LongType | T.BooleanType
    )


def _retype_to_text(spark: SparkSession, table: Table, delta: DeltaTable, declared: T.StructType) -> bool:
    """Rewrite ``table`` once when its contract widened columns to text (True when it did); refuse
    other type changes."""
    on_disk = {f.name: f.dataType for f in T.StructType.fromJson(json.loads(delta.schema().to_json())).fields}
    changed = [f for f in declared.fields if f.name in on_disk and not same_type(on_disk[f.name], f.dataType)]
    if not changed:
        return False
    refused = [f for f in changed if not widens_to_text(on_disk[f.name], f.dataType)]
    if refused:
        raise SchemaMismatchError(
            f"{table} on disk has "
            + "; ".join(
                f"column {f.name!r} as {on_disk[f.name].simpleString()}, the contract says {f.dataType.simpleString()}"
                for f in refused
            )
            + f" ({table.contract.path}); only widening numbers to text is migrated automatically"
        )
    current = spark.read.format("delta").load(table.path)
    widened = {f.name: f.dataType for f in changed}
    retyped = current.select(
        *[
            F.col(f"`{c}`").cast(widened[c]).alias(c) if c in widened else F.col(f"`{c}`")
            for c in current.columns
        ]
    )
    writer = retyped.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
    if table.partition_by:
        writer = writer.partitionBy(*table.partition_by)
    writer.save(table.path)
    log.warning("migrated %s: %s rewritten as text", table, [f.name for f in changed])
    return True


def _repartition(spark: SparkSession, table: Table, delta: DeltaTable) -> bool:
    """Rewrite ``table`` once when its contract's partition columns are not those on disk (True when
    it did): a table that became partitioned (``silver.orders`` by ``business_date``, so that a
    change rewrites the days of its orders, not the whole table) is migrated on its next write."""
    on_disk = tuple(delta.metadata().partition_columns)
    if on_disk == table.partition_by:
        return False
    current = spark.read.format("delta").load(table.path)
    writer = current.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
    if table.partition_by:
        writer = writer.partitionBy(*table.partition_by)
    writer.save(table.path)
    log.warning("migrated %s: partitioned by %s (was %s)", table, list(table.partition_by), list(on_disk))
    return True


# --- writes --------------------------------------------------------------------------------------


def append(df: DataFrame, table: Table) -> None:
    checked = check_schema(df, table)
    prepare_write(checked.sparkSession, table)
    checked.write.format("delta").mode("append").save(table.path)


def overwrite(df: DataFrame, table: Table, replace_where: str | None = None) -> None:
    """Replace the whole table, or only the rows matching ``replace_where``.

    With a predicate this is a DELETE then an append (two commits), not ``replaceWhere``: Sail
    0.7.2 fails a ``replaceWhere`` on tables with nested columns (its union of kept and new rows
    compares struct field metadata). Every caller passes a predicate that selects exactly the rows
    it rewrites, so a crash between the two commits is repaired by running the same write again.
    """
    checked = check_schema(df, table)
    spark = checked.sparkSession
    if replace_where:
        prepare_write(spark, table)
        delete_where(spark, table, replace_where)
        checked.write.format("delta").mode("append").save(table.path)
        return
    ensure_table(spark, table)
    writer = checked.write.format("delta").mode("overwrite")
    if table.partition_by:
        writer = writer.partitionBy(*table.partition_by)
    writer.save(table.path)


def delete_where(spark: SparkSession, table: Table, predicate: str) -> None:
    """SQL DELETE (Sail and Spark + Delta both run it). ``spark.sql`` runs a command as it is
    sent, so nothing is collected: that would only be one more round trip."""
    if exists(table):
        spark.sql(f"delete from delta.`{table.path}` where {predicate}")


def sql_using(spark: SparkSession, head: str, source: DataFrame, tail: str) -> None:
    """Run the command ``head <source> tail``, ``source`` standing where a table name would.

    One engine call: Spark Connect sends the DataFrame's plan with the SQL text (a relation the
    statement references by name), where a temporary view would cost two more, one to create it and
    one to drop it. ``head`` and ``tail`` are plain SQL; braces in them are kept as they are.
    """

    def escaped(text: str) -> str:
        return text.replace("{", "{{").replace("}", "}}")

    spark.sql(escaped(head) + "{source}" + escaped(tail), source=source)


def sql_literal(value: object) -> str:
    """A value as a Spark SQL literal, for predicates built from our own metadata."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def in_list(column: str, values: list[str]) -> str:
    """``column in ('a', 'b')`` as a SQL predicate, for deletes and replaces keyed by our own ids."""
    return f"{column} in ({', '.join(sql_literal(v) for v in values)})"


@dataclass(frozen=True)
class MergeResult:
    rows_in: int
    inserted: int
    updated: int


def merge(
    df: DataFrame,
    table: Table,
    on: tuple[str, ...] | None = None,
    *,
    update_when: str | None = None,
    update: Literal["all", "none"] = "all",
    target_where: str | None = None,
    target_partitions: Mapping[str, Sequence[object]] | None = None,
) -> MergeResult:
    """Upsert ``df`` into ``table`` on its keys with SQL MERGE (works on Sail and on Spark + Delta).

    ``update_when`` is an extra condition over ``t`` (target) and ``s`` (source), e.g.
    ``s.updated_at > t.updated_at`` so that a late, older change never overwrites a newer one.
    ``target_where`` limits the target rows the merge may match to a predicate over ``t`` alone: a
    partition predicate with literals (``t.`d` in (date'2026-01-01')``) lets the engine read and
    rewrite only those partitions instead of the whole table. The caller vouches that no source
    row's key is held by a target row outside it (such a row would be inserted a second time).
    ``target_partitions`` (partition column -> values) is that predicate given as partition values
    (``partitions_predicate``); the compaction before the merge then leaves those partitions alone,
    since the merge rewrites their files anyway.
    """
    keys = on or table.keys
    if not keys:
        raise SchemaMismatchError(f"{table} has no keys to merge on; declare 'keys' in its contract")
    checked = check_schema(df, table)
    spark = checked.sparkSession
    prepare_write(spark, table)  # bounds an unpartitioned table's files
    if target_partitions is not None:
        if target_where:
            raise ValueError("pass target_where or target_partitions, not both")
        target_where = partitions_predicate(target_partitions)
    if table.partition_by:
        bound_files_for_merge(table, get_settings().merge_max_files, leave=target_partitions)
    before = _version(table)
    condition = " and ".join(f"t.`{k}` = s.`{k}`" for k in keys)
    if target_where:
        condition += f" and ({target_where})"
    matched = ""
    if update == "all":
        guard = f" and ({update_when})" if update_when else ""
        matched = f"when matched{guard} then update set * "
    sql_using(
        spark,
        f"merge into delta.`{table.path}` as t using ",
        checked,
        f" as s on {condition} {matched}when not matched then insert *",
    )
    return _merge_metrics(table, before)


def partitions_predicate(partitions: Mapping[str, Sequence[object]], alias: str = "t") -> str:
    """``t.`c` in (...) and ...`` over partition values (literals, so that the engine prunes by them);
    ``false`` when some column has no value (nothing is selected)."""
    if any(not values for values in partitions.values()):
        return "false"
    return " and ".join(
        f"{alias}.`{column}` in ({', '.join(_partition_literal(v) for v in values)})"
        for column, values in partitions.items()
    )


def _partition_literal(value: object) -> str:
    if isinstance(value, date):
        return f"date'{value.isoformat()}'"
    return sql_literal(value)


def bound_files_for_merge(
    table: Table, max_files: int, *, leave: Mapping[str, Sequence[object]] | None = None
) -> int | None:
    """Compact ``table`` if it has more than ``max_files`` data files; the new file count, or None
    if it was left alone. ``leave`` (partition column -> values) names partitions not to compact:
    those the coming write rewrites anyway.

    Sail plans a MERGE with one scan task per target file and schedules them all at once with the
    source's tasks (docs/sail_issues/merge_task_region.py). On a cluster that must fit in the
    workers' task slots, and a table every run merges a few rows into (the silver progress log, a
    daily fact) gains a file per run, so without this a long-lived lake stops merging.
    """
    filters = [
        (column, "not in", [str(v) for v in values]) for column, values in (leave or {}).items() if values
    ]
    loaded = DeltaTable(table.path)
    if table.partition_by and not _compaction_due(table, loaded, max_files, leave or {}):
        return None
    return _bound_files(table, loaded, max_files, filters or None)


def _compaction_due(
    table: Table, loaded: DeltaTable, max_files: int, leave: Mapping[str, Sequence[object]]
) -> bool:
    """Whether compacting a partitioned table can bring its files toward ``max_files``.

    Compaction merges files within a partition, so a partition keeps at least one: a table with more
    partitions than ``max_files`` (one a landing date) stays above the bound however often it is
    compacted, and compacting it on every write rewrote the one partition that had gained a file.
    Due when the files compaction would remove (those beyond one per partition, outside ``leave``)
    are as many as the files over the bound, or ``max_files`` of them: with no more partitions than
    ``max_files`` that is whenever the table is over the bound, as for an unpartitioned table."""
    files = pa.table(loaded.get_add_actions(flatten=True))
    if files.num_rows <= max_files:
        return False
    columns = [f"partition.{c}" for c in table.partition_by]
    keys = [tuple(row.values()) for row in files.select(columns).to_pylist()]
    left = {c: {str(v) for v in values} for c, values in leave.items() if values}
    outside = [
        k for k in keys if not any(str(k[table.partition_by.index(c)]) in vs for c, vs in left.items())
    ]
    removable = len(outside) - len(set(outside))
    return removable >= min(files.num_rows - max_files, max_files)


def _bound_files(table: Table, delta: DeltaTable, max_files: int, partition_filters=None) -> int | None:
    """Compact when ``delta`` (``table`` as loaded) has more than ``max_files`` data files.

    Every write makes at least one file, and every read, delete and merge opens each live file: an
    unpartitioned table written a few times a day (the reconciliation, the drift log, the silver
    progress) would cost more every day to read and to write without this bound, which every write
    through this module applies before it writes (a merge into a partitioned table too)."""
    files = len(delta.file_uris())
    if files <= max_files:
        return None
    delta.optimize.compact(partition_filters=partition_filters)
    checkpoint_if_due(table.path)
    after = len(DeltaTable(table.path).file_uris())
    log.info("compacted %s: %d files -> %d", table, files, after)
    return after


CHECKPOINT_INTERVAL = 10


def last_checkpoint_version(path: str) -> int | None:
    """The version of the table's latest checkpoint (``_delta_log/_last_checkpoint``), None if none."""
    fs = filesystem_for(path)
    pointer = fs.join(path, "_delta_log", "_last_checkpoint")
    if fs.stat(pointer) is None:
        return None
    try:
        return int(json.loads(fs.read_bytes(pointer))["version"])
    except (ValueError, KeyError, TypeError):
        return None  # a damaged pointer: readers list the log instead, and the next checkpoint fixes it


def checkpoint_if_due(
    path: str, interval: int = CHECKPOINT_INTERVAL, *, loaded: DeltaTable | None = None
) -> int | None:
    """Write a checkpoint when ``interval`` commits or more followed the last one; its version, or None.

    A reader (Sail, delta-rs) starts from the latest checkpoint and replays every commit after it.
    Sail checkpoints its own commits every 10 (``delta.checkpointInterval``); delta-rs only every 100,
    so a table delta-rs writes (``ops.snapshot_state``, the compactions of this module) would make
    every later load replay a growing log. Called after each delta-rs write; ``loaded`` is the
    table as that write left it (a ``DeltaTable`` a delta-rs write or delete went through), if the
    caller holds it."""
    delta = loaded if loaded is not None else DeltaTable(path)
    version = delta.version()
    last = last_checkpoint_version(path)
    if version - (last if last is not None else -1) < interval:
        return None
    delta.create_checkpoint()
    log.debug("checkpoint of %s at version %d", path, version)
    return version


def _version(table: Table) -> int:
    return DeltaTable(table.path).version()


def _merge_metrics(table: Table, before: int) -> MergeResult:
    delta = DeltaTable(table.path)
    if delta.version() == before:
        return MergeResult(0, 0, 0)
    metrics = delta.history(1)[0].get("operationMetrics", {})
    inserted = int(metrics.get("numTargetRowsInserted", 0))
    updated = int(metrics.get("numTargetRowsUpdated", 0))
    return MergeResult(int(metrics.get("numSourceRows", inserted + updated)), inserted, updated)


def read(spark: SparkSession, table: Table) -> DataFrame:
    ensure_table(spark, table)
    return spark.read.format("delta").load(table.path)


def partition_max(spark: SparkSession, table: Table, column: str) -> object | None:
    """The greatest value of the partition column ``column`` over the table's rows (None if it has
    none), from the log's file list: no data file is opened, so the cost follows the number of
    files, not of rows. A file without a row count in its stats is counted by Spark instead."""
    if column not in table.partition_by:
        raise ValueError(f"{table} is not partitioned by {column!r}")
    files = pa.table(DeltaTable(table.path).get_add_actions(flatten=True))
    if files.num_rows == 0:
        return None
    counts = files.column("num_records")
    if counts.null_count:
        return read(spark, table).agg(F.max(column)).first()[0]
    holding = files.filter(pc.greater(counts, 0)).column(f"partition.{column}")
    return pc.max(holding).as_py() if len(holding) else None


# --- maintenance and history (delta-rs: Sail has no VACUUM / OPTIMIZE / DESCRIBE HISTORY) --------
# One-off helpers; the lake's routine maintenance (retention windows, thresholds) is
# ``omnilake.maintenance``.


def version(table: Table) -> int | None:
    return DeltaTable(table.path).version() if exists(table) else None


def history(table: Table, limit: int | None = None) -> list[dict]:
    return DeltaTable(table.path).history(limit)


# Commits that change no row: delta-rs compaction (``dataChange`` false) and its vacuum's markers.
LAYOUT_OPERATIONS = frozenset({"OPTIMIZE", "VACUUM START", "VACUUM END"})


def data_version(path: str, since: int) -> int:
    """The latest version of the table at ``path`` whose commit changed rows, looking back no
    further than ``since``: ``since`` when every later commit only rearranged files (maintenance's
    compaction), else the current version. For a reader that recorded ``since`` and must know
    whether the rows it saw are still the table's."""
    table = DeltaTable(path)
    current = table.version()
    if current <= since:
        return current
    later = table.history(current - since)
    if len(later) == current - since and all(c.get("operation") in LAYOUT_OPERATIONS for c in later):
        return since
    return current


def compact(table: Table, target_size: int = 128 * 2**20) -> dict:
    """Rewrite small files into larger ones; returns delta-rs metrics."""
    metrics = DeltaTable(table.path).optimize.compact(target_size=target_size)
    checkpoint_if_due(table.path)
    return metrics


def vacuum(table: Table, retention_hours: int = 168, *, dry_run: bool = False) -> list[str]:
    """Delete files no version younger than ``retention_hours`` needs (0 erases time travel)."""
    return DeltaTable(table.path).vacuum(
        retention_hours=retention_hours, dry_run=dry_run, enforce_retention_duration=False
    )


# --- what changed between versions (delta-rs: the log's add actions) ------------------------------


@dataclass(frozen=True)
class DataFile:
    """One live data file of a table: where it is, its partition values and its row count."""

    uri: str
    partition_values: tuple[tuple[str, object], ...]
    num_records: int | None


@dataclass(frozen=True)
class FileChanges:
    """The data files of ``table`` at ``version`` that were not live at ``since``, and the reverse.

    Without deletion vectors a row is never changed inside a file: every row written (new or
    rewritten) since ``since`` is in ``added``, every row deleted or rewritten was in ``removed``.
    """

    table_id: str
    version: int
    since: int
    added: tuple[DataFile, ...]
    removed: tuple[DataFile, ...]


def _live_files(delta: DeltaTable) -> dict[str, DataFile]:

    import pyarrow as pa

    actions = pa.table(delta.get_add_actions(flatten=True))
    partitions = [n for n in actions.column_names if n.startswith("partition.")]
    root = delta.table_uri.rstrip("/")
    files = {}
    for row in actions.select(["path", "num_records", *partitions]).to_pylist():
        relative = row["path"]
        uri = relative if urlsplit(relative).scheme else f"{root}/{unquote(relative)}"
        values = tuple((n.removeprefix("partition."), row[n]) for n in partitions)
        files[relative] = DataFile(uri, values, row["num_records"])
    return files


@dataclass(frozen=True)
class TableSnapshot:
    """A version of a table as its log has it: the table's Delta id (new when it is recreated), the
    version, and its live data files by their path in the log."""

    table_id: str
    version: int
    files: dict[str, DataFile]


def snapshot(table: Table, version: int | None = None) -> TableSnapshot | None:
    """The table at ``version`` (default: the current one); None if it does not exist or that
    version is not in its log any more (or never was)."""
    if not exists(table):
        return None
    try:
        delta = DeltaTable(table.path, version=version)
    except Exception:  # delta-rs raises several kinds for a version no longer in the log
        log.info("%s: version %s is not in the log", table, version)
        return None
    return TableSnapshot(delta.metadata().id, delta.version(), _live_files(delta))


def files_changed_since(
    table: Table, since: int, expected_id: str | None = None, current: TableSnapshot | None = None
) -> FileChanges | None:
    """What the log says changed after version ``since`` (up to ``current``, default the table now);
    None when that cannot be known: the table does not exist, it was recreated (its id is not
    ``expected_id``), or ``since`` is not in its log (cleaned up, or newer than the table)."""
    current = current or snapshot(table)
    if current is None or (expected_id is not None and current.table_id != expected_id):
        return None
    if since > current.version:
        return None
    if since == current.version:
        return FileChanges(current.table_id, current.version, since, (), ())
    then = snapshot(table, since)
    if then is None or then.table_id != current.table_id:
        return None
    moved = _rows_only_moved(table.path, then, current)
    if moved is not None:
        kept, removed = moved
        return FileChanges(
            table_id=current.table_id,
            version=current.version,
            since=since,
            added=tuple(f for path, f in current.files.items() if unquote(path) not in kept),
            removed=removed,
        )
    return FileChanges(
        table_id=current.table_id,
        version=current.version,
        since=since,
        added=tuple(f for path, f in current.files.items() if path not in then.files),
        removed=tuple(f for path, f in then.files.items() if path not in current.files),
    )


def _rows_only_moved(
    path: str, then: TableSnapshot, current: TableSnapshot
) -> tuple[set[str], tuple[DataFile, ...]] | None:
    """The files whose rows were all live at ``then`` (by their unquoted log path), and those of
    them that a commit changing rows removed since, from the commits after ``then``; None when a
    commit is not in the log any more (cleaned up past a checkpoint): the plain diff of the two
    versions then stands.

    A compaction (every action ``dataChange`` false) only moves rows between files: when every
    file it removed held rows live at ``then`` (live then, or written by such a compaction) and
    its new files hold as many rows, those files hold only rows live at ``then`` too. A compaction
    that took in a file written since moves that file's rows into its new files, which then count
    as written (the check reads them again), as does any other commit's new file."""
    fs = filesystem_for(path)
    kept: dict[str, DataFile] = {unquote(p): f for p, f in then.files.items()}
    gone: dict[str, DataFile] = {}
    root = path.rstrip("/")
    for version in range(then.version + 1, current.version + 1):
        commit = fs.join(path, "_delta_log", f"{version:020d}.json")
        if fs.stat(commit) is None:
            return None
        try:
            actions = [
                json.loads(line) for line in fs.read_bytes(commit).decode("utf-8").splitlines() if line
            ]
        except (ValueError, UnicodeDecodeError):
            return None
        adds = [a["add"] for a in actions if "add" in a]
        removes = [a["remove"] for a in actions if "remove" in a]
        for group_adds, group_removes in _by_partition(adds, removes):
            removed_paths = [unquote(r["path"]) for r in group_removes]
            if _moves_rows_only(group_adds, group_removes, removed_paths, kept):
                for removed in removed_paths:
                    del kept[removed]
                for add in group_adds:
                    kept[unquote(add["path"])] = _logged_file(root, add)
                continue
            for removed in removed_paths:
                if removed in kept:
                    gone[removed] = kept.pop(removed)
    return set(kept), tuple(gone.values())


def _by_partition(adds: list[dict], removes: list[dict]) -> list[tuple[list[dict], list[dict]]]:
    """A commit's actions by partition, when none of them changes rows: a compaction never moves a
    row to another partition (its values are the row's), so each partition's rewrite is judged
    alone. A commit that changes rows is one group."""
    actions = [*adds, *removes]
    if any(a.get("dataChange", True) for a in actions):
        return [(adds, removes)]
    groups: dict[str, tuple[list[dict], list[dict]]] = {}
    for kind, listed in ((0, adds), (1, removes)):
        for action in listed:
            key = json.dumps(action.get("partitionValues") or {}, sort_keys=True)
            groups.setdefault(key, ([], []))[kind].append(action)
    return list(groups.values())


def _moves_rows_only(adds: list[dict], removes: list[dict], removed_paths: list[str], kept: dict) -> bool:
    """Whether a commit (one partition of it) rewrote only files of ``kept`` into as many rows."""
    if not adds or not removes:
        return False
    if any(a.get("dataChange", True) or a.get("deletionVector") for a in adds):
        return False
    if any(r.get("dataChange", True) for r in removes) or any(p not in kept for p in removed_paths):
        return False
    before = [kept[p].num_records for p in removed_paths]
    after = [_logged_file("", a).num_records for a in adds]
    return None not in before and None not in after and sum(before) == sum(after)


def _logged_file(root: str, add: dict) -> DataFile:
    """A data file as an ``add`` action of the log names it (partition values as the log's strings)."""
    relative = add["path"]
    uri = relative if urlsplit(relative).scheme else f"{root}/{unquote(relative)}"
    try:
        records = json.loads(add.get("stats") or "{}").get("numRecords")
    except ValueError:
        records = None
    values = tuple(sorted((add.get("partitionValues") or {}).items()))
    return DataFile(uri, values, records)
