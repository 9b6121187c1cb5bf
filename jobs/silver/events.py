"""Behaviour events: ``bronze.events`` -> ``silver.events``, deduplicated, sessionised, staged and
attributed to people.

The story of one run:

1. read the bronze files ``silver.events`` has not taken in yet (``ops.silver_progress``, shared with
   the other silver jobs) and conform them (``conform``): Segment fields renamed, the client IP
   pseudonymised, no e-mail, phone or IP left in clear text (identify traits are not carried over);
2. deduplicate by ``messageId`` (Segment delivers at least once): the first received copy wins, and
   a message already in silver is never inserted again;
3. correct the client clock: Segment's ``timestamp - (sentAt - receivedAt)``, applied when the device
   clock disagrees with the server by more than ``CLOCK_SKEW_TOLERANCE`` (transport latency below
   that is not skew, and keeping the device's own time keeps its events in the order they happened).
   An offline app's late events keep their real (days old) time: its clock was right, only the
   upload was late. An event never happens after it was received;
4. sessionise per device (``anonymousId``; ``userId`` when there is none): 30 minutes without an
   event ends a session; ``session_id`` is a hash of the device and the session's first event time,
   so recomputing gives the same id. New events can extend, split or join sessions already written
   (late app uploads, a session spanning midnight), so each affected device is re-sessionised from
   the start of its last session that could touch the new events;
5. attribute: ``customer_key`` from the ``userId`` (a login), else from the device once an identify
   or login linked it (``silver.customer_identifiers``; shared devices such as kiosks are not linked),
   else from the one person who logged in during the session. Events a device sent before its first
   login get the key once that login arrives, and merged keys are replaced by their survivor: each
   run compares the device and account keys with those it last attributed with
   (``silver.events_identity_basis``) and re-attributes the sessions of the devices and accounts whose
   key changed, and re-ranks the purchases of every person whose set of orders changed; a rebuild
   (or an empty basis) re-attributes the whole table, with the same result.

Where it is kept: ``customer_key`` and ``journey_stage`` live in ``silver.event_attribution``, not in
``silver.events``, and that table only grows: each run appends one ``revision`` of the rows it
attributes anew (the new events, the re-sessionised window, the re-attributed ones), and an event's
attribution is its row of the highest revision (``current_attribution``): a row for an event that
had one is marked ``replaces_earlier``, so readers drop the earlier rows of those few events with a
join against them, not by ranking every row of the table. Re-attribution reaches
events on every past date, a few hundred rows a day spread over every date (a merge re-keys a
person's whole history, a new order re-ranks their purchases), and Delta without deletion vectors
rewrites every file that holds a changed row: updated in place, the whole table was rewritten each
run. Appended, a run writes what it attributed, and the silver gate checks only that
(``quality.scope``). Superseded rows are dropped by rewriting the table once they exceed
``SUPERSEDED_SHARE`` of it (rare: a day supersedes about 0.1%). ``silver.events`` itself gets its new
events appended and only window rows whose session changed merged. The attribution is written
first, so a run stopped between the two writes is repaired by the next run of the same batch (its
events are still new; their attribution is appended again, the same values). Readers see the two
joined on ``message_id``: ``read_attributed`` in Spark, ``stg_silver__events`` in dbt.

Journey stages (``journey_stage``):

==========  ================================================================================
awareness   page views of home, landing and content pages (``/``, ``/pages/…``, ``/blogs/…``),
            and any other page not listed below
interest    product and product-list views: Category, Search and Product pages, Product Viewed,
            Product List Viewed, Product Clicked, Products Searched
decision    Product Added, Cart Viewed, Checkout Started, Checkout Step Viewed/Completed, Payment
            Info Entered, and the Cart and Checkout pages
purchase    Order Completed (a person's first in the lake) and the Order Confirmation page
loyalty     a repeat Order Completed (the person completed an earlier order), and account or
            loyalty pages (``/account…``, ``/loyalty…``, ``/rewards…``)
(none)      identify calls: they say who, not what the visitor did
==========  ================================================================================
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from deltalake import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from jobs.silver.identity import Scratch
from jobs.silver.outputs import ensure_outputs
from jobs.silver.progress import pending_batches, read_batches, record_batches
from jobs.silver.writes import changed
from omnilake import delta
from omnilake.engine import get_spark
from omnilake.lake import Lake, Table, get_lake
from omnilake.privacy import identifier_hash
from omnilake.transforms import latest_by_key

if TYPE_CHECKING:
    from omnilake.pipeline import RunContext

log = logging.getLogger(__name__)

TABLE = "events"
ATTRIBUTION = "event_attribution"
SESSION_GAP_SECONDS = 30 * 60
CLOCK_SKEW_TOLERANCE_SECONDS = 60
_MICROS = 1_000_000

JOURNEY_STAGES = ("awareness", "interest", "decision", "purchase", "loyalty")
AWARENESS_PAGES = ("Home", "Landing", "Content")
INTEREST_PAGES = ("Category", "Search", "Product", "Collection")
DECISION_PAGES = ("Cart", "Checkout")
PURCHASE_PAGES = ("Order Confirmation",)
INTEREST_EVENTS = ("Product Viewed", "Product List Viewed", "Product Clicked", "Products Searched")
DECISION_EVENTS = (
    "Product Added",
    "Cart Viewed",
    "Checkout Started",
    "Checkout Step Viewed",
    "Checkout Step Completed",
    "Payment Info Entered",
)
ORDER_COMPLETED = "Order Completed"
LOYALTY_PATHS = r"^/(account|loyalty|rewards)(/|$)"

# what attribution recomputes: the session (in silver.events, rewritten for the recent window only)
# and who and which stage (in silver.event_attribution, re-attributed on any date)
_SESSION = ("session_id",)
_ATTRIBUTED = ("customer_key", "journey_stage")
_DERIVED = (*_SESSION, *_ATTRIBUTED)
# the columns re-attribution reads of an event: to rank and stage it, and to key its session
_RANKED_BY = ("message_id", "event_date", "event_at", "event_type", "event_name", "page_path")
_KEYED_BY = ("session_id", "anonymous_id", "user_id")
REVISION = "revision"
REPLACES = "replaces_earlier"
# Rewrite the attribution without its superseded rows once they are this share of its rows.
SUPERSEDED_SHARE = 0.1


# --- pure transformations ------------------------------------------------------------------------


def _micros(column: Column) -> Column:
    return F.unix_micros(column)


def corrected_event_time(timestamp: Column, sent_at: Column, received_at: Column) -> Column:
    """When the event happened: the device time, shifted by the device clock's error when that
    error (``receivedAt - sentAt``) exceeds the tolerance, and never after it was received."""
    skew = _micros(received_at) - _micros(sent_at)
    shifted = F.timestamp_micros(_micros(timestamp) + skew)
    corrected = F.when(
        sent_at.isNotNull() & (F.abs(skew) > CLOCK_SKEW_TOLERANCE_SECONDS * _MICROS), shifted
    ).otherwise(timestamp)
    return F.when(received_at.isNotNull() & (corrected > received_at), received_at).otherwise(corrected)


def conform(bronze: DataFrame) -> DataFrame:
    """Bronze Segment rows in silver shape, without ``session_id``, ``customer_key`` and
    ``journey_stage`` (``sessionise`` and ``attribute`` add them)."""
    timestamp = F.col("timestamp").cast("timestamp")
    sent_at = F.col("sentAt").cast("timestamp")
    received_at = F.col("receivedAt").cast("timestamp")
    event_at = corrected_event_time(timestamp, sent_at, received_at)
    is_app = F.col("context.app.name").isNotNull() | F.col("context.library.name").isin(
        "analytics-ios", "analytics-android"
    )
    path = F.coalesce(F.col("properties.path"), F.col("context.page.path"))
    is_page = F.col("type") == "page"
    is_order = (F.col("type") == "track") & (F.col("event") == ORDER_COMPLETED)
    return bronze.select(
        F.col("messageId").alias("message_id"),
        F.col("type").alias("event_type"),
        F.when(is_page, F.col("name")).when(F.col("type") == "track", F.col("event")).alias("event_name"),
        F.nullif(F.trim(F.col("anonymousId")), F.lit("")).alias("anonymous_id"),
        F.nullif(F.trim(F.col("userId")), F.lit("")).alias("user_id"),
        F.when(is_app, F.lit("app")).otherwise(F.lit("web")).alias("channel"),
        F.col("context.device.type").alias("device_type"),
        F.when(is_page, F.regexp_replace(path, r"[?#].*$", "")).alias("page_path"),
        F.coalesce(F.col("properties.sku"), F.col("properties.product_id")).alias("product_sku"),
        F.when(is_order, F.col("properties.order_id")).alias("order_id"),
        F.when(is_order, F.col("properties.revenue").cast("decimal(12,2)")).alias("revenue"),
        identifier_hash("ip", F.col("context.ip")).alias("ip_hash"),
        event_at.alias("event_at"),
        received_at.alias("received_at"),
        F.to_date(event_at).alias("event_date"),
        F.col("_landing_date").alias("received_on"),
        F.col("_batch_id"),
        F.col("_line"),
    ).where(F.col("event_at").isNotNull())


def deduplicate(conformed: DataFrame) -> DataFrame:
    """One row per message: the first received copy (then the earliest batch and line)."""
    return latest_by_key(
        conformed, ["message_id"], [F.col("received_at").asc_nulls_last(), F.col("_batch_id"), F.col("_line")]
    ).drop("_line")


def actor() -> Column:
    """Whose clicks make a session: the device, or the account when there is no device id."""
    return F.coalesce(F.col("anonymous_id"), F.concat(F.lit("user:"), F.col("user_id")))


def sessionise(events: DataFrame, gap_seconds: int = SESSION_GAP_SECONDS) -> DataFrame:
    """``session_id`` per event: a new session after ``gap_seconds`` without an event of the same
    device. The id hashes the device and the session's first event time (deterministic)."""
    by_actor = Window.partitionBy("_actor").orderBy("event_at", "message_id")
    with_gaps = events.withColumn("_actor", actor()).withColumn(
        "_previous_at", F.lag("event_at").over(by_actor)
    )
    starts = F.when(
        F.col("_previous_at").isNull()
        | ((_micros(F.col("event_at")) - _micros(F.col("_previous_at"))) > gap_seconds * _MICROS),
        1,
    ).otherwise(0)
    numbered = with_gaps.withColumn(
        "_session_no",
        F.sum(starts).over(by_actor.rowsBetween(Window.unboundedPreceding, Window.currentRow)),
    )
    started = numbered.withColumn(
        "_session_start", F.min("event_at").over(Window.partitionBy("_actor", "_session_no"))
    )
    session_id = F.concat(
        F.lit("s_"),
        F.substring(
            F.sha2(
                F.concat_ws(
                    "|", F.col("_actor"), F.date_format("_session_start", "yyyy-MM-dd'T'HH:mm:ss.SSSSSS")
                ),
                256,
            ),
            1,
            24,
        ),
    )
    return started.withColumn("session_id", session_id).drop(
        "_actor", "_previous_at", "_session_no", "_session_start"
    )


