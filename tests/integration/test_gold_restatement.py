"""Two clocks in gold: a run for landing date L reads only what was delivered by L, and revises the
snapshots of the dated marts (RFM, inventory, funnel; sales lines are versioned) of the last three
business dates with the late data it received.

Silver is written as it stood after each delivery (rows received on or before the day), then gold
is built and published for that day, on the hand-made case of ``test_dbt_marts`` plus late data:

    O6  C6 web, business date 03-08 (an evening order), delivered on 03-10: two days late
    O7  C2 web, business date 03-09, delivered 03-09 and cancelled in the delivery of 03-10
    C3  moves from the silver to the gold loyalty tier in the delivery of 03-10
    T9  an anonymous store basket, S1 03-08, 1 x SKU-C at 10.00, delivered on 03-10
    sess7  an anonymous web visit on 03-08 (home page only), delivered on 03-08
    sess6  an anonymous web visit on 03-08 that went as far as the cart, delivered on 03-10 (an
           offline upload)
    SKU-C at S1 on 03-08: the web shop's report (listed 2, none reserved) delivered on 03-08, the
           store's count (1 on hand) delivered on 03-10

Expected values are worked out by hand from that case.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from decimal import Decimal as D
from pathlib import Path

import duckdb
import pytest
from deltalake import DeltaTable

from omnilake.fingerprint import lake_fingerprints, warehouse_fingerprints
from omnilake.publish import MARTS, build_gold, publish_gold, published_warehouse_path, read_release
from tests.integration.test_dbt_marts import (
    SILVER,
    _at,
    _event,
    _order,
    _order_line,
    _pos,
    _position,
    context_for,
    rfm_recomputed,
    write_silver,
)

pytestmark = pytest.mark.integration

DAYS = [date(2026, 3, 8), date(2026, 3, 9), date(2026, 3, 10)]
LATE_DAY = date(2026, 3, 8)
RFM = "customer_key, recency_days, frequency, monetary, r_score, f_score, m_score, segment"


def _history(order_id, changed_at, status, received_on):
    return {
        "order_id": order_id,
        "changed_at": _at(changed_at),
        "order_status": status,
        "received_on": received_on,
    }


def _late(row: dict, received_on: date) -> dict:
    return {**row, "received_on": received_on}


# SKU-C at S1 on 03-08, both systems' parts, each with the landing date it arrived on.
LATE_POSITION = {
    "sku": "SKU-C",
    "location_id": "S1",
    "snapshot_date": date(2026, 3, 8),
    "on_hand_qty": 1,
    "listed_qty": 2,
    "reserved_qty": 0,
    "deviation_qty": 1,
    "is_known_sku": True,
    "in_store_system": True,
    "in_online_system": True,
    "online_received_on": date(2026, 3, 8),
    "store_received_on": date(2026, 3, 10),
}
# The same position before the store's count arrived.
ONLINE_PART_ONLY = {
    **LATE_POSITION,
    "on_hand_qty": None,
    "deviation_qty": None,
    "in_store_system": False,
    "store_received_on": None,
}

# The complete case: test_dbt_marts' silver plus O6 (late), O7 (cancelled the next day), the late
# basket T9, the visits sess6 (late) and sess7, and the late count of SKU-C at S1.
COMPLETE = {
    **SILVER,
    "orders": [
        *SILVER["orders"],
        _order("O6", "C6", "web", "2026-03-08", "paid", "2026-03-09T03:30:00"),
        _order("O7", "C2", "web", "2026-03-09", "cancelled", "2026-03-09T10:00:00"),
    ],
    "order_lines": [
        *SILVER["order_lines"],
        _order_line("O6", "L1", "SKU-B", 1, "20.00", "0.00", 0, "2026-03-08"),
        _order_line("O7", "L1", "SKU-C", 2, "10.00", "0.00", 0, "2026-03-09"),
    ],
    "order_status_history": [
        *SILVER["order_status_history"],
        _history("O6", "2026-03-09T03:30:00", "paid", date(2026, 3, 10)),
        _history("O7", "2026-03-09T10:00:00", "paid", date(2026, 3, 9)),
        _history("O7", "2026-03-10T08:00:00", "cancelled", date(2026, 3, 10)),
    ],
    "pos_lines": [
        *SILVER["pos_lines"],
        _late(_pos("S1", "T9", 1, "SKU-C", 1, "10.00", "0.00", "sale", None, "2026-03-08T17:00:00"), date(2026, 3, 10)),
    ],
    "events": [
        *SILVER["events"],
        _late(_event("sess7", None, "web", "desktop", "awareness", "2026-03-08T08:00:00", "Home", event_type="page"), date(2026, 3, 8)),
        _late(_event("sess6", None, "web", "desktop", "awareness", "2026-03-08T20:00:00", "Home", event_type="page"), date(2026, 3, 10)),
        _late(_event("sess6", None, "web", "desktop", "interest", "2026-03-08T20:01:00", "Product Viewed", "SKU-C"), date(2026, 3, 10)),
        _late(_event("sess6", None, "web", "desktop", "decision", "2026-03-08T20:02:00", "Product Added", "SKU-C"), date(2026, 3, 10)),
    ],
    "inventory_positions": [*SILVER["inventory_positions"], LATE_POSITION],
}  # fmt: skip


def _known_on(row: dict, column: str, fallback: str) -> date:
    """When a row became known; rows of test_dbt_marts' case carry none: known on their own date."""
    return row.get(column) or row[fallback]


