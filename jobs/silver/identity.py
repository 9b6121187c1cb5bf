"""Identity resolution: one stable ``customer_key`` per person across every silo.

The story of one run:

1. **observe**: read the identifiers every source records together (an *observation*), normalise
   and pseudonymise them (``omnilake.privacy.identifier_hash``) before anything else sees them:

   ============  ==========================================================================
   source        identifiers observed together
   ============  ==========================================================================
   orders        web_customer_id (``customer.id``), email (order and account), phone, the
                 loyalty_card given at checkout
   crm_members   member_id, loyalty_card, email, phone, and the member's web_customer_id
   events        device (``anonymousId``), web_customer_id (``userId``), and the e-mail and
                 phone of an identify call's traits: any event carrying a ``userId`` is a login
   checkouts     the device of an ``Order Completed`` event and the identifiers of the order it
                 names (``properties.order_id`` = the order's id)
   pos           loyalty_card only (a node, never an edge)
   ============  ==========================================================================

   Each observation links every pair of its identifiers. The name written with it (account,
   CRM or identify traits; case-folded, pseudonymised, never stored) is kept as evidence.

2. **guard against over-merging**. Identifiers are *strong* (web_customer_id, email, member_id,
   loyalty_card: one person each) or *weak* (phone, device: households share a landline, families a
   tablet, a store kiosk serves everyone who logs in on it). Strong edges are always used. Connected
   components over strong edges alone give *strong components*. A weak identifier then:

   - touching one strong component joins it;
   - touching more than ``MAX_COMPONENTS_PER_WEAK`` (3) strong components is shared and not used;
   - touching 2 or 3 strong components is used only if the names written with them agree: a
     phone needs every component to carry a name, and one and the same name (the same person's
     second web account, reached through their own mobile, passes; two household members behind
     one landline do not); a device needs the named components to agree on one name and may also
     reach components seen only through logins (an account that never ordered nor sent traits).

   A weak identifier that is not used is *shared*: it gets no ``customer_key`` (it is not in
   ``silver.customer_identifiers``), and events on a shared device are attributed through their
   ``userId`` only. A weak identifier never seen with a strong one gets no key either: a person is
   anchored by an account, an e-mail or a membership. (Edges between two weak identifiers are not
   used: every weak identifier is observed together with a strong one, which carries the link.)

3. **connected components** over strong edges plus the weak edges that passed, by iterative
   min-label propagation in DataFrames: every node starts with its own id as label and takes the
   smallest label among itself and its neighbours until no label changes. That converges in
   O(diameter) rounds (each a join and an aggregation); each round is written to a scratch Parquet
   folder so the plan does not grow. The number of rounds is logged and returned.

4. **stable keys**. The previous ``silver.customer_identifiers`` says which key each identifier had.
   A new component keeps the key its identifiers already had; unrelated data never changes a key.
   When a component holds identifiers of several old keys (two people turned out to be one), the
   oldest key (earliest first-seen identifier, then the smaller key) survives, and every other one is
   recorded in ``silver.customer_key_merges`` with the identifier types that linked them (earlier
   merges into a retired key are re-pointed to the survivor, so one lookup always gives the current
   key). A component with no old key gets a new key derived from its smallest identifier, so a re-run
   over the same data gives the same keys.

The graph's evidence is kept compacted (``silver.identity_observations``, plus the halves of
checkouts not linked yet in ``silver.identity_checkouts``, and the pairs they link in
``silver.identity_edges``): a run reads only the bronze batches it has not taken in
(``ops.silver_progress``), merges their observations into it and adds their new pairs, then resolves only
the region of the graph its new observations touch (``jobs.silver.identity_region``: their people,
and those their weak identifiers reach) and rewrites only that region's rows of
``silver.customer_identifiers`` (plus the sightings of identifiers seen again); ``rebuild``
(``omnilake rebuild``), a new lake or an erasure (which empties the evidence) reads all of bronze
and resolves the whole graph instead, with the same result. Only the key assignment depends on
history. A weak identifier that turns shared later (a second
household member uses the landline) leaves ``customer_identifiers``; when it was the only link of a
component, that component splits: the old key stays with the part holding most of its identifiers
and the rest gets a new key (a split is logged, not recorded as a merge).

``evaluate(lake)`` scores the result against the generator's truth (``landing/_truth/``, never read
by the pipeline itself): pairwise precision, recall and F1 over identifiers that belong to exactly
one person, and the recall over the pairs the observations can link at all (see ``IdentityScore``),
appended as a JSON line to ``<lake>/_ops/identity_eval.jsonl``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.compute as pc
from deltalake import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.silver.identity_region import inner_edges, near_edges, touched_region
from jobs.silver.identity_splits import SplitSides, apply_splits, reunited, split_sides
from jobs.silver.outputs import ensure_outputs
from jobs.silver.progress import Batch, pending_batches, read_batches, record_batches
from jobs.silver.snapshots import changed_versions, latest_snapshot, versions
from omnilake import delta
from omnilake.engine import get_spark
from omnilake.errors import LandingError
from omnilake.lake import Lake, get_lake
from omnilake.privacy import identifier_hash, pseudonym
from omnilake.storage.transient import remove_tree
from omnilake.transforms import id_text, latest_by_key

if TYPE_CHECKING:
    from omnilake.pipeline import RunContext

log = logging.getLogger(__name__)

STRONG_TYPES = ("web_customer_id", "email", "member_id", "loyalty_card")
WEAK_TYPES = ("phone", "device")
MAX_COMPONENTS_PER_WEAK = 3
MAX_ITERATIONS = 100
KEY_PREFIX = "ck_"

# observation columns: one per identifier type, plus evidence
_OBSERVED = ("web_customer_id", "email", "phone", "member_id", "loyalty_card", "device")


# --- 1. observe ----------------------------------------------------------------------------------


def normalised_name(first: Column, last: Column) -> Column:
    """A person's name as evidence: trimmed, case-folded, pseudonymised; null unless both parts exist."""
    first_n = F.lower(F.trim(first))
    last_n = F.lower(F.trim(last))
    both = first_n.isNotNull() & last_n.isNotNull() & (first_n != "") & (last_n != "")
    return F.when(both, pseudonym(F.concat_ws(" ", first_n, last_n)))


def _observation(
    df: DataFrame, seen_at: Column, name: Column | None = None, **identifiers: Column
) -> DataFrame:
    columns = [identifier_hash(t, identifiers[t]).alias(t) if t in identifiers else F.lit(None).cast("string").alias(t)
               for t in _OBSERVED]  # fmt: skip
    name_col = name if name is not None else F.lit(None).cast("string")
    return df.select(*columns, name_col.alias("name_hash"), seen_at.cast("timestamp").alias("seen_at"))


