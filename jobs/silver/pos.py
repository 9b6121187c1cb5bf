"""Store tills: bronze.pos -> silver.pos_lines.

The story of one run:

1. read the bronze rows of till files not taken in yet;
2. put each line in time: the till clock is the store's wall clock, so the store's time zone (from
   silver.locations; a fixed UTC offset where the stores feed knows no zone) turns it into UTC, and
   its date is the store-local business date. A line of an unknown store or of a store with neither
   zone nor offset, dated after its delivery day (a wrong till clock) or breaking the landing
   contract's ranges (a negative price) is refused and counted;
3. drop repeated lines (same store, register, basket and line number): the first delivered is kept,
   within the batch and against silver (the merge inserts new keys only);
4. resolve the sku from the barcode where only the barcode was scanned; a sku the product master
   does not know is flagged (``is_known_sku``), never dropped;
5. classify: a voided line is ``void`` with net amount 0 whatever its quantity; a negative quantity
   is a ``return``, linked to its original sale; anything else a ``sale``;
6. pseudonymise the loyalty card and look the person up; merge into silver.pos_lines on its keys.

Return linking: the original sale of a returned line is the most recent earlier ``sale`` line of the
same sku at the same store within ``RETURN_WINDOW_DAYS``, preferring a basket scanned with the same
loyalty card. Both the current batch and the lines already in silver are searched; a return with no
such sale keeps ``original_transaction_id`` null.
"""

from __future__ import annotations

import logging
import time
from datetime import date, timedelta

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs.silver import lookups
from jobs.silver.progress import pending_batches, read_batches, record_batches
from jobs.silver.validity import contract_violation, count_rejections
from jobs.silver.writes import TableReport, staged
from omnilake import delta, privacy
from omnilake.contracts import contract
from omnilake.lake import Lake
from omnilake.transforms import latest_by_key

log = logging.getLogger(__name__)

SOURCE = "pos"
KEYS = ("store_id", "register_id", "transaction_id", "line_no")
TILL_CLOCK_FORMAT = "yyyy-MM-dd HH:mm:ss"
UNKNOWN_REGISTER = "unknown"
# A till file holds one store-local business day; a day's slack for files cut at midnight UTC.
FUTURE_TOLERANCE_DAYS = 1
RETURN_WINDOW_DAYS = 90
MONEY = T.DecimalType(12, 2)


# --- pure transformations ------------------------------------------------------------------------


def till_clock(df: DataFrame, name: str) -> Column:
    """The till's wall-clock time as a timestamp in the session zone (the zone is applied later)."""
    if isinstance(df.schema[name].dataType, T.StringType):
        text = F.trim(F.col(name))
        return F.coalesce(F.try_to_timestamp(text, F.lit(TILL_CLOCK_FORMAT)), text.try_cast("timestamp"))
    return F.col(name).cast("timestamp")


def offset_interval(offset: Column) -> Column:
    """A +HH:MM / -HH:MM offset (silver.locations.utc_offset) as a day-time interval.

    Arithmetic, not ``to_utc_timestamp(ts, '+08:00')``: Sail 0.7.2 refuses offsets as zones.
    """
    sign = F.when(F.substring(offset, 1, 1) == "-", F.lit(-1)).otherwise(F.lit(1))
    minutes = sign * (F.substring(offset, 2, 2).cast("int") * 60 + F.substring(offset, 5, 2).cast("int"))
    return F.make_dt_interval(F.lit(0), F.lit(0), minutes)