def delivered_by(day: date) -> dict[str, list[dict]]:
    """Silver as it stood after the delivery of ``day``: what arrived by then, orders in the state
    of their last change received by then."""
    history = [h for h in COMPLETE["order_status_history"] if h["received_on"] <= day]
    latest = {}
    for change in sorted(history, key=lambda h: h["changed_at"]):
        latest[change["order_id"]] = change["order_status"]
    orders = [
        {**o, "order_status": latest[o["order_id"]]} for o in COMPLETE["orders"] if o["order_id"] in latest
    ]
    customers = [
        {**c, "tier": "gold"} if c["customer_key"] == "C3" and day >= date(2026, 3, 10) else c
        for c in COMPLETE["customers"]
    ]
    return {
        **COMPLETE,
        "customers": customers,
        "orders": orders,
        "order_lines": [line for line in COMPLETE["order_lines"] if line["order_id"] in latest],
        "order_status_history": history,
        "pos_lines": [line for line in COMPLETE["pos_lines"] if line["received_on"] <= day],
        "events": [e for e in COMPLETE["events"] if _known_on(e, "received_on", "event_date") <= day],
        "inventory_positions": [
            (p if p is not LATE_POSITION or day >= p["store_received_on"] else ONLINE_PART_ONLY)
            for p in COMPLETE["inventory_positions"]
            if _known_on(p, "online_received_on", "snapshot_date") <= day
        ],
    }


def run_day(home, day: date, run: str):
    context = context_for(home, run, day)
    built = build_gold(context, docs=False)
    publish_gold(context)
    return built


def query(home, sql: str, params=None) -> list[tuple]:
    warehouse = published_warehouse_path(context_for(home, "read").lake)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def snapshot(home, day: date, known_at: date | None = None) -> list[tuple]:
    if known_at is None:
        return query(home, f"select {RFM} from mart_customer_rfm where snapshot_date = ? order by 1", [day])
    return query(
        home,
        f"select {RFM} from rfm_as_known_at(?) where snapshot_date = ? order by 1",
        [known_at, day],
    )


@pytest.fixture(scope="module")
def daily(tmp_path_factory):
    """Silver growing delivery by delivery, gold run after each (default lateness window, 3)."""
    home = tmp_path_factory.mktemp("daily")
    builds = {}
    with pytest.MonkeyPatch.context() as patch:  # a machine that never passed this code's unit tests
        patch.setenv("OMNILAKE_DBT_UNIT_TESTS_CACHE", str(tmp_path_factory.mktemp("unit-tests-passed")))
        for day in DAYS:
            write_silver(home, delivered_by(day))
            builds[day] = run_day(home, day, f"run_{day:%m%d}")
    return {"home": home, "builds": builds}


@pytest.fixture(scope="module")
def complete(tmp_path_factory):
    """The complete data, delivered at once: one run for 03-10 on a fresh lake."""
    home = tmp_path_factory.mktemp("complete")
    write_silver(home, COMPLETE)
    run_day(home, date(2026, 3, 10), "run_complete")
    return home