def base_stage() -> Column:
    """The journey stage an event has on its own (a repeat purchase is decided by ``attribute``)."""
    name, path = F.col("event_name"), F.coalesce(F.col("page_path"), F.lit(""))
    page = (
        F.when(path.rlike(LOYALTY_PATHS), "loyalty")
        .when(name.isin(*PURCHASE_PAGES) | path.startswith("/orders/"), "purchase")
        .when(name.isin(*DECISION_PAGES) | path.isin("/cart", "/checkout"), "decision")
        .when(
            name.isin(*INTEREST_PAGES)
            | path.startswith("/products/")
            | path.startswith("/collections/")
            | path.startswith("/search"),
            "interest",
        )
        .otherwise("awareness")
    )
    track = (
        F.when(name == ORDER_COMPLETED, "purchase")
        .when(name.isin(*DECISION_EVENTS), "decision")
        .when(name.isin(*INTEREST_EVENTS), "interest")
    )
    kind = F.col("event_type")
    return F.when(kind.isin("page", "screen"), page).when(kind == "track", track)


def is_order_completed() -> Column:
    return (F.col("event_type") == "track") & (F.col("event_name") == ORDER_COMPLETED)


def attribute_keys(events: DataFrame, identifiers: DataFrame) -> DataFrame:
    """``customer_key`` for every event of ``events`` (sessionised, whole sessions): the login
    (``user_id``), else the linked device, else the single person who logged in during the session.
    ``identifiers`` is ``silver.customer_identifiers``."""
    accounts = identifiers.where(F.col("identifier_type") == "web_customer_id").select(
        F.col("identifier_hash").alias("_user_hash"), F.col("customer_key").alias("_user_key")
    )
    devices = identifiers.where(F.col("identifier_type") == "device").select(
        F.col("identifier_hash").alias("_device_hash"), F.col("customer_key").alias("_device_key")
    )
    keyed = (
        events.withColumn("_user_hash", identifier_hash("web_customer_id", F.col("user_id")))
        .withColumn("_device_hash", identifier_hash("device", F.col("anonymous_id")))
        .join(accounts, "_user_hash", "left")
        .join(devices, "_device_hash", "left")
    )
    session = Window.partitionBy("session_id")
    session_keys = F.array_distinct(F.collect_list("_user_key").over(session))
    return keyed.withColumn(
        "customer_key",
        F.coalesce(
            F.col("_user_key"),
            F.col("_device_key"),
            F.when(F.size(session_keys) == 1, session_keys[0]),
        ),
    ).drop("_user_hash", "_device_hash", "_user_key", "_device_key")


