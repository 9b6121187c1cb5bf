"""Operators' splits of identity resolution (``ops.identity_splits``), applied to the graph's edges.

A split (``omnilake identity split``) names identifiers that do not belong with the rest of the
person they were merged into: side ``apart`` (the ones named) and side ``stays`` (the person's other
identifiers when the split was made). ``apply_splits`` removes, before components are formed:

- every edge between the two sides of a split (a wrong link, a shared family phone);
- the edges to side ``apart`` of an identifier outside the split that touches both sides (evidence
  arriving after the split that would bridge them again: it stays with the ``stays`` side).

Nothing else changes, so a person's later identifiers still join their side, and the rule holds on
every run, incremental or ``rebuild``, because both resolve the same evidence through the same
filter. A bridge longer than one new identifier (two new identifiers each touching one side and
linked to each other) is not cut; ``reunited`` finds such components, so the run logs them.

Keys follow from ``jobs.silver.identity.assign_keys``: the old key stays with the part holding most
of its identifiers, the other part gets a new key derived from its smallest identifier (stable on
the next run, which finds it in ``silver.customer_identifiers``).
"""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from omnilake import delta
from omnilake.lake import Lake

log = logging.getLogger(__name__)

SPLITS_TABLE = "ops.identity_splits"
SIDES = ("apart", "stays")


def split_sides(spark: SparkSession, lake: Lake) -> DataFrame | None:
    """(split_id, side, node) of every recorded split, or None when there is none."""
    table = lake.table(SPLITS_TABLE)
    if not delta.exists(table):
        return None
    rows = delta.read(spark, table)
    if rows.isEmpty():
        return None
    return rows.select(
        "split_id", "side", F.concat("identifier_type", F.lit(":"), "identifier_hash").alias("node")
    ).distinct()


def apply_splits(edges: DataFrame, sides: DataFrame | None) -> DataFrame:
    """``edges`` (src, dst, …) without the edges the splits cut (see the module docstring)."""
    if sides is None:
        return edges
    a = sides.select(F.col("split_id"), F.col("side").alias("src_side"), F.col("node").alias("src"))
    b = sides.select(F.col("split_id"), F.col("side").alias("dst_side"), F.col("node").alias("dst"))
    across = (
        edges.select("src", "dst")
        .join(a, "src")
        .join(b, ["split_id", "dst"])
        .where(F.col("src_side") != F.col("dst_side"))
        .select("src", "dst")
    )
    # identifiers outside a split that touch both of its sides: their edges to "apart" go
    directed = edges.select("src", "dst").unionByName(
        edges.select(F.col("dst").alias("src"), F.col("src").alias("dst"))
    )
    touching = directed.join(b, "dst").join(
        sides.select("split_id", F.col("node").alias("src"), F.lit(True).alias("member")),
        ["split_id", "src"],
        "left",
    )
    bridges = (
        touching.where(F.col("member").isNull())
        .groupBy("split_id", "src")
        .agg(F.countDistinct("dst_side").alias("sides"))
        .where(F.col("sides") == len(SIDES))
        .select("split_id", F.col("src").alias("bridge"))
    )
    bridged = (
        touching.join(bridges.withColumnRenamed("bridge", "src"), ["split_id", "src"])
        .where(F.col("dst_side") == "apart")
        .select("src", "dst")
    )
    cut = across.unionByName(bridged)
    cut = cut.unionByName(cut.select(F.col("dst").alias("src"), F.col("src").alias("dst"))).distinct()
    return edges.join(cut, ["src", "dst"], "left_anti")


def reunited(components: DataFrame, sides: DataFrame | None) -> int:
    """Splits whose two sides ended up in one component anyway (bridged by more than one new
    identifier): ``components`` has (node, label)."""
    if sides is None:
        return 0
    return (
        components.select("node", "label")
        .join(sides, "node")
        .groupBy("split_id", "label")
        .agg(F.countDistinct("side").alias("sides"))
        .where(F.col("sides") == len(SIDES))
        .select("split_id")
        .distinct()
        .count()
    )