def test_late_orders_restate_the_snapshot_they_belong_to(daily, complete):
    home = daily["home"]
    # As first published on 03-08, C6 had one order (T8, 02-10: 26 days old); O6 was not known.
    # R: 52 days (C4), 26 (C6), 16 (C2), 2 (C3: T4 03-06), 0 (C1: O2 03-08 via merged key C9).
    # M: C4 0, C2 32, C3 95, C1 120 (O1 110 + O2 10), C6 200. F: C1 2, C3 3, others 1.
    original = [
        ("C1", 0, 2, D("120.00"), 5, 2, 4, "Potential Loyalists"),
        ("C2", 16, 1, D("32.00"), 3, 1, 2, "About To Sleep"),
        ("C3", 2, 3, D("95.00"), 4, 3, 3, "Potential Loyalists"),
        ("C4", 52, 1, D("0.00"), 1, 1, 1, "Lost"),
        ("C6", 26, 1, D("200.00"), 2, 1, 5, "Hibernating"),
    ]
    assert snapshot(home, LATE_DAY, known_at=LATE_DAY) == original
    # Known at 03-10, O6 (03-08, 20.00) gives C6 a second order on 03-08: recency 0, ties C1.
    # R: C4 (1/5 -> 1), C2 (2/5 -> 2), C3 (3/5 -> 3), C1 and C6 (5/5 -> 5). M: C6 220 still the top.
    restated = [
        ("C1", 0, 2, D("120.00"), 5, 2, 4, "Potential Loyalists"),
        ("C2", 16, 1, D("32.00"), 2, 1, 2, "Hibernating"),
        ("C3", 2, 3, D("95.00"), 3, 3, 3, "Need Attention"),
        ("C4", 52, 1, D("0.00"), 1, 1, 1, "Lost"),
        ("C6", 0, 2, D("220.00"), 5, 2, 5, "Potential Loyalists"),
    ]
    assert snapshot(home, LATE_DAY) == restated
    assert snapshot(home, LATE_DAY, known_at=date(2026, 3, 10)) == restated
    assert snapshot(home, LATE_DAY, known_at=date(2026, 3, 9)) == original  # 03-09 knew no more of 03-08

    # The restated snapshot equals one computed from the complete data: in one run on a fresh lake
    # and by the plain SQL of the documented rules over its fct_sales.
    assert snapshot(complete, LATE_DAY) == restated
    warehouse = published_warehouse_path(context_for(complete, "read").lake)
    assert [tuple(r) for r in rfm_recomputed(warehouse, LATE_DAY)] == restated


def test_a_cancellation_delivered_later_is_restated_and_as_known_at_keeps_the_sale(daily):
    home = daily["home"]
    # On 03-09 C2 had O3 (02-20) and O7 (03-09, 20.00): 2 orders, recency 0, 52.00 with the refund.
    as_known_0309 = query(
        home,
        "select frequency, recency_days, monetary from rfm_as_known_at(?) "
        "where snapshot_date = ? and customer_key = 'C2'",
        [date(2026, 3, 9), date(2026, 3, 9)],
    )
    assert as_known_0309 == [(2, 0, D("52.00"))]
    latest = query(
        home,
        "select frequency, recency_days, monetary from mart_customer_rfm "
        "where snapshot_date = ? and customer_key = 'C2'",
        [date(2026, 3, 9)],
    )
    assert latest == [(1, 17, D("32.00"))]


def test_the_run_summary_counts_the_rows_each_revision_changed(daily):
    # 03-10 revised 03-07 (nothing late for it), 03-08 (C6 re-measured by O6; C2 and C3 rescored
    # R 3 -> 2 and 4 -> 3 as C6 moved ahead of them) and 03-09 (C6 by O6, C2 by O7's cancellation,
    # C1 R 4 -> 5 now that C2 fell behind it; C3 stays R 3), and wrote 03-10 for the first time.
    changes = {c["snapshot_date"]: c for c in daily["builds"][date(2026, 3, 10)]["rfm_revisions"]}
    assert {day: (c["previous_known_at"], c["rows"], c["rows_changed"]) for day, c in changes.items()} == {
        "2026-03-07": ("2026-03-09", 5, 0),
        "2026-03-08": ("2026-03-09", 5, 3),
        "2026-03-09": ("2026-03-09", 5, 3),
        "2026-03-10": (None, 5, 5),
    }


POSITION = (
    "on_hand_qty, reserved_qty, available_to_sell_qty, listed_qty, deviation_qty, units_sold_28d, "
    "days_of_cover, is_stockout, is_oversell_risk"
)
LATE_POSITION_WHERE = "where snapshot_date = date '2026-03-08' and sku = 'SKU-C' and location_id = 'S1'"


def position(home, known_at: date | None = None) -> list[tuple]:
    if known_at is None:
        return query(home, f"select {POSITION} from mart_inventory_position {LATE_POSITION_WHERE}")
    return query(
        home, f"select {POSITION} from inventory_position_as_known_at(?) {LATE_POSITION_WHERE}", [known_at]
    )