def journey_stages(keyed: DataFrame) -> DataFrame:
    """``journey_stage`` for every event of ``keyed`` (with ``customer_key``; every order of each
    person): an Order Completed of a person who completed an earlier one is a repeat purchase."""
    purchases = Window.partitionBy("customer_key", "_is_order").orderBy("event_at", "message_id")
    is_order = is_order_completed()
    staged = (
        keyed.withColumn("_is_order", is_order)
        .withColumn(
            "_purchase_no",
            F.when(is_order & F.col("customer_key").isNotNull(), F.row_number().over(purchases)),
        )
        .withColumn(
            "journey_stage",
            F.when(is_order & (F.col("_purchase_no") > 1), F.lit("loyalty")).otherwise(base_stage()),
        )
    )
    return staged.drop("_is_order", "_purchase_no")


def attribute(events: DataFrame, identifiers: DataFrame) -> DataFrame:
    """``customer_key`` and ``journey_stage`` for every event of ``events`` (sessionised).

    The key comes from the login (``user_id``), else the linked device, else the single person
    who logged in during the session. An Order Completed of a person who completed an earlier one
    is a repeat purchase: stage loyalty. ``identifiers`` is ``silver.customer_identifiers``.
    """
    return journey_stages(attribute_keys(events, identifiers))


# --- the job -------------------------------------------------------------------------------------


@dataclass
class EventsResult:
    batches: int
    rows_in: int
    duplicates: int
    inserted: int
    updated: int
    resessionised: int
    reattributed: int
    seconds: float


def _touching_sessions(
    existing: DataFrame, fresh: DataFrame, gap_seconds: int
) -> tuple[DataFrame, DataFrame, DataFrame]:
    """(each device's earliest new event ``_first_new``; the written events of those devices; their
    sessions that end within the gap before it, with ``_start``)."""
    first_new = (
        fresh.withColumn("_actor", actor()).groupBy("_actor").agg(F.min("event_at").alias("_first_new"))
    )
    written = existing.withColumn("_actor", actor()).join(first_new, "_actor")
    sessions = written.groupBy("_actor", "session_id", "_first_new").agg(
        F.min("event_at").alias("_start"), F.max("event_at").alias("_end")
    )
    touching = sessions.where(_micros(F.col("_end")) >= _micros(F.col("_first_new")) - gap_seconds * _MICROS)
    return first_new, written, touching


