"""The silver gate: every silver table as its contract declares it, plus cross-table rules.

Contract checks (unique keys, not-null, allowed values, ranges) come from ``schemas/silver/*.yaml``
for every table there, with no code here; a declared table that does not exist fails the gate.
Contract checks and the rules below check the rows written since the suite's last passing gate
(``quality.scope``), with the verdicts a check of the whole table would give.
Business rules are declared in ``RULES`` with the helpers of ``quality.rules``, e.g.::

    references("silver.order_lines", "order_id", "silver.orders")   # every line has its order
    references("silver.orders", "store_id", "silver.stores")         # referential integrity
    not_in_future("silver.orders", "ordered_at")                     # no future timestamps

A rule the helpers do not cover is a ``quality.checks.Suite`` over a frame derived from the tables
(identity keys stable against the previous run: the table now against its previous Delta version,
joined on the natural key, with a ``same_identity`` column expected to be True).

``silver.refusals`` (warn) watches what silver refused: per silver table and source, the bronze rows of
the processed date recorded in ``quarantine.silver_rejects``, at most ``silver_refused_share_max`` of
the source's bronze rows of that date.
"""

from __future__ import annotations

from pyspark.sql import functions as F

from quality import expectations
from quality.checks import GateContext, Suite, warn
from quality.contract_checks import contract_suite
from quality.rules import not_in_future, references

E = expectations

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
    # an event and its attribution (who, which stage) are written apart: one row each, both ways
    references("silver.events", "message_id", "silver.event_attribution"),
    references("silver.event_attribution", "message_id", "silver.events"),
)


def refused_rows(ctx: GateContext):
    """Per silver table and source: the processed date's bronze rows it refused, and their share of
    the source's bronze rows of that date (``ops.reconciliation``). Tables that refused nothing have
    no row."""
    on_date = F.col("landing_date") == F.lit(ctx.landing_date) if ctx.landing_date else F.lit(True)
    bronze = (
        ctx.read("ops.reconciliation")
        .where(on_date)
        .groupBy("source")
        .agg(F.sum("bronze_rows").alias("bronze_rows"))
    )
    refused = (
        ctx.read("quarantine.silver_rejects")
        .where(on_date)
        .groupBy("silver_table", "source")
        .agg(F.count(F.lit(1)).alias("refused_rows"))
    )
    return refused.join(bronze, "source", "left").select(
        "silver_table",
        "source",
        "refused_rows",
        F.coalesce("bronze_rows", F.lit(0)).alias("bronze_rows"),
        (F.col("refused_rows") / F.greatest(F.coalesce("bronze_rows", F.lit(0)), F.lit(1))).alias(
            "refused_share"
        ),
    )


def refusals(ctx: GateContext) -> Suite:
    limit = ctx.config.silver_refused_share_max
    return Suite(
        name="silver.refusals",
        checks=(
            warn(
                "refused_share",
                E.ExpectColumnValuesToBeBetween(column="refused_share", min_value=0, max_value=limit),
                f"Rows silver refused (quarantine.silver_rejects) / the source's bronze rows of the date, "
                f"at most {limit}.",
            ),
        ),
        data=refused_rows,
        row_id=("silver_table", "source", "refused_rows", "bronze_rows"),
        unit="tables",
        description="Per silver table and source, the bronze rows of the landing date it refused.",
    )


def suites(ctx: GateContext) -> list[Suite]:
    tables = [contract_suite(t) for t in sorted(ctx.lake.tables("silver"), key=lambda t: t.name)]
    return [*tables, *RULES, refusals(ctx)]
