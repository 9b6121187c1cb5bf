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
from collections import defaultdict
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from omnilake import delta
from omnilake.lake import Lake

log = logging.getLogger(__name__)

SPLITS_TABLE = "ops.identity_splits"
SIDES = ("apart", "stays")


@dataclass(frozen=True)
class SplitSides:
    """Every recorded split's two sides, as graph nodes (``<type>:<hash>``); few, so held here."""

    sides: dict[str, dict[str, frozenset[str]]]  # split_id -> side -> nodes

    @property
    def nodes(self) -> list[str]:
        return sorted({n for by_side in self.sides.values() for nodes in by_side.values() for n in nodes})


def split_sides(spark: SparkSession, lake: Lake) -> SplitSides | None:
    """The recorded splits, or None when there is none (then nothing is read again)."""
    table = lake.table(SPLITS_TABLE)
    if not delta.exists(table):
        return None
    rows = (
        delta.read(spark, table)
        .select("split_id", "side", F.concat("identifier_type", F.lit(":"), "identifier_hash").alias("node"))
        .collect()
    )
    if not rows:
        return None
    sides: dict[str, dict[str, set[str]]] = defaultdict(lambda: {side: set() for side in SIDES})
    for r in rows:
        sides[r["split_id"]][r["side"]].add(r["node"])
    return SplitSides({i: {k: frozenset(v) for k, v in by_side.items()} for i, by_side in sides.items()})


def cut_pairs(touching: list[tuple[str, str]], splits: SplitSides) -> set[tuple[str, str]]:
    """The edges (src, dst) among ``touching`` (every edge with an end in a split) that the splits cut."""
    neighbours: dict[str, set[str]] = defaultdict(set)
    for src, dst in touching:
        neighbours[src].add(dst)
        neighbours[dst].add(src)
    cut = set()
    for by_side in splits.sides.values():
        apart, stays = by_side["apart"], by_side["stays"]
        members = apart | stays
        for src, dst in touching:
            if (src in apart and dst in stays) or (src in stays and dst in apart):
                cut.add((src, dst))
        for node, around in neighbours.items():
            if node not in members and around & apart and around & stays:
                cut |= {(node, a) for a in around & apart}
                cut |= {(a, node) for a in around & apart}
    return cut


def apply_splits(edges: DataFrame, splits: SplitSides | None) -> DataFrame:
    """``edges`` (src, dst, …) without the edges the splits cut (see the module docstring).

    Reads the edges touching a split once (few); the cut is a filter on literal pairs."""
    if splits is None:
        return edges
    nodes = splits.nodes
    touching = [
        (r["src"], r["dst"])
        for r in edges.where(F.col("src").isin(*nodes) | F.col("dst").isin(*nodes))
        .select("src", "dst")
        .collect()
    ]
    cut = cut_pairs(touching, splits)
    if not cut:
        return edges
    pair = F.concat(F.col("src"), F.lit("|"), F.col("dst"))
    return edges.where(~pair.isin(*sorted(f"{a}|{b}" for a, b in cut)))


def reunited(components: DataFrame, splits: SplitSides | None) -> int:
    """Splits whose two sides ended up in one component anyway (bridged by more than one new
    identifier): ``components`` has (node, label)."""
    if splits is None:
        return 0
    label = {
        r["node"]: r["label"]
        for r in components.where(F.col("node").isin(*splits.nodes)).select("node", "label").collect()
    }
    return sum(
        1
        for by_side in splits.sides.values()
        if {label.get(n) for n in by_side["apart"]} & {label.get(n) for n in by_side["stays"]} - {None}
    )
