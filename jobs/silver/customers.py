"""``silver.customers``: one row per resolved person (``customer_key`` of ``silver.customer_identifiers``).

Contact points are chosen per person from the records that carry them and are stored only as
pseudonyms (``identifier_hash``) and masked display forms, never in clear text:

- e-mail: the CRM's, else the web account's, else one typed at checkout, else an identify call's;
  the most recently seen within the same source; points given by one source at one time (a person
  with two CRM memberships) are told apart by their pseudonym, so the choice needs no clear text;
- phone: the CRM's, else one given with an order, else an identify call's. A household landline
  can be a person's contact phone even though identity resolution does not use it as evidence;
- web_customer_id: the account the person used most recently (a person may hold two);
- CRM membership, tier, sign-up and consent flags from the latest CRM snapshot of the person's
  member id (a member who left the snapshot keeps the last version listed); consent is false when
  unknown (not a member, or the CRM left it empty).

The table is recomputed whole each run from the identity graph and compact evidence tables that
each run extends with its new bronze batches only (``ops.silver_progress``):
``silver.customer_members`` (the latest snapshot of each CRM member), ``silver.customer_contacts``
(every e-mail and phone an order or identify call gave, the last time it did) and
``silver.customer_web_accounts`` (each account's last use); people are few next to events, so merged
keys disappear and their survivor carries the union of the contact points. The CRM is held in bronze
as changes (``jobs.bronze.snapshot_diff``): an unchanged member has no row in a later batch, so a run
with a new CRM batch re-reads the CRM's change rows (few: they follow changes, not days) and a
member's snapshot date follows the latest snapshot listing them. When the evidence is empty (a new
lake, after an erasure) a run reads all of bronze instead, as ``rebuild`` does; both give the same
table.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.silver.identity import Scratch
from jobs.silver.outputs import ensure_outputs
from jobs.silver.progress import Batch, pending_batches, read_batches, record_batches
from jobs.silver.snapshots import changed_versions, latest_snapshot, versions
from omnilake import delta
from omnilake.engine import get_spark
from omnilake.lake import Lake, get_lake
from omnilake.privacy import identifier_hash, mask_email, mask_phone
from omnilake.transforms import id_text, latest_by_key

if TYPE_CHECKING:
    from omnilake.pipeline import RunContext

log = logging.getLogger(__name__)

CONSENTS = ("email_opt_in", "sms_opt_in", "profiling_consent")


def _keys_of(identifiers: DataFrame, identifier_type: str, prefix: str) -> DataFrame:
    return identifiers.where(F.col("identifier_type") == identifier_type).select(
        F.col("identifier_hash").alias(f"{prefix}_hash"), F.col("customer_key").alias(f"{prefix}_key")
    )


def _keyed(df: DataFrame, identifiers: DataFrame, anchors: dict[str, Column]) -> DataFrame:
    """``df`` with ``customer_key`` from the first anchor identifier (type -> clear value) that has one."""
    keys = []
    for n, (identifier_type, value) in enumerate(anchors.items()):
        prefix = f"_a{n}"
        df = df.withColumn(f"{prefix}_hash", identifier_hash(identifier_type, value)).join(
            _keys_of(identifiers, identifier_type, prefix), f"{prefix}_hash", "left"
        )
        keys.append(F.col(f"{prefix}_key"))
    dropped = [c for n in range(len(anchors)) for c in (f"_a{n}_hash", f"_a{n}_key")]
    return (
        df.withColumn("customer_key", F.coalesce(*keys))
        .drop(*dropped)
        .where(F.col("customer_key").isNotNull())
    )


def latest_members(crm: DataFrame, latest_snapshot: date | None = None) -> DataFrame:
    """Each member as the latest CRM snapshot that lists them shows them, with ``_seen_to``, that
    snapshot's date (bronze holds the CRM's changes: ``jobs.silver.snapshots``)."""
    return latest_by_key(
        versions(crm, ["member_id"], latest_snapshot),
        ["member_id"],
        [F.col("_seen_to").desc(), F.col("_landing_date").desc(), F.col("_line").desc()],
    )


def contact_candidates(
    members: DataFrame, orders: DataFrame | None, events: DataFrame | None, identifiers: DataFrame
) -> DataFrame:
    """(customer_key, kind, value, priority, seen_at): every e-mail and phone a person gave, keyed."""
    parts = [
        _keyed(members, identifiers, {"member_id": F.col("member_id")}).select(
            "customer_key",
            F.col("email"),
            F.col("phone"),
            F.lit(1).alias("priority"),
            F.col("_seen_to").cast("timestamp").alias("seen_at"),
        )
    ]
    if orders is not None:
        placed = _keyed(
            orders,
            identifiers,
            {"web_customer_id": id_text(orders, "customer.id"), "email": F.col("email")},
        )
        seen = F.col("updated_at").cast("timestamp")
        parts.append(
            placed.select(
                "customer_key",
                F.col("customer.email").alias("email"),
                F.coalesce(F.col("customer.phone"), F.col("phone")).alias("phone"),
                F.lit(2).alias("priority"),
                seen.alias("seen_at"),
            )
        )
        parts.append(
            placed.select("customer_key", "email", "phone", F.lit(3).alias("priority"), seen.alias("seen_at"))
        )
    if events is not None:
        identified = _keyed(
            events.where(F.col("type") == "identify"),
            identifiers,
            {"web_customer_id": F.col("userId"), "email": F.col("traits.email")},
        )
        parts.append(
            identified.select(
                "customer_key",
                F.col("traits.email").alias("email"),
                F.col("traits.phone").alias("phone"),
                F.lit(4).alias("priority"),
                F.col("receivedAt").cast("timestamp").alias("seen_at"),
            )
        )
    given = parts[0]
    for more in parts[1:]:
        given = given.unionByName(more)
    return given.select(
        "customer_key",
        F.explode(
            F.array(
                F.struct(F.lit("email").alias("kind"), F.col("email").alias("value")),
                F.struct(F.lit("phone").alias("kind"), F.col("phone").alias("value")),
            )
        ).alias("c"),
        "priority",
        "seen_at",
    ).select("customer_key", "c.kind", "c.value", "priority", "seen_at")


def _contact_order(kind: str, mask) -> list[Column]:
    """The choice among a person's contact points of one kind: the most trusted source, the latest
    time given, then the smallest pseudonym and masked form. The last two only break ties (a person
    with two CRM memberships listed in the same snapshot) and are what the compact evidence keeps, so
    the evidence decides every tie the way this recompute from bronze does."""
    value = F.col("value")
    return [F.col("priority"), F.col("seen_at").desc_nulls_last(), identifier_hash(kind, value), mask(value)]


def primary_contacts(candidates: DataFrame) -> DataFrame:
    """(customer_key, email_hash, email_masked, phone_hash, phone_masked)."""
    email = candidates.where(
        (F.col("kind") == "email") & identifier_hash("email", F.col("value")).isNotNull()
    )
    phone = candidates.where(
        (F.col("kind") == "phone") & identifier_hash("phone", F.col("value")).isNotNull()
    )
    best_email = latest_by_key(email, ["customer_key"], _contact_order("email", mask_email)).select(
        "customer_key",
        identifier_hash("email", F.col("value")).alias("email_hash"),
        mask_email(F.col("value")).alias("email_masked"),
    )
    best_phone = latest_by_key(phone, ["customer_key"], _contact_order("phone", mask_phone)).select(
        "customer_key",
        identifier_hash("phone", F.col("value")).alias("phone_hash"),
        mask_phone(F.col("value")).alias("phone_masked"),
    )
    return best_email.join(best_phone, "customer_key", "full")


def web_accounts(
    orders: DataFrame | None, events: DataFrame | None, identifiers: DataFrame
) -> DataFrame | None:
    """(customer_key, web_customer_id): the account each person used last."""
    accounts = account_evidence(orders, events)
    if accounts is None:
        return None
    keyed = _keyed(accounts, identifiers, {"web_customer_id": F.col("web_customer_id")})
    return latest_by_key(
        keyed, ["customer_key"], [F.col("seen_at").desc_nulls_last(), F.col("web_customer_id")]
    ).select("customer_key", "web_customer_id")


def _membership(keyed_members: DataFrame) -> DataFrame:
    """Per customer, the membership that stands for them (the earliest signup, then the lowest
    member id), with its consents as ``_<consent>``: one rule for the rebuild and evidence paths."""
    return latest_by_key(
        keyed_members, ["customer_key"], [F.col("signup_date").asc_nulls_last(), F.col("member_id")]
    ).select(
        "customer_key",
        F.trim(F.col("member_id")).alias("member_id"),
        F.col("postal_code"),
        F.col("tier"),
        F.col("signup_date"),
        F.nullif(F.trim(F.col("signup_store_id")), F.lit("")).alias("signup_store_id"),
        *[F.col(c).alias(f"_{c}") for c in CONSENTS],
    )


def customer_rows(
    identifiers: DataFrame, members: DataFrame, orders: DataFrame | None, events: DataFrame | None
) -> DataFrame:
    """``silver.customers`` rows: one per customer_key of ``identifiers``."""
    people = identifiers.groupBy("customer_key").agg(F.count("*").cast("int").alias("identifiers"))
    membership = _membership(_keyed(members, identifiers, {"member_id": F.col("member_id")}))
    rows = people.join(membership, "customer_key", "left").join(
        primary_contacts(contact_candidates(members, orders, events, identifiers)), "customer_key", "left"
    )
    accounts = web_accounts(orders, events, identifiers)
    if accounts is not None:
        rows = rows.join(accounts, "customer_key", "left")
    else:
        rows = rows.withColumn("web_customer_id", F.lit(None).cast("string"))
    return _customer_columns(rows)


@dataclass
class CustomersResult:
    customers: int
    inserted: int
    updated: int
    removed: int
    seconds: float


def _row_digest(df: DataFrame) -> Column:
    return F.sha2(F.to_json(F.struct(*[F.col(c) for c in df.columns if c != "customer_key"])), 256)


PROGRESS_TABLE = "customers"
EVIDENCE_SOURCES = ("crm_members", "orders", "events")
EVIDENCE = ("silver.customer_members", "silver.customer_contacts", "silver.customer_web_accounts")


def member_evidence(crm: DataFrame) -> DataFrame:
    """``silver.customer_members`` rows: each member's latest snapshot, contact points pseudonymised.

    ``crm`` are versions (``jobs.silver.snapshots``): ``snapshot_date`` is the last snapshot listing
    the version, as the latest daily row of a whole snapshot would give."""
    latest = latest_by_key(
        crm, ["member_id"], [F.col("_seen_to").desc(), F.col("_landing_date").desc(), F.col("_line").desc()]
    )
    return latest.select(
        F.col("member_id"),
        identifier_hash("member_id", F.col("member_id")).alias("member_id_hash"),
        "postal_code",
        "tier",
        "signup_date",
        "signup_store_id",
        *CONSENTS,
        identifier_hash("email", F.col("email")).alias("email_hash"),
        mask_email(F.col("email")).alias("email_masked"),
        identifier_hash("phone", F.col("phone")).alias("phone_hash"),
        mask_phone(F.col("phone")).alias("phone_masked"),
        F.col("_seen_to").alias("snapshot_date"),
        F.col("_line").alias("snapshot_line"),
    )


def _latest_member_rows(members: DataFrame) -> DataFrame:
    return latest_by_key(
        members, ["member_id"], [F.col("snapshot_date").desc(), F.col("snapshot_line").desc()]
    )


def _given(
    df: DataFrame, anchors: dict[str, Column], priority: int, email: Column, phone: Column, seen_at: Column
):
    hashed = df.select(
        identifier_hash("web_customer_id", anchors["web_customer_id"]).alias("anchor_web_customer_id_hash"),
        identifier_hash("email", anchors["email"]).alias("anchor_email_hash"),
        F.lit(priority).alias("priority"),
        F.explode(
            F.array(
                F.struct(
                    F.lit("email").alias("kind"),
                    identifier_hash("email", email).alias("value_hash"),
                    mask_email(email).alias("value_masked"),
                ),
                F.struct(
                    F.lit("phone").alias("kind"),
                    identifier_hash("phone", phone).alias("value_hash"),
                    mask_phone(phone).alias("value_masked"),
                ),
            )
        ).alias("c"),
        seen_at.alias("seen_at"),
    )
    return hashed.select(
        "anchor_web_customer_id_hash",
        "anchor_email_hash",
        "priority",
        "c.kind",
        "c.value_hash",
        "c.value_masked",
        "seen_at",
    ).where(F.col("value_hash").isNotNull())


def contact_evidence(orders: DataFrame | None, events: DataFrame | None) -> DataFrame | None:
    """``silver.customer_contacts`` rows (the e-mails and phones of orders and identify calls)."""
    parts = []
    if orders is not None:
        anchors = {"web_customer_id": id_text(orders, "customer.id"), "email": F.col("email")}
        seen = F.col("updated_at").cast("timestamp")
        account_phone = F.coalesce(F.col("customer.phone"), F.col("phone"))
        parts.append(_given(orders, anchors, 2, F.col("customer.email"), account_phone, seen))
        parts.append(_given(orders, anchors, 3, F.col("email"), F.col("phone"), seen))
    if events is not None:
        identified = events.where(F.col("type") == "identify")
        anchors = {"web_customer_id": F.col("userId"), "email": F.col("traits.email")}
        seen = F.col("receivedAt").cast("timestamp")
        parts.append(_given(identified, anchors, 4, F.col("traits.email"), F.col("traits.phone"), seen))
    if not parts:
        return None
    given = parts[0]
    for more in parts[1:]:
        given = given.unionByName(more)
    return _last_given(given)


def _last_given(contacts: DataFrame) -> DataFrame:
    """One row per contact point and anchor: the latest time it was given is all the choice needs."""
    return contacts.groupBy(
        "anchor_web_customer_id_hash", "anchor_email_hash", "priority", "kind", "value_hash", "value_masked"
    ).agg(F.max("seen_at").alias("seen_at"))


def account_evidence(orders: DataFrame | None, events: DataFrame | None) -> DataFrame | None:
    """``silver.customer_web_accounts`` rows: each account's last use."""
    used = []
    if orders is not None:
        used.append(
            orders.select(
                id_text(orders, "customer.id").alias("web_customer_id"),
                F.col("updated_at").cast("timestamp").alias("seen_at"),
            )
        )
    if events is not None:
        used.append(
            events.select(
                F.trim(F.col("userId")).alias("web_customer_id"),
                F.col("receivedAt").cast("timestamp").alias("seen_at"),
            )
        )
    if not used:
        return None
    accounts = used[0]
    for more in used[1:]:
        accounts = accounts.unionByName(more)
    return (
        accounts.where(F.col("web_customer_id").isNotNull())
        .groupBy("web_customer_id")
        .agg(F.max("seen_at").alias("seen_at"))
    )


