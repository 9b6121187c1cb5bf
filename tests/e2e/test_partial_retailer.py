"""A retailer with only some feeds runs the whole pipeline, with no fabricated record.

It delivers web orders, store tills, products, stores and CRM members; its online inventory counts
weekly (Mondays); it has no behaviour events and no store inventory system, and says so in its own
feeds declaration. Three landing dates, Monday to Wednesday 2026-03-02..04; Tuesday is a quiet day:
the tills export header-only files and the web shop an empty ``.ndjson.gz``. Every landing file is
written here by hand (a few rows each), not by the generator.

Expected sales and RFM values are worked out by hand in the comments next to each number.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from pyspark.sql import functions as F
from typer.testing import CliRunner

from omnilake import delta
from omnilake.cli import app
from omnilake.lake import get_lake
from omnilake.settings import reset_settings

pytestmark = pytest.mark.e2e

MONDAY, QUIET_TUESDAY, WEDNESDAY = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)

FEEDS = """\
feeds:
  orders: {cadence: daily, kind: change}
  pos: {cadence: daily, kind: change}
  products: {cadence: on_change, kind: snapshot}
  stores: {cadence: on_change, kind: snapshot}
  crm_members: {cadence: daily, kind: snapshot}
  inventory_online: {cadence: weekly, weekday: monday, kind: snapshot}
"""


def web_customer_id(n: int) -> str:
    """The web shop's account id of customer ``n`` as this retailer's orders carry it: text, as
    many shops export it (``C-00001``), not the generator's numbers."""
    return f"C-{n:05d}"


EVE, FAY, DAN = web_customer_id(1), web_customer_id(2), web_customer_id(3)

PRODUCTS = [  # sku, EAN-13, name, list price
    ("SKU-000001", "4006381333931", "Tee", "10.00"),
    ("SKU-000002", "4006381333948", "Jeans", "25.00"),
    ("SKU-000003", "4006381333955", "Socks", "4.50"),
]
STORES = [  # id, type, format, city, state, zone
    ("S001", "store", "flagship", "New York", "NY", "America/New_York"),
    ("S002", "store", "mall", "Chicago", "IL", "America/Chicago"),
    ("W001", "dc", "dc", "Newark", "NJ", "America/New_York"),
]
MEMBERS = [  # member id, loyalty card, first, last, e-mail, tier
    ("M001", "6000000000000001", "Ana", "Lima", "ana@example.com", "gold"),
    ("M002", "6000000000000002", "Ben", "Ode", "ben@example.com", "silver"),
    ("M003", "6000000000000003", "Cleo", "Park", "cleo@example.com", "bronze"),
    # Dan is also web customer DAN (the same e-mail): one person across both channels.
    ("M004", "6000000000000004", "Dan", "Moss", "dan@example.com", "bronze"),
]
ANA_CARD, BEN_CARD, CLEO_CARD, DAN_CARD = (m[1] for m in MEMBERS)

POS_HEADER = [
    "STORE_ID", "REGISTER_ID", "TXN_ID", "LINE_NO", "TXN_DATETIME", "SKU", "EAN", "QTY",
    "UNIT_PRICE", "DISCOUNT", "TENDER", "LOYALTY_CARD", "VOID",
]  # fmt: skip
# Till lines per (store, day): txn, line, local time, sku (keyed) or EAN (scanned), qty, price, discount, card, void
TILLS = {
    ("S001", MONDAY): [
        ("T-0001", 1, "2026-03-02 10:15:00", "SKU-000001", "", 1, "10.00", "", ANA_CARD, "N"),
        ("T-0001", 2, "2026-03-02 10:15:00", "", "4006381333948", 1, "25.00", "2.50", ANA_CARD, "N"),
        ("T-0002", 1, "2026-03-02 11:40:00", "SKU-000003", "", 3, "4.50", "", "", "N"),
        ("T-0002", 2, "2026-03-02 11:40:00", "SKU-000001", "", 1, "10.00", "", "", "Y"),  # voided
    ],
    ("S002", MONDAY): [
        ("T-0003", 1, "2026-03-02 13:05:00", "", "4006381333948", 2, "25.00", "", BEN_CARD, "N"),
        ("T-0004", 1, "2026-03-02 16:30:00", "SKU-000001", "", 1, "10.00", "", DAN_CARD, "N"),
    ],
    ("S001", QUIET_TUESDAY): [],  # header-only files
    ("S002", QUIET_TUESDAY): [],
    ("S001", WEDNESDAY): [
        ("T-0005", 1, "2026-03-04 09:50:00", "SKU-000003", "", 2, "4.50", "", ANA_CARD, "N"),
        ("T-0006", 1, "2026-03-04 15:20:00", "SKU-000001", "", -1, "10.00", "", CLEO_CARD, "N"),  # a return
        ("T-0006", 2, "2026-03-04 15:20:00", "SKU-000002", "", 1, "25.00", "", CLEO_CARD, "N"),
    ],
    ("S002", WEDNESDAY): [],
}


