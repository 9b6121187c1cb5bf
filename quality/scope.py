"""What a suite checks of a Delta table: the rows written since the version it last checked in a
passing gate, read from the data files Delta's log added since then.

Without deletion vectors a row is never changed inside a file: a MERGE or a DELETE that touches a
row rewrites its whole file under a new name. So the rows in files added after version ``v`` are
exactly the rows written after ``v``, new ones and old ones rewritten in place (silver's
re-attribution keeps an event's ``_batch_id`` but not its file), and a row-level rule that held
for every row at ``v`` holds for the whole table now if it holds for those rows. The version each
suite checked is recorded per table in ``ops.gate_scopes`` (through delta-rs, no Spark call);
a suite builds only on a version it checked in a passing gate where every one of its checks held,
so a failed gate's rows, and a warning's, are checked again by the next run.

The whole table is checked when there is nothing to build on: the first gate, a recreated table
(a rebuild: its Delta id changed), a recorded version no longer in the log, or a suite whose checks
changed (``rules_digest``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache, reduce
from pathlib import Path
from typing import TYPE_CHECKING

from deltalake import DeltaTable

from omnilake import delta
from omnilake.contracts import contract
from omnilake.settings import get_settings
from quality.expectations import declared

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from omnilake.delta import DataFile
    from omnilake.lake import Lake, Table
    from quality.checks import Suite
    from quality.warehouse_scope import GroupScope

log = logging.getLogger(__name__)

SCOPES_TABLE = "ops.gate_scopes"
# Bump when what a suite's data function means changes in a way its checks' digest cannot see.
SCOPE_RULES_VERSION = 1
# A table with at least this share of its rows written since the last check is checked whole:
# one scan of it is cheaper than reading the files apart and joining keys back, same verdict.
WHOLE_TABLE_SHARE = 0.5


@dataclass(frozen=True)
class Scope:
    """The part of ``table`` a suite checks: every row (``since`` None) or the rows in ``added``."""

    table: Table
    table_id: str
    version: int
    since: int | None = None
    added: tuple[DataFile, ...] = ()
    removed: tuple[DataFile, ...] = ()

    @property
    def whole(self) -> bool:
        return self.since is None

    @property
    def qualified_name(self) -> str:
        return self.table.qualified_name

    def widened(self) -> Scope:
        """The same table and version, every row."""
        return replace(self, since=None, added=(), removed=())

    def describe(self) -> str:
        if self.whole:
            return f"every row of {self.table} at version {self.version}"
        return f"rows of {self.table} written since version {self.since} (version {self.version})"

    def as_dict(self) -> dict:
        return {
            "table": self.table.qualified_name,
            "version": self.version,
            "since_version": self.since,
            "files": None if self.whole else len(self.added),
            "rows": None if self.whole else sum(f.num_records or 0 for f in self.added),
        }


@dataclass
class Scoped:
    """A suite's dataset limited to its scopes. ``rows`` None: nothing in scope, no query needed.
    ``keys_from`` is the whole table, for uniqueness of the rows' keys against every row."""

    rows: DataFrame | None
    scopes: tuple[Scope, ...]
    keys_from: DataFrame | None = None

    @property
    def unit(self) -> str:
        """What a row of the dataset is, with its scope: ``rows written since version 4``."""
        first = self.scopes[0] if self.scopes else None
        return "rows" if first is None or first.whole else f"rows written since version {first.since}"

    def describe(self) -> str:
        return "; ".join(s.describe() for s in self.scopes)


# Checks whose verdict over a table is the conjunction of their verdicts over its rows.
ROW_LEVEL = (
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_unique",  # judged against every row's key (quality.spark_backend)
    "expect_compound_columns_to_be_unique",
)


def row_level(suite: Suite) -> bool:
    """Whether the suite's verdict on a table follows from its verdicts on the table's rows, so
    that new rows can be checked alone: row-level types only, and none with ``mostly`` (a share of
    the rows, which the new rows alone do not give)."""
    for check in suite.checks:
        kind, kwargs = declared(check.expectation)
        if kind not in ROW_LEVEL or (kwargs.get("mostly") or 1.0) < 1.0:
            return False
    return True


def rules_digest(suite: Suite) -> str:
    """A digest of what the suite checks: its name and every check's name, severity and arguments."""
    checks = [(c.name, c.severity, *declared(c.expectation)) for c in suite.checks]
    text = json.dumps([SCOPE_RULES_VERSION, suite.name, checks], sort_keys=True, default=str)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