def order_observations(orders: DataFrame) -> DataFrame:
    """An order (every version) links its account, e-mails, phones and the loyalty card given."""
    customer = F.col("customer")
    base = orders.select(
        id_text(orders, "customer.id").alias("web_customer_id"),
        F.col("email"),
        customer.getField("email").alias("account_email"),
        F.col("phone"),
        customer.getField("phone").alias("account_phone"),
        F.col("loyalty_card"),
        customer.getField("first_name").alias("first_name"),
        customer.getField("last_name").alias("last_name"),
        F.col("created_at").cast("timestamp").alias("at"),
    )
    name = normalised_name(F.col("first_name"), F.col("last_name"))
    typed = _observation(base, F.col("at"), name, web_customer_id=F.col("web_customer_id"),
                         email=F.col("email"), phone=F.col("phone"),
                         loyalty_card=F.col("loyalty_card"))  # fmt: skip
    account = _observation(base, F.col("at"), name, web_customer_id=F.col("web_customer_id"),
                           email=F.col("account_email"), phone=F.col("account_phone"))  # fmt: skip
    return typed.unionByName(account)


def crm_observations(members: DataFrame) -> DataFrame:
    """A CRM member links member id, loyalty card, e-mail, phone and the web account the CRM knows
    (seen on each snapshot day).

    ``members`` are versions (``jobs.silver.snapshots.versions``): each is observed on the first and
    the last day it was listed, which compacts to what every daily row would give."""
    observed = [
        _observation(
            members,
            F.col(seen),
            normalised_name(F.col("first_name"), F.col("last_name")),
            member_id=F.col("member_id"),
            loyalty_card=F.col("loyalty_card"),
            email=F.col("email"),
            phone=F.col("phone"),
            web_customer_id=id_text(members, "web_customer_id"),
        )
        for seen in ("_seen_from", "_seen_to")
    ]
    return observed[0].unionByName(observed[1])


def event_observations(events: DataFrame) -> DataFrame:
    """A login (any event with a userId) or an identify call links the device to the person."""
    linked = events.where(F.col("userId").isNotNull() | (F.col("type") == "identify"))
    return _observation(
        linked,
        F.col("receivedAt"),
        normalised_name(F.col("traits.firstName"), F.col("traits.lastName")),
        device=F.col("anonymousId"),
        web_customer_id=F.col("userId"),
        email=F.col("traits.email"),
        phone=F.col("traits.phone"),
    )


def completed_orders(events: DataFrame) -> DataFrame:
    """``completed`` checkout halves: (order_id, device, first_seen_at, last_seen_at) of each
    ``Order Completed`` event, pseudonymised."""
    completed = events.where((F.col("type") == "track") & (F.col("event") == "Order Completed"))
    return completed.select(
        F.lit("completed").alias("side"),
        id_text(events, "properties.order_id").alias("order_id"),
        identifier_hash("device", F.col("anonymousId")).alias("device"),
        *[F.lit(None).cast("string").alias(c) for c in ("web_customer_id", "email", "phone", "name_hash")],
        F.col("receivedAt").cast("timestamp").alias("first_seen_at"),
        F.col("receivedAt").cast("timestamp").alias("last_seen_at"),
    )


def placed_orders(orders: DataFrame) -> DataFrame:
    """``placed`` checkout halves: (order_id, account, e-mail, phone, name) of each order version,
    pseudonymised."""
    return orders.select(
        F.lit("placed").alias("side"),
        id_text(orders, "id").alias("order_id"),
        F.lit(None).cast("string").alias("device"),
        identifier_hash("web_customer_id", id_text(orders, "customer.id")).alias("web_customer_id"),
        identifier_hash("email", F.col("email")).alias("email"),
        identifier_hash("phone", F.col("phone")).alias("phone"),
        normalised_name(F.col("customer.first_name"), F.col("customer.last_name")).alias("name_hash"),
        F.lit(None).cast("timestamp").alias("first_seen_at"),
        F.lit(None).cast("timestamp").alias("last_seen_at"),
    )


def compact_checkouts(halves: DataFrame) -> DataFrame:
    """Identical halves collapsed (an order has many versions, an event may be delivered twice)."""
    return halves.groupBy("side", "order_id", "device", "web_customer_id", "email", "phone", "name_hash").agg(
        F.min("first_seen_at").alias("first_seen_at"), F.max("last_seen_at").alias("last_seen_at")
    )


def checkout_links(completed: DataFrame, placed: DataFrame) -> DataFrame:
    """Compacted observations joining the device an order was completed on to the order's account,
    e-mails and phones (``completed`` and ``placed`` are halves from ``completed_orders`` and
    ``placed_orders``)."""
    devices = completed.select("order_id", "device", "first_seen_at", "last_seen_at")
    ordered = placed.select("order_id", "web_customer_id", "email", "phone", "name_hash")
    linked = devices.join(ordered, "order_id")
    return linked.select(
        *[F.col(t) if t in linked.columns else F.lit(None).cast("string").alias(t) for t in _OBSERVED],
        "name_hash",
        "first_seen_at",
        "last_seen_at",
    )


def checkout_observations(events: DataFrame, orders: DataFrame) -> DataFrame:
    """The device an order was completed on (``Order Completed`` carries the order id) links to
    the order's account, e-mails and phones (compacted, like ``compact_observations``)."""
    return checkout_links(completed_orders(events), placed_orders(orders))


def pos_observations(pos: DataFrame) -> DataFrame:
    """A basket's loyalty card: a node, never an edge (the till knows nothing else about the shopper)."""
    scanned = pos.where(F.col("loyalty_card").isNotNull())
    return _observation(scanned, F.col("_landing_date"), loyalty_card=F.col("loyalty_card"))


def compact_observations(observations: DataFrame) -> DataFrame:
    """Identical observations collapsed (an order has many versions, a session many events)."""
    return observations.groupBy(*_OBSERVED, "name_hash").agg(
        F.min("seen_at").alias("first_seen_at"), F.max("seen_at").alias("last_seen_at")
    )


def merge_compacted(compacted: DataFrame) -> DataFrame:
    """Compacted observations of several runs collapsed again: the earliest first and the latest
    last sighting of each, which is what compacting all their raw observations at once gives."""
    return compacted.groupBy(*_OBSERVED, "name_hash").agg(
        F.min("first_seen_at").alias("first_seen_at"), F.max("last_seen_at").alias("last_seen_at")
    )


def node_key(identifier_type: Column | str, identifier_hash_col: Column | str) -> Column:
    t = F.col(identifier_type) if isinstance(identifier_type, str) else identifier_type
    h = F.col(identifier_hash_col) if isinstance(identifier_hash_col, str) else identifier_hash_col
    return F.concat(t, F.lit(":"), h)


def identifier_nodes(observations: DataFrame, only: DataFrame | None = None) -> DataFrame:
    """(node, identifier_type, identifier_hash, first_seen_at, last_seen_at) of every identifier, or
    of those ``only`` (node) lists (cut before the sightings are aggregated)."""
    exploded = observations.select(
        F.explode(
            F.array(
                *[
                    F.struct(F.lit(t).alias("identifier_type"), F.col(t).alias("identifier_hash"))
                    for t in _OBSERVED
                ]
            )
        ).alias("id"),
        "first_seen_at",
        "last_seen_at",
    ).select("id.identifier_type", "id.identifier_hash", "first_seen_at", "last_seen_at")
    known = exploded.where(F.col("identifier_hash").isNotNull())
    if only is not None:
        node = node_key("identifier_type", "identifier_hash").alias("node")
        known = known.select(node, *known.columns).join(only.select("node"), "node", "left_semi").drop("node")
    return (
        known.groupBy("identifier_type", "identifier_hash")
        .agg(F.min("first_seen_at").alias("first_seen_at"), F.max("last_seen_at").alias("last_seen_at"))
        .withColumn("node", node_key("identifier_type", "identifier_hash"))
    )