def test_a_late_store_count_and_late_basket_restate_the_position_they_belong_to(daily, complete):
    home = daily["home"]
    # As known at 03-08 (and still at 03-09): only the web shop's report, listed 2, none reserved:
    # nothing counted, so nothing to promise (stockout, oversell risk), no cover; SKU-C sold 1 at S1
    # in the 28 days to 03-08 (T4, 03-06; T9 not yet delivered).
    original = [(None, 0, 0, 2, None, 1, None, True, True)]
    assert position(home, known_at=LATE_DAY) == original
    assert position(home, known_at=date(2026, 3, 9)) == original
    # Known at 03-10: 1 on hand, so 1 to promise (listed 2 still exceeds it), deviation 2 - 1 = 1;
    # T4 and T9 sold 2: cover = 1 / (2 / 28) = 14.0 days.
    restated = [(1, 0, 1, 2, 1, 2, 14.0, False, True)]
    assert position(home) == restated
    assert position(home, known_at=date(2026, 3, 10)) == restated
    assert position(complete) == restated


FUNNEL = (
    "sessions, awareness_sessions, interest_sessions, decision_sessions, purchase_sessions, loyalty_sessions, "
    "awareness_to_interest_rate, interest_to_decision_rate, decision_to_purchase_rate, purchase_to_loyalty_rate, "
    "session_conversion_rate"
)
FUNNEL_WHERE = "where session_date = date '2026-03-08' and channel = 'web' and device_type = 'desktop'"


def funnel(home, known_at: date | None = None) -> list[tuple]:
    if known_at is None:
        return query(home, f"select {FUNNEL} from mart_journey_funnel {FUNNEL_WHERE}")
    return query(home, f"select {FUNNEL} from journey_funnel_as_known_at(?) {FUNNEL_WHERE}", [known_at])


def test_late_events_restate_the_funnel_of_their_day(daily, complete):
    home = daily["home"]
    # As known at 03-08 and 03-09: sess7 alone, awareness only: 0 of 1 went on to interest; no
    # session reached interest, so the later rates are undefined; none purchased.
    original = [(1, 1, 0, 0, 0, 0, 0.0, None, None, None, 0.0)]
    assert funnel(home, known_at=LATE_DAY) == original
    assert funnel(home, known_at=date(2026, 3, 9)) == original
    # Known at 03-10, sess6 (awareness, interest, decision) joins: 2 aware, 1 interested, 1 decided,
    # none purchased: 1/2, 1/1, 0/1, undefined, 0/2.
    restated = [(2, 2, 1, 1, 0, 0, 0.5, 1.0, 0.0, None, 0.0)]
    assert funnel(home) == restated
    assert funnel(home, known_at=date(2026, 3, 10)) == restated
    assert funnel(complete) == restated


def test_sales_lines_as_known_at_a_date_leave_out_what_arrived_later(daily, complete):
    home = daily["home"]
    lines_of_0308 = "select sales_line_id from {} where business_date = date '2026-03-08' order by 1"
    # O2 (03-08, known 03-08) all along; O6 and T9, business date 03-08, were delivered on 03-10.
    assert query(home, lines_of_0308.format("sales_as_known_at(date '2026-03-09')")) == [("online|O2|L1",)]
    restated = [("online|O2|L1",), ("online|O6|L1",), ("store|S1|R1|T9|1",)]
    assert query(home, lines_of_0308.format("fct_sales")) == restated
    assert query(home, lines_of_0308.format("sales_as_known_at(date '2026-03-10')")) == restated
    assert query(complete, lines_of_0308.format("fct_sales")) == restated
    # O7's sale line was known on 03-09 only: its cancellation on 03-10 ended it.
    assert query(
        home, "select known_from, known_to from fct_sales_revisions where sales_line_id = 'online|O7|L1'"
    ) == [(date(2026, 3, 9), date(2026, 3, 10))]
    assert query(home, "select count(*) from fct_sales_revisions where known_to is null") == query(
        home, "select count(*) from fct_sales"
    )


