"""Web-shop orders: change events in bronze -> silver.orders, silver.order_lines, silver.order_status_history.

The story of one run:

1. read the bronze rows of order files not taken in yet, type them, and set aside changes that
   cannot be true (an ``updated_at`` after the day the export was delivered: a wrong clock; a value
   outside the landing contract; a negative or absurd line price), counted as ``rejected``;
2. keep the latest version of each order in the batch, and of those the *winners*: orders new to
   silver or whose version is at least as new as the one silver holds;
3. merge the winners into silver.orders on ``order_id`` with the guard ``s.updated_at >
   t.updated_at``, so a late, older change never overwrites a newer one;
4. replace the lines of the winners in silver.order_lines (delete by order_id, then append);
5. add every distinct state the batch shows to silver.order_status_history (insert-only merge);
6. record the files as taken in.

Both tables are partitioned by ``business_date`` and steps 3 and 4 are limited to the days of the
winners (``touched_days``: their days now and the days silver holds them on), so a run rewrites the
files of a few recent days and of the old orders that changed, not the whole history, and the
silver gate's changed-files scope stays as small.

Winners include versions *equal* to silver's, so a run that crashed between steps 3 and 4 rewrites
the lines when it is run again. The new order and line rows are staged (computed once, already
pseudonymised) before step 3, so steps 3 and 4 both see silver as it was before the run.

Personal data leaves as pseudonyms (``omnilake.privacy``): e-mail and phone hashes and a masked
e-mail; names, street data, the zip code, the loyalty card and raw contact points stay in bronze.
``customer_key`` comes from silver.customer_identifiers (by web customer id, then loyalty card, then
e-mail) when identity resolution has written it, and is null otherwise. The order's fulfilment
location (``location_id``), when the shop exports one, is kept as given.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs.silver import lookups
from jobs.silver.progress import pending_batches, read_batches, record_batches
from jobs.silver.validity import contract_violation, count_rejections
from jobs.silver.writes import TableReport, replace_matching, staged
from omnilake import delta, privacy
from omnilake.contracts import contract
from omnilake.faults import crash_point
from omnilake.lake import Lake, Table
from omnilake.pruning.ranges import files_holding
from omnilake.transforms import id_text, latest_by_key

log = logging.getLogger(__name__)

SOURCE = "orders"
# The shop's business day (the landing contract: "offset in each value (shop time, America/New_York)").
SHOP_TIME_ZONE = "America/New_York"
# A change exported on day D happened by the end of D; a little slack for exporters on local time.
FUTURE_TOLERANCE_DAYS = 2
MONEY = T.DecimalType(12, 2)


# --- pure transformations ------------------------------------------------------------------------


def as_timestamp(df: DataFrame, name: str) -> Column:
    """A bronze timestamp column: ISO-8601 strings with an offset are parsed, timestamps kept."""
    if isinstance(df.schema[name].dataType, T.StringType):
        return F.trim(F.col(name)).try_cast("timestamp")
    return F.col(name).cast("timestamp")


def order_status(financial: Column, fulfillment: Column, cancelled_at: Column) -> Column:
    """One status for analysts, the furthest the order got: cancelled, refunded, partially_refunded,
    fulfilled, paid or placed (a partial fulfilment is still ``paid``)."""
    return (
        F.when(cancelled_at.isNotNull() | (financial == "voided"), F.lit("cancelled"))
        .when(financial == "refunded", F.lit("refunded"))
        .when(financial == "partially_refunded", F.lit("partially_refunded"))
        .when(fulfillment == "fulfilled", F.lit("fulfilled"))
        .when(financial == "paid", F.lit("paid"))
        .otherwise(F.lit("placed"))
    )


def parse_versions(bronze: DataFrame) -> DataFrame:
    """bronze.orders rows -> one typed row per order version, with ``_reject_reason`` (null when the
    version can be applied): timestamps missing or dated after the delivery day (plus tolerance), a
    value outside the landing contract, or a line price outside the product master's price range."""
    created_at = as_timestamp(bronze, "created_at")
    updated_at = as_timestamp(bronze, "updated_at")
    cancelled_at = as_timestamp(bronze, "cancelled_at")
    delivered_by = F.date_add(F.col("_landing_date"), FUTURE_TOLERANCE_DAYS).cast("timestamp")
    financial = F.lower(F.trim("financial_status"))
    fulfillment = F.lower(F.trim("fulfillment_status"))
    price = contract("landing", "products").field("list_price")
    line_prices = F.col("line_items.price")
    reject_reason = F.coalesce(
        F.when(created_at.isNull() | updated_at.isNull(), F.lit("unreadable_time")),
        F.when(updated_at >= delivered_by, F.lit("future_timestamp")),
        contract_violation(contract("landing", SOURCE)),
        F.when(
            (F.array_min(line_prices) < F.lit(price.min)) | (F.array_max(line_prices) > F.lit(price.max)),
            F.lit("out_of_range: line_items.price"),
        ),
    )
    return bronze.select(
        id_text(bronze, "id").alias("order_id"),
        F.col("order_number").cast("long").alias("order_number"),
        F.coalesce(F.col("email"), F.col("customer.email")).alias("_email"),
        F.coalesce(F.col("phone"), F.col("customer.phone")).alias("_phone"),
        id_text(bronze, "customer.id").alias("web_customer_id"),
        F.col("loyalty_card").alias("_loyalty_card"),
        F.nullif(F.trim("location_id"), F.lit("")).alias("location_id"),
        financial.alias("financial_status"),
        fulfillment.alias("fulfillment_status"),
        order_status(financial, fulfillment, cancelled_at).alias("order_status"),
        F.col("source_name").alias("channel_source"),
        F.upper(F.trim("currency")).alias("currency"),
        F.col("subtotal_price").cast(MONEY).alias("subtotal_amount"),
        F.col("total_discounts").cast(MONEY).alias("discount_amount"),
        F.col("total_shipping").cast(MONEY).alias("shipping_amount"),
        F.col("total_tax").cast(MONEY).alias("tax_amount"),
        F.col("total_price").cast(MONEY).alias("total_amount"),
        F.col("shipping_address.city").alias("shipping_city"),
        F.col("shipping_address.province_code").alias("shipping_region"),
        created_at.alias("created_at"),
        updated_at.alias("updated_at"),
        cancelled_at.alias("cancelled_at"),
        F.to_date(F.from_utc_timestamp(created_at, SHOP_TIME_ZONE)).alias("business_date"),
        "line_items",
        "refunds",
        "_batch_id",
        "_landing_date",
        "_file_hash",
        "_line",
        reject_reason.alias("_reject_reason"),
    )


