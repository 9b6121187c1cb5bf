"""What do people buy with sku X? "Bought together" recommendations from the gold Delta tables.

A downstream app (a product page, a store associate's tablet) reads
``<lake>/gold/mart_product_affinity`` with delta-rs: the products most often in the same basket as
the sku, online and in store, ranked by lift (then confidence), with how often a view of each turns
into a purchase (``mart_product_engagement``) when it has been viewed.

    uv run python examples/bought_together.py SKU-123
    uv run python examples/bought_together.py SKU-123 --limit 3 --lake /data/omnilake
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

import pyarrow as pa
from deltalake import DeltaTable, QueryBuilder


@dataclass(frozen=True)
class Recommendation:
    sku: str
    product_name: str | None
    category: str | None
    pair_baskets: int
    confidence: float
    lift: float
    view_to_buy_rate: float | None


def _literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def bought_together(lake: str, sku: str, limit: int = 5) -> list[Recommendation]:
    """Up to ``limit`` products bought with ``sku``, best first (``affinity_rank``). Empty when the sku
    shares no basket above the mart's minimum support."""
    root = lake.rstrip("/")
    query = QueryBuilder().register("affinity", DeltaTable(f"{root}/gold/mart_product_affinity"))
    query = query.register("engagement", DeltaTable(f"{root}/gold/mart_product_engagement"))
    rows = pa.table(
        query.execute(
            f"""
            select
                affinity.other_sku as sku,
                affinity.other_product_name as product_name,
                affinity.other_category as category,
                affinity.pair_baskets,
                affinity.confidence,
                affinity.lift,
                engagement.view_to_buy_rate
            from affinity
            left join engagement
                on engagement.sku = affinity.other_sku
            where affinity.sku = {_literal(sku)}
            order by affinity.affinity_rank
            limit {int(limit)}
            """
        ).read_all()
    ).to_pylist()
    return [Recommendation(**row) for row in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sku")
    parser.add_argument("--limit", type=int, default=5, help="most recommendations (default 5)")
    parser.add_argument(
        "--lake", default=os.environ.get("OMNILAKE_HOME", ".omnilake"), help="lake root (OMNILAKE_HOME)"
    )
    args = parser.parse_args(argv)
    recommendations = bought_together(args.lake, args.sku, args.limit)
    if not recommendations:
        print(f"nothing is bought together with {args.sku} often enough to recommend")
        return 1
    print(f"bought together with {args.sku}:")
    for r in recommendations:
        name = r.product_name or "(not in the product master)"
        viewed = "" if r.view_to_buy_rate is None else f", {r.view_to_buy_rate:.0%} of views buy"
        print(f"  {r.sku:<12} {name}  lift {r.lift:.2f}, {r.confidence:.0%} of baskets{viewed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