def _owned(df: DataFrame, identifiers: DataFrame, anchors: dict[str, str]) -> DataFrame:
    """``df`` with ``customer_key`` from the first anchor hash column (type -> column) that has one."""
    keys = []
    for n, (identifier_type, column) in enumerate(anchors.items()):
        prefix = f"_a{n}"
        df = df.join(
            _keys_of(identifiers, identifier_type, prefix),
            F.col(column) == F.col(f"{prefix}_hash"),
            "left",
        ).drop(f"{prefix}_hash")
        keys.append(F.col(f"{prefix}_key"))
    dropped = [f"_a{n}_key" for n in range(len(anchors))]
    return (
        df.withColumn("customer_key", F.coalesce(*keys))
        .drop(*dropped)
        .where(F.col("customer_key").isNotNull())
    )


def customer_rows_from_evidence(
    identifiers: DataFrame, members: DataFrame, contacts: DataFrame, accounts: DataFrame
) -> DataFrame:
    """``silver.customers`` rows computed from the evidence tables (same as ``customer_rows`` over
    bronze)."""
    people = identifiers.groupBy("customer_key").agg(F.count("*").cast("int").alias("identifiers"))
    keyed_members = _owned(members, identifiers, {"member_id": "member_id_hash"})
    membership = _membership(keyed_members)
    crm_given = keyed_members.select(
        "customer_key",
        F.explode(
            F.array(
                F.struct(
                    F.lit("email").alias("kind"),
                    F.col("email_hash").alias("value_hash"),
                    F.col("email_masked").alias("value_masked"),
                ),
                F.struct(
                    F.lit("phone").alias("kind"),
                    F.col("phone_hash").alias("value_hash"),
                    F.col("phone_masked").alias("value_masked"),
                ),
            )
        ).alias("c"),
        F.lit(1).alias("priority"),
        F.col("snapshot_date").cast("timestamp").alias("seen_at"),
    ).select("customer_key", "c.kind", "c.value_hash", "c.value_masked", "priority", "seen_at")
    shop_given = _owned(
        contacts,
        identifiers,
        {"web_customer_id": "anchor_web_customer_id_hash", "email": "anchor_email_hash"},
    ).select("customer_key", "kind", "value_hash", "value_masked", "priority", "seen_at")
    given = crm_given.where(F.col("value_hash").isNotNull()).unionByName(shop_given)
    # the same order as ``_contact_order``: source, latest time given, pseudonym, masked form
    order = [
        F.col("priority"),
        F.col("seen_at").desc_nulls_last(),
        F.col("value_hash"),
        F.col("value_masked"),
    ]
    chosen = latest_by_key(given, ["customer_key", "kind"], order)
    email = chosen.where(F.col("kind") == "email").select(
        "customer_key", F.col("value_hash").alias("email_hash"), F.col("value_masked").alias("email_masked")
    )
    phone = chosen.where(F.col("kind") == "phone").select(
        "customer_key", F.col("value_hash").alias("phone_hash"), F.col("value_masked").alias("phone_masked")
    )
    last_used = _owned(
        accounts.withColumn("_hash", identifier_hash("web_customer_id", F.col("web_customer_id"))),
        identifiers,
        {"web_customer_id": "_hash"},
    )
    account = latest_by_key(
        last_used, ["customer_key"], [F.col("seen_at").desc_nulls_last(), F.col("web_customer_id")]
    ).select("customer_key", "web_customer_id")
    rows = (
        people.join(membership, "customer_key", "left")
        .join(email.join(phone, "customer_key", "full"), "customer_key", "left")
        .join(account, "customer_key", "left")
    )
    return _customer_columns(rows)


