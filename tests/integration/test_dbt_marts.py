"""The gold marts, built for real by one `dbt build` over a small hand-made silver layer.

The silver tables are written with delta-rs exactly as their contracts declare them. The case, at
snapshot date 2026-03-10:

    customers   C1 member, consents to profiling; C9 is a retired key of C1 (merged)
                C2 online only; C3 store only, no profiling consent; C4 bought once, returned it;
                C5 browses but never bought; C6 one big store basket
    online      O1 C1 web 03-01 (2 lines), O2 C9 app 03-08, O3 C2 web 02-20 with 1 of 3 units
                refunded on 02-25, O4 C2 cancelled, O5 unresolved buyer 03-05 shipped from DC1
    store       T1 S1 C1 03-10 (+ a void line), T2 S1 C3 03-02, T3 S2 C3 03-03, T4 S1 C3 03-06,
                T5 S1 anonymous 03-07, T6 S2 C4 01-15, T7 S2 C4 03-04 return of T6, T8 S3 C6 02-10
    locations   S1, S2 stores in Springfield IL; S3 store in Shelbyville IL; DC1 warehouse

Every expected value below is worked out by hand from that case.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from pyspark.sql import types as T

from omnilake.contracts import contract, same_type
from omnilake.lake import Lake
from omnilake.pipeline import RunContext
from omnilake.publish import (
    DBT_PROJECT_DIR,
    MARTS,
    arrow_schema,
    build_gold,
    dbt_artifacts_path,
    publish_gold,
    published_warehouse_path,
)
from omnilake.settings import LakeRoot

pytestmark = pytest.mark.integration

SNAPSHOT = date(2026, 3, 10)


# --- the silver case -----------------------------------------------------------------------------


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _d(text: str) -> Decimal:
    return Decimal(text)


def _order(order_id, customer_key, channel_source, business_date, status, created_at, location_id=None):
    return {
        "order_id": order_id,
        "order_number": int(order_id[1:]),
        "customer_key": customer_key,
        "order_status": status,
        "channel_source": channel_source,
        "currency": "USD",
        "created_at": _at(created_at),
        "updated_at": _at(created_at),
        "business_date": date.fromisoformat(business_date),
        "has_unknown_sku": False,
        "location_id": location_id,
        "_batch_id": "b1",
    }


def _order_line(order_id, line_id, sku, quantity, unit_price, discount, refunded_quantity, business_date):
    net = Decimal(quantity) * _d(unit_price) - _d(discount)
    return {
        "order_id": order_id,
        "line_id": line_id,
        "sku": sku,
        "is_known_sku": True,
        "quantity": quantity,
        "unit_price": _d(unit_price),
        "discount_amount": _d(discount),
        "net_amount": net,
        "refunded_quantity": refunded_quantity,
        "business_date": date.fromisoformat(business_date),
    }


def _pos(store, transaction, line_no, sku, quantity, unit_price, discount, line_type, customer_key, at):
    net = Decimal(0) if line_type == "void" else Decimal(quantity) * _d(unit_price) - _d(discount)
    return {
        "store_id": store,
        "register_id": "R1",
        "transaction_id": transaction,
        "line_no": line_no,
        "sku": sku,
        "is_known_sku": True,
        "quantity": quantity,
        "unit_price": _d(unit_price),
        "discount_amount": _d(discount),
        "net_amount": net,
        "line_type": line_type,
        "customer_key": customer_key,
        "transaction_at": _at(at),
        "business_date": date.fromisoformat(at[:10]),
        "received_on": date.fromisoformat(at[:10]),
        "_batch_id": "b1",
    }


def _event(session, customer_key, channel, device, stage, at, event_name=None, sku=None, event_type="track"):
    return {
        "message_id": uuid.uuid4().hex,
        "event_type": event_type,
        "event_name": event_name,
        "customer_key": customer_key,
        "session_id": session,
        "journey_stage": stage,
        "channel": channel,
        "device_type": device,
        "product_sku": sku,
        "event_at": _at(at),
        "event_date": date.fromisoformat(at[:10]),
        "_batch_id": "b1",
    }


def _customer(key, *, member, profiling, tier=None):
    return {
        "customer_key": key,
        "is_member": member,
        "tier": tier,
        "email_opt_in": member,
        "sms_opt_in": False,
        "profiling_consent": profiling,
        "identifiers": 2,
    }


def _position(day, sku, location, on_hand, reserved, listed):
    return {
        "sku": sku,
        "location_id": location,
        "snapshot_date": date.fromisoformat(day),
        "on_hand_qty": on_hand,
        "listed_qty": listed,
        "reserved_qty": reserved,
        "deviation_qty": None if on_hand is None or listed is None else listed - on_hand,
        "is_known_sku": True,
        "in_store_system": on_hand is not None,
        "in_online_system": listed is not None,
    }


# fmt: off
SILVER: dict[str, list[dict]] = {
    "customers": [
        _customer("C1", member=True, profiling=True, tier="gold"),
        _customer("C2", member=False, profiling=True),
        _customer("C3", member=True, profiling=False, tier="silver"),
        _customer("C4", member=False, profiling=True),
        _customer("C5", member=False, profiling=True),
        _customer("C6", member=False, profiling=True),
    ],
    "customer_key_merges": [
        {"merged_key": "C9", "surviving_key": "C1", "merged_at": _at("2026-03-09T00:00:00"), "merged_on": date(2026, 3, 8), "evidence": "email"}
    ],
    "products": [
        {"sku": "SKU-A", "category": "shoes", "list_price": _d("50.00"), "is_active": True},
        {"sku": "SKU-B", "category": "bags", "list_price": _d("20.00"), "is_active": True},
        {"sku": "SKU-C", "category": "hats", "list_price": _d("10.00"), "is_active": True},
    ],
    "locations": [
        {"location_id": "S1", "location_type": "store", "city": "Springfield", "state": "IL", "time_zone": "America/Chicago"},
        {"location_id": "S2", "location_type": "store", "city": "Springfield", "state": "IL", "time_zone": "America/Chicago"},
        {"location_id": "S3", "location_type": "store", "city": "Shelbyville", "state": "IL", "time_zone": "America/Chicago"},
        {"location_id": "DC1", "location_type": "dc", "city": "Capital City", "state": "IL", "time_zone": "America/Chicago"},
    ],
    "orders": [
        _order("O1", "C1", "web", "2026-03-01", "fulfilled", "2026-03-01T18:00:00"),
        _order("O2", "C9", "app", "2026-03-08", "paid", "2026-03-08T12:00:00"),
        _order("O3", "C2", "web", "2026-02-20", "partially_refunded", "2026-02-20T09:00:00"),
        _order("O4", "C2", "web", "2026-03-09", "cancelled", "2026-03-09T09:00:00"),
        _order("O5", None, "web", "2026-03-05", "paid", "2026-03-05T20:00:00", location_id="DC1"),
    ],
    "order_lines": [
        _order_line("O1", "L1", "SKU-A", 2, "50.00", "10.00", 0, "2026-03-01"),
        _order_line("O1", "L2", "SKU-B", 1, "20.00", "0.00", 0, "2026-03-01"),
        _order_line("O2", "L1", "SKU-C", 1, "10.00", "0.00", 0, "2026-03-08"),
        _order_line("O3", "L1", "SKU-B", 3, "20.00", "12.00", 1, "2026-02-20"),
        _order_line("O4", "L1", "SKU-A", 1, "50.00", "0.00", 0, "2026-03-09"),
        _order_line("O5", "L1", "SKU-A", 1, "50.00", "0.00", 0, "2026-03-05"),
    ],
    "order_status_history": [
        {"order_id": "O1", "changed_at": _at("2026-03-01T18:00:00"), "order_status": "fulfilled", "received_on": date(2026, 3, 1)},
        {"order_id": "O2", "changed_at": _at("2026-03-08T12:00:00"), "order_status": "paid", "received_on": date(2026, 3, 8)},
        {"order_id": "O4", "changed_at": _at("2026-03-09T09:00:00"), "order_status": "cancelled", "received_on": date(2026, 3, 9)},
        {"order_id": "O5", "changed_at": _at("2026-03-05T20:00:00"), "order_status": "paid", "received_on": date(2026, 3, 5)},
        {"order_id": "O3", "changed_at": _at("2026-02-20T09:00:00"), "order_status": "paid", "received_on": date(2026, 2, 20)},
        {"order_id": "O3", "changed_at": _at("2026-02-25T10:00:00"), "order_status": "partially_refunded", "received_on": date(2026, 2, 25)},
    ],
    "pos_lines": [
        _pos("S1", "T1", 1, "SKU-A", 1, "50.00", "0.00", "sale", "C1", "2026-03-10T15:00:00"),
        _pos("S1", "T1", 2, "SKU-B", 1, "20.00", "0.00", "void", "C1", "2026-03-10T15:00:00"),
        _pos("S1", "T2", 1, "SKU-A", 2, "50.00", "25.00", "sale", "C3", "2026-03-02T11:00:00"),
        _pos("S2", "T3", 1, "SKU-C", 1, "10.00", "0.00", "sale", "C3", "2026-03-03T11:00:00"),
        _pos("S1", "T4", 1, "SKU-C", 1, "10.00", "0.00", "sale", "C3", "2026-03-06T11:00:00"),
        _pos("S1", "T5", 1, "SKU-A", 1, "50.00", "0.00", "sale", None, "2026-03-07T11:00:00"),
        _pos("S1", "T5", 2, "SKU-B", 2, "20.00", "0.00", "sale", None, "2026-03-07T11:00:00"),
        _pos("S2", "T6", 1, "SKU-B", 1, "20.00", "0.00", "sale", "C4", "2026-01-15T11:00:00"),
        _pos("S2", "T7", 1, "SKU-B", -1, "20.00", "0.00", "return", "C4", "2026-03-04T11:00:00"),
        _pos("S3", "T8", 1, "SKU-A", 4, "50.00", "0.00", "sale", "C6", "2026-02-10T11:00:00"),
    ],
    "events": [
        # sess1: C1 on the web, desktop, from awareness to purchase
        _event("sess1", "C1", "web", "desktop", "awareness", "2026-03-09T10:00:00", "Home", event_type="page"),
        _event("sess1", "C1", "web", "desktop", "interest", "2026-03-09T10:01:00", "Product Viewed", "SKU-A"),
        _event("sess1", "C1", "web", "desktop", "decision", "2026-03-09T10:02:00", "Product Added", "SKU-A"),
        _event("sess1", "C1", "web", "desktop", "purchase", "2026-03-09T10:05:00", "Order Completed"),
        # sess2: C5 in the app, looks at hats twice
        _event("sess2", "C5", "app", "ios", "awareness", "2026-03-09T11:00:00", "Home", event_type="screen"),
        _event("sess2", "C5", "app", "ios", "interest", "2026-03-09T11:01:00", "Product Viewed", "SKU-C"),
        _event("sess2", "C5", "app", "ios", "interest", "2026-03-09T11:02:00", "Product Viewed", "SKU-C"),
        # sess3: an anonymous visitor who only saw the home page
        _event("sess3", None, "web", "desktop", "awareness", "2026-03-09T12:00:00", "Home", event_type="page"),
        # sess4: C1 writes a review from a phone the next day
        _event("sess4", "C1", "web", "mobile", "loyalty", "2026-03-10T09:00:00", "Review Submitted"),
        # sess5: an identify call and nothing else (no journey stage)
        _event("sess5", None, "web", "desktop", None, "2026-03-09T13:00:00", event_type="identify"),
    ],
    "inventory_positions": [
        _position("2026-03-09", "SKU-A", "S1", 6, 0, 6),
        _position("2026-03-10", "SKU-A", "S1", 5, 1, 6),
        _position("2026-03-10", "SKU-A", "S2", 2, 3, 2),
        _position("2026-03-10", "SKU-A", "S3", 3, 0, 3),
        _position("2026-03-10", "SKU-A", "DC1", 100, 10, 90),
        _position("2026-03-10", "SKU-B", "S1", None, None, 4),
        _position("2026-03-10", "SKU-B", "S2", 0, 0, 0),
        _position("2026-03-10", "SKU-C", "S2", 0, 0, 1),
    ],
}
# fmt: on


def write_silver(home: Path, tables: dict[str, list[dict]] | None = None) -> None:
    """Write the silver case (or ``tables``) as Delta tables under ``<home>/silver``, typed by contract.

    Events rows carry their ``customer_key`` and ``journey_stage``; they are written to
    ``silver.event_attribution`` (one revision), where the pipeline keeps them, unless the case gives
    that table."""
    tables = dict(tables or SILVER)
    if "events" in tables:
        tables.setdefault(
            "event_attribution",
            [{**row, "revision": 0, "replaces_earlier": False} for row in tables["events"]],
        )
    for name, rows in tables.items():
        table_contract = contract("silver", name)
        schema = arrow_schema(table_contract)
        full_rows = [{f: row.get(f) for f in table_contract.field_names} for row in rows]
        write_deltalake(
            str(home / "silver" / name),
            pa.Table.from_pylist(full_rows, schema=schema),
            mode="overwrite",
            partition_by=list(table_contract.partition_by) or None,
        )


def context_for(home: Path, run: str, landing_date: date = SNAPSHOT) -> RunContext:
    return RunContext(run_id=run, landing_date=landing_date, lake=Lake(LakeRoot(str(home))))


@pytest.fixture(scope="module")
def gold(tmp_path_factory):
    """One silver lake, built and published once for every test of this module."""
    home = tmp_path_factory.mktemp("lake")
    write_silver(home)
    context = context_for(home, "test_run")
    built = build_gold(context)
    published = publish_gold(context)
    return {"home": home, "context": context, "built": built, "published": published}


def _query(gold, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(published_warehouse_path(gold["context"].lake)), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


# --- tests ---------------------------------------------------------------------------------------


REPO = Path(__file__).resolve().parents[2]
D = Decimal


def test_the_warehouse_holds_the_five_marts_and_their_analyst_views_and_nothing_else(gold):
    tables = _query(gold, "select schema_name, table_name from duckdb_tables() order by table_name")
    # Besides the marts, the build's change capture: what the next build compares silver with.
    marts = [("main", mart) for mart in MARTS]
    capture = [("change_capture", "sales_source_digests"), ("change_capture", "customer_tag_day_digests")]
    assert tables == sorted([*marts, *capture], key=lambda t: t[1])
    views = _query(
        gold, "select schema_name, view_name from duckdb_views() where not internal order by view_name"
    )
    assert views == [("analyst", mart) for mart in sorted(MARTS)]
    assert gold["built"]["models"] == len(list((DBT_PROJECT_DIR / "models").rglob("*.sql")))
    assert gold["built"]["tests_passed"] > 50  # data tests (one column_values per model) and unit tests
    assert gold["built"]["tests_warned"] == 0


def test_warehouse_columns_have_the_types_of_the_gold_contracts(gold):
    duckdb_names = {
        "string": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT", "double": "DOUBLE",
        "boolean": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP",
    }  # fmt: skip
    for mart in MARTS:
        declared = [
            (f.name, duckdb_names.get(f.type, f.type.upper().replace(" ", "")))
            for f in contract("gold", mart).fields
        ]
        actual = _query(
            gold,
            "select column_name, data_type from duckdb_columns() "
            "where schema_name = 'main' and table_name = ? order by column_index",
            [mart],
        )
        assert actual == declared, mart


def test_fct_sales_has_every_sale_and_return_line_but_no_void_or_cancelled_order(gold):
    rows = _query(
        gold,
        "select sales_line_id, channel, line_type, customer_key, location_id, quantity, net_amount, "
        "business_date from fct_sales order by sales_line_id",
    )
    d = date.fromisoformat
    assert rows == [
        ("online|O1|L1", "online", "sale", "C1", None, 2, D("90.00"), d("2026-03-01")),
        ("online|O1|L2", "online", "sale", "C1", None, 1, D("20.00"), d("2026-03-01")),
        ("online|O2|L1", "online", "sale", "C1", None, 1, D("10.00"), d("2026-03-08")),  # C9 merged into C1
        ("online|O3|L1", "online", "sale", "C2", None, 3, D("48.00"), d("2026-02-20")),
        ("online|O3|L1|return", "online", "return", "C2", None, -1, D("-16.00"), d("2026-02-25")),
        ("online|O5|L1", "online", "sale", None, "DC1", 1, D("50.00"), d("2026-03-05")),  # shipped from DC1
        ("store|S1|R1|T1|1", "store", "sale", "C1", "S1", 1, D("50.00"), d("2026-03-10")),
        ("store|S1|R1|T2|1", "store", "sale", "C3", "S1", 2, D("75.00"), d("2026-03-02")),
        ("store|S1|R1|T4|1", "store", "sale", "C3", "S1", 1, D("10.00"), d("2026-03-06")),
        ("store|S1|R1|T5|1", "store", "sale", None, "S1", 1, D("50.00"), d("2026-03-07")),
        ("store|S1|R1|T5|2", "store", "sale", None, "S1", 2, D("40.00"), d("2026-03-07")),
        ("store|S2|R1|T3|1", "store", "sale", "C3", "S2", 1, D("10.00"), d("2026-03-03")),
        ("store|S2|R1|T6|1", "store", "sale", "C4", "S2", 1, D("20.00"), d("2026-01-15")),
        ("store|S2|R1|T7|1", "store", "return", "C4", "S2", -1, D("-20.00"), d("2026-03-04")),
        ("store|S3|R1|T8|1", "store", "sale", "C6", "S3", 4, D("200.00"), d("2026-02-10")),
    ]


def test_dim_customer_profiles_every_person_and_tags_only_those_who_consent(gold):
    rows = _query(
        gold,
        "select customer_key, channels_used, home_store_id, online_orders, online_revenue, store_orders, "
        "store_revenue, preferred_category, discount_share, price_sensitivity, channel_preference, "
        "content_interest from dim_customer order by customer_key",
    )
    assert rows == [
        ("C1", "app,store,web", "S1", 2, D("120.00"), 1, D("50.00"), "shoes", 0.0556, "medium", "omnichannel", "shoes"),
        ("C2", "web", None, 1, D("32.00"), 0, D("0.00"), "bags", 0.2, "high", "online", None),
        ("C3", "store", "S1", 0, D("0.00"), 3, D("95.00"), "shoes", 0.2083, None, None, None),  # no consent
        ("C4", "store", "S2", 0, D("0.00"), 1, D("0.00"), "bags", 0.0, "low", "store", None),
        ("C5", "app", None, 0, D("0.00"), 0, D("0.00"), None, None, None, None, "hats"),
        ("C6", "store", "S3", 0, D("0.00"), 1, D("200.00"), "shoes", 0.0, "low", "store", None),
    ]  # fmt: skip
    seen = _query(
        gold, "select first_seen_at, last_seen_at, is_member from dim_customer where customer_key = 'C1'"
    )
    assert seen == [(datetime(2026, 3, 1, 18), datetime(2026, 3, 10, 15), True)]


# The RF grid of the model docs, written out independently of the dbt macro: GRID[r][f - 1].
GRID = {
    5: ["New Customers", "Potential Loyalists", "Potential Loyalists", "Champions", "Champions"],
    4: ["Promising", "Potential Loyalists", "Potential Loyalists", "Loyal Customers", "Loyal Customers"],
    3: ["About To Sleep", "About To Sleep", "Need Attention", "Loyal Customers", "Loyal Customers"],
    2: ["Hibernating", "Hibernating", "At Risk", "At Risk", "Cannot Lose Them"],
    1: ["Lost", "Hibernating", "At Risk", "At Risk", "Cannot Lose Them"],
}

RFM_COLUMNS = "customer_key, recency_days, frequency, monetary, r_score, f_score, m_score, segment"


def rfm_snapshot(warehouse: Path, day: date) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            f"select {RFM_COLUMNS} from mart_customer_rfm where snapshot_date = ? order by customer_key",
            [day],
        ).fetchall()


def f_score(frequency: int) -> int:
    """The documented frequency thresholds: 1 | 2 | 3-4 | 5-7 | 8+ orders."""
    return 1 + sum(frequency >= least for least in (2, 3, 5, 8))


def rfm_recomputed(warehouse: Path, day: date) -> list[tuple]:
    """The documented RFM rules in plain DuckDB SQL over fct_sales (all of it: the complete data),
    the frequency thresholds and the grid in Python."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            """
            with buyers as (
                select
                    customer_key,
                    date_diff('day', max(business_date) filter (where line_type = 'sale'), $day) as recency_days,
                    count(distinct order_id) filter (where line_type = 'sale') as frequency,
                    sum(net_amount) as monetary
                from fct_sales
                where customer_key is not null and business_date <= $day
                group by customer_key
                having count(*) filter (where line_type = 'sale') > 0
            )
            select
                customer_key, recency_days, frequency, monetary,
                cast(ceil(5 * cume_dist() over (order by recency_days desc)) as int),
                cast(ceil(5 * cume_dist() over (order by monetary)) as int)
            from buyers
            order by customer_key
            """,
            {"day": day},
        ).fetchall()
    return [
        (key, recency, frequency, monetary, r, f_score(frequency), m, GRID[r][f_score(frequency) - 1])
        for key, recency, frequency, monetary, r, m in rows
    ]


def test_rfm_scores_and_segments_follow_the_documented_rules(gold):
    """R (recency 54, 28, 18, 4, 0 days) and M (0, 32, 95, 170, 200) have no ties: one customer
    per quintile. F by thresholds: 3 orders score 3, 1 order scores 1, so nobody is loyal yet."""
    warehouse = published_warehouse_path(gold["context"].lake)
    assert rfm_snapshot(warehouse, SNAPSHOT) == [
        ("C1", 0, 3, D("170.00"), 5, 3, 4, "Potential Loyalists"),
        ("C2", 18, 1, D("32.00"), 3, 1, 2, "About To Sleep"),
        ("C3", 4, 3, D("95.00"), 4, 3, 3, "Potential Loyalists"),
        ("C4", 54, 1, D("0.00"), 1, 1, 1, "Lost"),
        ("C6", 28, 1, D("200.00"), 2, 1, 5, "Hibernating"),
    ]
    assert rfm_snapshot(warehouse, SNAPSHOT) == rfm_recomputed(warehouse, SNAPSHOT)


def test_a_run_writes_its_snapshot_and_revises_the_three_before_it(gold):
    """Landing date 03-10 with the default window of 3: snapshots 03-07 to 03-10, known at 03-10.
    C6's only purchase (02-10) is 25 to 28 days old; C3's last (03-06) is 1 day old on 03-07."""
    revisions = _query(
        gold,
        "select snapshot_date, known_at, count(*) from mart_customer_rfm_revisions group by all order by 1",
    )
    assert revisions == [(date(2026, 3, day), SNAPSHOT, 5) for day in (7, 8, 9, 10)]
    assert _query(
        gold,
        "select recency_days from mart_customer_rfm where customer_key = 'C6' order by snapshot_date",
    ) == [(25,), (26,), (27,), (28,)]
    warehouse = published_warehouse_path(gold["context"].lake)
    assert rfm_snapshot(warehouse, date(2026, 3, 7)) == rfm_recomputed(warehouse, date(2026, 3, 7))
    changes = gold["built"]["rfm_revisions"]
    assert [(c["snapshot_date"], c["previous_known_at"], c["rows"], c["rows_changed"]) for c in changes] == [
        (f"2026-03-{day:02d}", None, 5, 5) for day in (7, 8, 9, 10)
    ]


def test_no_measure_value_maps_to_two_scores(gold):
    for measure, score in (("recency_days", "r_score"), ("frequency", "f_score"), ("monetary", "m_score")):
        assert (
            _query(
                gold,
                f"select snapshot_date, known_at, {measure} from mart_customer_rfm_revisions "
                f"group by all having count(distinct {score}) > 1",
            )
            == []
        ), measure


def test_inventory_positions_promise_only_what_is_there(gold):
    rows = _query(
        gold,
        "select snapshot_date, sku, location_id, on_hand_qty, reserved_qty, available_to_sell_qty, listed_qty, "
        "deviation_qty, units_sold_28d, days_of_cover, is_stockout, is_oversell_risk, "
        "nearby_stores_with_stock, nearby_store_ids "
        "from mart_inventory_position order by snapshot_date, sku, location_id",
    )
    mar9, mar10 = date(2026, 3, 9), date(2026, 3, 10)
    assert rows == [
        (mar9, "SKU-A", "S1", 6, 0, 6, 6, 0, 3, 56.0, False, False, 0, None),
        (mar10, "SKU-A", "DC1", 100, 10, 90, 90, -10, 3, 933.3, False, False, 0, None),  # online demand
        (mar10, "SKU-A", "S1", 5, 1, 4, 6, 1, 4, 35.0, False, True, 0, None),
        (mar10, "SKU-A", "S2", 2, 3, 0, 2, 0, 0, None, True, True, 1, "S1"),  # over-reserved: never negative
        (mar10, "SKU-A", "S3", 3, 0, 3, 3, 0, 0, None, False, False, 0, None),  # 02-10 sale left the window
        (mar10, "SKU-B", "S1", None, 0, 0, 4, None, 2, None, True, True, 0, None),  # not counted; void ignored
        (mar10, "SKU-B", "S2", 0, 0, 0, 0, 0, 0, 0.0, True, False, 0, None),
        (mar10, "SKU-C", "S2", 0, 0, 0, 1, 1, 1, 0.0, True, True, 0, None),
    ]  # fmt: skip


def test_journey_funnel_counts_sessions_by_deepest_stage(gold):
    rows = _query(
        gold,
        "select session_date, channel, device_type, sessions, awareness_sessions, interest_sessions, "
        "decision_sessions, purchase_sessions, loyalty_sessions, awareness_to_interest_rate, "
        "interest_to_decision_rate, decision_to_purchase_rate, purchase_to_loyalty_rate, session_conversion_rate "
        "from mart_journey_funnel order by session_date, channel, device_type",
    )
    mar9, mar10 = date(2026, 3, 9), date(2026, 3, 10)
    assert rows == [
        (mar9, "app", "ios", 1, 1, 1, 0, 0, 0, 1.0, 0.0, None, None, 0.0),
        (mar9, "web", "desktop", 3, 2, 1, 1, 1, 0, 0.5, 1.0, 1.0, 0.0, 0.3333),  # one session had no stage
        (mar10, "web", "mobile", 1, 1, 1, 1, 1, 1, 1.0, 1.0, 1.0, 1.0, 1.0),
    ]  # fmt: skip


def test_gold_delta_copies_match_their_contracts_and_the_warehouse(gold):
    lake = gold["context"].lake
    for mart in MARTS:
        table = DeltaTable(lake.table(f"gold.{mart}").path)
        on_disk = T.StructType.fromJson(json.loads(table.schema().to_json()))
        assert same_type(on_disk, contract("gold", mart).spark_schema()), mart
        assert table.to_pyarrow_table().num_rows == _query(gold, f"select count(*) from {mart}")[0][0]
        assert gold["published"][mart] == table.to_pyarrow_table().num_rows


def test_docs_describe_every_column_of_every_model_as_built(gold):
    target = dbt_artifacts_path(gold["context"].lake)
    catalog = json.loads((target / "catalog.json").read_text())
    manifest = json.loads((target / "manifest.json").read_text())
    models = {uid for uid in manifest["nodes"] if uid.startswith("model.")}
    assert models == {uid for uid in catalog["nodes"] if uid.startswith("model.")}
    for uid in models:
        documented = {
            name: column["description"] for name, column in manifest["nodes"][uid]["columns"].items()
        }
        built = set(catalog["nodes"][uid]["columns"])
        assert built == set(documented), uid
        assert all(documented.values()), uid
    assert (target / "index.html").exists()


# In a pipeline run stg_silver__events reads the event mirror, already a table (dbt_project.yml).
VIEWS_OVER_A_TABLE = {"model.omnilake.stg_silver__events"}


def test_staging_and_intermediate_are_built_in_memory_and_tables_when_read_more_than_once(gold):
    """They never reach the warehouse file (the build's in-memory database), and a relation that
    two or more models read is a table there, evaluated once per build rather than once per reader."""
    manifest = json.loads((dbt_artifacts_path(gold["context"].lake) / "manifest.json").read_text())
    models = {uid: n for uid, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    readers: dict[str, int] = {}
    for node in models.values():
        for upstream in set(node["depends_on"]["nodes"]):
            readers[upstream] = readers.get(upstream, 0) + 1
    layers = {uid: n for uid, n in models.items() if n["fqn"][1] in ("staging", "intermediate")}
    assert len(layers) >= 20
    for uid, node in layers.items():
        assert node["database"] == "transient", uid
        if readers.get(uid, 0) >= 2 and uid not in VIEWS_OVER_A_TABLE:
            assert node["config"]["materialized"] == "table", uid
    assert all(n["database"] != "transient" for uid, n in models.items() if uid not in layers)
    built = {r["unique_id"] for r in gold["built"]["nodes"] if r["status"] == "success"}
    assert set(layers) <= built


def _example_app():
    spec = importlib.util.spec_from_file_location("fulfil_sku", REPO / "examples" / "fulfil_sku.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


def test_example_app_finds_the_locations_that_can_fulfil_a_sku_today(gold):
    app, lake = _example_app(), str(gold["home"])
    day, options = app.fulfilment_options(lake, "SKU-A")
    assert day == date(2026, 3, 10)  # the newest day in the table
    assert [(o.location_id, o.available_to_sell_qty) for o in options] == [("DC1", 90), ("S1", 4), ("S3", 3)]
    assert [o.location_id for o in app.fulfilment_options(lake, "SKU-A", quantity=4)[1]] == ["DC1", "S1"]
    assert app.fulfilment_options(lake, "SKU-B") == (date(2026, 3, 10), [])
    assert [o.location_id for o in app.fulfilment_options(lake, "SKU-A", on=date(2026, 3, 9))[1]] == ["S1"]


def test_example_app_runs_from_the_command_line(gold):
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "fulfil_sku.py"), "SKU-C", "--lake", str(gold["home"])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1 and "no location can fulfil 1 x SKU-C on 2026-03-10" in done.stdout


def test_rfm_revisions_accumulate_and_a_run_writes_only_what_it_knew(gold, tmp_path):
    """One more build, on a copy of the lake, for landing date 03-05: it writes snapshots 03-02 to
    03-05 known at 03-05 and leaves those known at 03-10. Planted first: an older revision known at
    03-04 (kept, but no longer the latest of its snapshot). Then 03-10 again, a real rerun that
    reuses dbt's parse and keeps what 03-10 recorded (see test_gold_restatement for a rerun after
    silver changed in place)."""
    home = tmp_path / "lake"
    shutil.copytree(gold["home"], home)
    earlier = date(2026, 3, 5)
    context = context_for(home, "run_0305", earlier)
    warehouse = published_warehouse_path(context.lake)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "insert into mart_customer_rfm_revisions select * replace (date '2026-03-04' as snapshot_date, "
            "date '2026-03-04' as known_at, 'C7' as customer_key) from mart_customer_rfm_revisions "
            "where customer_key = 'C1' and snapshot_date = ?",
            [SNAPSHOT],
        )

    dbt_log = home / "_ops" / "dbt" / "logs" / "dbt.log"
    logged_before = dbt_log.stat().st_size
    built = build_gold(context, docs=False)
    publish_gold(context)
    # Nothing of the lake is in what dbt hashes (the profile's paths are relative to the folder dbt
    # runs in, the sources' to the lake root): the copy, at another root, reuses the parse.
    with dbt_log.open(encoding="utf-8") as log_file:
        log_file.seek(logged_before)
        assert "Unable to do partial parsing" not in log_file.read()
    # And 03-10 again, a real rerun. The snapshot date is a run parameter, not a --vars value, and
    # dbt builds into the same file every run of a lake: so this build reuses the previous one's
    # parse although its snapshot date differs.
    logged_before = dbt_log.stat().st_size
    rerun = context_for(home, "run_0310_again", SNAPSHOT)
    build_gold(rerun, docs=False)
    publish_gold(rerun)
    with dbt_log.open(encoding="utf-8") as log_file:
        log_file.seek(logged_before)
        this_build = log_file.read()
    assert "Partial parsing enabled, no changes found, skipping parsing" in this_build
    assert "Unable to do partial parsing" not in this_build

    assert rfm_snapshot(warehouse, earlier) == [
        ("C1", 4, 1, D("110.00"), 4, 1, 4, "Promising"),
        ("C2", 13, 1, D("32.00"), 3, 1, 2, "About To Sleep"),
        ("C3", 2, 2, D("85.00"), 5, 2, 3, "Potential Loyalists"),
        ("C4", 49, 1, D("0.00"), 1, 1, 1, "Lost"),
        ("C6", 23, 1, D("200.00"), 2, 1, 5, "Hibernating"),
    ]
    assert rfm_snapshot(warehouse, earlier) == rfm_recomputed(warehouse, earlier)
    assert rfm_snapshot(warehouse, SNAPSHOT) == rfm_snapshot(
        published_warehouse_path(gold["context"].lake), SNAPSHOT
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        per_revision = con.execute(
            "select snapshot_date, known_at, count(*) from mart_customer_rfm_revisions group by all order by 1, 2"
        )
        assert per_revision.fetchall() == [
            (date(2026, 3, 2), earlier, 5),
            (date(2026, 3, 3), earlier, 5),
            (date(2026, 3, 4), date(2026, 3, 4), 1),
            (date(2026, 3, 4), earlier, 5),
            (earlier, earlier, 5),
            *[(date(2026, 3, day), SNAPSHOT, 5) for day in (7, 8, 9, 10)],
        ]
        assert con.execute("select count(*) from mart_customer_rfm where customer_key = 'C7'").fetchone() == (
            0,
        )
        migration = con.execute(
            "select before.segment, after.segment from mart_customer_rfm as before "
            "join mart_customer_rfm as after using (customer_key) "
            "where customer_key = 'C1' and before.snapshot_date = ? and after.snapshot_date = ?",
            [earlier, SNAPSHOT],
        )
        assert migration.fetchall() == [("Promising", "Potential Loyalists")]
    # 03-04's previous revision is the planted one (C7 dropped, five added); 03-05 is written for
    # the first time.
    changes = {c["snapshot_date"]: c for c in built["rfm_revisions"]}
    assert (changes["2026-03-04"]["previous_known_at"], changes["2026-03-04"]["added"]) == ("2026-03-04", 5)
    assert (changes["2026-03-04"]["dropped"], changes["2026-03-04"]["rows_changed"]) == (1, 6)
    assert changes["2026-03-05"]["previous_known_at"] is None
    assert DeltaTable(context.lake.table("gold.mart_customer_rfm").path).to_pyarrow_table().num_rows == 40
    assert (
        DeltaTable(context.lake.table("gold.mart_customer_rfm_revisions").path).to_pyarrow_table().num_rows
        == 41
    )


def test_the_gold_gate_holds_rfm_scores_to_the_customer_s_own_measures(gold, spark, tmp_path):
    """The gate's RFM rules pass on the build, and fail on a copy where one frequency maps to two
    scores and a one-time buyer is called loyal."""
    from omnilake.errors import QualityGateError
    from quality.checks import GateContext
    from quality.config import QualityConfig
    from quality.gates import run_suites
    from quality.gold import RULES

    rules = [r for r in RULES if r.name.startswith("gold.rfm_")]
    assert len(rules) == 2
    lake = gold["context"].lake
    config = QualityConfig(data_docs=False)
    run_suites(GateContext("gold", "rfm-rules-pass", lake, config), rules)  # raises on a failure
    tampered = tmp_path / "tampered.duckdb"
    shutil.copyfile(published_warehouse_path(lake), tampered)
    with duckdb.connect(str(tampered)) as con:
        con.execute(
            "update mart_customer_rfm_revisions set f_score = 2, segment = 'Loyal Customers' "
            "where customer_key = 'C2' and snapshot_date = ?",
            [SNAPSHOT],
        )
    ctx = GateContext("gold", "rfm-rules-fail", lake, config, warehouse_path=str(tampered))
    with pytest.raises(QualityGateError) as failed:
        run_suites(ctx, rules)
    assert "rfm_equal_measures_equal_scores" in str(failed.value)
    assert "rfm_one_time_buyers_not_loyal" in str(failed.value)


# --- the operations marts: tags, affinity, oversell, partner aggregates --------------------------

TAG_COLUMNS = (
    "customer_key, orders, purchase_frequency, recency_band, value_tier, basket_size, lifecycle_stage, "
    "is_churn_risk, discounted_unit_share, price_sensitivity, promo_basket_share, promotion_response, "
    "top_category, second_category, channel_preference, home_store_id, home_region, shopping_days, "
    "time_of_day, sessions_30d, product_views_30d, cart_adds_30d, engagement_level"
)


def test_customer_tags_follow_the_documented_rules_and_profile_only_with_consent(gold):
    # C1 at 03-10: O1 (Sun 03-01 18:00, 2 x A with a 10 discount + 1 x B), O2 (as C9, Sun 03-08
    # 12:00, 1 x C), T1 (Tue 03-10 15:00 at S1, 1 x A; the voided B does not count). 3 baskets, 5
    # units (1.67, small); 2 of 5 units discounted (0.4, medium); 1 of 3 baskets promoted; net
    # spend shoes 90 + 50, bags 20, hats 10; 2 of 3 online (omnichannel); 2 of 3 on a Sunday;
    # afternoon 2 (12:00, 15:00), evening 1; sessions sess1 and sess4 in the 30 days, 1 view, 1
    # cart add. RFM: 3 orders (F 3, repeat), bought today, monetary 170 the 4th of 5 (M 4, high),
    # Potential Loyalists. C3 has no profiling consent: only the consent-free tags. C5 never bought
    # but viewed hats twice in one session (interest).
    rows = _query(gold, f"select {TAG_COLUMNS} from mart_customer_tags where snapshot_date = ? and customer_key in ('C1', 'C3', 'C5') order by customer_key", [SNAPSHOT])  # fmt: skip
    assert rows == [
        ("C1", 3, "repeat", "active", "high", "small", "loyalty", False, 0.4, "medium", 0.3333, "occasional",
         "shoes", "bags", "omnichannel", "S1", "IL", "weekend", "afternoon", 2, 1, 1, "medium"),
        ("C3", 3, "repeat", "active", "medium", "small", "loyalty", False, None, None, None, None,
         None, None, None, None, None, None, None, None, None, None, None),
        ("C5", 0, "none", None, None, None, "interest", False, None, None, None, None,
         None, None, None, None, None, None, None, 1, 2, 0, "low"),
    ]  # fmt: skip
    # One row per RFM snapshot and customer seen by then: C5 is first seen on 03-09.
    counts = _query(gold, "select snapshot_date, count(*) from mart_customer_tags group by 1 order by 1")
    assert counts == [
        (date(2026, 3, 7), 5),
        (date(2026, 3, 8), 5),
        (date(2026, 3, 9), 6),
        (date(2026, 3, 10), 6),
    ]


def test_product_affinity_pairs_an_online_order_and_a_store_basket(gold):
    # 11 baskets with a sale line (O4 is cancelled, T7 a return, T1's B voided). A is in 6 (O1,
    # O5, T1, T2, T5, T8), B in 4 (O1, O3, T5, T6), both in O1 (web) and T5 (store): support
    # 2/11, confidence A->B 2/6 and B->A 2/4, lift 2 x 11 / (6 x 4) = 0.9167.
    rows = _query(
        gold,
        "select sku, other_sku, pair_baskets, total_baskets, support, confidence, lift, affinity_rank "
        "from mart_product_affinity order by sku, other_sku",
    )
    assert rows == [
        ("SKU-A", "SKU-B", 2, 11, 0.181818, 0.3333, 0.9167, 1),
        ("SKU-B", "SKU-A", 2, 11, 0.181818, 0.5, 0.9167, 1),
    ]
    engagement = _query(
        gold,
        "select sku, product_views, viewing_sessions, carting_sessions, buying_sessions, view_to_cart_rate, "
        "view_to_buy_rate from mart_product_engagement order by sku",
    )
    # sess1 viewed and added A (its Order Completed names no order); sess2 viewed C twice.
    assert engagement == [("SKU-A", 1, 1, 1, 0, 1.0, 0.0), ("SKU-C", 2, 1, 0, 0, 0.0, 0.0)]


def _bought_together_app():
    path = REPO / "examples" / "bought_together.py"
    spec = importlib.util.spec_from_file_location("bought_together", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_example_app_recommends_what_is_bought_together_from_gold_delta(gold):
    app = _bought_together_app()
    (recommendation,) = app.bought_together(str(gold["home"]), "SKU-B")
    assert (recommendation.sku, recommendation.category, recommendation.pair_baskets) == ("SKU-A", "shoes", 2)
    assert (recommendation.confidence, recommendation.lift) == (0.5, 0.9167)
    assert recommendation.view_to_buy_rate == 0.0
    assert app.bought_together(str(gold["home"]), "SKU-C") == []


def test_oversell_incidents_deviation_and_safety_buffer_of_the_case(gold):
    # Every online line is from before 03-09 (O1-O3 placed at DC1, the only warehouse; O5 from
    # DC1), and the store system counted DC1 only on 03-10: no line can be judged.
    assert _query(gold, "select count(*) from mart_oversell_incidents") == [(0,)]
    deviation = _query(
        gold,
        "select location_id, category, compared_positions, deviating_positions, overlisted_positions, "
        "online_only_positions, absolute_deviation_units, deviation_rate, unit_deviation_rate "
        "from mart_inventory_deviation where snapshot_date = ? and location_id in ('S1', 'DC1') order by 1, 2",
        [SNAPSHOT],
    )
    assert deviation == [
        ("DC1", "shoes", 1, 1, 0, 0, 10, 1.0, 0.1),  # 90 listed of 100
        ("S1", "bags", 0, 0, 0, 1, 0, None, None),  # B listed, not counted
        ("S1", "shoes", 1, 1, 1, 0, 1, 1.0, 0.2),  # 6 listed of 5
    ]
    # A at S1: positive deviations 0 (03-09) and 1 (03-10); the ceil(0.95 x 2) = 2nd smallest is 1,
    # and 4 available to sell leave 3 to list.
    buffer = _query(
        gold,
        "select days_observed, days_overlisted, recommended_buffer_qty, available_to_sell_qty, "
        "recommended_listed_qty from mart_online_safety_buffer where sku = 'SKU-A' and location_id = 'S1'",
    )
    assert buffer == [(2, 1, 1, 4, 3)]


def test_partner_aggregates_publish_no_group_of_fewer_than_k_customers(gold):
    # Five buying customers in all (C5 only browsed): with k = 10 every group is suppressed.
    assert _query(gold, "select count(distinct customer_key) from fct_sales") == [(5,)]
    for mart in ("mart_partner_sales_weekly", "mart_partner_segments_weekly"):
        assert _query(gold, f"select count(*) from {mart}") == [(0,)], mart