def place_in_time(bronze: DataFrame, locations: DataFrame | None) -> DataFrame:
    """Typed till lines with ``transaction_at`` (UTC), ``business_date`` (store-local) and
    ``_reject_reason`` (null for a line that can go to silver)."""
    local = till_clock(bronze, "transaction_ts")
    lines = bronze.select(
        F.trim("store_id").alias("store_id"),
        F.coalesce(F.nullif(F.trim("register_id"), F.lit("")), F.lit(UNKNOWN_REGISTER)).alias("register_id"),
        F.trim("transaction_id").alias("transaction_id"),
        F.col("line_number").cast("int").alias("line_no"),
        local.alias("_local_clock"),
        F.nullif(F.trim("sku"), F.lit("")).alias("_sku"),
        F.nullif(F.trim("barcode"), F.lit("")).alias("_barcode"),
        F.col("quantity").cast("int").alias("quantity"),
        F.col("unit_price").cast(MONEY).alias("unit_price"),
        F.col("discount_amount").cast(MONEY).alias("discount_amount"),
        F.upper(F.trim("void_flag")).alias("_void_flag"),
        F.col("tender_type").alias("tender"),
        "loyalty_card",
        "_batch_id",
        "_landing_date",
        "_file_hash",
        "_line",
        contract_violation(contract("landing", SOURCE)).alias("_contract_violation"),
    )
    if locations is None:
        zones = lines.withColumns(
            {c: F.lit(None).cast("string") for c in ("_zone_store", "_time_zone", "_utc_offset")}
        )
    else:
        zone_of = locations.select(
            F.col("location_id").alias("_zone_store"),
            F.col("time_zone").alias("_time_zone"),
            F.col("utc_offset").alias("_utc_offset"),
        )
        zones = lines.join(zone_of, F.col("store_id") == F.col("_zone_store"), "left")
    business_date = F.to_date("_local_clock")
    latest_plausible = F.date_add(F.col("_landing_date"), FUTURE_TOLERANCE_DAYS)
    return zones.select(
        "*",
        F.coalesce(
            F.to_utc_timestamp("_local_clock", F.col("_time_zone")),
            F.col("_local_clock") - offset_interval(F.col("_utc_offset")),
        ).alias("transaction_at"),
        business_date.alias("business_date"),
        F.when(F.col("_zone_store").isNull(), F.lit("unknown_store"))
        .when(F.col("_time_zone").isNull() & F.col("_utc_offset").isNull(), F.lit("unknown_time_zone"))
        .when(F.col("_local_clock").isNull(), F.lit("unreadable_time"))
        .when(business_date > latest_plausible, F.lit("future_timestamp"))
        .when(F.col("_contract_violation").isNotNull(), F.col("_contract_violation"))
        .alias("_reject_reason"),
    )


def without_repeats(lines: DataFrame) -> DataFrame:
    """One line per key: the first delivered (earliest landing date, file, line in file)."""
    return latest_by_key(
        lines, list(KEYS), [F.col("_landing_date").asc(), F.col("_file_hash").asc(), F.col("_line").asc()]
    )


def resolve_skus(lines: DataFrame, products: DataFrame | None) -> DataFrame:
    """``sku`` from the line, else from its barcode via the product master; ``is_known_sku``."""
    if products is None:
        resolved = lines.withColumn("sku", F.col("_sku"))
    else:
        by_barcode = products.where(F.col("barcode").isNotNull()).groupBy(
            F.col("barcode").alias("_barcode_key")
        )
        by_barcode = by_barcode.agg(F.min("sku").alias("_barcode_sku"))
        resolved = (
            lines.join(by_barcode, F.col("_barcode") == F.col("_barcode_key"), "left")
            .withColumn("sku", F.coalesce("_sku", "_barcode_sku"))
            .drop("_barcode_key", "_barcode_sku")
        )
    return lookups.with_known_sku(resolved, products)


def classify_lines(lines: DataFrame) -> DataFrame:
    """``line_type`` (void, return, sale) and ``net_amount``: quantity x price less the discount, signed
    like the quantity (a return of 2 x 10.00 with 4.00 discount is -16.00); 0 for a void."""
    discount = F.coalesce(F.col("discount_amount"), F.lit(0))
    line_type = (
        F.when(F.col("_void_flag") == "Y", F.lit("void"))
        .when(F.col("quantity") < 0, F.lit("return"))
        .otherwise(F.lit("sale"))
    )
    net = F.when(line_type == "void", F.lit(0)).otherwise(
        F.col("quantity") * F.col("unit_price") - F.signum("quantity").cast("int") * discount
    )
    return lines.withColumn("line_type", line_type).withColumn("net_amount", net.cast(MONEY))