def recent_window(existing: DataFrame, fresh: DataFrame, gap_seconds: int = SESSION_GAP_SECONDS) -> DataFrame:
    """The already-written events to sessionise again with ``fresh``: per device, everything from
    the start of its last session that ends within the gap before the device's earliest new event
    (or from that event when no session comes that close)."""
    first_new, written, touching = _touching_sessions(existing, fresh, gap_seconds)
    from_when = first_new.join(
        touching.groupBy("_actor").agg(F.min("_start").alias("_touch_start")), "_actor", "left"
    ).select("_actor", F.least(F.col("_first_new"), F.coalesce("_touch_start", "_first_new")).alias("_from"))
    return (
        written.drop("_first_new")
        .join(from_when, "_actor")
        .where(F.col("event_at") >= F.col("_from"))
        .drop("_actor", "_from")
    )


def window_start(
    existing: DataFrame, fresh: DataFrame, gap_seconds: int = SESSION_GAP_SECONDS
) -> date | None:
    """The earliest ``event_date`` partition that ``recent_window`` can reach, so that it reads the
    last days only (None: ``fresh`` is empty).

    The window holds events no earlier than the gap before a device's first new event, plus the
    rest of the sessions that reach that close. A session's events lie at most the gap apart, so a
    session read from partitions ``>= lo`` can hold earlier events only if its earliest one read
    falls within the gap after ``lo``'s midnight; then ``lo`` moves back and the sessions are read
    again, until none can: the window over partitions ``>= lo`` is the window over the whole table.
    """
    gap = gap_seconds * _MICROS
    lo = fresh.agg(F.to_date(F.timestamp_micros(F.min(_micros(F.col("event_at"))) - gap)).alias("lo")).first()
    lo = lo["lo"] if lo else None
    while lo is not None:
        *_, touching = _touching_sessions(
            existing.where(F.col("event_date") >= F.lit(lo)), fresh, gap_seconds
        )
        midnight = _micros(F.to_timestamp(F.lit(lo)))
        reaching = touching.where(_micros(F.col("_start")) - midnight <= gap).agg(
            F.to_date(F.timestamp_micros(F.min(_micros(F.col("_start"))) - gap)).alias("lo")
        )
        earlier = reaching.first()["lo"]
        if earlier is None or earlier >= lo:
            return lo
        lo = earlier
    return None


def attributed(events: DataFrame, attribution: DataFrame) -> DataFrame:
    """Events with their ``customer_key`` and ``journey_stage``: ``silver.events`` joined with
    ``silver.event_attribution`` on the message (``stg_silver__events`` is the same join in dbt)."""
    return events.join(attribution.select("message_id", *_ATTRIBUTED), "message_id", "left")


def current_attribution(rows: DataFrame, of: DataFrame | None = None) -> DataFrame:
    """One row per event of ``silver.event_attribution``'s rows: its latest revision, without the
    revision columns (``stg_silver__event_attribution`` is the same in dbt).

    ``of`` (a frame with ``message_id``) limits it to those events: an event's latest revision is
    decided by its own rows alone, so the rows are narrowed to those events first and only theirs
    are ranked and joined on, not every event's."""
    if of is not None:
        rows = rows.join(of.select("message_id").distinct(), "message_id", "left_semi")
    return _latest_rows(rows).drop(REVISION, REPLACES)


def read_attribution(spark: SparkSession, lake: Lake) -> DataFrame:
    """Every event's current attribution (``message_id``, ``customer_key``, ``journey_stage``), after
    migrating a lake written with an older layout."""
    upgrade_layout(spark, lake)
    return current_attribution(delta.read(spark, lake.table(f"silver.{ATTRIBUTION}")))


def read_attributed(spark: SparkSession, lake: Lake) -> DataFrame:
    """``silver.events`` as its readers see it: every event with who and which journey stage (a
    lake written with an older layout is migrated first)."""
    return attributed(delta.read(spark, lake.table(f"silver.{TABLE}")), read_attribution(spark, lake))


def upgrade_layout(spark: SparkSession, lake: Lake) -> None:
    """Bring a lake written with an older layout of the events to this one, once."""
    move_attribution_out(spark, lake)
    add_attribution_revisions(spark, lake)


def add_attribution_revisions(spark: SparkSession, lake: Lake) -> bool:
    """Give a ``silver.event_attribution`` written before it had revisions (one row per event,
    updated in place) the column, every row revision 0, once (True when it did)."""
    table = lake.table(f"silver.{ATTRIBUTION}")
    if not delta.exists(table) or {REVISION, REPLACES} <= {
        f.name for f in DeltaTable(table.path).schema().fields
    }:
        return False
    scratch = Scratch(lake, "attribution_layout")
    try:
        old = scratch.materialise(spark.read.format("delta").load(table.path), "attribution")
        rows = delta.check_schema(
            old.select(
                "message_id",
                *_ATTRIBUTED,
                F.lit(0).cast("long").alias(REVISION),
                F.lit(False).alias(REPLACES),
            ),
            table,
        )
        rows.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(table.path)
    finally:
        scratch.cleanup()
    log.warning("migrated silver.%s: one revision per row (revision 0), appended to from now on", ATTRIBUTION)
    return True


