"""Bronze -> silver for the sources this package owns, in dependency order, taking in only what is new.

Order: the conformed dimensions first (products and locations: sku checks and store time zones
need them), then orders, till lines and inventory positions, then the calendar that covers their
dates. Identity resolution (``jobs.silver.identity``) may run before this: orders and till lines
look up ``silver.customer_identifiers`` when it exists and leave ``customer_key`` null otherwise.

``transform`` is what ``omnilake transform`` calls; the ``*_step`` functions are the same work cut
into pipeline steps (``omnilake.pipeline``), each taking a ``RunContext``.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from jobs.silver.inventory import transform_inventory
from jobs.silver.orders import transform_orders
from jobs.silver.outputs import ensure_outputs
from jobs.silver.pos import transform_pos
from jobs.silver.reference import transform_calendar, transform_locations, transform_products
from jobs.silver.writes import TableReport
from omnilake.engine import get_spark
from omnilake.lake import Lake, get_lake

log = logging.getLogger(__name__)


def transform(
    landing_date: date | None = None, lake: Lake | None = None, run_id: str | None = None
) -> list[TableReport]:
    """Take every bronze delivery up to ``landing_date`` (all by default) that silver has not taken in
    yet into products, locations, orders, order lines, order status history, till lines, inventory
    positions and the calendar. One report per table, in that order."""
    from omnilake.pipeline import new_run_id

    lake = lake or get_lake()
    run_id = run_id or new_run_id("transform")
    spark = get_spark()
    reports = [
        transform_products(spark, lake, landing_date, run_id),
        transform_locations(spark, lake, landing_date, run_id),
        *transform_orders(spark, lake, landing_date, run_id),
        transform_pos(spark, lake, landing_date, run_id),
        transform_inventory(spark, lake, landing_date, run_id),
        transform_calendar(spark, lake),
    ]
    for report in reports:
        log.info("silver %s: %s", report.table, report)
    return reports


# --- pipeline steps: fn(context, **kwargs) -> JSON-able summary ------------------------------------


def _summary(reports: list[TableReport]) -> dict[str, Any]:
    return {"tables": [r.as_dict() for r in reports]}


def reference_step(context) -> dict[str, Any]:
    """silver.products and silver.locations from the latest new reference snapshots."""
    spark = get_spark()
    reports = [
        transform_products(spark, context.lake, context.landing_date, context.run_id),
        transform_locations(spark, context.lake, context.landing_date, context.run_id),
    ]
    ensure_outputs(spark, context.lake, "products", "locations")
    return _summary(reports)


def orders_step(context) -> dict[str, Any]:
    """silver.orders, silver.order_lines and silver.order_status_history from new order changes."""
    spark = get_spark()
    reports = transform_orders(spark, context.lake, context.landing_date, context.run_id)
    ensure_outputs(spark, context.lake, "orders", "order_lines", "order_status_history")
    return _summary(reports)


def pos_step(context) -> dict[str, Any]:
    """silver.pos_lines from new till files."""
    spark = get_spark()
    report = transform_pos(spark, context.lake, context.landing_date, context.run_id)
    ensure_outputs(spark, context.lake, "pos_lines")
    return _summary([report])


def inventory_step(context) -> dict[str, Any]:
    """silver.inventory_positions for the days of new inventory snapshots."""
    spark = get_spark()
    report = transform_inventory(spark, context.lake, context.landing_date, context.run_id)
    ensure_outputs(spark, context.lake, "inventory_positions")
    return _summary([report])


def calendar_step(context) -> dict[str, Any]:
    """silver.calendar extended to cover the facts' dates (run after orders, pos and inventory)."""
    spark = get_spark()
    report = transform_calendar(spark, context.lake)
    ensure_outputs(spark, context.lake, "calendar")
    return _summary([report])
