"""Which part of the identity graph a run must resolve again: the region its new observations touch.

Resolving the whole graph every run costs what the history costs. A new observation can only change
the people it reaches, so a run resolves the *region* below and leaves every other row of
``silver.customer_identifiers`` as it is; the result is exactly the one of resolving the whole graph
(``jobs.silver.identity``), because the region is closed under everything a component depends on:

- **touched**: the identifiers of the run's new (or re-seen) observations, and every identifier an
  operator's split names (``ops.identity_splits``: a split recorded since the last run cuts edges).
- **near**: the touched identifiers plus every identifier of the people (old ``customer_key``) they
  belong to. A strong component that changes contains a touched identifier, so it lies in ``near``
  whole: it is made of old strong components (each inside one old person) glued by new edges.
- **dirty weak**: the weak identifiers touched or next to a strong identifier of ``near``; only
  their over-merge guard can decide differently from the last run (the guard of any other weak
  identifier sees the same strong components with the same names).
- a dirty weak identifier next to strong identifiers of more than ``max_components`` other people
  outside ``near`` is shared whatever the new data says (those people's strong components did not
  change and are distinct): it stays out of the region, so a kiosk used today does not pull in
  everyone who ever logged in on it. Otherwise the people of all its strong neighbours join the
  region, so that its guard is decided on all of them.
- the region is completed to whole old people (keys are assigned per component from the old keys
  its identifiers held, so every identifier of an old key must be resolved together).

Outside the region no strong component, no guard and no old key changes, and no weak identifier
that is used links a region identifier to one outside it (it would be dirty, hence inside).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

if TYPE_CHECKING:
    from jobs.silver.identity import Scratch


def node_type(node: Column) -> Column:
    """The identifier type of a graph node (``<type>:<hash>``)."""
    return F.substring_index(node, ":", 1)


def touched_region(
    touched: DataFrame,
    previous: DataFrame,
    edges: DataFrame,
    strong_types: tuple[str, ...],
    max_components: int,
    scratch: Scratch,
) -> DataFrame:
    """(node) of every identifier to resolve again (see the module docstring).

    ``touched``: (node) of the new observations and the splits; ``previous``: (node, customer_key)
    of the last ``silver.customer_identifiers``; ``edges``: (src, dst) of every observation, after
    the splits' cuts."""

    def strong(column: str) -> Column:
        return node_type(F.col(column)).isin(*strong_types)

    def people_of(nodes: DataFrame) -> DataFrame:
        keys = previous.join(nodes.select("node").distinct(), "node", "left_semi").select("customer_key")
        return previous.join(keys.distinct(), "customer_key", "left_semi").select("node")

    touched = touched.select("node").distinct()
    near = scratch.materialise(touched.unionByName(people_of(touched)).distinct(), "region_near")
    # Every (weak, strong) pair of the edges, unread until cut down to the few pairs the region can
    # involve: each cut is one scan of the edges against a small set (no aggregation over history).
    src_strong, dst_strong = strong("src"), strong("dst")
    weak_strong = edges.where(src_strong != dst_strong).select(
        F.when(src_strong, F.col("dst")).otherwise(F.col("src")).alias("weak"),
        F.when(src_strong, F.col("src")).otherwise(F.col("dst")).alias("strong"),
    )
    dirty_weak = scratch.materialise(
        touched.where(~strong("node"))
        .select(F.col("node").alias("weak"))
        .unionByName(
            weak_strong.join(
                near.where(strong("node")).select(F.col("node").alias("strong")), "strong", "left_semi"
            ).select("weak")
        )
        .distinct(),
        "region_dirty_weak",
    )
    dirty_pairs = scratch.materialise(
        weak_strong.join(dirty_weak, "weak", "left_semi").distinct(), "region_dirty_pairs"
    )
    outside = dirty_pairs.join(near.select(F.col("node").alias("strong")), "strong", "left_anti").join(
        previous.select(F.col("node").alias("strong"), "customer_key"), "strong", "left"
    )
    fan_out = outside.groupBy("weak").agg(
        F.countDistinct(F.coalesce(F.col("customer_key"), F.col("strong"))).alias("people")
    )
    shared_for_sure = fan_out.where(F.col("people") > max_components).select(F.col("weak").alias("node"))
    open_weak = dirty_weak.select(F.col("weak").alias("node")).join(shared_for_sure, "node", "left_anti")
    reached = (
        outside.join(open_weak.select(F.col("node").alias("weak")), "weak")
        .select(F.col("strong").alias("node"))
        .unionByName(open_weak)
    )
    region = (
        near.unionByName(reached)
        .unionByName(people_of(reached.unionByName(shared_for_sure)))
        .distinct()
        .join(shared_for_sure, "node", "left_anti")
    )
    return scratch.materialise(region, "region")


def near_edges(edges: DataFrame, region: DataFrame) -> DataFrame:
    """The edges with at least one end in ``region`` (a component's names come from all of them)."""
    by_src = edges.join(region.select(F.col("node").alias("src")), "src", "left_semi")
    by_dst = edges.join(region.select(F.col("node").alias("dst")), "dst", "left_semi")
    return by_src.unionByName(by_dst).distinct()


def inner_edges(edges: DataFrame, region: DataFrame) -> DataFrame:
    """The edges with both ends in ``region``."""
    return edges.join(region.select(F.col("node").alias("src")), "src", "left_semi").join(
        region.select(F.col("node").alias("dst")), "dst", "left_semi"
    )