def test_the_run_summary_counts_what_each_dated_mart_revision_changed(daily):
    changes = daily["builds"][date(2026, 3, 10)]["revisions"]
    summary = {
        mart: {c["snapshot_date"]: (c["previous_known_at"], c["rows"], c["rows_changed"]) for c in revised}
        for mart, revised in changes.items()
        if mart != "mart_customer_rfm"
    }
    assert summary == {
        # 03-08: the late count; 03-09: SKU-A at S1 unchanged; 03-10: its positions' first revision.
        "mart_inventory_position": {
            "2026-03-08": ("2026-03-09", 1, 1),
            "2026-03-09": ("2026-03-09", 1, 0),
            "2026-03-10": (None, 7, 7),
        },
        # 03-07 had no session; 03-08 gained sess6; 03-09 unchanged; 03-10 (sess4) first written.
        "mart_journey_funnel": {
            "2026-03-08": ("2026-03-09", 1, 1),
            "2026-03-09": ("2026-03-09", 2, 0),
            "2026-03-10": (None, 1, 1),
        },
        # Lines whose version started or ended on 03-10, by business date: O6 and T9 added (03-08),
        # O7 dropped by its cancellation (03-09: no line left), T1's sale line added (03-10).
        "fct_sales": {
            "2026-03-08": (None, 3, 2),
            "2026-03-09": (None, 0, 1),
            "2026-03-10": (None, 1, 1),
        },
    }


def test_rerunning_a_past_date_after_later_ones_leaves_every_mart_identical(daily, tmp_path):
    home = tmp_path / "rerun"
    shutil.copytree(daily["home"], home)
    lake = context_for(home, "read").lake
    before = {**warehouse_fingerprints(published_warehouse_path(lake)), **lake_fingerprints(lake, ("gold",))}
    run_day(home, LATE_DAY, "rerun_0308")  # silver now holds everything delivered up to 03-10
    after = {**warehouse_fingerprints(published_warehouse_path(lake)), **lake_fingerprints(lake, ("gold",))}
    assert after == before
    assert len(before) == 2 * len(MARTS)
    assert snapshot(home, LATE_DAY, known_at=LATE_DAY)[4][2] == 1  # C6 still as first known


def test_incremental_gold_equals_a_recompute_of_the_same_lake(daily, tmp_path):
    """Each day replaced only the snapshots it revised in the latest-revision marts, tested only the
    rows it wrote in the accumulating ones, and wrote to the gold Delta copies only what changed;
    recomputing every mart from all the revisions kept (``omnilake rebuild``) and rewriting every
    Delta copy must leave the same warehouse and the same gold tables."""
    home = tmp_path / "recompute"
    shutil.copytree(daily["home"], home)
    lake = context_for(home, "read").lake
    incremental = {
        **warehouse_fingerprints(published_warehouse_path(lake)),
        **lake_fingerprints(lake, ("gold",)),
    }
    Path(lake.path("gold", "_release.json")).unlink()  # no release to compare with: every copy rewritten
    context = context_for(home, "recompute_0310", DAYS[-1])
    built = build_gold(context, recompute=True, docs=False)
    published = publish_gold(context)
    recomputed = {
        **warehouse_fingerprints(published_warehouse_path(lake)),
        **lake_fingerprints(lake, ("gold",)),
    }
    assert recomputed == incremental
    assert set(published["delta_writes"].values()) == {"overwrite"}
    # The unit tests ran with the first build of the lake only: the code did not change since.
    unit_tests = [daily["builds"][day]["unit_tests"] for day in DAYS]
    assert unit_tests[0] > 0 and unit_tests[1:] == [0, 0]
    assert built["unit_tests"] == 0