def order(order_id: int, at: str, lines: list[tuple], customer: tuple | None, email: str, **extra) -> dict:
    """One order version; ``lines`` are (line id, sku, qty, unit price, line discount)."""
    items = [
        {"id": i, "sku": sku, "title": sku, "quantity": q, "price": p, "total_discount": d}
        for i, sku, q, p, d in lines
    ]
    subtotal = sum(Decimal(p) * q - Decimal(d) for _, _, q, p, d in lines)
    version = {
        "id": order_id,
        "name": f"#{order_id}",
        "order_number": order_id,
        "email": email,
        "created_at": at,
        "updated_at": at,
        "processed_at": at,
        "currency": "USD",
        "financial_status": "paid",
        "source_name": "web",
        "subtotal_price": str(subtotal),
        "total_discounts": str(sum(Decimal(d) for *_, d in lines)),
        "total_shipping": "0.00",
        "total_tax": "0.00",
        "total_price": str(subtotal),
        "line_items": items,
    }
    if customer is not None:
        web_id, first, last = customer
        version["customer"] = {"id": web_id, "email": email, "first_name": first, "last_name": last}
    return {**version, **extra}


DAN_ORDER = order(
    1002, "2026-03-02T12:00:00-05:00", [(20021, "SKU-000002", 1, "25.00", "5.00")], (DAN, "Dan", "Moss"),
    "dan@example.com",
)  # fmt: skip
ORDERS = {
    MONDAY: [
        order(
            1001, "2026-03-02T10:00:00-05:00",
            [(10011, "SKU-000001", 2, "10.00", "0.00"), (10012, "SKU-000003", 1, "4.50", "0.00")],
            (EVE, "Eve", "Stone"), "eve@example.com",
        ),
        DAN_ORDER,
        order(1003, "2026-03-02T14:30:00-05:00", [(10031, "SKU-000001", 1, "10.00", "0.00")], None,
              "guest@example.com"),
    ],
    QUIET_TUESDAY: [],  # an empty .ndjson.gz
    WEDNESDAY: [
        order(1004, "2026-03-04T09:00:00-05:00", [(10041, "SKU-000002", 1, "25.00", "0.00")],
              (EVE, "Eve", "Stone"), "eve@example.com"),
        order(1005, "2026-03-04T11:00:00-05:00", [(10051, "SKU-000003", 2, "4.50", "0.00")],
              (FAY, "Fay", "Rao"), "fay@example.com"),
        # Dan's order of Monday, refunded in full on Wednesday: a new version of the whole order.
        {
            **DAN_ORDER,
            "updated_at": "2026-03-04T12:00:00-05:00",
            "financial_status": "refunded",
            "refunds": [
                {
                    "id": 7001,
                    "created_at": "2026-03-04T12:00:00-05:00",
                    "note": "returned by post",
                    "refund_line_items": [{"line_item_id": 20021, "quantity": 1, "subtotal": "20.00"}],
                }
            ],
        },
    ],
}  # fmt: skip


