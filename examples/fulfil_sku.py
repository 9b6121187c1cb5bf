"""Which locations can fulfil sku X today? A downstream app on the gold Delta tables.

Apps read the curated gold tables straight from the lake with delta-rs (``deltalake``): no Spark,
no warehouse file, no lock. This one answers a store associate's or an order router's question
from ``<lake>/gold/mart_inventory_position``: the locations that can promise the units today,
most available first. "Today" is the newest day in the table unless ``--date`` says otherwise.

    uv run python examples/fulfil_sku.py SKU-123 --quantity 2
    uv run python examples/fulfil_sku.py SKU-123 --date 2026-03-10 --lake /data/omnilake
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from datetime import date

import pyarrow as pa
from deltalake import DeltaTable, QueryBuilder


@dataclass(frozen=True)
class FulfilmentOption:
    location_id: str
    location_type: str | None
    city: str | None
    available_to_sell_qty: int


def _literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def fulfilment_options(
    lake: str, sku: str, quantity: int = 1, on: date | None = None
) -> tuple[date | None, list[FulfilmentOption]]:
    """The day answered for and the locations with at least ``quantity`` units available to sell.

    The query runs in delta-rs's own engine (DataFusion), which reads only the files and columns
    it needs; the result comes back as Arrow.
    """
    positions = DeltaTable(f"{lake.rstrip('/')}/gold/mart_inventory_position")
    query = QueryBuilder().register("positions", positions)
    if on is None:
        newest = pa.table(query.execute("select max(snapshot_date) as day from positions").read_all())
        on = newest.column("day")[0].as_py()
        if on is None:
            return None, []
    rows = pa.table(
        query.execute(
            f"""
            select location_id, location_type, city, available_to_sell_qty
            from positions
            where sku = {_literal(sku)}
                and snapshot_date = date {_literal(on.isoformat())}
                and available_to_sell_qty >= {int(quantity)}
            order by available_to_sell_qty desc, location_id
            """
        ).read_all()
    ).to_pylist()
    return on, [FulfilmentOption(**row) for row in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sku")
    parser.add_argument("--quantity", type=int, default=1, help="units needed (default 1)")
    parser.add_argument("--date", type=date.fromisoformat, help="day to answer for (default: newest)")
    parser.add_argument(
        "--lake", default=os.environ.get("OMNILAKE_HOME", ".omnilake"), help="lake root (OMNILAKE_HOME)"
    )
    args = parser.parse_args(argv)
    day, options = fulfilment_options(args.lake, args.sku, args.quantity, args.date)
    if not options:
        print(f"no location can fulfil {args.quantity} x {args.sku} on {day}")
        return 1
    print(f"{args.quantity} x {args.sku} on {day} can be fulfilled from:")
    for option in options:
        where = ", ".join(filter(None, [option.location_type, option.city]))
        print(f"  {option.location_id:<10} {option.available_to_sell_qty:>6} available  ({where})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
