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

import great_expectations as gx

from quality.checks import GateContext, Suite, fail, warn
from quality.contract_checks import warehouse_suite
from quality.rules import warehouse_rule

E = gx.expectations

RULES: tuple[Suite, ...] = (
    # Quintile scores use every bucket once there are at least five customers to score.
    warehouse_rule(
        "gold.rfm_quintiles_populated",
        "select snapshot_date, count(distinct r_score) as r_buckets, count(distinct f_score) as f_buckets, "
        "count(distinct m_score) as m_buckets from {mart_customer_rfm} group by snapshot_date "
        "having count(*) >= 5",
        tuple(
            fail(
                f"{score}_quintiles_populated",
                E.ExpectColumnValuesToBeBetween(column=f"{score}_buckets", min_value=5, max_value=5),
            )
            for score in ("r", "f", "m")
        ),
        row_id=("snapshot_date",),
    ),
    # Every person with a sale appears in the customer dimension.
    warehouse_rule(
        "gold.sales_customers_in_dim_customer",
        "select s.customer_key, d.customer_key is not null as in_dim_customer from "
        "(select distinct customer_key from {fct_sales} where customer_key is not null) s "
        "left join {dim_customer} d on s.customer_key = d.customer_key",
        (
            warn(
                "sales_customers_in_dim_customer",
                E.ExpectColumnValuesToBeInSet(column="in_dim_customer", value_set=[True]),
            ),
        ),
        row_id=("customer_key",),
    ),
)


def suites(ctx: GateContext) -> list[Suite]:
    marts = [warehouse_suite(t.contract) for t in sorted(ctx.lake.tables("gold"), key=lambda t: t.name)]
    return [*marts, *RULES]