def move_attribution_out(spark: SparkSession, lake: Lake) -> bool:
    """Move ``customer_key`` and ``journey_stage`` from a ``silver.events`` written before
    ``silver.event_attribution`` existed into that table, once (True when it did)."""
    table = lake.table(f"silver.{TABLE}")
    if not delta.exists(table) or not set(_ATTRIBUTED) <= {
        f.name for f in DeltaTable(table.path).schema().fields
    }:
        return False
    scratch = Scratch(lake, "events_layout")
    try:
        old = scratch.materialise(spark.read.format("delta").load(table.path), "events")
        delta.overwrite(
            old.select(
                "message_id",
                *_ATTRIBUTED,
                F.lit(0).cast("long").alias(REVISION),
                F.lit(False).alias(REPLACES),
            ),
            lake.table(f"silver.{ATTRIBUTION}"),
        )
        events = delta.check_schema(old.drop(*_ATTRIBUTED), table)
        events.write.format("delta").mode("overwrite").option("overwriteSchema", "true").partitionBy(
            *table.partition_by
        ).save(table.path)
    finally:
        scratch.cleanup()
    log.warning("migrated silver.%s: customer_key and journey_stage moved to silver.%s", TABLE, ATTRIBUTION)
    return True


def build_events(
    lake: Lake | None = None,
    up_to: date | None = None,
    run_id: str | None = None,
    *,
    rebuild: bool = False,
) -> EventsResult:
    """Take in every new bronze events file (delivered on or before ``up_to``) and re-attribute;
    ``rebuild`` empties the table and takes in every file, the way a first run does."""
    started = time.perf_counter()
    lake = lake or get_lake()
    spark = get_spark()
    upgrade_layout(spark, lake)
    table = lake.table(f"silver.{TABLE}")
    if rebuild:
        forget_events(spark, lake)
    identifiers = delta.read(spark, lake.table("silver.customer_identifiers")).select(
        "identifier_type", "identifier_hash", "customer_key"
    )
    batches = pending_batches(spark, lake, TABLE, "events", up_to)
    scratch = Scratch(lake, "events")
    rows_in = duplicates = inserted = updated = resessionised = 0
    ranked_keys = pending = staged_events = fresh = window_from = None
    try:
        if batches:
            bronze = read_batches(spark, lake, batches)
            conformed = scratch.materialise(conform(bronze), "conformed")
            rows_in = conformed.count()
            existing = delta.read(spark, table)
            # A message is new unless some partition holds it: a redelivery's clock correction can
            # move it to another day, so this one column is read across the table.
            fresh = deduplicate(conformed).join(existing.select("message_id"), "message_id", "left_anti")
            fresh = scratch.materialise(fresh, "fresh")
            new_rows = fresh.count()
            duplicates = rows_in - new_rows
            window_from = window_start(existing, fresh)
            recent = existing.where(_from_date(window_from))
            # the window's attribution only: its events' rows of the attribution, not every event's
            in_window = scratch.materialise(recent_window(recent, fresh), "window_events")
            rows = delta.read(spark, lake.table(f"silver.{ATTRIBUTION}"))
            written = scratch.materialise(
                attributed(in_window, current_attribution(rows, of=in_window)), "window"
            )
            window = written.drop(*_DERIVED)
            resessionised = window.count()
            staged = attribute(sessionise(window.unionByName(fresh)), identifiers)
            staged = scratch.materialise(staged, "staged")
            staged_events = staged.drop(*_ATTRIBUTED)
            # The window's attribution rows that changed, and the fresh rows' new ones: appended by
            # re-attribution with whatever it changes too (one revision a run).
            was = written.select(
                "message_id", *[F.col(c).alias(f"_was_{c}") for c in _ATTRIBUTED], F.lit(True).alias("_was")
            )
            moved = (
                staged.select("message_id", *_ATTRIBUTED)
                .join(was, "message_id", "left")
                .where(
                    F.col("_was").isNull()
                    | ~F.col("customer_key").eqNullSafe(F.col("_was_customer_key"))
                    | ~F.col("journey_stage").eqNullSafe(F.col("_was_journey_stage"))
                )
                .select("message_id", *_ATTRIBUTED)
            )
            pending = scratch.materialise(moved, "attribution")
            # Purchases were ranked within the window only: every person whose orders it holds,
            # before or after, is re-ranked over the whole table.
            ranked_keys = (
                written.unionByName(staged.select(*written.columns))
                .where(is_order_completed() & F.col("customer_key").isNotNull())
                .select("customer_key")
            )
        # The attribution is written first: after a crash before the events are, the next run finds
        # the same events new again and writes their attribution again (the same rows).
        reattributed = reattribute(
            spark, lake, identifiers, scratch, ranked_keys, pending, staged_events, fresh, window_from
        )
        if staged_events is not None:
            inserted, updated = _write_events(staged_events, written, table)
        record_batches(spark, lake, TABLE, batches, run_id)
    finally:
        scratch.cleanup()
    outcome = EventsResult(
        batches=len(batches),
        rows_in=rows_in,
        duplicates=duplicates,
        inserted=inserted,
        updated=updated,
        resessionised=resessionised,
        reattributed=reattributed,
        seconds=time.perf_counter() - started,
    )
    log.info("silver events: %s", outcome)
    return outcome


def _write_events(staged: DataFrame, written: DataFrame, table: Table) -> tuple[int, int]:
    """Write the run's events (``staged``: the window re-sessionised and the new events) over the
    window as it was (``written``): the new ones appended, the window's changed sessions merged.
    Returns (inserted, updated)."""
    new = staged.join(written.select("message_id"), "message_id", "left_anti")
    inserted = new.count()
    if inserted:
        delta.append(new, table)
    resessioned = (
        staged.join(written.select("message_id", F.col("session_id").alias("_was_session")), "message_id")
        .where(~F.col("session_id").eqNullSafe(F.col("_was_session")))
        .drop("_was_session")
    )
    dates = _dates(resessioned)
    if not dates:
        return inserted, 0
    # Window rows keep their partition: the merge reads and rewrites only their dates.
    result = delta.merge(
        resessioned, table, update_when=changed(_SESSION), target_where=_target_on_dates(dates)
    )
    return inserted, result.updated