def test_old_data_changed_later_is_rebuilt_as_a_recompute_would(daily, tmp_path):
    """A delivery on 03-14 (lateness window 03-11..03-14) that changes only older data: O2 (C9,
    03-08, known since 03-08) is cancelled; sess1 (03-09) receives a late Product Viewed; sess6
    (03-08) is attributed to C5 without any new event; the store's count of SKU-A at S1 on 03-09
    is corrected from 6 to 4. The incremental build rebuilds just what these touch (the sales
    units whose silver rows changed, the snapshot dates with news), and a recompute of the same
    lake must leave the same warehouse and gold tables."""
    home = tmp_path / "old_changes"
    shutil.copytree(daily["home"], home)
    day = date(2026, 3, 14)
    silver = delivered_by(DAYS[-1])
    cancelled_at = "2026-03-13T09:00:00"
    silver["orders"] = [
        {**o, "order_status": "cancelled", "updated_at": _at(cancelled_at), "cancelled_at": _at(cancelled_at)}
        if o["order_id"] == "O2"
        else o
        for o in silver["orders"]
    ]
    silver["order_status_history"] = [
        *silver["order_status_history"],
        _history("O2", cancelled_at, "cancelled", day),
    ]
    late_view = _late(
        _event("sess1", "C1", "web", "desktop", "interest", "2026-03-09T10:03:00", "Product Viewed", "SKU-B"),
        day,
    )
    silver["events"] = [*silver["events"], late_view]
    silver["event_attribution"] = [
        {**e, "customer_key": "C5"} if e["session_id"] == "sess6" else e for e in silver["events"]
    ]
    corrected = {
        **_position("2026-03-09", "SKU-A", "S1", 4, 0, 6),
        "online_received_on": date(2026, 3, 9),
        "store_received_on": day,
    }
    silver["inventory_positions"] = [
        corrected
        if (p["snapshot_date"], p["sku"], p["location_id"]) == (date(2026, 3, 9), "SKU-A", "S1")
        else p
        for p in silver["inventory_positions"]
    ]
    write_silver(home, silver)
    run_day(home, day, "run_0314")

    # The cancellation ends O2's only line: gone from fct_sales, its version closed on 03-14.
    assert query(home, "select count(*) from fct_sales where order_id = 'O2'") == [(0,)]
    assert query(
        home, "select known_from, known_to from fct_sales_revisions where sales_line_id = 'online|O2|L1'"
    ) == [(LATE_DAY, day)]
    # Only 03-09 had news: the late event (funnel) and the corrected count (positions).
    revised = "select distinct {} from {} where known_at = ? order by 1"
    assert query(home, revised.format("session_date", "mart_journey_funnel_revisions"), [day]) == [
        (date(2026, 3, 9),)
    ]
    assert query(home, revised.format("snapshot_date", "mart_inventory_position_revisions"), [day]) == [
        (date(2026, 3, 9),)
    ]
    # 03-09 web desktop: sess1 (purchase), sess3 (awareness), sess5 (no stage); the late view adds
    # no stage sess1 had not reached.
    assert query(
        home,
        "select sessions, awareness_sessions, interest_sessions, decision_sessions, purchase_sessions, "
        "loyalty_sessions from mart_journey_funnel where session_date = '2026-03-09' and device_type = 'desktop'",
    ) == [(3, 2, 1, 1, 1, 0)]
    # SKU-A at S1 on 03-09 as recounted: 4 on hand, none reserved; S1's till sold 2 (T2, 03-02) and
    # 1 (T5, 03-07) of SKU-A in the 28 days to 03-09, so cover is 4 / (3 / 28) = 37.3 days.
    assert query(
        home,
        "select on_hand_qty, available_to_sell_qty, units_sold_28d, days_of_cover from mart_inventory_position "
        "where snapshot_date = '2026-03-09' and sku = 'SKU-A' and location_id = 'S1'",
    ) == [(4, 4, 3, 37.3)]

    lake = context_for(home, "read").lake
    incremental = {
        **warehouse_fingerprints(published_warehouse_path(lake)),
        **lake_fingerprints(lake, ("gold",)),
    }
    recompute = tmp_path / "old_changes_recomputed"
    shutil.copytree(home, recompute)
    context = context_for(recompute, "recompute_0314", day)
    build_gold(context, recompute=True, docs=False)
    publish_gold(context)
    recomputed_lake = context_for(recompute, "read").lake
    recomputed = {
        **warehouse_fingerprints(published_warehouse_path(recomputed_lake)),
        **lake_fingerprints(recomputed_lake, ("gold",)),
    }
    assert {name for name in incremental if incremental[name] != recomputed.get(name)} == set()


def test_each_publish_writes_only_the_gold_copies_that_changed(daily):
    """03-10 brought late data and revisions of every dated mart; the accumulating marts gained the
    rows known at 03-10 on top of what the release of 03-09 held, so those were appended."""
    release = read_release(context_for(daily["home"], "read").lake)
    for mart in (
        "mart_customer_rfm_revisions",
        "mart_inventory_position_revisions",
        "dim_customer_observations",
    ):
        table = DeltaTable(str(daily["home"] / "gold" / mart))
        operations = [entry["operation"] for entry in table.history()]
        # One write per day: created on 03-08, then two appends (newest first in the history).
        assert operations[:2] == ["WRITE", "WRITE"] and len(operations) == 3, mart
        assert table.version() == release["tables"][mart]["version"] == 2
        modes = [entry["operationParameters"]["mode"] for entry in table.history()]
        assert modes == ["Append", "Append", "Overwrite"], mart


