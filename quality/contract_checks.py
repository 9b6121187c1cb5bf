"""Checks generated from contracts: what ``schemas/`` already says is never restated by hand.

| contract says | expectation | check name |
|---|---|---|
| ``keys: [k]`` | ``expect_column_values_to_be_unique`` | ``unique(k)`` |
| ``keys: [a, b]`` | ``expect_compound_columns_to_be_unique`` | ``unique(a, b)`` |
| ``required: true`` (or the field is a key) | ``expect_column_values_to_not_be_null`` | ``not_null(f)`` |
| ``allowed_values: [...]`` | ``expect_column_values_to_be_in_set`` | ``in_set(f)`` |
| ``min`` / ``max`` | ``expect_column_values_to_be_between`` (inclusive) | ``between(f)`` |

Severity depends on the layer (``CONTRACT_SEVERITY``). Bronze keeps records as received: ingestion
already quarantines missing required values and wrong types, so keys and required fields must hold
there (``fail``), while allowed values and ranges are silver's to enforce and only ``warn`` at bronze.
In silver and gold every contract rule is a ``fail``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pyspark.sql import functions as F
from pyspark.sql import types as T

from omnilake import delta
from omnilake.contracts import Contract, Field
from omnilake.errors import ContractError
from quality import expectations as E
from quality.checks import Check, GateContext, Severity, Suite
from quality.scope import Scoped, rows_near, scoped_rows

if TYPE_CHECKING:
    from pyspark.sql import Column

    from omnilake.lake import Table

RULE_KINDS = ("unique", "not_null", "in_set", "between")
CONTRACT_SEVERITY: dict[str, dict[str, Severity]] = {
    "bronze": {"unique": "fail", "not_null": "fail", "in_set": "warn", "between": "warn"},
    "silver": dict.fromkeys(RULE_KINDS, "fail"),
    "gold": dict.fromkeys(RULE_KINDS, "fail"),
}
_NUMERIC = (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType, T.DoubleType, T.DecimalType)
_NESTED = (T.ArrayType, T.StructType, T.MapType)


def contract_checks(contract: Contract) -> tuple[Check, ...]:
    """Every check the contract implies, in field order, with the severity of its layer."""
    severity = CONTRACT_SEVERITY.get(contract.layer, dict.fromkeys(RULE_KINDS, "fail"))
    source = contract.path.name if contract.path else contract.qualified_name
    checks: list[Check] = []
    keys = list(contract.keys)
    if len(keys) == 1:
        checks.append(
            Check(
                f"unique({keys[0]})",
                E.ExpectColumnValuesToBeUnique(column=keys[0]),
                severity["unique"],
                f"{source}: key",
            )
        )
    elif keys:
        checks.append(
            Check(
                f"unique({', '.join(keys)})",
                E.ExpectCompoundColumnsToBeUnique(column_list=keys),
                severity["unique"],
                f"{source}: compound key",
            )
        )
    for f in contract.fields:
        checks.extend(_field_checks(contract, f, f.name in keys, severity, source))
    return tuple(checks)


def _field_checks(
    contract: Contract, f: Field, is_key: bool, severity: dict[str, Severity], source: str
) -> list[Check]:
    checks = []
    if f.required or is_key:
        checks.append(
            Check(
                f"not_null({f.name})",
                E.ExpectColumnValuesToNotBeNull(column=f.name),
                severity["not_null"],
                f"{source}: {'key' if is_key else 'required'}",
            )
        )
    spark_type = f.spark_type
    declares_values = f.allowed_values is not None or f.min is not None or f.max is not None
    if declares_values and isinstance(spark_type, _NESTED):
        raise ContractError(
            f"{contract.qualified_name}.{f.name}: allowed_values/min/max apply to plain columns, "
            f"not {f.type}; declare the rule on a flattened table"
        )
    if f.allowed_values is not None:
        checks.append(
            Check(
                f"in_set({f.name})",
                E.ExpectColumnValuesToBeInSet(column=f.name, value_set=list(f.allowed_values)),
                severity["in_set"],
                f"{source}: allowed_values",
            )
        )
    if f.min is not None or f.max is not None:
        if not isinstance(spark_type, _NUMERIC):
            raise ContractError(
                f"{contract.qualified_name}.{f.name}: min/max apply to numeric fields, not {f.type}"
            )
        checks.append(
            Check(
                f"between({f.name})",
                E.ExpectColumnValuesToBeBetween(column=f.name, min_value=f.min, max_value=f.max),
                severity["between"],
                f"{source}: min/max",
            )
        )
    return checks


def contract_suite(
    table: Table,
    *,
    where: Callable[[GateContext], Column] | None = None,
    row_id: tuple[str, ...] | None = None,
    required: bool = True,
) -> Suite:
    """The contract's checks over its Delta table, validated on Spark (bronze and silver).

    ``where`` narrows the table to what this run is about (bronze: the processed landing date).
    Without it the checks see the rows written since the version last checked in a passing gate
    (``quality.scope``), keys judged unique against every row of the table: for these row-level
    rules the verdict is the whole table's.
    """

    def data(ctx: GateContext):
        if not delta.exists(table):
            return None
        if where is not None:
            return ctx.spark.read.format("delta").load(table.path).where(where(ctx))
        scope = ctx.scope(table)
        if scope is None:
            return None
        ctx.scopes.use(ctx.suite, scope)
        rows = scoped_rows(ctx.spark, scope)
        keys = table.contract.keys
        # a key the rows repeat is held by a file whose key bounds overlap one of theirs
        keys_from = (
            None
            if scope.whole or rows is None or not keys
            else rows_near(ctx.spark, table, table, scope.added, {k: k for k in keys}, ctx.scopes.ranges)
        )
        latest_by = table.contract.options.get("latest_by")
        if keys_from is not None and rows is not None and latest_by in table.contract.keys:
            # A table kept in revisions gains rows of new revisions: a key repeating one of the
            # rows' keys has its revision too, so only rows of those revisions are read for keys
            # (a literal filter, which the files' statistics prune), not every revision of history.
            revisions = [r[0] for r in rows.select(latest_by).distinct().collect()]
            keys_from = keys_from.where(F.col(latest_by).isin(revisions) if revisions else F.lit(False))
        return Scoped(rows, (scope,), keys_from=keys_from)

    return Suite(
        name=table.qualified_name,
        checks=contract_checks(table.contract),
        data=data,
        row_id=row_id if row_id is not None else table.keys,
        required=required,
        description=table.contract.description.strip(),
    )


def warehouse_suite(contract: Contract, *, required: bool = True, grouped_by: str | None = None) -> Suite:
    """The contract's checks over its table in the DuckDB warehouse (gold).

    ``grouped_by`` names the column a mart accumulates its history by (a landing date in its keys):
    the checks then see the groups written since the last passing gate when the older ones are
    unchanged (``quality.warehouse_scope``), else every row."""
    if grouped_by is not None and grouped_by not in contract.keys:
        raise ContractError(
            f"{contract.qualified_name}: checks grouped by {grouped_by} need it in the keys {list(contract.keys)}"
        )

    def data(ctx: GateContext):
        from quality.warehouse_scope import scoped_relation

        relation = ctx.warehouse_relation(contract.name)
        if relation is None:
            return None
        if grouped_by is not None:
            relation = scoped_relation(ctx, contract.qualified_name, relation, grouped_by)
        return f"select * from {relation}"

    return Suite(
        name=contract.qualified_name,
        checks=contract_checks(contract),
        data=data,
        engine="duckdb",
        row_id=contract.keys,
        required=required,
        description=contract.description.strip(),
    )