def link_returns(lines: DataFrame, earlier_sales: DataFrame | None) -> DataFrame:
    """``original_transaction_id`` for return lines (see the module docstring for the rule).

    ``earlier_sales`` are sale lines already in silver (store_id, sku, transaction_id,
    transaction_at, loyalty_card_hash, line_type), or None.
    """
    sale_columns = ["store_id", "sku", "transaction_id", "transaction_at", "loyalty_card_hash"]
    sales = lines.where(F.col("line_type") == "sale").select(*sale_columns)
    if earlier_sales is not None:
        sales = sales.unionByName(earlier_sales.where(F.col("line_type") == "sale").select(*sale_columns))
    sales = sales.select(
        F.col("store_id").alias("_sale_store"),
        F.col("sku").alias("_sale_sku"),
        F.col("transaction_id").alias("_sale_transaction"),
        F.col("transaction_at").alias("_sale_at"),
        F.col("loyalty_card_hash").alias("_sale_card"),
    )
    returns = lines.where((F.col("line_type") == "return") & F.col("sku").isNotNull()).select(
        *KEYS, "sku", "transaction_at", "loyalty_card_hash"
    )
    candidates = returns.join(
        sales,
        (F.col("store_id") == F.col("_sale_store"))
        & (F.col("sku") == F.col("_sale_sku"))
        & (F.col("_sale_at") < F.col("transaction_at"))
        & (F.col("_sale_at") >= F.col("transaction_at") - F.expr(f"interval {RETURN_WINDOW_DAYS} days")),
    )
    same_card = F.coalesce(F.col("_sale_card") == F.col("loyalty_card_hash"), F.lit(False))
    ranked = Window.partitionBy(*KEYS).orderBy(
        same_card.desc(), F.col("_sale_at").desc(), F.col("_sale_transaction").desc()
    )
    originals = (
        candidates.withColumn("_rank", F.row_number().over(ranked))
        .where(F.col("_rank") == 1)
        .select(*KEYS, F.col("_sale_transaction").alias("original_transaction_id"))
    )
    return lines.join(originals, list(KEYS), "left")


def pos_line_rows(
    placed: DataFrame,
    products: DataFrame | None,
    earlier_sales: DataFrame | None = None,
    loyalty_keys: DataFrame | None = None,
) -> DataFrame:
    """Placed, accepted till lines -> silver.pos_lines rows."""
    lines = without_repeats(placed.where(F.col("_reject_reason").isNull()))
    lines = classify_lines(resolve_skus(lines, products))
    lines = lines.withColumn("loyalty_card_hash", privacy.identifier_hash("loyalty_card", "loyalty_card"))
    lines = lookups.with_customer_key(lines, [("loyalty_card_hash", loyalty_keys)])
    return link_returns(lines, earlier_sales).select(
        *KEYS,
        "sku",
        "is_known_sku",
        "quantity",
        "unit_price",
        "discount_amount",
        "net_amount",
        "line_type",
        "original_transaction_id",
        "tender",
        "loyalty_card_hash",
        "customer_key",
        "transaction_at",
        "business_date",
        F.col("_landing_date").alias("received_on"),
        "_batch_id",
    )


# --- the job -------------------------------------------------------------------------------------


def _earlier_sales(spark: SparkSession, lake: Lake, placed: DataFrame, since: date) -> DataFrame | None:
    """Sale lines in silver since ``since`` at the stores of this batch's returns (return linking
    searches them)."""
    table = lake.table("silver.pos_lines")
    if not delta.exists(table):
        return None
    returning_stores = placed.where(F.col("quantity") < 0).select("store_id").distinct()
    return (
        delta.read(spark, table)
        .where((F.col("line_type") == "sale") & (F.col("business_date") >= F.lit(since)))
        .join(returning_stores, "store_id", "left_semi")
        .select("store_id", "sku", "transaction_id", "transaction_at", "loyalty_card_hash", "line_type")
    )


def transform_pos(
    spark: SparkSession, lake: Lake, up_to: date | None = None, run_id: str | None = None
) -> TableReport:
    """Take in every pending till file (delivered on or before ``up_to``)."""
    started = time.perf_counter()
    report = TableReport("pos_lines")
    batches = pending_batches(spark, lake, "pos_lines", SOURCE, up_to)
    if batches:
        placed = place_in_time(read_batches(spark, lake, batches), lookups.locations(spark, lake))
        report.rows_in, report.rejected = count_rejections(placed, "pos_lines", lake=lake, source=SOURCE)
        first_day = (
            placed.agg(F.min("business_date").alias("first")).first()["first"] or up_to or date.today()
        )
        since = first_day - timedelta(days=RETURN_WINDOW_DAYS + 1)
        rows = pos_line_rows(
            placed,
            lookups.products(spark, lake),
            _earlier_sales(spark, lake, placed, since),
            lookups.customer_keys(spark, lake, "loyalty_card"),
        )
        with staged(rows, lake, "pos_lines") as staged_rows:
            result = delta.merge(staged_rows, lake.table("silver.pos_lines"), update="none")
        record_batches(spark, lake, "pos_lines", batches, run_id)
        report.inserted, report.updated, report.batches = result.inserted, result.updated, len(batches)
    report.seconds = time.perf_counter() - started
    return report