def forget_events(spark: SparkSession, lake: Lake) -> None:
    """Empty ``silver.events``, its attribution and attribution basis and its progress, so the next
    build takes in every bronze file again (a rebuild)."""
    for name in (f"silver.{TABLE}", f"silver.{ATTRIBUTION}", "silver.events_identity_basis"):
        table = lake.table(name)
        if delta.exists(table):
            delta.delete_where(spark, table, "true")
    progress = lake.table("ops.silver_progress")
    if delta.exists(progress):
        delta.delete_where(spark, progress, f"`table` = {delta.sql_literal(TABLE)}")


def _linking(identifiers: DataFrame) -> DataFrame:
    """The identifiers attribution looks up: devices and web accounts."""
    return identifiers.where(F.col("identifier_type").isin("device", "web_customer_id")).select(
        "identifier_type", "identifier_hash", "customer_key"
    )


def reattribute(
    spark: SparkSession,
    lake: Lake,
    identifiers: DataFrame,
    scratch: Scratch,
    ranked_keys: DataFrame | None = None,
    pending: DataFrame | None = None,
    staged_events: DataFrame | None = None,
    fresh: DataFrame | None = None,
    window_from: date | None = None,
) -> int:
    """Bring ``customer_key`` and ``journey_stage`` up to date with ``identifiers``; append the
    changed rows to ``silver.event_attribution`` as a new revision (``silver.events`` is not
    written). Returns how many events already attributed changed (``fresh``: the new events, whose
    rows are not changes).

    With an attribution basis (the keys of the last run), only what a change can move is recomputed:
    the sessions holding an event of a device or account whose key changed, and the purchases of the
    people who gained or lost an order (``ranked_keys``: persons whose orders this run's merge
    ranked). Without one, the whole table is re-attributed. ``pending`` is this run's attribution of
    new and re-sessionised events and ``staged_events`` those events, neither written yet: they count
    as written, and ``pending`` goes into the same merge. The re-sessionised ones were read from the
    partitions from ``window_from`` on and the new ones are in none, so only those partitions'
    rows are replaced by ``staged_events`` (the rest is read as it is, not joined).
    """
    table = lake.table(f"silver.{TABLE}")
    attribution = lake.table(f"silver.{ATTRIBUTION}")
    basis_table = lake.table("silver.events_identity_basis")
    if not delta.exists(table):
        return 0
    linking = scratch.materialise(_linking(identifiers), "linking")
    basis = delta.read(spark, basis_table)
    events = delta.read(spark, table)
    if staged_events is not None:
        window = events.where(_from_date(window_from))
        events = (
            events.where(~_from_date(window_from))
            .unionByName(window.join(staged_events.select("message_id"), "message_id", "left_anti"))
            .unionByName(staged_events)
        )
    rows = delta.read(spark, attribution)
    # the attribution's rows of the events re-attribution looked up (and of ``pending``'s): every
    # event it can change is among them, so whether a change replaces a row is told from these,
    # not from another read of the whole table
    held: list[DataFrame] = []

    def stored(of: DataFrame | None) -> DataFrame:
        """The attribution as it stands with ``pending`` (of the events of ``of``; all: None)."""
        if of is None:
            standing = current_attribution(rows)
        else:
            if pending is not None:
                of = of.select("message_id").unionByName(pending.select("message_id"))
            narrowed = scratch.materialise(
                rows.join(of.select("message_id").distinct(), "message_id", "left_semi"), "held_rows"
            )
            held.append(narrowed)
            standing = current_attribution(narrowed)
        if pending is None:
            return standing
        return standing.join(pending.select("message_id"), "message_id", "left_anti").unionByName(pending)

    if basis.isEmpty():
        log.info("silver events: re-attributing the whole table")
        moved = _reattribute_all(attributed(events, stored(None)), identifiers)
    else:
        moved = _reattribute_changed(spark, events, stored, linking, basis, identifiers, scratch, ranked_keys)
    if moved is not None:
        moved = scratch.materialise(moved.select("message_id", *_ATTRIBUTED), "reattributed")
    if pending is None:
        changes = moved
    elif moved is None:
        changes = pending
    else:
        changes = pending.join(moved.select("message_id"), "message_id", "left_anti").unionByName(moved)
    updated = 0
    if changes is not None and not changes.isEmpty():
        # a row for an event attributed before replaces its earlier rows (an event of a run that
        # stopped after this write, taken in again, is one of them)
        # (an event has a current attribution exactly when it has a row of any revision)
        known = (
            (held[-1] if held else rows)
            .select("message_id")
            .join(changes.select("message_id"), "message_id", "left_semi")
            .distinct()
            .select("message_id", F.lit(True).alias("_known"))
        )
        flagged = changes.join(known, "message_id", "left").select(
            "message_id", *_ATTRIBUTED, F.coalesce(F.col("_known"), F.lit(False)).alias(REPLACES)
        )
        flagged = scratch.materialise(flagged, "revision")
        updated = flagged.where(F.col(REPLACES)).count()
        append_revision(spark, lake, flagged, unwritten=fresh.count() if fresh is not None else 0)
    if moved is not None:
        delta.overwrite(linking, basis_table)
    return updated