def _customer_columns(rows: DataFrame) -> DataFrame:
    """The ``silver.customers`` columns, the same from all of bronze and from compact evidence."""
    return rows.select(
        "customer_key",
        "member_id",
        "web_customer_id",
        "email_hash",
        "email_masked",
        "phone_hash",
        "phone_masked",
        "postal_code",
        F.col("member_id").isNotNull().alias("is_member"),
        "tier",
        "signup_date",
        "signup_store_id",
        *[F.coalesce(F.col(f"_{c}"), F.lit(False)).alias(c) for c in CONSENTS],
        "identifiers",
    )


@dataclass
class Evidence:
    members: DataFrame
    contacts: DataFrame
    accounts: DataFrame
    batches: list[Batch]
    changed: bool


def grow_evidence(spark: SparkSession, lake: Lake, scratch: Scratch, rebuild: bool = False) -> Evidence:
    """The stored evidence plus the bronze batches it has not taken in (all of bronze when
    ``rebuild`` or when the evidence is empty)."""
    tables = [lake.table(name) for name in EVIDENCE]
    stored = not rebuild and all(delta.exists(t) for t in tables)
    if stored:
        stored = any(not delta.read(spark, t).isEmpty() for t in tables)
    batches = [
        b
        for source in EVIDENCE_SOURCES
        for b in pending_batches(spark, lake, PROGRESS_TABLE, source, everything=not stored)
    ]
    old = [delta.read(spark, t) for t in tables]
    if not stored:
        log.info("silver customers: building the evidence from all of bronze")
    if stored and not batches:
        return Evidence(*old, batches, changed=False)
    if stored:
        new = {s: read_batches(spark, lake, [b for b in batches if b.source == s]) for s in EVIDENCE_SOURCES
               if any(b.source == s for b in batches)}  # fmt: skip
    else:
        new = {s: frame for s in EVIDENCE_SOURCES if (frame := _bronze(spark, lake, s)) is not None}
        old = [spark.createDataFrame([], t.contract.spark_schema()) for t in tables]
    members, contacts, accounts = old
    if "crm_members" in new:  # the new snapshots' versions, and the changed ends of earlier ones
        crm = (
            changed_versions(spark, lake, "crm_members", ["member_id"], new["crm_members"])
            if stored
            else versions(new["crm_members"], ["member_id"], latest_snapshot(lake, "crm_members"))
        )
        members = _latest_member_rows(members.unionByName(member_evidence(crm)))
    found = contact_evidence(new.get("orders"), new.get("events"))
    if found is not None:
        contacts = _last_given(contacts.unionByName(found))
    used = account_evidence(new.get("orders"), new.get("events"))
    if used is not None:
        accounts = (
            accounts.unionByName(used).groupBy("web_customer_id").agg(F.max("seen_at").alias("seen_at"))
        )
    return Evidence(
        scratch.materialise(members, "members"),
        scratch.materialise(contacts, "contacts"),
        scratch.materialise(accounts, "accounts"),
        batches,
        changed=True,
    )


