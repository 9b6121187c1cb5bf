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

from quality import expectations
from quality.checks import GateContext, Suite, fail, warn
from quality.contract_checks import warehouse_suite
from quality.rules import warehouse_rule

E = expectations

# Marts that accumulate history by a landing date in their keys, and so are checked from the groups
# written since the last passing gate when older ones are unchanged (quality.warehouse_scope).
# Not fct_sales_revisions: each run closes known_to on old rows, so its old groups always change.
GROUPED_BY = {
    "mart_customer_rfm_revisions": "known_at",
    "mart_inventory_position_revisions": "known_at",
    "mart_journey_funnel_revisions": "known_at",
    "dim_customer_observations": "observed_on",
}

RULES: tuple[Suite, ...] = (
    # Scores depend only on the customer's own measures: within one revision of a snapshot, a
    # measure value maps to exactly one score (equal behaviour, equal score).
    warehouse_rule(
        "gold.rfm_equal_measures_equal_scores",
        " union all ".join(
            f"select snapshot_date, known_at, '{measure}' as measure, cast({measure} as varchar) as measure_value, "
            f"count(distinct {score}) as scores from {{mart_customer_rfm_revisions}} group by all"
            for measure, score in (
                ("recency_days", "r_score"),
                ("frequency", "f_score"),
                ("monetary", "m_score"),
            )
        ),
        (
            fail(
                "rfm_equal_measures_equal_scores",
                E.ExpectColumnValuesToBeBetween(column="scores", min_value=1, max_value=1),
            ),
        ),
        row_id=("snapshot_date", "known_at", "measure", "measure_value"),
        grouped_by={"mart_customer_rfm_revisions": "known_at"},  # grouped by known_at among others
    ),
    # A customer who bought once is never called loyal (F 1 keeps them out of the loyal segments).
    warehouse_rule(
        "gold.rfm_one_time_buyers_not_loyal",
        "select snapshot_date, known_at, customer_key, segment from {mart_customer_rfm_revisions} "
        "where frequency = 1",
        (
            fail(
                "rfm_one_time_buyers_not_loyal",
                E.ExpectColumnValuesToBeInSet(
                    column="segment",
                    value_set=["New Customers", "Promising", "About To Sleep", "Hibernating", "Lost"],
                ),
            ),
        ),
        row_id=("snapshot_date", "known_at", "customer_key"),
        grouped_by={"mart_customer_rfm_revisions": "known_at"},  # row by row
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
    marts = [
        warehouse_suite(t.contract, grouped_by=GROUPED_BY.get(t.contract.name))
        for t in sorted(ctx.lake.tables("gold"), key=lambda t: t.name)
    ]
    from quality.access import access_suite

    return [*marts, *RULES, access_suite()]
