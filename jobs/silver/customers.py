"""``silver.customers``: one row per resolved person (``customer_key`` of ``silver.customer_identifiers``).

Contact points are chosen per person from the records that carry them and are stored only as
pseudonyms (``identifier_hash``) and masked display forms, never in clear text:

- e-mail: the CRM's, else the web account's, else one typed at checkout, else an identify call's;
  the most recently seen within the same source;
- phone: the CRM's, else one given with an order, else an identify call's. A household landline
  can be a person's contact phone even though identity resolution does not use it as evidence;
- web_customer_id: the account the person used most recently (a person may hold two);
- CRM membership, tier, sign-up and consent flags from the latest CRM snapshot of the person's
  member id (a member who left the snapshot keeps the last version listed); consent is false when unknown (not a member, or the CRM left it empty).

The table is rebuilt whole each run from bronze and the identity graph (people are few next to
events), so merged keys disappear and their survivor carries the union of the contact points.
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
from jobs.silver.snapshots import latest_snapshot, versions
from omnilake import delta
from omnilake.engine import get_spark
from omnilake.lake import Lake, get_lake
from omnilake.privacy import identifier_hash, mask_email, mask_phone
from omnilake.transforms import latest_by_key

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
            {"web_customer_id": F.col("customer.id").cast("string"), "email": F.col("email")},
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


def primary_contacts(candidates: DataFrame) -> DataFrame:
    """(customer_key, email_hash, email_masked, phone_hash, phone_masked)."""
    email = candidates.where(
        (F.col("kind") == "email") & identifier_hash("email", F.col("value")).isNotNull()
    )
    phone = candidates.where(
        (F.col("kind") == "phone") & identifier_hash("phone", F.col("value")).isNotNull()
    )
    order = [F.col("priority"), F.col("seen_at").desc_nulls_last(), F.col("value")]
    best_email = latest_by_key(email, ["customer_key"], order).select(
        "customer_key",
        identifier_hash("email", F.col("value")).alias("email_hash"),
        mask_email(F.col("value")).alias("email_masked"),
    )
    best_phone = latest_by_key(phone, ["customer_key"], order).select(
        "customer_key",
        identifier_hash("phone", F.col("value")).alias("phone_hash"),
        mask_phone(F.col("value")).alias("phone_masked"),
    )
    return best_email.join(best_phone, "customer_key", "full")


def web_accounts(
    orders: DataFrame | None, events: DataFrame | None, identifiers: DataFrame
) -> DataFrame | None:
    """(customer_key, web_customer_id): the account each person used last."""
    used = []
    if orders is not None:
        used.append(
            orders.select(
                F.col("customer.id").cast("string").alias("web_customer_id"),
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
    accounts = (
        accounts.where(F.col("web_customer_id").isNotNull())
        .groupBy("web_customer_id")
        .agg(F.max("seen_at").alias("seen_at"))
    )
    keyed = _keyed(accounts, identifiers, {"web_customer_id": F.col("web_customer_id")})
    return latest_by_key(
        keyed, ["customer_key"], [F.col("seen_at").desc_nulls_last(), F.col("web_customer_id")]
    ).select("customer_key", "web_customer_id")


def customer_rows(
    identifiers: DataFrame, members: DataFrame, orders: DataFrame | None, events: DataFrame | None
) -> DataFrame:
    """``silver.customers`` rows: one per customer_key of ``identifiers``."""
    people = identifiers.groupBy("customer_key").agg(F.count("*").cast("int").alias("identifiers"))
    membership = latest_by_key(
        _keyed(members, identifiers, {"member_id": F.col("member_id")}),
        ["customer_key"],
        [F.col("signup_date").asc_nulls_last(), F.col("member_id")],
    ).select(
        "customer_key",
        F.trim(F.col("member_id")).alias("member_id"),
        F.col("postal_code"),
        F.col("tier"),
        F.col("signup_date"),
        F.nullif(F.trim(F.col("signup_store_id")), F.lit("")).alias("signup_store_id"),
        *[F.col(c).alias(f"_{c}") for c in CONSENTS],
    )
    rows = people.join(membership, "customer_key", "left").join(
        primary_contacts(contact_candidates(members, orders, events, identifiers)), "customer_key", "left"
    )
    accounts = web_accounts(orders, events, identifiers)
    if accounts is not None:
        rows = rows.join(accounts, "customer_key", "left")
    else:
        rows = rows.withColumn("web_customer_id", F.lit(None).cast("string"))
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
class CustomersResult:
    customers: int
    inserted: int
    updated: int
    removed: int
    seconds: float


def _row_digest(df: DataFrame) -> Column:
    return F.sha2(F.to_json(F.struct(*[F.col(c) for c in df.columns if c != "customer_key"])), 256)


def build_customers(lake: Lake | None = None) -> CustomersResult:
    """Rebuild ``silver.customers`` from the identity graph, the CRM and the web shop."""
    started = time.perf_counter()
    lake = lake or get_lake()
    spark = get_spark()
    table = lake.table("silver.customers")
    identifiers = delta.read(spark, lake.table("silver.customer_identifiers"))
    members = _bronze(spark, lake, "crm_members")
    if members is None:
        members = spark.createDataFrame([], lake.table("bronze.crm_members").contract.spark_schema())
    members = latest_members(members, latest_snapshot(lake, "crm_members"))
    rows = customer_rows(identifiers, members, _bronze(spark, lake, "orders"), _bronze(spark, lake, "events"))
    scratch = Scratch(lake, "customers")
    try:
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
        delta.overwrite(rows, table)
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


def _bronze(spark: SparkSession, lake: Lake, source: str) -> DataFrame | None:
    table = lake.table(f"bronze.{source}")
    return delta.read(spark, table) if delta.exists(table) else None


def customers_step(context: RunContext) -> dict[str, Any]:
    """Pipeline step: rebuild ``silver.customers`` (after the identity step)."""
    result = build_customers(context.lake)
    return {
        "rows_in": result.customers,
        "inserted": result.inserted,
        "updated": result.updated,
        "removed": result.removed,
    }
