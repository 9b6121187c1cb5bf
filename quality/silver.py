"""The silver gate: every silver table as its contract declares it, plus cross-table rules.

Contract checks (unique keys, not-null, allowed values, ranges) come from ``schemas/silver/*.yaml``
for every table there, with no code here; a declared table that does not exist fails the gate.
Business rules are declared in ``RULES`` with the helpers of ``quality.rules``, e.g.::

    references("silver.order_lines", "order_id", "silver.orders")   # every line has its order
    references("silver.orders", "store_id", "silver.stores")         # referential integrity
    not_in_future("silver.orders", "ordered_at")                     # no future timestamps

A rule the helpers do not cover is a ``quality.checks.Suite`` over a frame derived from the tables
(identity keys stable against the previous run: the table now against its previous Delta version,
joined on the natural key, with a ``same_identity`` column expected to be True).
"""

from __future__ import annotations

from quality.checks import GateContext, Suite
from quality.contract_checks import contract_suite
from quality.rules import not_in_future, references

RULES: tuple[Suite, ...] = (
    references("silver.order_lines", "order_id", "silver.orders"),
    references("silver.order_status_history", "order_id", "silver.orders"),
    references("silver.pos_lines", "store_id", "silver.locations", "location_id"),
    references("silver.inventory_positions", "location_id", "silver.locations", "location_id"),
    # Unknown skus are flagged (is_known_sku), not dropped: a warning, not a stop.
    references("silver.order_lines", "sku", "silver.products", severity="warn"),
    references("silver.pos_lines", "sku", "silver.products", severity="warn"),
    not_in_future("silver.orders", "updated_at"),
    not_in_future("silver.pos_lines", "transaction_at"),
    not_in_future("silver.events", "event_at"),
)


def suites(ctx: GateContext) -> list[Suite]:
    tables = [contract_suite(t) for t in sorted(ctx.lake.tables("silver"), key=lambda t: t.name)]
    return [*tables, *RULES]