def observation_edges(observations: DataFrame) -> DataFrame:
    """(src, dst, src_type, dst_type, name_hash): every pair of identifiers observed together, once
    per name (src < dst)."""
    pairs = []
    for i, left in enumerate(_OBSERVED):
        for right in _OBSERVED[i + 1 :]:
            pairs.append(
                observations.where(F.col(left).isNotNull() & F.col(right).isNotNull()).select(
                    node_key(F.lit(left), F.col(left)).alias("a"),
                    node_key(F.lit(right), F.col(right)).alias("b"),
                    F.lit(left).alias("a_type"),
                    F.lit(right).alias("b_type"),
                    "name_hash",
                )
            )
    edges = pairs[0]
    for more in pairs[1:]:
        edges = edges.unionByName(more)
    swap = F.col("a") > F.col("b")
    return edges.select(
        F.when(swap, F.col("b")).otherwise(F.col("a")).alias("src"),
        F.when(swap, F.col("a")).otherwise(F.col("b")).alias("dst"),
        F.when(swap, F.col("b_type")).otherwise(F.col("a_type")).alias("src_type"),
        F.when(swap, F.col("a_type")).otherwise(F.col("b_type")).alias("dst_type"),
        "name_hash",
    ).distinct()


OBSERVATION_READERS = {
    "orders": order_observations,
    "crm_members": crm_observations,
    "events": event_observations,
    "pos": pos_observations,
}
# the progress (``ops.silver_progress``) name of the identity graph's state, and its sources
PROGRESS_TABLE = "identity_observations"
STATE_SOURCES = ("orders", "crm_members", "events", "pos")


def _union(frames: list[DataFrame]) -> DataFrame:
    union = frames[0]
    for more in frames[1:]:
        union = union.unionByName(more)
    return union


def observations_by_source(spark: SparkSession, lake: Lake) -> dict[str, DataFrame]:
    """Every compacted observation in bronze, per source ("checkouts": an order joined to its
    checkout event); sources not ingested yet are left out."""
    parts = {}
    for source, reader in OBSERVATION_READERS.items():
        table = lake.table(f"bronze.{source}")
        if delta.exists(table):
            rows = delta.read(spark, table)
            if source == "crm_members":  # a snapshot feed held as changes
                rows = versions(rows, ["member_id"], latest_snapshot(lake, source))
            parts[source] = compact_observations(reader(rows))
    events, orders = lake.table("bronze.events"), lake.table("bronze.orders")
    if delta.exists(events) and delta.exists(orders):
        parts["checkouts"] = checkout_observations(delta.read(spark, events), delta.read(spark, orders))
    return parts


def observe(spark: SparkSession, lake: Lake) -> DataFrame:
    """Every compacted observation in bronze (sources not ingested yet are skipped)."""
    parts = list(observations_by_source(spark, lake).values())
    if not parts:
        raise LandingError("no bronze orders, crm_members, events or pos yet: run the ingestion first")
    return merge_compacted(_union(parts))


def bronze_checkouts(spark: SparkSession, lake: Lake) -> DataFrame:
    """Every checkout half in bronze, compacted (the state ``silver.identity_checkouts`` holds)."""
    halves = []
    events, orders = lake.table("bronze.events"), lake.table("bronze.orders")
    if delta.exists(events):
        halves.append(completed_orders(delta.read(spark, events)))
    if delta.exists(orders):
        halves.append(placed_orders(delta.read(spark, orders)))
    if not halves:
        empty = spark.createDataFrame([], lake.table("silver.identity_checkouts").contract.spark_schema())
        return _loaded(empty, _CHECKOUT_IDS)
    return compact_checkouts(_union(halves))


_CHECKOUT_IDS = ("device", "web_customer_id", "email", "phone")


def _stored(df: DataFrame, columns: tuple[str, ...]) -> DataFrame:
    """Identifier columns as the state tables name them (``<type>_hash``: they hold pseudonyms)."""
    return df.select(*[F.col(c).alias(f"{c}_hash") if c in columns else F.col(c) for c in df.columns])


def _loaded(df: DataFrame, columns: tuple[str, ...]) -> DataFrame:
    return df.select(
        *[F.col(f"{c}_hash").alias(c) if c in columns else F.col(c) for c in _unstored(df.columns, columns)]
    )


def _unstored(names: list[str], columns: tuple[str, ...]) -> list[str]:
    return [n[: -len("_hash")] if n.endswith("_hash") and n[: -len("_hash")] in columns else n for n in names]


@dataclass
class GraphState:
    """The identity graph's evidence after this run: every compacted observation and checkout half,
    and the bronze batches they add (to be recorded once the graph is written)."""

    observations: DataFrame  # when extended: the stored ones and the added ones, not compacted together
    checkouts: DataFrame  # when extended: not compacted with the new halves (only the rebuild writes it)
    batches: list[Batch]
    changed: bool
    # what the new batches add (compacted), when the stored evidence was extended rather than rebuilt
    new_observations: DataFrame | None = None
    new_checkouts: DataFrame | None = None
    stored_observations: DataFrame | None = None

    @property
    def extended(self) -> bool:
        """The stored evidence was extended with the new batches (not rebuilt from all of bronze)."""
        return self.new_observations is not None