def build_customers(
    lake: Lake | None = None, *, rebuild: bool = False, run_id: str | None = None
) -> CustomersResult:
    """Recompute ``silver.customers`` from the identity graph and the evidence, extended with the new
    bronze batches; ``rebuild`` computes it from all of bronze instead (``customer_rows``)."""
    started = time.perf_counter()
    lake = lake or get_lake()
    spark = get_spark()
    table = lake.table("silver.customers")
    identifiers = delta.read(spark, lake.table("silver.customer_identifiers"))
    scratch = Scratch(lake, "customers")
    try:
        evidence = grow_evidence(spark, lake, scratch, rebuild=rebuild)
        if rebuild:
            rows = _rows_from_bronze(spark, lake, identifiers)
        else:
            rows = customer_rows_from_evidence(
                identifiers, evidence.members, evidence.contacts, evidence.accounts
            )
        rows = scratch.materialise(rows, "customers")
        old = delta.read(spark, table)
        compared = rows.select("customer_key", _row_digest(rows).alias("new")).join(
            old.select("customer_key", _row_digest(old).alias("old")), "customer_key", "full"
        )
        counts = compared.agg(
            F.count("new").alias("customers"),
            F.sum(F.when(F.col("old").isNull(), 1).otherwise(0)).alias("inserted"),
            F.sum(F.when(F.col("new").isNull(), 1).otherwise(0)).alias("removed"),
            F.sum(F.when(F.col("new") != F.col("old"), 1).otherwise(0)).alias("updated"),
        ).first()
        if evidence.changed:
            for name, frame in zip(
                EVIDENCE, (evidence.members, evidence.contacts, evidence.accounts), strict=True
            ):
                delta.overwrite(frame, lake.table(name))
        delta.overwrite(rows, table)
        record_batches(spark, lake, PROGRESS_TABLE, evidence.batches, run_id)
    finally:
        scratch.cleanup()
    result = CustomersResult(
        customers=int(counts["customers"] or 0),
        inserted=int(counts["inserted"] or 0),
        updated=int(counts["updated"] or 0),
        removed=int(counts["removed"] or 0),
        seconds=time.perf_counter() - started,
    )
    log.info("silver customers: %s", result)
    return result


