"""Business rules that span columns or tables, as suites to declare in ``silver.py`` or ``gold.py``.

Each helper returns a ``Suite`` whose dataset is a small frame derived from the tables (one row per
child row, per order…) with the quantity the rule is about as a column, and whose checks are plain
expectations on that column. A rule that none of these fits is a ``Suite`` written the same way.
"""

from __future__ import annotations

import logging
import string
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from omnilake.contracts import all_contracts
from quality import expectations
from quality.checks import Check, GateContext, Severity, Suite
from quality.scope import Scoped, files_exist, read_files, rows_near, scoped_rows

if TYPE_CHECKING:
    from quality.scope import Scope

log = logging.getLogger(__name__)

E = expectations


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
        child_scope, parent_scope = ctx.scope(child_table), ctx.scope(parent_table)
        if child_scope is None or parent_scope is None:
            return None
        if not child_scope.whole and _parent_keys_may_have_gone(ctx, parent_scope, parent_column):
            child_scope = child_scope.widened()  # an old child row may have lost its parent
        ctx.scopes.use(ctx.suite, child_scope)
        ctx.scopes.use(ctx.suite, parent_scope)
        rows = scoped_rows(ctx.spark, child_scope)
        if rows is None:
            return Scoped(None, (child_scope, parent_scope))
        rows = rows.where(F.col(column).isNotNull())
        # the parent's keys that some row in scope names: a key-only scan of the parent, narrowed
        # to those keys before it is deduplicated (not every key of a growing parent, each run)
        wanted = rows.select(F.col(column).alias("_wanted")).distinct()
        # (only the parent's files whose bounds overlap a file of the rows can hold such a key)
        parent_rows = (
            ctx.read(parent)
            if child_scope.whole
            else rows_near(
                ctx.spark,
                parent_table,
                child_table,
                child_scope.added,
                {parent_column: column},
                ctx.scopes.ranges,
            )
        )
        parent_keys = parent_rows.select(F.col(parent_column).alias("_parent_key"))
        keys = parent_keys.join(
            wanted, parent_keys["_parent_key"] == wanted["_wanted"], "left_semi"
        ).distinct()
        checked = rows.join(keys, rows[column] == keys["_parent_key"], "left").select(
            *row_id, column, F.col("_parent_key").isNotNull().alias("has_parent")
        )
        return Scoped(checked, (child_scope, parent_scope))

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
        # A timestamp that was not in the future when checked never is: the new rows suffice.
        scope = ctx.scope(ctx.lake.table(table))
        if scope is None:
            return None
        ctx.scopes.use(ctx.suite, scope)
        rows = scoped_rows(ctx.spark, scope)
        if rows is None:
            return Scoped(None, (scope,))
        checked = rows.select(*row_id, column, (F.col(column) > F.current_timestamp()).alias("in_future"))
        return Scoped(checked, (scope,))

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


def _parent_keys_may_have_gone(ctx: GateContext, parent: Scope, parent_column: str) -> bool:
    """Whether a value of ``parent_column`` held at the parent's last checked version is gone now,
    so that a child row checked then may have lost its parent.

    Only rows in the files removed since then can have taken a value away, and a value they held
    that is still in the table is, short of a duplicate key, in a file added since (a rewrite puts
    a row's new version in a new file): one query compares the removed files' values with the
    added files', not with every file of a growing parent. A value held both by a removed file and
    by a file left as it was (a duplicate) counts as gone, which only widens the check. A
    whole-table parent scope (recreated, first check) or removed files that cannot be read any
    more (vacuumed) count as gone: the whole child is checked.
    """
    if parent.whole:
        return True
    if not parent.removed:
        return False
    if not files_exist(parent.removed):
        log.info(
            "%s: files removed since version %s were vacuumed; checking every child row",
            parent.table,
            parent.since,
        )
        return True
    try:
        removed = read_files(ctx.spark, parent.table, parent.removed)
        before = removed.select(F.col(parent_column).alias("_key")).where(F.col("_key").isNotNull())
        added = read_files(ctx.spark, parent.table, parent.added)
        if added is None:  # only removals: any value they held is gone
            return bool(before.limit(1).collect())
        now = added.select(F.col(parent_column).alias("_key"))
        return bool(before.join(now, "_key", "left_anti").limit(1).collect())
    except Exception as exc:  # the files are gone (vacuumed): nothing to build on
        log.info("%s: removed files unreadable (%s); checking every child row", parent.table, exc)
        return True


def warehouse_rule(
    name: str,
    query: str,
    checks: tuple[Check, ...],
    *,
    row_id: tuple[str, ...] = (),
    unit: str = "rows",
    grouped_by: dict[str, str] | None = None,
) -> Suite:
    """A rule over the DuckDB warehouse (gold). ``query`` names tables as ``{table}``, resolved in the
    warehouse at run time, e.g. ``select sku, available_to_sell from {unified_inventory}``.

    ``grouped_by`` maps a table to the column it accumulates history by: the query then reads the
    groups written since the last passing gate (``quality.warehouse_scope``). Only for a rule whose
    verdict holds group by group: row by row, or grouped by that column among others."""
    tables = [field for _, field, _, _ in string.Formatter().parse(query) if field]
    grouped_by = grouped_by or {}

    def data(ctx: GateContext):
        from quality.warehouse_scope import scoped_relation

        relations = {t: ctx.warehouse_relation(t) for t in tables}
        if any(r is None for r in relations.values()):
            return None
        for table, column in grouped_by.items():
            relations[table] = scoped_relation(ctx, f"gold.{table}", relations[table], column, salt=query)
        return query.format(**relations)

    return Suite(
        name=name, checks=checks, data=data, engine="duckdb", row_id=row_id, unit=unit, required=True
    )


def _keys(qualified_name: str) -> tuple[str, ...]:
    contract = all_contracts().get(qualified_name)
    return contract.keys if contract else ()