def grow_state(spark: SparkSession, lake: Lake, scratch: Scratch, rebuild: bool = False) -> GraphState:
    """The stored evidence (``silver.identity_observations``, ``silver.identity_checkouts``) plus the
    bronze batches it has not taken in: only the new deliveries are read.

    A checkout links an Order Completed event to its order; either may arrive first, so each new half
    is joined with the stored halves of the other side as well as the new ones. ``rebuild`` (or a
    missing state, e.g. after an erasure emptied it) reads all of bronze instead, the way every run
    used to; both give the same state, since compacting is a min and a max per observation.

    The CRM is a snapshot feed held in bronze as changes: an unchanged member has no row in a later
    batch, yet was seen that day. So a run with a new CRM batch observes the versions of every CRM
    change row in bronze (``jobs.silver.snapshots.changed_versions``; few, they follow changes), whose
    last day seen reaches the latest snapshot; it only grows, so max/min compaction stays exact.
    """
    observations_table = lake.table("silver.identity_observations")
    checkouts_table = lake.table("silver.identity_checkouts")
    stored = (
        not rebuild
        and delta.exists(observations_table)
        and delta.exists(checkouts_table)
        and not delta.read(spark, observations_table).isEmpty()
    )
    batches = [
        b
        for source in STATE_SOURCES
        for b in pending_batches(spark, lake, PROGRESS_TABLE, source, everything=not stored)
    ]
    if not stored:
        log.info("identity: building the graph's evidence from all of bronze")
        observations = scratch.materialise(observe(spark, lake), "observations")
        checkouts = scratch.materialise(bronze_checkouts(spark, lake), "checkouts")
        return GraphState(observations, checkouts, batches, changed=True)

    old_observations = _loaded(delta.read(spark, observations_table), _OBSERVED)
    old_checkouts = _loaded(delta.read(spark, checkouts_table), _CHECKOUT_IDS)
    if not batches:
        nothing = old_observations.limit(0)
        return GraphState(
            old_observations, old_checkouts, batches, False, nothing, old_checkouts.limit(0), old_observations
        )
    by_source = {source: [b for b in batches if b.source == source] for source in STATE_SOURCES}
    new = {source: read_batches(spark, lake, found) for source, found in by_source.items() if found}
    parts = [old_observations]
    if "crm_members" in new:  # the new snapshots' versions, and the changed ends of earlier ones
        new["crm_members"] = changed_versions(spark, lake, "crm_members", ["member_id"], new["crm_members"])
    parts += [compact_observations(OBSERVATION_READERS[source](rows)) for source, rows in new.items()]
    halves = []
    if "events" in new:
        halves.append(completed_orders(new["events"]))
    if "orders" in new:
        halves.append(placed_orders(new["orders"]))
    new_halves = None
    if halves:
        new_halves = scratch.materialise(compact_checkouts(_union(halves)), "new_checkouts")
        new_completed = new_halves.where(F.col("side") == "completed")
        new_placed = new_halves.where(F.col("side") == "placed")
        old_completed = old_checkouts.where(F.col("side") == "completed")
        old_placed = old_checkouts.where(F.col("side") == "placed")
        parts.append(checkout_links(new_completed, old_placed.unionByName(new_placed)))
        parts.append(checkout_links(old_completed, new_placed))
        checkouts = compact_checkouts(old_checkouts.unionByName(new_halves))
    else:
        checkouts = old_checkouts
    added = scratch.materialise(merge_compacted(_union(parts[1:])), "new_observations")
    # Not compacted again, nor the checkouts: the edges and the identifiers' sightings of the stored
    # and the added observations are those of their compaction (a distinct, a min and a max), and
    # the stored tables take in only what is added (``_merge_evidence``).
    observations = old_observations.unionByName(added)
    if new_halves is None:
        new_halves = old_checkouts.limit(0)
    return GraphState(observations, checkouts, batches, True, added, new_halves, old_observations)


# --- 3. connected components ---------------------------------------------------------------------


class Scratch:
    """A folder for intermediate Parquet (Spark Connect has no checkpoint on every engine)."""

    def __init__(self, lake: Lake, purpose: str = "identity") -> None:
        self.root = lake.path("_ops", "scratch", f"{purpose}-{uuid.uuid4().hex[:12]}")
        self._n = 0

    def materialise(self, df: DataFrame, name: str) -> DataFrame:
        self._n += 1
        path = f"{self.root}/{self._n:03d}_{name}"
        df.write.mode("overwrite").parquet(path)
        # With the schema: an empty frame may leave no file to infer it from.
        return df.sparkSession.read.schema(df.schema).parquet(path)

    def cleanup(self) -> None:
        remove_tree(self.root)  # the local folder, or the objects under the lake on an object store


def connected_components(
    nodes: DataFrame, edges: DataFrame, scratch: Scratch, max_iterations: int = MAX_ITERATIONS
) -> tuple[DataFrame, int]:
    """(node, label) with label the smallest node id of the node's component, and the rounds taken.

    ``nodes`` has a ``node`` column, ``edges`` ``src`` and ``dst`` (undirected). Every round is one
    join and one aggregation; the last round is the one that changed nothing.
    """
    both = scratch.materialise(
        edges.select("src", "dst").unionByName(
            edges.select(F.col("dst").alias("src"), F.col("src").alias("dst"))
        ),
        "edges",
    )
    labels = scratch.materialise(nodes.select("node", F.col("node").alias("label")).distinct(), "labels_0")
    for iteration in range(1, max_iterations + 1):
        messages = both.join(labels, both.src == labels.node).select(both.dst.alias("node"), labels.label)
        proposed = labels.unionByName(messages).groupBy("node").agg(F.min("label").alias("label"))
        proposed = scratch.materialise(proposed, f"labels_{iteration}")
        changed = (
            proposed.join(labels.withColumnRenamed("label", "previous"), "node")
            .where(F.col("label") != F.col("previous"))
            .count()
        )
        labels = proposed
        log.debug("connected components: round %d changed %d labels", iteration, changed)
        if changed == 0:
            return labels, iteration
    raise RuntimeError(f"connected components did not converge in {max_iterations} rounds")


# --- 2. the over-merge guard ---------------------------------------------------------------------


def guarded_edges(
    edges: DataFrame,
    strong_labels: DataFrame,
    max_components: int = MAX_COMPONENTS_PER_WEAK,
    named: DataFrame | None = None,
) -> tuple[DataFrame, DataFrame]:
    """(edges to use, shared weak identifiers) after the over-merge guard (see the module docstring).

    ``edges`` come from ``observation_edges``; ``strong_labels`` maps each strong node to its strong
    component. Weak-weak edges are dropped (every weak identifier is observed with a strong one).
    ``named`` (default ``edges``) are the edges whose names a component carries: when ``edges`` are
    a region's, every edge with an end in the region (``jobs.silver.identity_region``).
    """
    strong_edges = edges.where(F.col("src_type").isin(*STRONG_TYPES) & F.col("dst_type").isin(*STRONG_TYPES))
    src_weak = F.col("src_type").isin(*WEAK_TYPES)
    dst_weak = F.col("dst_type").isin(*WEAK_TYPES)
    weak_to_strong = (
        edges.where(src_weak != dst_weak)
        .select(
            F.when(src_weak, F.col("src")).otherwise(F.col("dst")).alias("weak"),
            F.when(src_weak, F.col("dst")).otherwise(F.col("src")).alias("strong"),
        )
        .distinct()
    )
    touched = weak_to_strong.join(strong_labels, weak_to_strong.strong == strong_labels.node).select(
        "weak", "strong", F.col("label").alias("component")
    )
    component_names = (
        (edges if named is None else named)
        .where(F.col("name_hash").isNotNull())
        .select(F.explode(F.array("src", "dst")).alias("node"), "name_hash")
        .join(strong_labels, "node")
        .groupBy("label")
        .agg(F.collect_set("name_hash").alias("names"))
        .withColumnRenamed("label", "component")
    )
    per_weak = (
        touched.select("weak", "component")
        .distinct()
        .join(component_names, "component", "left")
        .groupBy("weak")
        .agg(
            F.count("*").alias("components"),
            F.sum(F.when(F.col("names").isNull(), 1).otherwise(0)).alias("unnamed"),
            F.size(F.array_distinct(F.flatten(F.collect_list(F.coalesce("names", F.array()))))).alias(
                "names"
            ),
        )
    )
    # A phone must be vouched for by a name on every side; a device may also reach a component
    # seen only through logins (an account that never ordered nor sent traits), since logins on one
    # device are far more personal than a number written on a form.
    named_agree = F.col("names") == 1
    agree = named_agree & ((F.col("unnamed") == 0) | F.col("weak").startswith("device:"))
    usable = (F.col("components") == 1) | ((F.col("components") <= max_components) & agree)
    accepted = per_weak.where(usable).select("weak")
    shared = per_weak.where(~usable).select(F.col("weak").alias("node"), "components")
    weak_edges = touched.join(accepted, "weak").select(
        F.col("weak").alias("src"), F.col("strong").alias("dst")
    )
    return strong_edges.select("src", "dst").unionByName(weak_edges), shared


