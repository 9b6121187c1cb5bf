"""Compaction where it pays: partitions (or unpartitioned tables) that gathered many small files.

A table partitioned by date keeps at least a file per partition, however often it is compacted; what
grows with history beyond that is the files within one partition: late rows appended to an old
date, a fact table appended to every run. Every read opens each file (and a Sail MERGE schedules a
task per file), so those are rewritten once a partition holds ``compact_min_files`` small files. A
partition with fewer is left alone: compacting costs a rewrite, and the next quality gate checks
the rewritten rows again as new ones (``quality.scope``).

The writes' own bound (``omnilake.delta.bound_files_for_merge``, at ``merge_max_files``) keeps merge
targets and small unpartitioned tables from growing between maintenance runs; this catches the rest.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

log = logging.getLogger(__name__)

PartitionValues = tuple[object, ...]


@dataclass(frozen=True)
class Compaction:
    """What one table's compaction did."""

    partitions: int = 0
    files_removed: int = 0
    files_added: int = 0


def due_partitions(
    files: pa.Table, partition_columns: list[str], min_files: int, target_bytes: int
) -> list[PartitionValues]:
    """The partitions (their values, in ``partition_columns`` order; ``()`` for an unpartitioned
    table) holding ``min_files`` or more files smaller than ``target_bytes``, from the log's add
    actions (``get_add_actions(flatten=True)``). A partition with a null value is left alone (a
    filter cannot name it)."""
    small = files.filter(pc.less(files.column("size_bytes"), target_bytes))
    columns = [small.column(f"partition.{c}").to_pylist() for c in partition_columns]
    counts = Counter(zip(*columns, strict=True)) if columns else Counter({(): small.num_rows})
    return sorted((values for values, n in counts.items() if n >= min_files and None not in values), key=repr)


def _text(value: object) -> str:
    """A partition value as delta-rs filters take it (the text Delta stores)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def compact(
    table: DeltaTable, min_files: int, target_bytes: int, unpartitioned_min_files: int | None = None
) -> Compaction:
    """Compact the table's due partitions (``due_partitions``) in one commit (one per partition
    when the table has several partition columns); nothing when none is due. ``table`` is left
    at the new version; the caller checkpoints (``retention.clean_log``)."""
    partition_columns = list(table.metadata().partition_columns)
    files = pa.table(table.get_add_actions(flatten=True))
    if not partition_columns and unpartitioned_min_files is not None:
        min_files = unpartitioned_min_files
    due = due_partitions(files, partition_columns, min_files, target_bytes)
    if not due:
        return Compaction()
    if not partition_columns:
        filters_list: list[list[tuple[str, str, object]] | None] = [None]
    elif len(partition_columns) == 1:
        filters_list = [[(partition_columns[0], "in", [_text(values[0]) for values in due])]]
    else:
        filters_list = [
            [(c, "=", _text(v)) for c, v in zip(partition_columns, values, strict=True)] for values in due
        ]
    removed = added = 0
    for filters in filters_list:
        metrics = table.optimize.compact(partition_filters=filters, target_size=target_bytes)
        removed += int(metrics.get("numFilesRemoved", 0))
        added += int(metrics.get("numFilesAdded", 0))
    log.info("compacted %s: %d partition(s), %d files -> %d", table.table_uri, len(due), removed, added)
    return Compaction(len(due), removed, added)