def append_revision(spark: SparkSession, lake: Lake, changes: DataFrame, *, unwritten: int = 0) -> None:
    """Append ``changes`` (``message_id``, the attributed columns and ``replaces_earlier``, one row
    per event) to
    ``silver.event_attribution`` as its next revision, then drop superseded rows if they are
    ``SUPERSEDED_SHARE`` of the table or more (counted from the logs: the attribution's rows less
    the events', ``unwritten`` new events not yet in ``silver.events`` counted in).

    The revision is the table's next Delta version: it only grows, across rewrites too."""
    attribution = lake.table(f"silver.{ATTRIBUTION}")
    revision = DeltaTable(attribution.path).version() + 1 if delta.exists(attribution) else 0
    delta.append(
        changes.select("message_id", *_ATTRIBUTED, F.lit(revision).cast("long").alias(REVISION), REPLACES),
        attribution,
    )
    rows, events = _live_rows(attribution), _live_rows(lake.table(f"silver.{TABLE}"))
    superseded = None if rows is None or events is None else rows - events - unwritten
    if superseded is not None and superseded >= SUPERSEDED_SHARE * rows > 0:
        scratch = Scratch(lake, "attribution_superseded")
        try:
            latest = scratch.materialise(
                _latest_rows(delta.read(spark, attribution)).withColumn(REPLACES, F.lit(False)), "latest"
            )
            delta.overwrite(latest, attribution)
        finally:
            scratch.cleanup()
        log.info("silver events: dropped about %d superseded attribution rows", superseded)


def _latest_rows(rows: DataFrame) -> DataFrame:
    """The row of the latest revision of each event. A row marked ``replaces_earlier`` is the
    latest of its event when written (every later one is marked too), so an event's rows below its
    highest marked revision are superseded: one join against the marked rows, which are few."""
    replaced = rows.where(F.col(REPLACES)).groupBy("message_id").agg(F.max(REVISION).alias("_replaced_below"))
    return (
        rows.join(replaced, "message_id", "left")
        .where(F.col("_replaced_below").isNull() | (F.col(REVISION) >= F.col("_replaced_below")))
        .drop("_replaced_below")
    )


def _live_rows(table: Table) -> int | None:
    """The table's rows as its log counts them (no scan); None if a file does not say."""
    counts = [f.num_records for f in delta.snapshot(table).files.values()] if delta.exists(table) else []
    return None if None in counts else sum(counts)


def _reattribute_all(current: DataFrame, identifiers: DataFrame) -> DataFrame:
    """The rows of the whole table whose key or stage a fresh attribution changes."""
    recomputed = attribute(current.drop("customer_key", "journey_stage"), identifiers)
    return (
        recomputed.join(
            current.select(
                "message_id",
                F.col("customer_key").alias("_was_key"),
                F.col("journey_stage").alias("_was_stage"),
            ),
            "message_id",
        )
        .where(
            ~F.col("customer_key").eqNullSafe(F.col("_was_key"))
            | ~F.col("journey_stage").eqNullSafe(F.col("_was_stage"))
        )
        .drop("_was_key", "_was_stage")
    )