# --- 4. stable keys ------------------------------------------------------------------------------


def new_key(label: Column) -> Column:
    """The key of a component no earlier key covers: derived from its smallest identifier."""
    return F.concat(
        F.lit(KEY_PREFIX), F.substring(F.sha2(F.concat(F.lit("customer_key:"), label), 256), 1, 24)
    )


def assign_keys(components: DataFrame, previous: DataFrame, edges: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(node -> customer_key, merges) given this run's components and the previous assignment.

    ``components``: (node, identifier_type, label). ``previous``: (node, customer_key, first_seen_at)
    of the previous ``silver.customer_identifiers``. ``edges``: the edges used (src, dst).
    An old key stays with the component holding most of its identifiers; per component the oldest
    old key survives; the others are returned as merges (merged_key, surviving_key, evidence).
    """
    old = previous.select("node", F.col("customer_key").alias("old_key"), "first_seen_at")
    key_age = old.groupBy("old_key").agg(F.min("first_seen_at").alias("key_first_seen"))
    held = components.join(old.select("node", "old_key"), "node").groupBy("label", "old_key").count()
    homes = latest_by_key(held, ["old_key"], [F.col("count").desc(), F.col("label")]).join(key_age, "old_key")
    survivors = latest_by_key(homes, ["label"], [F.col("key_first_seen").asc_nulls_last(), F.col("old_key")])
    keyed = (
        components.join(survivors.select("label", F.col("old_key").alias("surviving")), "label", "left")
        .withColumn("customer_key", F.coalesce(F.col("surviving"), new_key(F.col("label"))))
        .select("node", "label", "customer_key")
    )
    retired = (
        homes.select("label", F.col("old_key").alias("merged_key"))
        .join(survivors.select("label", F.col("old_key").alias("surviving_key")), "label")
        .where(F.col("merged_key") != F.col("surviving_key"))
    )
    # Evidence: the types of identifiers that sit next to an identifier of another old key, or that
    # are new and sit next to two old keys.
    node_old = components.join(old.select("node", "old_key"), "node", "left").select(
        "node", "identifier_type", "label", "old_key"
    )
    neighbour_key = node_old.select(F.col("node").alias("dst"), F.col("old_key").alias("neighbour_key"))
    directed = edges.select("src", "dst").unionByName(
        edges.select(F.col("dst").alias("src"), F.col("src").alias("dst"))
    )
    around = (
        directed.join(neighbour_key, "dst")
        .groupBy("src")
        .agg(F.collect_set("neighbour_key").alias("neighbour_keys"))
        .join(node_old.withColumnRenamed("node", "src"), "src")
    )
    bridges = around.where(
        (F.col("old_key").isNotNull() & (F.size(F.array_remove("neighbour_keys", F.col("old_key"))) > 0))
        | (F.col("old_key").isNull() & (F.size("neighbour_keys") > 1))
    )
    evidence = bridges.groupBy("label").agg(
        F.array_join(F.array_sort(F.collect_set("identifier_type")), ",").alias("evidence")
    )
    merges = retired.join(evidence, "label", "left").select("merged_key", "surviving_key", "evidence")
    return keyed, merges


# --- the job -------------------------------------------------------------------------------------


@dataclass
class IdentityResult:
    identifiers: int
    inserted: int
    rekeyed: int
    removed: int
    customers: int
    merges: int
    splits: int
    shared_identifiers: int
    strong_rounds: int
    rounds: int
    resolved: int  # identifiers resolved this run (the region's, or all)
    seconds: float


def resolve(
    lake: Lake | None = None,
    now: datetime | None = None,
    *,
    rebuild: bool = False,
    run_id: str | None = None,
) -> IdentityResult:
    """Take the new bronze batches into the graph's evidence (``grow_state``; all of bronze when
    ``rebuild``), resolve the graph and write ``silver.customer_identifiers`` and
    ``silver.customer_key_merges`` with stable keys.

    When the stored evidence was extended, only the region the new observations touch is resolved
    and rewritten (``jobs.silver.identity_region``); when it was rebuilt (``rebuild``, a new lake,
    after an erasure) the whole graph is, as the region would then be everything."""
    started = time.perf_counter()
    lake = lake or get_lake()
    spark = get_spark()
    now = (now or datetime.now(UTC)).replace(tzinfo=None)
    identifiers_table = lake.table("silver.customer_identifiers")
    merges_table = lake.table("silver.customer_key_merges")
    scratch = Scratch(lake)
    try:
        state = grow_state(spark, lake, scratch, rebuild=rebuild)
        observations = state.observations
        # Operators' splits (ops.identity_splits) cut their links before any component is formed.
        splits = split_sides(spark, lake)
        previous = previous_all = delta.read(spark, identifiers_table).select(
            node_key("identifier_type", "identifier_hash").alias("node"),
            "identifier_type",
            "identifier_hash",
            "customer_key",
            "first_seen_at",
            "last_seen_at",
        )
        edges_table = lake.table("silver.identity_edges")
        observed, new_edges = _observed_edges(spark, state, edges_table, scratch)
        all_edges = apply_splits(observed, splits)
        resighted = None
        if state.extended:
            # An observation seen before (same identifiers, same name) adds no node, edge nor name:
            # only its sightings move. The graph changes where the observations are new.
            added, key = state.new_observations, (*_OBSERVED, "name_hash")
            stored = state.stored_observations.select(*[F.col(c).alias(f"_stored_{c}") for c in key])
            same = [F.col(c).eqNullSafe(F.col(f"_stored_{c}")) for c in key]
            touched = identifier_nodes(added.join(stored, same, "left_anti")).select("node")
            if splits is not None:
                touched = touched.unionByName(
                    spark.createDataFrame([(n,) for n in splits.nodes], "node string")
                )
            region = touched_region(
                touched, previous.select("node", "customer_key"), all_edges, STRONG_TYPES,
                MAX_COMPONENTS_PER_WEAK, scratch,
            )  # fmt: skip
            seen = identifier_nodes(added).select("node").unionByName(region).distinct()
            node_rows = scratch.materialise(identifier_nodes(observations, only=seen), "nodes")
            nodes = node_rows.join(region, "node", "left_semi")
            outside = node_rows.join(region, "node", "left_anti")
            named = scratch.materialise(near_edges(all_edges, region), "edges_near")
            edges = inner_edges(named, region)
            # every identifier of the region's old keys (a weak one left out of the region as
            # shared still counts towards its key's age, and its row is deleted)
            region_keys = previous.join(region, "node", "left_semi").select("customer_key").distinct()
            previous = scratch.materialise(
                previous.join(region_keys, "customer_key", "left_semi"), "previous"
            )
            resighted = scratch.materialise(
                _resighted(outside.join(previous, "node", "left_anti"), previous_all), "resighted"
            )
        else:
            nodes = scratch.materialise(identifier_nodes(observations), "nodes")
            edges = all_edges
            named = None
            previous = scratch.materialise(previous, "previous")
        graph = resolve_graph(nodes, edges, named, previous, splits, scratch)

        # the edges first: a run stopped before the observations are written finds every edge of
        # the evidence it will then hold (its rerun adds none twice: ``_observed_edges``)
        if new_edges is None:
            delta.overwrite(observed, edges_table)
        elif state.changed:
            delta.append(new_edges, edges_table)
        if state.changed and state.extended:
            _merge_evidence(spark, state.new_observations, lake.table("silver.identity_observations"),
                            (*_OBSERVED, "name_hash"), ("first_seen_at", "last_seen_at"))  # fmt: skip
            _merge_evidence(spark, state.new_checkouts, lake.table("silver.identity_checkouts"),
                            ("side", "order_id", *_CHECKOUT_IDS, "name_hash"),
                            ("first_seen_at", "last_seen_at"), stored=_CHECKOUT_IDS)  # fmt: skip
        elif state.changed:
            delta.overwrite(_stored(observations, _OBSERVED), lake.table("silver.identity_observations"))
            delta.overwrite(_stored(state.checkouts, _CHECKOUT_IDS), lake.table("silver.identity_checkouts"))
        if state.extended:
            if graph.resolved or not resighted.isEmpty():  # else nothing new, nothing to write
                _replace_region(spark, graph.assigned.unionByName(resighted), previous, identifiers_table)
        else:
            delta.overwrite(graph.assigned, identifiers_table)
        delta.ensure_table(spark, merges_table)  # exists, if empty, before the first merge
        if graph.merges_found:
            _record_merges(spark, graph.merges, merges_table, now, _latest_delivery(spark, lake))
        record_batches(spark, lake, PROGRESS_TABLE, state.batches, run_id)
    finally:
        scratch.cleanup()
    identifiers, customers = _totals(identifiers_table)
    result = IdentityResult(
        identifiers=identifiers,
        inserted=graph.inserted,
        rekeyed=graph.rekeyed,
        removed=graph.removed,
        customers=customers,
        merges=graph.merges_found,
        splits=graph.splits,
        shared_identifiers=graph.shared,
        strong_rounds=graph.strong_rounds,
        rounds=graph.rounds,
        resolved=graph.resolved,
        seconds=time.perf_counter() - started,
    )
    log.info("identity resolved: %s", result)
    return result


@dataclass
class ResolvedGraph:
    """One resolution of a graph (the whole one or a region): the rows to write and what changed."""

    assigned: DataFrame
    merges: DataFrame
    merges_found: int
    inserted: int
    rekeyed: int
    removed: int
    resolved: int
    shared: int
    splits: int
    strong_rounds: int
    rounds: int


def resolve_graph(
    nodes: DataFrame,
    edges: DataFrame,
    named: DataFrame | None,
    previous: DataFrame,
    splits: SplitSides | None,
    scratch: Scratch,
) -> ResolvedGraph:
    """Components, guard and stable keys over ``nodes`` and ``edges`` (after the splits' cuts), given
    the ``previous`` assignment of these nodes; ``named``: the edges whose names the components
    carry (see ``guarded_edges``)."""
    strong_nodes = nodes.where(F.col("identifier_type").isin(*STRONG_TYPES))
    strong_only = edges.where(F.col("src_type").isin(*STRONG_TYPES) & F.col("dst_type").isin(*STRONG_TYPES))
    strong_labels, strong_rounds = connected_components(strong_nodes, strong_only, scratch)
    used_edges, shared = guarded_edges(edges, strong_labels, named=named)
    used_edges = scratch.materialise(used_edges, "edges_used")
    shared = scratch.materialise(shared, "shared")
    # A person is anchored by a strong identifier: a weak one joins only through a used edge.
    linked_weak = used_edges.select(F.col("src").alias("node")).unionByName(
        used_edges.select(F.col("dst").alias("node"))
    )
    kept_nodes = scratch.materialise(
        strong_nodes.unionByName(
            nodes.where(F.col("identifier_type").isin(*WEAK_TYPES)).join(linked_weak.distinct(), "node")
        ),
        "kept_nodes",
    )
    labels, rounds = connected_components(kept_nodes, used_edges, scratch)
    components = scratch.materialise(labels.join(kept_nodes, "node"), "components")
    if reunited(components, splits):
        log.warning("identity: a split's two sides are linked again through new identifiers")

    keyed, merges = assign_keys(components, previous, used_edges)
    keyed = scratch.materialise(keyed.select("node", "customer_key"), "keyed")
    assigned = scratch.materialise(
        keyed.join(kept_nodes, "node").select(
            "identifier_type", "identifier_hash", "customer_key", "first_seen_at", "last_seen_at"
        ),
        "assigned",
    )
    merges = scratch.materialise(merges, "merges")

    current = assigned.select(node_key("identifier_type", "identifier_hash").alias("node"), "customer_key")
    compared = current.join(previous.select("node", F.col("customer_key").alias("old_key")), "node", "full")
    split_parts = (
        components.join(previous.select("node", "customer_key"), "node")
        .groupBy("customer_key")
        .agg(F.countDistinct("label").alias("parts"))
        .where(F.col("parts") > 1)
    )
    counts = (
        compared.agg(
            F.sum(F.when(F.col("old_key").isNull(), 1).otherwise(0)).alias("inserted"),
            F.sum(F.when(F.col("customer_key").isNull(), 1).otherwise(0)).alias("removed"),
            F.sum(F.when(F.col("customer_key") != F.col("old_key"), 1).otherwise(0)).alias("rekeyed"),
            F.count("*").alias("resolved"),
        )
        .crossJoin(merges.agg(F.count("*").alias("merges")))
        .crossJoin(shared.agg(F.count("*").alias("shared")))
        .crossJoin(split_parts.agg(F.count("*").alias("splits")))
        .first()
    )
    split_count = int(counts["splits"] or 0)
    if split_count:
        log.warning(
            "identity: %d earlier key(s) split (a linking identifier turned shared, or an operator's split)",
            split_count,
        )
    return ResolvedGraph(
        assigned=assigned,
        merges=merges,
        merges_found=int(counts["merges"] or 0),
        inserted=int(counts["inserted"] or 0),
        rekeyed=int(counts["rekeyed"] or 0),
        removed=int(counts["removed"] or 0),
        resolved=int(counts["resolved"] or 0),
        shared=int(counts["shared"] or 0),
        splits=split_count,
        strong_rounds=strong_rounds,
        rounds=rounds,
    )


def _observed_edges(
    spark: SparkSession, state: GraphState, table, scratch: Scratch
) -> tuple[DataFrame, DataFrame | None]:
    """(every observation edge, the edges this run adds to ``silver.identity_edges``).

    When the evidence was extended and the stored edges are there, the edges are the stored ones
    plus those of the added observations not stored yet (an edge does not depend on when it was
    seen), so history is read, not derived again; otherwise (a rebuild, a new lake, after an
    erasure, a lake written before the table existed) every edge is derived from the observations
    and ``None`` says the table is to be written whole."""
    stored = state.extended and delta.exists(table) and bool(DeltaTable(table.path).file_uris())
    if not stored:
        return scratch.materialise(observation_edges(state.observations), "edges_observed"), None
    old = delta.read(spark, table).select(*_EDGE_COLUMNS)
    found = observation_edges(state.new_observations)
    kept = old.select(*[F.col(c).alias(f"_old_{c}") for c in ("src", "dst", "name_hash")])
    same = [
        F.col("src") == F.col("_old_src"),
        F.col("dst") == F.col("_old_dst"),
        F.col("name_hash").eqNullSafe(F.col("_old_name_hash")),
    ]
    added = scratch.materialise(found.join(kept, same, "left_anti"), "edges_added")
    return old.unionByName(added), added


_EDGE_COLUMNS = ("src", "dst", "src_type", "dst_type", "name_hash")


def _null_safe_on(keys: tuple[str, ...]) -> str:
    return " and ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)


def _merge_evidence(
    spark: SparkSession,
    added: DataFrame,
    table,
    keys: tuple[str, ...],
    seen: tuple[str, str],
    stored: tuple[str, ...] = _OBSERVED,
) -> None:
    """Fold the new compacted evidence into its table: an observation seen before keeps its earliest
    first and latest last sighting, a new one is inserted (the keys hold nulls: matched null-safe).
    Idempotent, so a run repeated after a crash writes the same rows."""
    rows = delta.check_schema(_stored(added, stored), table)
    names = [f"{k}_hash" if k in stored else k for k in keys]
    first, last = seen
    _sql_merge(
        spark,
        rows,
        table,
        f"merge into delta.`{table.path}` as t using {{view}} as s on {_null_safe_on(tuple(names))} "
        f"when matched then update set `{first}` = least(t.`{first}`, s.`{first}`), "
        f"`{last}` = greatest(t.`{last}`, s.`{last}`) "
        "when not matched then insert *",
    )


def _resighted(nodes: DataFrame, previous: DataFrame) -> DataFrame:
    """``silver.customer_identifiers`` rows of identifiers outside the region whose first or last
    sighting moved: the same key, the sightings of ``nodes`` (``identifier_nodes``)."""
    sightings = nodes.select(
        "node", F.col("first_seen_at").alias("first"), F.col("last_seen_at").alias("last")
    )
    moved = sightings.join(previous, "node").where(
        ~F.col("first").eqNullSafe(F.col("first_seen_at")) | ~F.col("last").eqNullSafe(F.col("last_seen_at"))
    )
    return moved.select(
        "identifier_type",
        "identifier_hash",
        "customer_key",
        F.col("first").alias("first_seen_at"),
        F.col("last").alias("last_seen_at"),
    )


def _replace_region(spark: SparkSession, assigned: DataFrame, previous: DataFrame, table) -> None:
    """Write a region's rows of ``silver.customer_identifiers``: its identifiers as resolved now,
    and a delete for each identifier of the region no longer kept (a weak identifier turned shared).
    Rows outside the region are left alone."""
    gone = previous.join(
        assigned.select(node_key("identifier_type", "identifier_hash").alias("node")), "node", "left_anti"
    ).select("identifier_type", "identifier_hash")
    replace_rows(spark, assigned, gone, table)


def replace_rows(spark: SparkSession, rows: DataFrame, gone: DataFrame, table) -> None:
    """Upsert ``rows`` into ``table`` on its keys and delete the rows whose keys ``gone`` lists, in
    one commit (one MERGE): a run stopped before it leaves the table as it was, and its rerun
    writes the same rows."""
    rows = delta.check_schema(rows, table)
    keys = tuple(table.keys)
    deleted = gone.select(*keys).select(
        *[F.col(c) if c in keys else F.lit(None).cast(rows.schema[c].dataType).alias(c) for c in rows.columns]
    )
    source = rows.withColumn("_gone", F.lit(False)).unionByName(deleted.withColumn("_gone", F.lit(True)))
    columns = ", ".join(f"`{c}`" for c in rows.columns)
    values = ", ".join(f"s.`{c}`" for c in rows.columns)
    updates = ", ".join(f"`{c}` = s.`{c}`" for c in rows.columns if c not in keys)
    _sql_merge(
        spark,
        source,
        table,
        f"merge into delta.`{table.path}` as t using {{view}} as s on {_null_safe_on(keys)} "
        f"when matched and s._gone then delete when matched then update set {updates} "
        f"when not matched and not s._gone then insert ({columns}) values ({values})",
    )


def _sql_merge(spark: SparkSession, source: DataFrame, table, statement: str) -> None:
    """Run a MERGE ``statement`` whose ``{view}`` is ``source`` (bounded files, as every write)."""
    delta.prepare_write(spark, table)
    view = f"merge_source_{uuid.uuid4().hex}"
    source.createOrReplaceTempView(view)
    try:
        spark.sql(statement.format(view=view))
    finally:
        spark.catalog.dropTempView(view)


def _totals(table) -> tuple[int, int]:
    """(identifiers, customers) of ``silver.customer_identifiers``, read in this process (one column)."""
    if not delta.exists(table):
        return 0, 0
    keys = DeltaTable(table.path).to_pyarrow_table(columns=["customer_key"]).column("customer_key")
    return len(keys), len(pc.unique(keys))


def _latest_delivery(spark: SparkSession, lake: Lake) -> date | None:
    """The latest landing date in the bronze tables identity reads: a merge found now is known as of
    that delivery (gold applies a merge to the snapshots known from then on)."""
    latest = None
    for source in ("orders", "crm_members", "events", "pos"):
        table = lake.table(f"bronze.{source}")
        if delta.exists(table):
            day = delta.partition_max(spark, table, "_landing_date")
            latest = day if latest is None or (day is not None and day > latest) else latest
    return latest


def _record_merges(
    spark: SparkSession, merges: DataFrame, table, now: datetime, merged_on: date | None
) -> None:
    """Insert this run's merges and re-point earlier merges whose survivor was just retired (they
    keep their own merged_at and merged_on)."""
    rows = merges.select(
        "merged_key",
        "surviving_key",
        F.lit(now).cast("timestamp").alias("merged_at"),
        F.lit(merged_on).cast("date").alias("merged_on"),
        "evidence",
    )
    earlier = delta.read(spark, table)
    repointed = earlier.select(
        "merged_key", F.col("surviving_key").alias("retired"), "merged_at", "merged_on", "evidence"
    ).join(merges.select(F.col("merged_key").alias("retired"), "surviving_key"), "retired")
    delta.merge(rows.unionByName(repointed.drop("retired")), table)


def identity_step(context: RunContext) -> dict[str, Any]:
    """Pipeline step: take the new bronze batches into the identity graph and resolve it."""
    result = resolve(context.lake, rebuild=context.rebuild, run_id=context.run_id)
    # the evidence tables exist (empty) even where a source that feeds them is not delivered
    ensure_outputs(get_spark(), context.lake, "identity_observations", "identity_checkouts", "identity_edges")
    return {
        "rows_in": result.identifiers,
        "inserted": result.inserted,
        "updated": result.rekeyed,
        "removed": result.removed,
        "customers": result.customers,
        "merges": result.merges,
        "shared_identifiers": result.shared_identifiers,
        "rounds": result.rounds,
    }


# --- evaluation against the generator's truth -----------------------------------------------------

TRUTH_FIELDS = {
    "web_customer_ids": "web_customer_id",
    "emails": "email",
    "phones": "phone",
    "loyalty_cards": "loyalty_card",
    "member_ids": "member_id",
    "anonymous_ids": "device",
}


@dataclass(frozen=True)
class IdentityScore:
    """Pairwise scores over identifiers that both the pipeline and the truth know, and that the truth
    gives to exactly one person: precision = correct pairs / pairs put together, recall = correct
    pairs / pairs that belong together.

    ``recall_linkable`` counts only the pairs the data can link at all: two identifiers of one person
    that no observation chain joins without a shared identifier (a second account under another
    e-mail, used on its own device; a loyalty member who left only a phone the web shop never sees)
    cannot be resolved by any method, so they bound ``recall`` from above, not the resolver.
    """

    precision: float
    recall: float
    f1: float
    recall_linkable: float
    f1_linkable: float
    identifiers: int
    persons: int
    customers: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    linkable_pairs: int
    correct_linkable_pairs: int
    evaluated_at: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def truth_identifiers(spark: SparkSession, truth_dir: str) -> DataFrame:
    """(identifier_type, identifier_hash, person_id) for identifiers held by exactly one person and
    not listed as shared (household landlines, family tablets, kiosks)."""
    persons = spark.read.json(f"{truth_dir}/identity.ndjson")
    parts = []
    for field, identifier_type in TRUTH_FIELDS.items():
        parts.append(
            persons.select("person_id", F.explode_outer(F.col(field)).alias("value")).select(
                F.lit(identifier_type).alias("identifier_type"),
                identifier_hash(identifier_type, F.col("value")).alias("identifier_hash"),
                "person_id",
            )
        )
    held = parts[0]
    for more in parts[1:]:
        held = held.unionByName(more)
    held = held.where(F.col("identifier_hash").isNotNull()).distinct()
    shared = spark.read.json(f"{truth_dir}/shared_identifiers.ndjson").select(
        F.when(F.col("kind") == "phone", F.lit("phone")).otherwise(F.lit("device")).alias("identifier_type"),
        pseudonym(F.col("value")).alias("identifier_hash"),
    )
    owners = held.groupBy("identifier_type", "identifier_hash").agg(F.count("*").alias("owners"))
    return (
        held.join(owners.where(F.col("owners") == 1), ["identifier_type", "identifier_hash"])
        .join(shared, ["identifier_type", "identifier_hash"], "left_anti")
        .drop("owners")
    )


def linkable_groups(truth: DataFrame, edges: DataFrame, scratch: Scratch) -> DataFrame:
    """(identifier_type, identifier_hash, linkable_group): each person's identifiers split into the
    groups that observations chain together through that person's own identifiers."""
    owned = truth.select(node_key("identifier_type", "identifier_hash").alias("node"), "person_id")
    own_edges = (
        edges.select("src", "dst")
        .join(owned.withColumnRenamed("node", "src").withColumnRenamed("person_id", "src_person"), "src")
        .join(owned.withColumnRenamed("node", "dst").withColumnRenamed("person_id", "dst_person"), "dst")
        .where(F.col("src_person") == F.col("dst_person"))
        .select("src", "dst")
    )
    labels, _ = connected_components(owned.select("node"), own_edges, scratch)
    return labels.join(
        truth.withColumn("node", node_key("identifier_type", "identifier_hash")), "node"
    ).select("identifier_type", "identifier_hash", F.col("label").alias("linkable_group"))