@dataclass
class ScopeBook:
    """The versions a layer's suites last checked in passing gates, and this run's scopes."""

    lake: Lake
    layer: str
    _passed: dict[tuple[str, str], dict] | None = None
    used: dict[tuple[str, str], tuple[Scope, str]] = field(default_factory=dict)
    _snapshots: dict[str, delta.TableSnapshot | None] = field(default_factory=dict)
    _changes: dict[tuple[str, int], delta.FileChanges | None] = field(default_factory=dict)
    # (warehouse relation, column) -> per-group digests (quality.warehouse_scope), read once a gate
    group_digests: dict[tuple[str, str], dict] = field(default_factory=dict)
    # (table path, columns) -> the files' value bounds (``rows_near``), read once a gate
    ranges: dict[tuple[str, tuple[str, ...]], dict | None] = field(default_factory=dict)

    def _last_passed(self) -> dict[tuple[str, str], dict]:
        if self._passed is None:
            self._passed = {}
            table = self.lake.table(SCOPES_TABLE)
            if delta.exists(table):
                rows = (
                    DeltaTable(table.path)
                    .to_pyarrow_table(
                        filters=[("layer", "=", self.layer), ("held", "=", True), ("gate_passed", "=", True)]
                    )
                    .to_pylist()
                )
                for row in sorted(rows, key=lambda r: r["checked_at"]):
                    self._passed[(row["suite"], row["table_name"])] = row
        return self._passed

    def last_passed(self, suite: str, table_name: str) -> dict | None:
        """The scope ``suite`` last checked of ``table_name`` in a passing gate where it held."""
        return self._last_passed().get((suite, table_name))

    def _snapshot(self, table: Table) -> delta.TableSnapshot | None:
        """The table's current version, read from its log once per gate (suites share tables)."""
        name = table.qualified_name
        if name not in self._snapshots:
            self._snapshots[name] = delta.snapshot(table)
        return self._snapshots[name]

    def scope(self, suite: Suite, table: Table) -> Scope | None:
        """What ``suite`` must check of ``table`` now (None: the table does not exist)."""
        current = self._snapshot(table)
        if current is None:
            return None
        whole = Scope(table, current.table_id, current.version)
        prior = self._last_passed().get((suite.name, table.qualified_name))
        if (
            not row_level(suite)
            or prior is None
            or prior["rules"] != rules_digest(suite)
            or prior["table_id"] != current.table_id
        ):
            return whole
        key = (table.qualified_name, prior["version"])
        if key not in self._changes:
            self._changes[key] = delta.files_changed_since(table, prior["version"], current.table_id, current)
        changes = self._changes[key]
        if changes is None:
            return whole
        rows = [f.num_records for f in current.files.values()]
        written = [f.num_records for f in changes.added]
        if None not in rows and None not in written and sum(written) >= WHOLE_TABLE_SHARE * sum(rows):
            # Most of the table was rewritten: one plain scan of it costs less than reading the
            # files one by one and joining keys back to the table, and its verdict is the same.
            return whole
        return Scope(table, changes.table_id, changes.version, changes.since, changes.added, changes.removed)

    def use(self, suite: Suite, scope: Scope | GroupScope) -> None:
        """Record that ``suite`` checked ``scope`` in this run (written by ``record``)."""
        self.used[(suite.name, scope.qualified_name)] = (scope, rules_digest(suite))

    def record(self, run_id: str, held: dict[str, bool], gate_passed: bool, checked_at: datetime) -> None:
        """Append this run's scopes: per suite and table, the version checked and whether it held."""
        if not self.used:
            return
        import pyarrow as pa
        from deltalake import write_deltalake

        rows = [
            {
                "run_id": run_id,
                "layer": self.layer,
                "suite": suite,
                "table_name": table_name,
                "table_id": scope.table_id,
                "since_version": scope.since,
                "version": scope.version,
                "rules": digest,
                "held": held.get(suite, False),
                "gate_passed": gate_passed,
                "checked_at": checked_at,
            }
            for (suite, table_name), (scope, digest) in sorted(self.used.items())
        ]
        table = self.lake.table(SCOPES_TABLE)
        write_deltalake(table.path, pa.Table.from_pylist(rows, _arrow_schema()), mode="append")
        # A file and a commit per gate: bounded and checkpointed, so reading it stays flat in history.
        delta.bound_files_for_merge(table, get_settings().merge_max_files)
        delta.checkpoint_if_due(table.path)
        self.used.clear()
        self.ranges.clear()
        self._passed = None


@cache
def _arrow_schema():
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "long": pa.int64(),
        "boolean": pa.bool_(),
        "timestamp": pa.timestamp("us"),
    }
    declared = contract("ops", "gate_scopes")
    return pa.schema([pa.field(f.name, types[f.type], nullable=not f.required) for f in declared.fields])