def test_a_recorded_revision_is_kept_when_silver_has_since_changed_in_place(daily, tmp_path):
    """Silver keeps only an order line's current sku and quantity: a later delivery that rewrites a
    line known on 03-08 must not rewrite what the revisions recorded as known at 03-08."""
    home = tmp_path / "overwritten"
    shutil.copytree(daily["home"], home)
    revisions = (
        "mart_customer_rfm_revisions",
        "mart_inventory_position_revisions",
        "mart_journey_funnel_revisions",
    )
    recorded = {name: query(home, f"select * from {name} order by all") for name in revisions}
    rewritten = delivered_by(date(2026, 3, 10))
    # O2 (C1, 03-08, known on 03-08): 1 x SKU-C at 10.00 rewritten in place as 3 x SKU-A at 10.00.
    rewritten["order_lines"] = [
        _order_line("O2", "L1", "SKU-A", 3, "10.00", "0.00", 0, "2026-03-08")
        if (line["order_id"], line["line_id"]) == ("O2", "L1")
        else line
        for line in rewritten["order_lines"]
    ]
    write_silver(home, rewritten)
    run_day(home, LATE_DAY, "rerun_0308_overwritten")
    for name in revisions:
        assert query(home, f"select * from {name} order by all") == recorded[name], name
    # The rewrite is visible where gold reads silver as it is now.
    assert query(home, "select sku, net_amount from fct_sales where sales_line_id = 'online|O2|L1'") == [
        ("SKU-A", D("30.00"))
    ]


def test_each_day_revises_only_its_window(daily):
    revisions = query(
        daily["home"],
        "select known_at, min(snapshot_date), max(snapshot_date), count(distinct snapshot_date) "
        "from mart_customer_rfm_revisions group by known_at order by known_at",
    )
    assert revisions == [(day, day - timedelta(days=3), day, 4) for day in DAYS]
    # Positions exist for 03-08 to 03-10, sessions for 03-08 to 03-10: each run revises those of
    # them in its window that are known by then (none older than its window are known).
    for history, column in (
        ("mart_inventory_position_revisions", "snapshot_date"),
        ("mart_journey_funnel_revisions", "session_date"),
    ):
        written = query(
            daily["home"],
            f"select known_at, list(distinct {column} order by {column}) from {history} group by 1 order by 1",
        )
        assert written == [
            (day, [d for d in (LATE_DAY, date(2026, 3, 9), date(2026, 3, 10)) if d <= day]) for day in DAYS
        ], history


def test_analysts_ask_as_known_at_through_the_masked_views(daily):
    from omnilake.analyst_views import check_reader_query, connect_reader
    from omnilake.errors import OmnilakeError

    warehouse = published_warehouse_path(context_for(daily["home"], "read").lake)
    query_text = (
        "select count(*) from rfm_as_known_at(date '2026-03-08') where snapshot_date = date '2026-03-08'"
    )
    with connect_reader(warehouse, role="analyst") as con:
        check_reader_query(con, query_text, role="analyst")
        assert con.execute(query_text).fetchone() == (5,)
        with pytest.raises(OmnilakeError, match="table function rfm_as_known_at"):
            check_reader_query(con, "select * from main.rfm_as_known_at(date '2026-03-08')", role="analyst")


def test_customer_history_keeps_one_row_per_period_of_unchanged_attributes(daily):
    """C3's segment by snapshot (latest revisions): Potential Loyalists on 03-05 to 03-07 (R 5,
    three baskets), Need Attention from 03-08 (R 3 once C1 and C6 bought more recently). Its
    attributes are first observed on 03-08 (silver tier, store S1 with two of its three baskets);
    the tier turns gold on 03-10. C5 never bought: no segment, attributes from 03-08."""
    rows = query(
        daily["home"],
        "select customer_key, valid_from, valid_to, is_current, segment, is_member, tier, email_opt_in, "
        "sms_opt_in, profiling_consent, home_store_id from dim_customer_history "
        "where customer_key in ('C3', 'C5') order by customer_key, valid_from",
    )
    d = date.fromisoformat
    assert rows == [
        ("C3", d("2026-03-05"), d("2026-03-08"), False, "Potential Loyalists", None, None, None, None, None, None),
        ("C3", d("2026-03-08"), d("2026-03-10"), False, "Need Attention", True, "silver", True, False, False, "S1"),
        ("C3", d("2026-03-10"), None, True, "Need Attention", True, "gold", True, False, False, "S1"),
        ("C5", d("2026-03-08"), None, True, None, False, None, False, False, True, None),
    ]  # fmt: skip
    observations = query(
        daily["home"],
        "select observed_on, count(*) from dim_customer_observations group by all order by 1",
    )
    assert observations == [(day, 6) for day in DAYS]