def _reattribute_changed(
    spark: SparkSession,
    events: DataFrame,
    stored: Callable[[DataFrame | None], DataFrame],
    linking: DataFrame,
    basis: DataFrame,
    identifiers: DataFrame,
    scratch: Scratch,
    ranked_keys: DataFrame | None,
) -> DataFrame | None:
    """The rows (``message_id`` and the attributed columns) whose key or stage changed since the
    basis, or None when nothing can have moved. ``events`` is ``silver.events`` and ``stored(of)``
    the attribution as it stands of the events of ``of``. Every row that can move is in hand once
    read (the touched sessions, the orders), with only the columns re-attribution needs, and their
    attribution is looked up in one read of it: no whole-table join, and each table read once."""
    ids = ["identifier_type", "identifier_hash"]
    changes = scratch.materialise(
        linking.join(basis.withColumnRenamed("customer_key", "_was_key"), ids, "full").where(
            ~F.col("customer_key").eqNullSafe(F.col("_was_key"))
        ),
        "identity_changes",
    )
    has_changes = not changes.isEmpty()
    if not has_changes and ranked_keys is None:
        return None
    # Every Order Completed (read once: ranks need a person's every order).
    order_events = scratch.materialise(events.where(is_order_completed()).select(*_RANKED_BY), "order_events")
    touched = None
    if has_changes:
        devices = changes.where(F.col("identifier_type") == "device").select(
            F.col("identifier_hash").alias("_device_hash")
        )
        accounts = changes.where(F.col("identifier_type") == "web_customer_id").select(
            F.col("identifier_hash").alias("_user_hash")
        )
        # Read the table's ids once, one row per session and day, and pseudonymise each distinct
        # device and account once, not every event.
        ids = scratch.materialise(
            events.select("anonymous_id", "user_id", "session_id", "event_date").distinct(), "event_ids"
        )
        changed_devices = (
            ids.select("anonymous_id")
            .distinct()
            .withColumn("_device_hash", identifier_hash("device", F.col("anonymous_id")))
            .join(devices, "_device_hash", "left_semi")
            .select("anonymous_id")
        )
        changed_accounts = (
            ids.select("user_id")
            .distinct()
            .withColumn("_user_hash", identifier_hash("web_customer_id", F.col("user_id")))
            .join(accounts, "_user_hash", "left_semi")
            .select("user_id")
        )
        sessions = scratch.materialise(
            ids.join(changed_devices, "anonymous_id", "left_semi")
            .select("session_id")
            .unionByName(ids.join(changed_accounts, "user_id", "left_semi").select("session_id"))
            .distinct(),
            "touched_sessions",
        )
        # Read whole rows only from the dates those sessions cover (event_date partitions).
        dates = [
            r["event_date"]
            for r in ids.join(sessions, "session_id").select("event_date").distinct().collect()
        ]
        touched = scratch.materialise(
            events.where(_on_dates(dates))
            .join(sessions, "session_id", "left_semi")
            .select(*_RANKED_BY, *_KEYED_BY),
            "touched_events",
        )
    # the attribution of the orders and of the touched sessions' events, in one read of it
    wanted = (
        order_events
        if touched is None
        else order_events.select("message_id").unionByName(touched.select("message_id"))
    )
    standing = scratch.materialise(stored(wanted), "standing")
    if touched is not None:
        in_sessions = scratch.materialise(attributed(touched, standing), "in_sessions")
        rekeyed = attribute_keys(in_sessions.drop(*_ATTRIBUTED), identifiers).select(
            "message_id", "event_date", F.col("customer_key").alias("_new_key"), F.lit(True).alias("_rekeyed")
        )
        rekeyed = scratch.materialise(rekeyed, "rekeyed")
    else:
        in_sessions = None
        rekeyed = spark.createDataFrame(
            [], "message_id string, event_date date, _new_key string, _rekeyed boolean"
        )
    all_orders = scratch.materialise(attributed(order_events, standing), "orders")
    # An order that changed hands moves both persons' purchase ranks.
    by_message = rekeyed.drop("event_date")
    handed_over = (
        all_orders.join(by_message, "message_id")
        .where(~F.col("_new_key").eqNullSafe(F.col("customer_key")))
        .select(F.explode(F.array("customer_key", "_new_key")).alias("customer_key"))
    )
    ranked = [handed_over] if ranked_keys is None else [handed_over, ranked_keys]
    rank = scratch.materialise(
        _union(ranked)
        .where(F.col("customer_key").isNotNull())
        .distinct()
        .withColumnRenamed("customer_key", "_key"),
        "ranked_keys",
    )
    key = F.when(F.col("_rekeyed"), F.col("_new_key")).otherwise(F.col("customer_key"))
    orders = (
        all_orders.join(by_message, "message_id", "left")
        .withColumn("_key", key)
        .join(rank, "_key", "left_semi")
    )
    by_person = Window.partitionBy("_key").orderBy("event_at", "message_id")
    restaged = orders.select(
        "message_id",
        "event_date",
        F.when(F.row_number().over(by_person) > 1, F.lit("loyalty")).otherwise(base_stage()).alias("_ranked"),
    )
    restaged = scratch.materialise(restaged, "restaged")
    # The rows that can move, as they stand: the touched sessions' and the re-ranked orders' (an
    # order in a touched session is in both, the same row).
    reranked = all_orders.join(restaged.select("message_id"), "message_id", "left_semi")
    if in_sessions is not None:
        reranked = reranked.join(in_sessions.select("message_id"), "message_id", "left_anti")
    candidates = (
        reranked if in_sessions is None else in_sessions.select(*reranked.columns).unionByName(reranked)
    )
    moved = (
        candidates.join(by_message, "message_id", "left")
        .join(restaged.drop("event_date"), "message_id", "left")
        .withColumn("_key", key)
    )
    kept_stage = F.when(is_order_completed() & F.col("_key").isNotNull(), F.col("journey_stage")).otherwise(
        base_stage()
    )
    moved = (
        moved.withColumn("_stage", F.coalesce(F.col("_ranked"), kept_stage))
        .where(
            ~F.col("_key").eqNullSafe(F.col("customer_key"))
            | ~F.col("_stage").eqNullSafe(F.col("journey_stage"))
        )
        .withColumn("customer_key", F.col("_key"))
        .withColumn("journey_stage", F.col("_stage"))
    )
    return moved.select("message_id", *_ATTRIBUTED)


def _dates(events: DataFrame) -> list[date]:
    """The ``event_date`` partitions ``events`` fall in."""
    return [r["event_date"] for r in events.select("event_date").distinct().collect()]


def _target_on_dates(dates: list[date]) -> str:
    """A merge's target predicate: the ``event_date`` partitions ``dates`` (literals, so they prune)."""
    if not dates:
        return "false"
    return "t.`event_date` in (" + ", ".join(f"date'{d.isoformat()}'" for d in sorted(dates)) + ")"


def _from_date(first: date | None) -> Column:
    """Events of partitions from ``first`` on (none when there is no first date)."""
    return F.col("event_date") >= F.lit(first) if first is not None else F.lit(False)


def _on_dates(dates: list[date]) -> Column:
    """Events of ``dates`` (a partition filter; none when there are no dates)."""
    return F.col("event_date").isin(dates) if dates else F.lit(False)


def _union(frames: list[DataFrame]) -> DataFrame:
    union = frames[0]
    for more in frames[1:]:
        union = union.unionByName(more)
    return union


def events_step(context: RunContext) -> dict[str, Any]:
    """Pipeline step: new behaviour events into ``silver.events`` (after the identity step)."""
    result = build_events(context.lake, context.landing_date, context.run_id, rebuild=context.rebuild)
    # empty, not missing, without an events feed
    ensure_outputs(get_spark(), context.lake, TABLE, ATTRIBUTION, "events_identity_basis")
    return {
        "batches": result.batches,
        "rows_in": result.rows_in,
        "duplicates": result.duplicates,
        "inserted": result.inserted,
        "updated": result.updated + result.reattributed,
        "resessionised": result.resessionised,
    }
