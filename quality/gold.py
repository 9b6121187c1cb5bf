"""The gold gate: every gold mart in the DuckDB warehouse, as its contract declares it, plus rules.

Contract checks come from ``schemas/gold/*.yaml`` (RFM scores 1..5 and never-negative
available-to-sell are ``min``/``max`` there); a declared mart missing from the warehouse fails the
gate. Rules across marts are declared in ``RULES`` with ``quality.rules.warehouse_rule``, a query
over the warehouse naming tables as ``{table}`` and plain expectations on its columns, e.g. revenue
that reconciles with silver orders::

    warehouse_rule(
        "gold.revenue_reconciles",
        "select order_date, mart_revenue - orders_revenue as difference from {revenue_check}",
        (fail("revenue_reconciles", E.ExpectColumnValuesToBeBetween(column="difference",
                                                                  min_value=-0.01, max_value=0.01)),),
        row_id=("order_date",),
    )
"""

from __future__ import annotations

from quality.checks import GateContext, Suite
from quality.contract_checks import warehouse_suite

RULES: tuple[Suite, ...] = ()


def suites(ctx: GateContext) -> list[Suite]:
    marts = [warehouse_suite(t.contract) for t in sorted(ctx.lake.tables("gold"), key=lambda t: t.name)]
    return [*marts, *RULES]