def ratio(part: int, whole: int) -> float:
    """``part / whole``; 1.0 when there is nothing to get right (no pairs)."""
    return part / whole if whole else 1.0


def f1(precision: float, recall: float) -> float:
    """The harmonic mean of precision and recall (0 when both are 0)."""
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def score(predicted: DataFrame, truth: DataFrame, linkable: DataFrame | None = None) -> IdentityScore:
    """Pairwise precision/recall/F1 of ``predicted`` (identifier_type, identifier_hash, customer_key)
    against ``truth`` (identifier_type, identifier_hash, person_id), on the identifiers both hold;
    ``linkable`` (…, linkable_group) adds the recall over pairs the data can link."""
    both = predicted.join(truth, ["identifier_type", "identifier_hash"])
    if linkable is not None:
        both = both.join(linkable, ["identifier_type", "identifier_hash"], "left")
    else:
        both = both.withColumn("linkable_group", F.col("person_id"))

    def pairs(*group: str) -> tuple[int, int]:
        row = (
            both.groupBy(*group)
            .count()
            .agg(
                F.sum(F.col("count") * (F.col("count") - 1) / 2).alias("pairs"), F.count("*").alias("groups")
            )
            .first()
        )
        return int(row["pairs"] or 0), int(row["groups"] or 0)

    correct, _ = pairs("customer_key", "person_id")
    predicted_pairs, customers = pairs("customer_key")
    true_pairs, persons = pairs("person_id")
    linkable_pairs, _ = pairs("linkable_group")
    correct_linkable, _ = pairs("customer_key", "linkable_group")

    precision = ratio(correct, predicted_pairs)
    recall = ratio(correct, true_pairs)
    recall_linkable = ratio(correct_linkable, linkable_pairs)
    return IdentityScore(
        precision=round(precision, 6),
        recall=round(recall, 6),
        f1=round(f1(precision, recall), 6),
        recall_linkable=round(recall_linkable, 6),
        f1_linkable=round(f1(precision, recall_linkable), 6),
        identifiers=int(both.count()),
        persons=persons,
        customers=customers,
        true_pairs=true_pairs,
        predicted_pairs=predicted_pairs,
        correct_pairs=correct,
        linkable_pairs=linkable_pairs,
        correct_linkable_pairs=correct_linkable,
        evaluated_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def evaluate(lake: Lake | None = None) -> IdentityScore:
    """Score ``silver.customer_identifiers`` against ``landing/_truth/`` and append the score to
    ``<lake>/_ops/identity_eval.jsonl``."""
    lake = lake or get_lake()
    truth_dir = lake.path("landing", "_truth")
    if lake.root.is_local and not (Path(truth_dir) / "identity.ndjson").exists():
        raise LandingError(f"no truth at {truth_dir}: identity can only be scored on generated data")
    spark = get_spark()
    table = lake.table("silver.customer_identifiers")
    if not delta.exists(table):
        raise LandingError("no silver.customer_identifiers yet: run the identity step first")
    predicted = delta.read(spark, table).select("identifier_type", "identifier_hash", "customer_key")
    scratch = Scratch(lake)
    try:
        truth = scratch.materialise(truth_identifiers(spark, truth_dir), "truth")
        edges = scratch.materialise(
            observation_edges(scratch.materialise(observe(spark, lake), "obs")), "edges"
        )
        linkable = scratch.materialise(linkable_groups(truth, edges, scratch), "linkable")
        result = score(predicted, truth, linkable)
    finally:
        scratch.cleanup()
    if lake.root.is_local:
        out = Path(lake.path("_ops", "identity_eval.jsonl"))
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(result.as_dict()) + "\n")
    log.info("identity score: %s", result)
    return result