def _csv(rows: list[list], delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _deliver(landing: Path, source: str, day: date, name: str, content: bytes | str) -> None:
    folder = landing / source / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    (folder / name).write_bytes(data)


def deliver_everything(landing: Path) -> None:
    # Reference data changes rarely: delivered once, on Monday (declared on_change).
    _deliver(landing, "products", MONDAY, f"products_{MONDAY}.csv", _csv(
        [["snapshot_date", "sku", "barcode", "product_name", "category", "subcategory", "brand", "color",
          "list_price", "currency", "launch_date", "is_active"]]
        + [[MONDAY, sku, ean, name, "Apparel", "", "Acme", "", price, "USD", "2025-01-01", "true"]
           for sku, ean, name, price in PRODUCTS]))  # fmt: skip
    _deliver(landing, "stores", MONDAY, f"stores_{MONDAY}.csv", _csv(
        [["snapshot_date", "store_id", "location_type", "store_name", "store_format", "city", "state",
          "postal_code", "country_code", "latitude", "longitude", "time_zone", "opened_date", "registers"]]
        + [[MONDAY, sid, kind, f"{city} {sid}", fmt, city, state, "10001", "US", "40.7", "-74.0", zone,
            "2020-01-01", 0 if kind == "dc" else 2] for sid, kind, fmt, city, state, zone in STORES]))  # fmt: skip
    # Online inventory counts weekly, on Mondays.
    _deliver(landing, "inventory_online", MONDAY, f"inventory_online_{MONDAY}.csv", _csv(
        [["snapshot_date", "location_id", "sku", "listed_qty", "reserved_qty", "synced_at"]]
        + [[MONDAY, location, sku, qty, 0, "2026-03-02T05:00:00.000Z"]
           for location, sku, qty in (("W001", "SKU-000001", 40), ("W001", "SKU-000002", 12),
                                      ("S001", "SKU-000001", 5), ("S002", "SKU-000003", 9))]))  # fmt: skip
    for day in (MONDAY, QUIET_TUESDAY, WEDNESDAY):
        # The CRM exports a full snapshot every day; Ben moves up a tier on Wednesday.
        members = [
            [day, mid, card, first, last, email, "", "10001", "2025-06-01", "store", "S001",
             "platinum" if (mid, day) == ("M002", WEDNESDAY) else tier, "true", "false", "true"]
            for mid, card, first, last, email, tier in MEMBERS
        ]  # fmt: skip
        header = [
            "snapshot_date", "member_id", "loyalty_card", "first_name", "last_name", "email", "phone",
            "postal_code", "signup_date", "signup_channel", "signup_store_id", "tier", "email_opt_in",
            "sms_opt_in", "profiling_consent",
        ]  # fmt: skip
        _deliver(landing, "crm_members", day, f"crm_members_{day}.csv", _csv([header, *members]))
        ndjson = "".join(json.dumps(o) + "\n" for o in ORDERS[day])
        if ORDERS[day]:
            _deliver(landing, "orders", day, f"orders_{day}.ndjson", ndjson)
        else:
            _deliver(landing, "orders", day, f"orders_{day}.ndjson.gz", gzip.compress(b""))
    for (store, day), lines in TILLS.items():
        rows = [[store, "R1", txn, line, at, sku, ean, qty, price, discount, "card", card, void]
                for txn, line, at, sku, ean, qty, price, discount, card, void in lines]  # fmt: skip
        _deliver(landing, "pos", day, f"pos_{store}_{day}.csv", _csv([POS_HEADER, *rows], delimiter="|"))


@pytest.fixture
def partial_retailer(tmp_path: Path, lake, monkeypatch: pytest.MonkeyPatch):
    feeds = tmp_path / "retailer_feeds.yaml"
    feeds.write_text(FEEDS)
    monkeypatch.setenv("OMNILAKE_FEEDS", str(feeds))
    monkeypatch.setenv("OMNILAKE_DBT_DOCS", "false")  # dbt docs take seconds per date, tested elsewhere
    reset_settings()
    deliver_everything(Path(lake.landing))
    return get_lake()


def _warehouse(lake, query: str) -> list[tuple]:
    with duckdb.connect(str(lake.warehouse_path), read_only=True) as con:
        return con.execute(query).fetchall()


def test_a_retailer_with_some_feeds_runs_everything_and_its_marts_are_right(spark, partial_retailer):
    lake = partial_retailer
    result = CliRunner().invoke(app, ["run", "--start-date", str(MONDAY), "--end-date", str(WEDNESDAY)])
    assert result.exit_code == 0, result.output + repr(result.exception)

    # Every gate of every date ran and no check failed; nothing was fabricated for the absent feeds.
    results = delta.read(spark, lake.table("ops.quality_results"))
    assert results.select("layer").distinct().count() == 3
    failed = results.where((F.col("severity") == "fail") & ~F.col("success")).collect()
    assert failed == []
    for absent in ("bronze.events", "bronze.inventory_store", "silver.events"):
        table = lake.table(absent)
        assert not delta.exists(table) or delta.read(spark, table).count() == 0, absent
    ledger_sources = {r["source"] for r in delta.read(spark, lake.table("ops.ingestion_ledger")).collect()}
    assert ledger_sources == {"orders", "pos", "products", "stores", "crm_members", "inventory_online"}

    # The quiet day's header-only and empty files: ingested as zero records, reconciled, in the ledger.
    quiet = (
        delta.read(spark, lake.table("ops.reconciliation"))
        .where(F.col("landing_date") == QUIET_TUESDAY)
        .select("source", "records_received", "bronze_rows", "quarantined_rows", "balanced")
        .collect()
    )
    quiet_pos_and_orders = sorted(tuple(r) for r in quiet if r["source"] in ("orders", "pos"))
    assert quiet_pos_and_orders == [("orders", 0, 0, 0, True), ("pos", 0, 0, 0, True), ("pos", 0, 0, 0, True)]
    assert delta.read(spark, lake.table("quarantine.files")).count() == 0

    # Net sales per channel and day, by hand:
    #   Monday online: 1001 = 2 x 10.00 + 4.50 = 24.50; 1002 = 25.00 - 5.00 = 20.00; 1003 = 10.00 -> 54.50
    #   Monday store:  T-0001 = 10.00 + 25.00 - 2.50 = 32.50; T-0002 = 3 x 4.50 = 13.50 (voided line 0);
    #                  T-0003 = 2 x 25.00 = 50.00; T-0004 = 10.00 -> 106.00
    #   Wednesday online: 1004 = 25.00; 1005 = 2 x 4.50 = 9.00; 1002 refunded = -20.00 -> 14.00
    #   Wednesday store:  T-0005 = 2 x 4.50 = 9.00; T-0006 = -10.00 + 25.00 = 15.00 -> 24.00
    sales = _warehouse(
        lake,
        "select channel, business_date, sum(net_amount) from fct_sales group by 1, 2 order by 2, 1",
    )
    assert sales == [
        ("online", MONDAY, Decimal("54.50")),
        ("store", MONDAY, Decimal("106.00")),
        ("online", WEDNESDAY, Decimal("14.00")),
        ("store", WEDNESDAY, Decimal("24.00")),
    ]

    # RFM on the latest business date, per person (keys found through their own sales):
    #   Eve: orders 1001 and 1004 -> frequency 2, monetary 24.50 + 25.00 = 49.50
    #   Dan: order 1002 online and basket T-0004 in store, one person by e-mail -> frequency 2,
    #        monetary 20.00 - 20.00 (refund) + 10.00 = 10.00
    #   Ana: baskets T-0001 and T-0005 -> frequency 2, monetary 32.50 + 9.00 = 41.50
    #   Cleo: basket T-0006 (a return and a sale) -> frequency 1, monetary 15.00
    keys = dict(
        _warehouse(
            lake,
            "select distinct order_id, customer_key from fct_sales "
            "where order_id in ('1001', '1002', 'S002|T-0004', 'S001|T-0001', 'S001|T-0006')",
        )
    )
    assert keys["1002"] == keys["S002|T-0004"], "Dan is one customer across the web shop and the till"
    rfm = {
        key: (frequency, monetary)
        for key, frequency, monetary in _warehouse(
            lake,
            "select customer_key, frequency, monetary from mart_customer_rfm "
            "where snapshot_date = (select max(snapshot_date) from mart_customer_rfm)",
        )
    }
    assert rfm[keys["1001"]] == (2, Decimal("49.50"))
    assert rfm[keys["1002"]] == (2, Decimal("10.00"))
    assert rfm[keys["S001|T-0001"]] == (2, Decimal("41.50"))
    assert rfm[keys["S001|T-0006"]] == (1, Decimal("15.00"))

    # No events feed: the funnel is built, empty, and the run says why.
    assert _warehouse(lake, "select count(*) from mart_journey_funnel") == [(0,)]
    assert "no feed: mart_journey_funnel is empty: it needs events" in result.output
    assert "partial feed: mart_inventory_position is built without inventory_store" in result.output
