"""Business rules that span columns or tables, as suites to declare in ``silver.py`` or ``gold.py``.

Each helper returns a ``Suite`` whose dataset is a small frame derived from the tables (one row per
child row, per order…) with the quantity the rule is about as a column, and whose checks are plain
expectations on that column. A rule that none of these fits is a ``Suite`` written the same way.
"""

from __future__ import annotations

import string

import great_expectations as gx
from pyspark.sql import functions as F

from omnilake import delta
from omnilake.contracts import all_contracts
from quality.checks import Check, GateContext, Severity, Suite

E = gx.expectations


def references(
    child: str,
    column: str,
    parent: str,
    parent_column: str | None = None,
    *,
    severity: Severity = "fail",
    row_id: tuple[str, ...] | None = None,
) -> Suite:
    """Referential integrity on Spark: every non-null ``child.column`` exists in ``parent.parent_column``.

    ``references("silver.order_lines", "order_id", "silver.orders")``: every order line has its order.
    Offending rows are named by ``row_id`` (default: the child's keys).
    """
    parent_column = parent_column or column
    row_id = tuple(k for k in (row_id if row_id is not None else _keys(child)) if k != column)

    def data(ctx: GateContext):
        child_table, parent_table = ctx.lake.table(child), ctx.lake.table(parent)
        if not (delta.exists(child_table) and delta.exists(parent_table)):
            return None
        rows = ctx.read(child).where(F.col(column).isNotNull())
        keys = ctx.read(parent).select(F.col(parent_column).alias("_parent_key")).distinct()
        return rows.join(keys, rows[column] == keys["_parent_key"], "left").select(
            *row_id, column, F.col("_parent_key").isNotNull().alias("has_parent")
        )

    return Suite(
        name=f"{child}.references.{parent.split('.', 1)[-1]}",
        checks=(
            Check(
                f"references({column} -> {parent}.{parent_column})",
                E.ExpectColumnValuesToBeInSet(column="has_parent", value_set=[True]),
                severity,
                f"Every {child}.{column} exists in {parent}.{parent_column}.",
            ),
        ),
        data=data,
        row_id=(*row_id, column),
        required=True,
        description=f"Rows of {child} with whether their {column} exists in {parent}.",
    )


def not_in_future(
    table: str, column: str, *, severity: Severity = "fail", row_id: tuple[str, ...] | None = None
) -> Suite:
    """No timestamp in ``table.column`` lies after the engine's clock when the gate runs."""
    row_id = tuple(k for k in (row_id if row_id is not None else _keys(table)) if k != column)

    def data(ctx: GateContext):
        if not delta.exists(ctx.lake.table(table)):
            return None
        return ctx.read(table).select(
            *row_id, column, (F.col(column) > F.current_timestamp()).alias("in_future")
        )

    return Suite(
        name=f"{table}.{column}.not_in_future",
        checks=(
            Check(
                f"not_in_future({column})",
                E.ExpectColumnValuesToBeInSet(column="in_future", value_set=[False]),
                severity,
                f"{table}.{column} is never later than the time of the check.",
            ),
        ),
        data=data,
        row_id=(*row_id, column),
        required=True,
    )


def warehouse_rule(
    name: str, query: str, checks: tuple[Check, ...], *, row_id: tuple[str, ...] = (), unit: str = "rows"
) -> Suite:
    """A rule over the DuckDB warehouse (gold). ``query`` names tables as ``{table}``, resolved in the
    warehouse at run time, e.g. ``select sku, available_to_sell from {unified_inventory}``."""
    tables = [field for _, field, _, _ in string.Formatter().parse(query) if field]

    def data(ctx: GateContext):
        relations = {t: ctx.warehouse_relation(t) for t in tables}
        if any(r is None for r in relations.values()):
            return None
        return query.format(**relations)

    return Suite(
        name=name, checks=checks, data=data, engine="duckdb", row_id=row_id, unit=unit, required=True
    )


def _keys(qualified_name: str) -> tuple[str, ...]:
    contract = all_contracts().get(qualified_name)
    return contract.keys if contract else ()