def read_files(spark: SparkSession, table: Table, files: tuple[DataFile, ...]) -> DataFrame | None:
    """The rows of some of ``table``'s data files, with the contract's columns (partition values
    come from the log, as Delta keeps them out of the files); None for no files."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    if not files:
        return None
    schema = table.contract.spark_schema()
    partitioned = set(table.partition_by)
    stored = T.StructType([f for f in schema.fields if f.name not in partitioned])
    by_partition: dict[tuple, list[str]] = defaultdict(list)
    for file in files:
        by_partition[file.partition_values].append(file.uri)
    frames = []
    for values, uris in sorted(by_partition.items(), key=lambda item: repr(item[0])):
        given = dict(values)
        frame = spark.read.schema(stored).parquet(*uris)
        frames.append(
            frame.select(
                *(
                    F.lit(given.get(f.name)).cast(f.dataType).alias(f.name)
                    if f.name in partitioned
                    else F.col(f.name)
                    for f in schema.fields
                )
            )
        )
    return reduce(lambda a, b: a.unionByName(b), frames)


def files_exist(files: tuple[DataFile, ...]) -> bool:
    """Whether every file is still there (a vacuum deletes removed files; the engine reads a path
    that is gone as no rows, so absence must be asked, never inferred from an empty read)."""
    from urllib.parse import unquote, urlsplit

    from omnilake.storage.filesystem import filesystem_for

    for file in files:
        parts = urlsplit(file.uri)
        if parts.scheme in ("", "file"):
            if not Path(unquote(parts.path)).is_file():
                return False
        elif filesystem_for(file.uri).stat(file.uri) is None:
            return False
    return True


# Narrowed to more than this share of a table's files, the whole table is read instead: one scan
# of it plans and runs faster than the same files read apart and unioned.
NARROWED_SHARE_MAX = 0.5


def rows_near(
    spark: SparkSession,
    table: Table,
    probe_table: Table,
    probe_files: tuple[DataFile, ...],
    columns: Mapping[str, str],
    cache: dict | None = None,
) -> DataFrame:
    """The rows of ``table`` that can agree on ``columns`` (its column -> ``probe_table``'s) with
    some row of ``probe_files``: those of its files whose value bounds overlap a probe file's on
    every column (``omnilake.pruning.ranges``). Every row when the logs do not narrow it enough.
    ``cache`` keeps the bounds read from a log for the next lookup in the same tables (a gate's,
    ``ScopeBook.ranges``: nothing writes them while it runs).

    The rows of the other files cannot hold such a value, so a lookup of the probe rows' values in
    these rows finds what it would find in the whole table."""
    from omnilake.pruning.ranges import file_ranges

    def ranges(of: Table, names):
        key = (of.path, tuple(sorted(names)))
        if cache is None:
            return file_ranges(of, names)
        if key not in cache:
            cache[key] = file_ranges(of, names)
        return cache[key]

    whole = spark.read.format("delta").load(table.path)
    files = ranges(table, columns.keys())
    probes_of = files if probe_table.path == table.path else ranges(probe_table, columns.values())
    if files is None or probes_of is None or not files:
        return whole
    probes = [probes_of.get(f.uri) for f in probe_files]
    if any(p is None for p in probes):  # not the files the log has now: nothing to go by
        return whole
    kept = tuple(f for f in files.values() if any(f.overlaps(p, columns) for p in probes))
    if table.partition_by:
        # read as partitions of the table (a literal filter the engine prunes by): one scan, and
        # a partition's other files come along, which only widens the lookup
        partitions = {f.partition_values for f in kept}
        if len(partitions) > NARROWED_SHARE_MAX * len({f.partition_values for f in files.values()}):
            return whole
        log.debug("%s: %d of its partitions can hold the values looked up", table, len(partitions))
        return whole.where(_in_partitions(partitions)) if partitions else whole.limit(0)
    if len(kept) > NARROWED_SHARE_MAX * len(files):
        return whole
    log.debug("%s: %d of %d files can hold the values looked up", table, len(kept), len(files))
    return read_files(spark, table, kept) if kept else whole.limit(0)


def _in_partitions(partitions: set[tuple[tuple[str, object], ...]]):
    """A filter selecting the rows of these partitions, by literals (``isin`` for one column)."""
    from pyspark.sql import functions as F

    columns = {c for values in partitions for c, _ in values}
    if len(columns) == 1:
        (column,) = columns
        values = sorted({v for ((_, v),) in partitions if v is not None})
        selected = F.col(column).isin(values) if values else F.lit(False)
        return selected | F.col(column).isNull() if any(v is None for ((_, v),) in partitions) else selected

    def matches(values: tuple[tuple[str, object], ...]):
        return reduce(
            lambda a, b: a & b,
            (F.col(c).isNull() if v is None else F.col(c) == F.lit(v) for c, v in values),
        )

    return reduce(lambda a, b: a | b, (matches(v) for v in sorted(partitions, key=repr)))


def scoped_rows(spark: SparkSession, scope: Scope) -> DataFrame | None:
    """The rows ``scope`` covers: the whole table, or those of its added files (None: none)."""
    if scope.whole:
        return spark.read.format("delta").load(scope.table.path)
    return read_files(spark, scope.table, scope.added)
