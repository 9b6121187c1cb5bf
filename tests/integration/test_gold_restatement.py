"""Two clocks in gold: a run for landing date L reads only what was delivered by L, and revises the
RFM snapshots of the last three business dates with the late data it received.

Silver is written as it stood after each delivery (rows received on or before the day), then gold
is built and published for that day, on the hand-made case of ``test_dbt_marts`` plus two late
orders:

    O6  C6 web, business date 03-08 (an evening order), delivered on 03-10: two days late
    O7  C2 web, business date 03-09, delivered 03-09 and cancelled in the delivery of 03-10
    C3  moves from the silver to the gold loyalty tier in the delivery of 03-10

Expected values are worked out by hand from that case.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from decimal import Decimal as D

import duckdb
import pytest

from omnilake.fingerprint import lake_fingerprints, warehouse_fingerprints
from omnilake.publish import MARTS, build_gold, publish_gold, published_warehouse_path
from tests.integration.test_dbt_marts import (
    SILVER,
    _at,
    _order,
    _order_line,
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


# The complete case: test_dbt_marts' silver plus O6 (late) and O7 (cancelled the next day).
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
}


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
    for day in DAYS:
        write_silver(home, delivered_by(day))
        builds[day] = run_day(home, day, f"run_{day:%m%d}")
    return {"home": home, "builds": builds}


def test_late_orders_restate_the_snapshot_they_belong_to(daily, tmp_path):
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
    fresh = tmp_path / "complete"
    write_silver(fresh, COMPLETE)
    run_day(fresh, date(2026, 3, 10), "run_complete")
    assert snapshot(fresh, LATE_DAY) == restated
    warehouse = published_warehouse_path(context_for(fresh, "read").lake)
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


def test_each_day_revises_only_its_window(daily):
    revisions = query(
        daily["home"],
        "select known_at, min(snapshot_date), max(snapshot_date), count(distinct snapshot_date) "
        "from mart_customer_rfm_revisions group by known_at order by known_at",
    )
    assert revisions == [(day, day - timedelta(days=3), day, 4) for day in DAYS]


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
