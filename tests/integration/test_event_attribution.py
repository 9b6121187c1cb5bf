"""Who an event is attributed to lives in ``silver.event_attribution``: re-attributing old events
rewrites that narrow table, never the events' own files, and readers see the two joined."""

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from pyspark.sql import types as T

from jobs.silver.events import build_events, move_attribution_out, read_attributed
from jobs.silver.identity import resolve
from omnilake import delta
from tests.integration.silver_bronze import deliver, rows_of
from tests.integration.test_identity import member, order
from tests.integration.test_silver_events import T0, page

pytestmark = pytest.mark.integration

DAY1, DAY2, DAY3 = date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)


def _run(lake) -> None:
    resolve(lake)
    build_events(lake)


def _key_of_event(spark, lake, message_id: str) -> str | None:
    (row,) = [r for r in read_attributed(spark, lake).collect() if r["message_id"] == message_id]
    return row["customer_key"]


def _files_written(path: str, after_version: int) -> list[str]:
    """Data files added or removed by the commits after ``after_version`` (from the Delta log)."""
    touched = []
    for commit in sorted(Path(path, "_delta_log").glob("*.json")):
        if int(commit.stem) <= after_version:
            continue
        for line in commit.read_text().splitlines():
            action = json.loads(line)
            for kind in ("add", "remove"):
                if kind in action:
                    touched.append(action[kind]["path"])
    return touched


def test_a_merge_re_keys_an_old_event_without_rewriting_that_dates_event_files(spark, lake):
    # The loyalty member is known from day 1; on day 2 web account 101 browses (an event of 1 March)
    # and orders with another address: a second person, for now.
    deliver(spark, lake, "crm_members", DAY1, [member("M1", "6045000000000001", email="j.doe@work.example")])
    _run(lake)
    deliver(spark, lake, "orders", DAY2, [order(1, "jane@example.com", account=101)])
    deliver(spark, lake, "events", DAY2, [page("old", 0, "dev-1", user_id="101")])
    _run(lake)
    web_key = _key_of_event(spark, lake, "old")
    assert web_key is not None

    # Day 3: account 101 checks out with the member's address (one person: the keys merge), and
    # another device browses on 3 March, so silver.events is written in that run.
    events, attribution = lake.table("silver.events"), lake.table("silver.event_attribution")
    events_before, attribution_before = delta.version(events), delta.version(attribution)
    deliver(spark, lake, "orders", DAY3, [order(2, "j.doe@work.example", account=101)], name="-day3")
    deliver(spark, lake, "events", DAY3, [page("new", 2 * 24 * 60, "dev-2")], name="-day3")
    _run(lake)

    (merge,) = rows_of(spark, lake, "silver.customer_key_merges", "merged_key")
    assert merge["merged_key"] == web_key
    assert _key_of_event(spark, lake, "old") == merge["surviving_key"]
    written = _files_written(events.path, events_before)
    assert written and all(p.startswith("event_date=2024-03-03/") for p in written), written
    # The re-keyed row is an update of the attribution table.
    updates = [h for h in delta.history(attribution) if h["version"] > attribution_before]
    assert sum(int(h.get("operationMetrics", {}).get("numTargetRowsUpdated", 0)) for h in updates) == 1


def test_events_written_with_their_attribution_inline_are_split_once_and_read_the_same(spark, lake):
    events = lake.table("silver.events")
    old_layout = T.StructType(
        [
            *events.contract.spark_schema().fields,
            T.StructField("customer_key", T.StringType()),
            T.StructField("journey_stage", T.StringType()),
        ]
    )
    at = T0 + timedelta(hours=1)
    base = dict.fromkeys(old_layout.fieldNames())
    rows = [
        {**base, "message_id": "a", "event_type": "page", "event_name": "Home", "session_id": "s_1",
         "channel": "web", "event_at": at, "event_date": DAY1, "_batch_id": "b1",
         "customer_key": "ck_1", "journey_stage": "awareness"},
        {**base, "message_id": "b", "event_type": "identify", "session_id": "s_1", "channel": "web",
         "event_at": at, "event_date": DAY1, "_batch_id": "b1"},
    ]  # fmt: skip
    spark.createDataFrame(
        [tuple(r[f] for f in old_layout.fieldNames()) for r in rows], old_layout
    ).write.format("delta").partitionBy("event_date").save(events.path)

    assert move_attribution_out(spark, lake) is True
    assert "customer_key" not in delta.read(spark, events).columns
    assert {
        (r["message_id"], r["customer_key"], r["journey_stage"])
        for r in read_attributed(spark, lake).collect()
    } == {
        ("a", "ck_1", "awareness"),
        ("b", None, None),
    }
    version = delta.version(events)
    assert move_attribution_out(spark, lake) is False
    assert delta.version(events) == version


@pytest.mark.parametrize("stops_in", ["reattribute", "_write_events"])
def test_a_run_that_stops_between_its_writes_is_repaired_by_running_again(spark, lake, monkeypatch, stops_in):
    """The run writes the attribution, then the events: stopped in either, the next run of the
    same batch leaves every event attributed and no attribution without its event."""
    import jobs.silver.events as events_job

    # The account and its device are known from day 1, so day 2 changes no key: nothing but the
    # run's own writes can attribute day 2's events.
    deliver(spark, lake, "events", DAY1, [page("x", 0, "dev-1", user_id="101")])
    _run(lake)
    day2 = [page("a", 24 * 60, "dev-1", user_id="101"), page("b", 24 * 60 + 1, "dev-1")]
    deliver(spark, lake, "events", DAY2, day2, name="-day2")
    resolve(lake)

    def stop(*args, **kwargs):
        raise RuntimeError("stopped")

    with monkeypatch.context() as patch:
        patch.setattr(events_job, stops_in, stop)
        with pytest.raises(RuntimeError, match="stopped"):
            build_events(lake)

    build_events(lake)
    (account,) = [
        r["customer_key"]
        for r in rows_of(spark, lake, "silver.customer_identifiers", "identifier_type")
        if r["identifier_type"] == "web_customer_id"
    ]
    # b has no login of its own: its session's one person is the account's
    assert {r["message_id"]: r["customer_key"] for r in read_attributed(spark, lake).collect()} == {
        "x": account,
        "a": account,
        "b": account,
    }
    attributed_ids = {r["message_id"] for r in rows_of(spark, lake, "silver.event_attribution", "message_id")}
    assert attributed_ids == {"x", "a", "b"}
