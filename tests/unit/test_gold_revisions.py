"""The dated marts' "as known at" macros and revision change counts, on hand-made DuckDB tables."""

from __future__ import annotations

from datetime import date

import duckdb

from omnilake.gold.revisions import DATED_MARTS, create_as_known_at_macros, describe_changes, revision_changes

D1, D2, D3 = date(2026, 3, 8), date(2026, 3, 9), date(2026, 3, 10)


def _warehouse(path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute(
            "create table mart_journey_funnel_revisions "
            "(session_date date, known_at date, channel varchar, device_type varchar, sessions bigint)"
        )
        con.executemany(
            "insert into mart_journey_funnel_revisions values (?, ?, ?, ?, ?)",
            [
                (D1, D1, "web", "desktop", 1),  # 03-08 as first known
                (D1, D2, "web", "desktop", 1),  # revised on 03-09: unchanged
                (D2, D2, "web", "desktop", 4),
                (D1, D3, "web", "desktop", 2),  # revised on 03-10: a late session
                (D1, D3, "app", "ios", 1),  # and a new device
                (D2, D3, "web", "desktop", 4),
            ],
        )
        con.execute(
            "create table fct_sales_revisions "
            "(sales_line_id varchar, known_from date, known_to date, business_date date, quantity int)"
        )
        con.executemany(
            "insert into fct_sales_revisions values (?, ?, ?, ?, ?)",
            [
                ("a", D1, None, D1, 1),  # never changed
                ("b", D2, D3, D2, 1),  # cancelled on 03-10
                ("c", D1, D3, D1, 2),  # changed on 03-10 ...
                ("c", D3, None, D1, 3),  # ... into this
                ("d", D3, None, D1, 1),  # delivered late on 03-10
            ],
        )
        create_as_known_at_macros(con, ("main",))


def test_as_known_at_returns_each_snapshots_revision_of_that_day_and_the_versions_valid_then(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    _warehouse(path)
    with duckdb.connect(str(path), read_only=True) as con:
        funnel = (
            "select session_date, known_at, channel, sessions from journey_funnel_as_known_at(?) order by all"
        )
        assert con.execute(funnel, [D1]).fetchall() == [(D1, D1, "web", 1)]
        assert con.execute(funnel, [D2]).fetchall() == [(D1, D2, "web", 1), (D2, D2, "web", 4)]
        assert con.execute(funnel, [D3]).fetchall() == [
            (D1, D3, "app", 1),
            (D1, D3, "web", 2),
            (D2, D3, "web", 4),
        ]
        sales = "select sales_line_id, quantity from sales_as_known_at(?) order by all"
        assert con.execute(sales, [D2]).fetchall() == [("a", 1), ("b", 1), ("c", 2)]
        assert con.execute(sales, [D3]).fetchall() == [("a", 1), ("c", 3), ("d", 1)]


def test_revision_changes_count_added_dropped_and_changed_rows_per_snapshot(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    _warehouse(path)
    changes = revision_changes(path, D3)
    assert set(changes) == {"mart_journey_funnel", "fct_sales"}  # marts absent from the warehouse skipped
    funnel = {c["snapshot_date"]: c for c in changes["mart_journey_funnel"]}
    # 03-08: web desktop 1 -> 2 (changed), app ios added; 03-09: unchanged.
    assert {d: (c["previous_known_at"], c["rows"], c["added"], c["dropped"], c["changed"]) for d, c in funnel.items()} == {
        "2026-03-08": ("2026-03-09", 2, 1, 0, 1),
        "2026-03-09": ("2026-03-09", 1, 0, 0, 0),
    }  # fmt: skip
    sales = {c["snapshot_date"]: c for c in changes["fct_sales"]}
    # 03-08: c changed, d added (a, c, d known); 03-09: b dropped (none left).
    assert {d: (c["rows"], c["added"], c["dropped"], c["changed"]) for d, c in sales.items()} == {
        "2026-03-08": (3, 1, 0, 1),
        "2026-03-09": (0, 0, 1, 0),
    }
    assert describe_changes(changes) == (
        "mart_journey_funnel changed: 2026-03-08 2/2, 2026-03-09 0/1; "
        "fct_sales changed: 3 line(s) over 2 business date(s)"
    )


def test_every_dated_mart_is_a_gold_mart_with_its_history():
    from omnilake.pipeline import GOLD_MARTS

    for dated in DATED_MARTS:
        assert {dated.mart, dated.history} <= set(GOLD_MARTS), dated
