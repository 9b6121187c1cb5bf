"""The vocabulary of the gates: a check, a suite of checks over one dataset, and a gate's context.

A **check** is one Great Expectations expectation with a stable name and a severity:

- ``fail``: the gate raises ``QualityGateError`` and nothing downstream runs;
- ``warn``: the breach is recorded (``ops.quality_results``, Data Docs) and the run goes on.

A **suite** is the checks over one dataset, and where that dataset lives: a Spark DataFrame (bronze,
silver: validated over Spark Connect where the data is) or a DuckDB query (gold: the warehouse). A
dataset is either a table as its contract declares it, or a small frame a business rule derives from
tables with aggregates (one row per file, per source, per order…), so that every rule, however
cross-table, ends as plain expectations over rows. Adding a rule is declaring such a suite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import duckdb

from omnilake import delta
from quality.config import QualityConfig

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from omnilake.lake import Lake, Table
    from quality.expectations import Expectation
    from quality.scope import Scope, ScopeBook

Severity = Literal["fail", "warn"]
SEVERITIES: tuple[Severity, ...] = ("fail", "warn")
Engine = Literal["spark", "duckdb"]


@dataclass(frozen=True)
class Check:
    """One expectation, named so that a result row and an error message say which rule broke.

    ``expectation`` is one of ``quality.expectations`` (GE's expectation types, declared without
    importing GE) or a GE expectation object; GE's severity levels stand for ours in its results."""

    name: str
    expectation: Expectation
    severity: Severity = "fail"
    notes: str = ""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(
                f"check {self.name!r}: severity must be one of {SEVERITIES}, not {self.severity!r}"
            )


def fail(name: str, expectation: Expectation, notes: str = "") -> Check:
    return Check(name, expectation, "fail", notes)


def warn(name: str, expectation: Expectation, notes: str = "") -> Check:
    return Check(name, expectation, "warn", notes)


@dataclass
class GateContext:
    """What a suite's data function may use: the lake, the run, the processed date and the thresholds."""

    layer: str
    run_id: str
    lake: Lake
    config: QualityConfig = field(default_factory=QualityConfig)
    landing_date: date | None = None
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))
    warehouse_path: str | None = None  # the DuckDB file gold is checked in; default <lake>/warehouse.duckdb
    suite: Suite | None = None  # the suite whose data is being read (set by the gate runner)

    @cached_property
    def spark(self) -> SparkSession:
        from omnilake.engine import get_spark

        return get_spark()

    def read(self, qualified_name: str) -> DataFrame:
        """A table as a DataFrame; an empty one with the contract's schema if the table does not exist
        yet (a gate reads, it never creates tables)."""
        table = self.lake.table(qualified_name)
        if not delta.exists(table):
            return self.spark.createDataFrame([], table.contract.spark_schema())
        return self.spark.read.format("delta").load(table.path)

    @cached_property
    def scopes(self) -> ScopeBook:
        """The versions this layer's suites last checked in passing gates, and this run's scopes."""
        from quality.scope import ScopeBook

        return ScopeBook(self.lake, self.layer)

    def scope(self, table: Table) -> Scope | None:
        """What the current suite must check of ``table``: the rows written since the version it last
        checked in a passing gate, or every row (``quality.scope``). None: the table does not exist."""
        assert self.suite is not None, "a scope is asked for while a suite's data is read"
        return self.scopes.scope(self.suite, table)

    @cached_property
    def warehouse(self) -> duckdb.DuckDBPyConnection | None:
        """The analysts' DuckDB warehouse, opened read-only; None while it does not exist."""
        path = self.warehouse_path or (self.lake.warehouse_path if self.lake.root.is_local else None)
        if path is None or not Path(path).exists():
            return None
        return duckdb.connect(str(path), read_only=True)

    def warehouse_relation(self, name: str) -> str | None:
        """``"schema"."name"`` of a warehouse table, preferring the configured schema; None if absent."""
        if self.warehouse is None:
            return None
        schemas = sorted(
            row[0]
            for row in self.warehouse.execute(
                "select table_schema from information_schema.tables where table_name = ?", [name]
            ).fetchall()
        )
        if not schemas:
            return None
        schema = self.config.warehouse_schema if self.config.warehouse_schema in schemas else schemas[0]
        return f"{quote_identifier(schema)}.{quote_identifier(name)}"

    def close(self) -> None:
        if self.__dict__.get("warehouse") is not None:
            self.warehouse.close()


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


DataFunction = Callable[[GateContext], "DataFrame | str | None"]


@dataclass(frozen=True)
class Suite:
    """Checks over one dataset.

    ``data`` returns the dataset for this run: a Spark DataFrame (``engine="spark"``), a DuckDB query
    over the warehouse (``engine="duckdb"``), or None when it does not exist. A ``required`` dataset
    that does not exist fails the gate; an optional one is skipped. ``row_id`` names the columns that
    identify an offending row in results and messages (``unit`` is what a row is: files, sources…).
    """

    name: str
    checks: tuple[Check, ...]
    data: DataFunction
    engine: Engine = "spark"
    row_id: tuple[str, ...] = ()
    unit: str = "rows"
    required: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        names = [c.name for c in self.checks]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"suite {self.name!r} declares the check(s) {duplicates} twice")
