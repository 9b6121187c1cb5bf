"""Silver tables other silver jobs look things up in: products, locations, customer identifiers.

Readers return ``None`` when the table is not there yet (a first run, or identity resolution not
deployed), and the pure functions treat ``None`` as "nothing known": a sku is then unknown, a
customer key null. Nothing here fails a run because a lookup table is missing.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from omnilake import delta
from omnilake.lake import Lake


def _read(spark: SparkSession, lake: Lake, name: str) -> DataFrame | None:
    table = lake.table(name)
    return delta.read(spark, table) if delta.exists(table) else None


def products(spark: SparkSession, lake: Lake) -> DataFrame | None:
    """silver.products (sku, barcode, ...), or None before the first reference run."""
    return _read(spark, lake, "silver.products")


def locations(spark: SparkSession, lake: Lake) -> DataFrame | None:
    """silver.locations (location_id, time_zone, ...), or None before the first reference run."""
    return _read(spark, lake, "silver.locations")


def customer_keys(spark: SparkSession, lake: Lake, identifier_type: str) -> DataFrame | None:
    """(identifier_hash, customer_key) of one identifier type from silver.customer_identifiers, the
    identity graph's table; None when identity resolution has not written it."""
    identifiers = _read(spark, lake, "silver.customer_identifiers")
    if identifiers is None:
        return None
    return identifiers.where(F.col("identifier_type") == identifier_type).select(
        "identifier_hash", "customer_key"
    )


# --- pure helpers --------------------------------------------------------------------------------


def with_known_sku(df: DataFrame, products: DataFrame | None, sku: str = "sku") -> DataFrame:
    """``is_known_sku``: the row's sku exists in the product master (false when there is none)."""
    if products is None:
        return df.withColumn("is_known_sku", F.lit(False))
    known = products.select(F.col("sku").alias("_known_sku")).distinct()
    return (
        df.join(known, F.col(sku) == F.col("_known_sku"), "left")
        .withColumn("is_known_sku", F.col("_known_sku").isNotNull())
        .drop("_known_sku")
    )


def with_customer_key(df: DataFrame, lookups: Sequence[tuple[str, DataFrame | None]]) -> DataFrame:
    """``customer_key`` from the first lookup that knows the row: each lookup pairs a hash column of
    ``df`` with an (identifier_hash, customer_key) frame from ``customer_keys``."""
    keys: list[Column] = []
    for n, (hash_column, lookup) in enumerate(lookups):
        if lookup is None:
            continue
        alias = f"_customer_key_{n}"
        found = lookup.select(
            F.col("identifier_hash").alias(f"_identifier_hash_{n}"), F.col("customer_key").alias(alias)
        )
        df = df.join(found, F.col(hash_column) == F.col(f"_identifier_hash_{n}"), "left").drop(
            f"_identifier_hash_{n}"
        )
        keys.append(F.col(alias))
    key = F.coalesce(*keys) if keys else F.lit(None).cast("string")
    return df.withColumn("customer_key", key).drop(*[c for c in df.columns if c.startswith("_customer_key_")])