def latest_versions(versions: DataFrame) -> DataFrame:
    """The newest version of each order by the source's ``updated_at`` (ties: the later delivery)."""
    return latest_by_key(
        versions,
        ["order_id"],
        [F.col("updated_at").desc(), F.col("_landing_date").desc(), F.col("_line").desc()],
    )


def winning_versions(latest: DataFrame, current: DataFrame | None) -> DataFrame:
    """Latest versions that silver does not hold a newer version of (``current``: order_id, updated_at)."""
    if current is None:
        return latest
    held = current.select("order_id", F.col("updated_at").alias("_held_updated_at"))
    return (
        latest.join(held, "order_id", "left")
        .where(F.col("_held_updated_at").isNull() | (F.col("updated_at") >= F.col("_held_updated_at")))
        .drop("_held_updated_at")
    )


def _refund_lines(versions: DataFrame) -> DataFrame:
    """(order_id, line_id, quantity, subtotal) per refunded line of each version."""
    items = versions.select("order_id", F.explode("refunds").alias("_refund")).select(
        "order_id", F.explode("_refund.refund_line_items").alias("_item")
    )
    return items.select(
        "order_id",
        id_text(items, "_item.line_item_id").alias("line_id"),
        F.col("_item.quantity").alias("quantity"),
        F.col("_item.subtotal").alias("subtotal"),
    )