def _rows_from_bronze(spark: SparkSession, lake: Lake, identifiers: DataFrame) -> DataFrame:
    """``silver.customers`` rows from all of bronze (the full recompute)."""
    members = _bronze(spark, lake, "crm_members")
    if members is None:
        members = spark.createDataFrame([], lake.table("bronze.crm_members").contract.spark_schema())
    members = latest_members(members, latest_snapshot(lake, "crm_members"))
    return customer_rows(identifiers, members, _bronze(spark, lake, "orders"), _bronze(spark, lake, "events"))


def _bronze(spark: SparkSession, lake: Lake, source: str) -> DataFrame | None:
    table = lake.table(f"bronze.{source}")
    return delta.read(spark, table) if delta.exists(table) else None


def customers_step(context: RunContext) -> dict[str, Any]:
    """Pipeline step: recompute ``silver.customers`` (after the identity step)."""
    result = build_customers(context.lake, rebuild=context.rebuild, run_id=context.run_id)
    # the evidence tables exist (empty) even where a source that feeds them is not delivered
    ensure_outputs(get_spark(), context.lake, *(name.removeprefix("silver.") for name in EVIDENCE))
    return {
        "rows_in": result.customers,
        "inserted": result.inserted,
        "updated": result.updated,
        "removed": result.removed,
    }