def test_segment_migration_over_any_period_is_one_query(daily):
    """From 03-05 to 03-10 (hand-worked snapshots): C1 Promising -> Potential Loyalists (a third
    order), C2 About To Sleep -> Hibernating, C3 Potential Loyalists -> Need Attention, C4 Lost ->
    Lost, C6 Hibernating -> Potential Loyalists (O6)."""
    moves = query(
        daily["home"],
        """
        select customer_key, before.segment, after.segment
        from dim_customer_history as before
        join dim_customer_history as after using (customer_key)
        where $a >= before.valid_from and (before.valid_to is null or $a < before.valid_to)
            and $b >= after.valid_from and (after.valid_to is null or $b < after.valid_to)
            and before.segment is not null
        order by customer_key
        """,
        {"a": date(2026, 3, 5), "b": date(2026, 3, 10)},
    )
    assert moves == [
        ("C1", "Promising", "Potential Loyalists"),
        ("C2", "About To Sleep", "Hibernating"),
        ("C3", "Potential Loyalists", "Need Attention"),
        ("C4", "Lost", "Lost"),
        ("C6", "Hibernating", "Potential Loyalists"),
    ]


def _tag_rows(home) -> set[tuple]:
    return set(query(home, "select * from mart_customer_tags"))


def test_customer_tags_recompute_a_person_from_their_changed_date_only(daily, tmp_path):
    """Two days after 03-10 on a copy: 03-14 brings a late web order of C1 dated 03-09 (before the
    lateness window 03-11..03-14, so no RFM revision reaches it) and erases C4 (row, lines and
    events gone); 03-15 brings nothing. Planted first: a marker on C1's rows at 03-08 and 03-09 and
    on C3's at 03-09 and 03-10. C1 is rewritten from 03-09 only, C3 (unchanged) not at all before
    the revised snapshots, and C4 has no row left; every other row is what a recompute gives."""
    home = tmp_path / "tags"
    shutil.copytree(daily["home"], home)
    planted = [("C1", date(2026, 3, 8)), ("C1", date(2026, 3, 9)), ("C3", date(2026, 3, 9)), ("C3", DAYS[-1])]
    warehouse = published_warehouse_path(context_for(home, "read").lake)
    with duckdb.connect(str(warehouse)) as con:
        for key, day in planted:
            con.execute(
                "update mart_customer_tags set rfm_segment = 'planted' where customer_key = ? and snapshot_date = ?",
                [key, day],
            )
    silver = delivered_by(DAYS[-1])
    silver["orders"] = [
        *[o for o in silver["orders"] if o["customer_key"] != "C4"],
        _order("O8", "C1", "web", "2026-03-09", "paid", "2026-03-09T21:00:00"),
    ]
    silver["order_lines"] = [
        *[
            line
            for line in silver["order_lines"]
            if line["order_id"] in {o["order_id"] for o in silver["orders"]}
        ],
        _order_line("O8", "L1", "SKU-B", 3, "20.00", "2.00", 0, "2026-03-09"),
    ]
    silver["order_status_history"] = [
        *[
            h
            for h in silver["order_status_history"]
            if h["order_id"] in {o["order_id"] for o in silver["orders"]}
        ],
        _history("O8", "2026-03-09T21:00:00", "paid", date(2026, 3, 14)),
    ]
    silver["customers"] = [c for c in silver["customers"] if c["customer_key"] != "C4"]
    silver["pos_lines"] = [line for line in silver["pos_lines"] if line["customer_key"] != "C4"]
    silver["events"] = [e for e in silver["events"] if e["customer_key"] != "C4"]
    silver.pop("event_attribution", None)
    write_silver(home, silver)
    run_day(home, date(2026, 3, 14), "run_0314")
    run_day(home, date(2026, 3, 15), "run_0315")  # an empty day: nothing changed

    incremental = _tag_rows(home)
    marked = query(
        home,
        "select customer_key, snapshot_date from mart_customer_tags where rfm_segment = 'planted' order by 1, 2",
    )
    assert marked == [("C1", date(2026, 3, 8)), ("C3", date(2026, 3, 9)), ("C3", DAYS[-1])]
    assert query(home, "select count(*) from mart_customer_tags where customer_key = 'C4'") == [(0,)]

    recompute = tmp_path / "tags_recomputed"
    shutil.copytree(home, recompute)
    context = context_for(recompute, "recompute_0315", date(2026, 3, 15))
    build_gold(context, recompute=True, docs=False)
    publish_gold(context)
    recomputed = _tag_rows(recompute)
    # the only rows a recompute writes differently are the planted ones the increments left alone
    differ = sorted({(r[1], r[0]) for r in incremental ^ recomputed})
    assert differ == marked