def order_line_rows(versions: DataFrame, products: DataFrame | None) -> DataFrame:
    """One silver.order_lines row per line item of each (latest) order version."""
    refunded = (
        _refund_lines(versions)
        .groupBy("order_id", "line_id")
        .agg(F.sum("quantity").cast("int").alias("_refunded_quantity"))
    )
    items = versions.select("order_id", "business_date", F.explode("line_items").alias("_item"))
    lines = items.select(
        "order_id",
        id_text(items, "_item.id").alias("line_id"),
        F.trim("_item.sku").alias("sku"),
        F.col("_item.quantity").cast("int").alias("quantity"),
        F.col("_item.price").cast(MONEY).alias("unit_price"),
        F.col("_item.total_discount").cast(MONEY).alias("discount_amount"),
        "business_date",
    )
    net = F.col("quantity") * F.col("unit_price") - F.coalesce(F.col("discount_amount"), F.lit(0))
    return (
        lookups.with_known_sku(lines, products)
        .join(refunded, ["order_id", "line_id"], "left")
        .select(
            "order_id",
            "line_id",
            "sku",
            "is_known_sku",
            "quantity",
            "unit_price",
            "discount_amount",
            net.cast(MONEY).alias("net_amount"),
            F.coalesce("_refunded_quantity", F.lit(0)).alias("refunded_quantity"),
            "business_date",
        )
    )


def order_rows(
    versions: DataFrame,
    lines: DataFrame,
    customer_keys: Sequence[tuple[str, DataFrame | None]] = (),
) -> DataFrame:
    """silver.orders rows from (latest) versions and their silver lines, contact points pseudonymised.

    ``customer_keys`` are lookups over the columns ``_web_customer_hash``, ``_loyalty_card_hash`` and
    ``email_hash``, in the order to try them (see ``lookups.with_customer_key``).
    """
    refunded = (
        _refund_lines(versions)
        .groupBy("order_id")
        .agg(F.sum("subtotal").cast(MONEY).alias("refunded_amount"))
    )
    unknown = lines.groupBy("order_id").agg(
        (F.max((~F.col("is_known_sku")).cast("int")) == 1).alias("_has_unknown_sku")
    )
    pseudonymised = versions.select(
        "*",
        privacy.identifier_hash("email", "_email").alias("email_hash"),
        privacy.identifier_hash("phone", "_phone").alias("phone_hash"),
        privacy.mask_email("_email").alias("email_masked"),
        privacy.identifier_hash("web_customer_id", "web_customer_id").alias("_web_customer_hash"),
        privacy.identifier_hash("loyalty_card", "_loyalty_card").alias("_loyalty_card_hash"),
    ).drop("_email", "_phone", "_loyalty_card")
    keyed = lookups.with_customer_key(pseudonymised, customer_keys)
    return (
        keyed.join(refunded, "order_id", "left")
        .join(unknown, "order_id", "left")
        .select(
            "order_id",
            "order_number",
            "customer_key",
            "web_customer_id",
            "email_hash",
            "phone_hash",
            "email_masked",
            "financial_status",
            "fulfillment_status",
            "order_status",
            "channel_source",
            "currency",
            "subtotal_amount",
            "discount_amount",
            "shipping_amount",
            "tax_amount",
            "total_amount",
            F.coalesce("refunded_amount", F.lit(0).cast(MONEY)).alias("refunded_amount"),
            "shipping_city",
            "shipping_region",
            "created_at",
            "updated_at",
            "cancelled_at",
            "business_date",
            "location_id",
            F.coalesce("_has_unknown_sku", F.lit(False)).alias("has_unknown_sku"),
            "_batch_id",
        )
    )


def status_history_rows(versions: DataFrame) -> DataFrame:
    """Each distinct (order, updated_at, status) of the versions, with the day it first arrived."""
    history = versions.select(
        "order_id",
        F.col("updated_at").alias("changed_at"),
        "order_status",
        "financial_status",
        "fulfillment_status",
        F.col("_landing_date").alias("received_on"),
    )
    return latest_by_key(history, ["order_id", "changed_at", "order_status"], [F.col("received_on").asc()])


def rows_holding_orders(spark: SparkSession, table: Table, ids: Sequence[str]) -> DataFrame:
    """The rows of ``table`` (partitioned by ``business_date``) in the partitions that can hold one
    of the orders ``ids``: shop order ids follow creation time, so the order_id bounds the log keeps
    per file rule out most days (``omnilake.pruning.ranges``). A lookup of these ids in them finds
    what it finds in the whole table; every row when the log does not say."""
    whole = delta.read(spark, table)
    found = files_holding(table, {"order_id": list(ids)})
    if found is None:
        return whole
    days = {dict(f.partition_values).get("business_date") for f in found[0]}
    if None in days:
        return whole
    return whole.where(F.col("business_date").isin(sorted(days))) if days else whole.limit(0)


def touched_days(
    spark: SparkSession, orders: DataFrame, orders_table, lines_table, ids: Sequence[str] | None = None
) -> list[date]:
    """The ``business_date`` partitions a run writes: the days of its orders (staged ``orders``) and
    the days silver holds those orders and their lines on now. These differ only when a change moved
    an order's ``created_at`` to another day (or a crash came between the two writes of such a
    change); reading the held days makes the pruned writes exact even then (two columns of each
    table are scanned, nothing is rewritten outside these days).

    Three small queries rather than one union: on a Sail cluster a plan's scans and joins are
    scheduled at once, and the union of both joins needed more task slots than two workers have.
    ``ids`` (every order id of ``orders``, or more) narrows each table to the partitions that can
    hold them (``rows_holding_orders``)."""
    wanted = orders.select("order_id")

    def held(table) -> DataFrame:
        return delta.read(spark, table) if ids is None else rows_holding_orders(spark, table, ids)

    queries = [orders.select("business_date")] + [
        held(table).select("order_id", "business_date").join(wanted, "order_id", "left_semi")
        for table in (orders_table, lines_table)
    ]
    return sorted(
        {r["business_date"] for q in queries for r in q.select("business_date").distinct().collect()}
    )


# --- the job -------------------------------------------------------------------------------------


def transform_orders(
    spark: SparkSession, lake: Lake, up_to: date | None = None, run_id: str | None = None
) -> list[TableReport]:
    """Take in every pending order file (delivered on or before ``up_to``); one report per table."""
    started = time.perf_counter()
    reports = {name: TableReport(name) for name in ("orders", "order_lines", "order_status_history")}
    batches = pending_batches(spark, lake, "orders", SOURCE, up_to)
    if batches:
        versions = parse_versions(read_batches(spark, lake, batches))
        rows_in, rejected = count_rejections(versions, "orders", lake=lake, source=SOURCE)
        good = versions.where(F.col("_reject_reason").isNull())

        orders_table = lake.table("silver.orders")
        lines_table = lake.table("silver.order_lines")
        # the orders of these versions: only the partitions that can hold them are read
        ids = [r["order_id"] for r in good.select("order_id").distinct().collect()]
        current = rows_holding_orders(spark, orders_table, ids) if delta.exists(orders_table) else None
        winners = winning_versions(latest_versions(good), current)
        identity = [
            ("_web_customer_hash", lookups.customer_keys(spark, lake, "web_customer_id")),
            ("_loyalty_card_hash", lookups.customer_keys(spark, lake, "loyalty_card")),
            ("email_hash", lookups.customer_keys(spark, lake, "email")),
        ]
        with (
            staged(order_line_rows(winners, lookups.products(spark, lake)), lake, "order_lines") as lines,
            staged(order_rows(winners, lines, identity), lake, "orders") as orders,
        ):
            days = {"business_date": touched_days(spark, orders, orders_table, lines_table, ids)}
            merged = delta.merge(
                orders, orders_table, update_when="s.updated_at > t.updated_at", target_partitions=days
            )
            crash_point("silver.orders.after_merge")
            replaced, written = replace_matching(
                spark, lines, lines_table, ["order_id"], target_partitions=days
            )
        history = delta.merge(
            status_history_rows(good), lake.table("silver.order_status_history"), update="none"
        )
        crash_point("silver.orders.before_progress")
        record_batches(spark, lake, "orders", batches, run_id)

        reports["orders"].inserted, reports["orders"].updated = merged.inserted, merged.updated
        reports["order_lines"].inserted = max(0, written - replaced)
        reports["order_lines"].updated = min(replaced, written)
        reports["order_status_history"].inserted = history.inserted
        for report in reports.values():
            report.rows_in, report.rejected, report.batches = rows_in, rejected, len(batches)
    seconds = time.perf_counter() - started
    for report in reports.values():
        report.seconds = seconds
    return list(reports.values())
