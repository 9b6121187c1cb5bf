"""Who an event is attributed to lives in ``silver.event_attribution``: re-attributing old events
appends a revision to that narrow table, never rewrites the events' own files or its own, and
readers see the two joined, at each event's latest revision."""

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


def _files_written(path: str, after_version: int, kinds: tuple[str, ...] = ("add", "remove")) -> list[str]:
    """Data files added or removed (``kinds``) by the commits after ``after_version`` (from the Delta log)."""
    touched = []
    for commit in sorted(Path(path, "_delta_log").glob("*.json")):
        if int(commit.stem) <= after_version:
            continue
        for line in commit.read_text().splitlines():
            action = json.loads(line)
            for kind in kinds:
                if kind in action:
                    touched.append(action[kind]["path"])
    return touched


def test_a_merge_re_keys_an_old_event_without_rewriting_that_dates_event_files(spark, lake, monkeypatch):
    import jobs.silver.events as events_job

    monkeypatch.setattr(events_job, "SUPERSEDED_SHARE", 1.0)  # a lake this small would drop them at once
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
    # The re-keyed row is a new revision appended to the attribution: no file of it was rewritten,
    # and the old revision is still there, superseded.
    assert _files_written(attribution.path, attribution_before, kinds=("remove",)) == []
    revisions = [
        (r["customer_key"], r["revision"])
        for r in rows_of(spark, lake, "silver.event_attribution", "revision")
        if r["message_id"] == "old"
    ]
    assert [key for key, _ in sorted(revisions, key=lambda kr: kr[1])] == [web_key, merge["surviving_key"]]


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


def _write_attribution(spark, lake, rows: list[tuple], schema: str) -> None:
    table = lake.table("silver.event_attribution")
    spark.createDataFrame(rows, schema).write.format("delta").mode("overwrite").save(table.path)


def test_an_events_attribution_is_its_row_of_the_highest_revision_even_when_that_says_nobody(spark, lake):
    from jobs.silver.events import read_attribution
    from omnilake.fingerprint import table_fingerprint

    schema = "message_id string, customer_key string, journey_stage string, revision long, replaces_earlier boolean"
    # m1 was k1's, then k2's, then nobody's (revision 3, the latest, has no key); m2 moved from k1
    # to k2; m3 was attributed once
    history = [
        ("m1", "k1", "awareness", 1, False), ("m1", None, "awareness", 3, True), ("m1", "k2", "interest", 2, True),
        ("m2", "k1", "purchase", 1, False), ("m2", "k2", "loyalty", 4, True), ("m3", "k3", "decision", 4, False),
    ]  # fmt: skip
    _write_attribution(spark, lake, history, schema)
    current = {("m1", None, "awareness"), ("m2", "k2", "loyalty"), ("m3", "k3", "decision")}
    assert {tuple(r) for r in read_attribution(spark, lake).collect()} == current
    # revision 2 of m1 erased (it named k2): revision 3 still supersedes revision 1
    _write_attribution(spark, lake, [r for r in history if r[3] != 2 or r[0] != "m1"], schema)
    assert {tuple(r) for r in read_attribution(spark, lake).collect()} == current
    # the fingerprint is the current rows', whatever superseded rows the table still holds
    with_history = table_fingerprint(lake.table("silver.event_attribution"))
    compacted = [
        ("m1", None, "awareness", 7, False),
        ("m2", "k2", "loyalty", 8, False),
        ("m3", "k3", "decision", 4, False),
    ]
    _write_attribution(spark, lake, compacted, schema)
    assert table_fingerprint(lake.table("silver.event_attribution")) == with_history


def test_attribution_without_revisions_gets_revision_zero_once(spark, lake):
    from jobs.silver.events import add_attribution_revisions, read_attribution

    _write_attribution(
        spark,
        lake,
        [("a", "ck_1", "awareness"), ("b", None, None)],
        "message_id string, customer_key string, journey_stage string",
    )
    assert add_attribution_revisions(spark, lake) is True
    assert {
        (r["message_id"], r["customer_key"], r["journey_stage"], r["revision"], r["replaces_earlier"])
        for r in rows_of(spark, lake, "silver.event_attribution", "message_id")
    } == {
        ("a", "ck_1", "awareness", 0, False),
        ("b", None, None, 0, False),
    }
    version = delta.version(lake.table("silver.event_attribution"))
    assert add_attribution_revisions(spark, lake) is False
    assert delta.version(lake.table("silver.event_attribution")) == version
    assert {tuple(r) for r in read_attribution(spark, lake).collect()} == {
        ("a", "ck_1", "awareness"),
        ("b", None, None),
    }


def test_superseded_revisions_are_dropped_once_they_are_their_share_of_the_table(spark, lake, monkeypatch):
    import jobs.silver.events as events_job

    # Day 2: the device logs in; its day-1 event is re-attributed (a second revision of it).
    deliver(spark, lake, "events", DAY1, [page("early", 0, "dev-1"), page("other", 5, "dev-2")])
    _run(lake)
    deliver(spark, lake, "orders", DAY2, [order(1, "jane@example.com", account=101)])
    deliver(spark, lake, "events", DAY2, [page("login", 24 * 60, "dev-1", user_id="101")])
    monkeypatch.setattr(events_job, "SUPERSEDED_SHARE", 0.9)  # 1 superseded of 4 rows: kept
    _run(lake)
    rows = rows_of(spark, lake, "silver.event_attribution", "revision")
    assert sorted(r["message_id"] for r in rows) == ["early", "early", "login", "other"]
    keyed = {r["message_id"]: r["customer_key"] for r in read_attributed(spark, lake).collect()}
    assert keyed["early"] is not None and keyed["early"] == keyed["login"]

    # Day 3: another device's first event; at a share of 0.2 the one superseded row of 5 goes
    monkeypatch.setattr(events_job, "SUPERSEDED_SHARE", 0.2)
    deliver(spark, lake, "events", DAY3, [page("third", 2 * 24 * 60, "dev-3")], name="-day3")
    _run(lake)
    rows = rows_of(spark, lake, "silver.event_attribution", "revision")
    assert sorted(r["message_id"] for r in rows) == ["early", "login", "other", "third"]
    assert {r["message_id"]: r["customer_key"] for r in read_attributed(spark, lake).collect()} == {
        **keyed,
        "third": None,
    }


def test_a_revision_marks_exactly_the_events_it_attributes_again(spark, lake, monkeypatch):
    """Whether a row replaces an earlier one is told from the rows re-attribution looked up: an old
    event of a device linked to a person later is marked, a new event and a late one of an old
    session are marked only if attributed before, and an empty day appends nothing."""
    import jobs.silver.events as events_job

    monkeypatch.setattr(events_job, "SUPERSEDED_SHARE", 1.0)  # keep the superseded rows to look at
    deliver(spark, lake, "events", DAY1, [page("old", 0, "dev-1"), page("other", 5, "dev-2")])
    _run(lake)
    # day 2: dev-1 logs in (linked to account 101 from now on), and dev-2's late upload of an event
    # of its day-1 session arrives
    late = page("late", 10, "dev-2")
    day2 = [page("login", 24 * 60, "dev-1", user_id="101"), late]
    deliver(spark, lake, "events", DAY2, day2, name="-day2")
    _run(lake)
    rows = rows_of(spark, lake, "silver.event_attribution", "revision")
    latest = {}
    for r in sorted(rows, key=lambda r: r["revision"]):
        latest[r["message_id"]] = r
    account = latest["login"]["customer_key"]
    assert account is not None and latest["old"]["customer_key"] == account
    day2 = max(r["revision"] for r in rows)
    assert {m: r["replaces_earlier"] for m, r in latest.items() if r["revision"] == day2} == {
        "old": True,
        "login": False,
        "late": False,
    }
    count = len(rows)
    _run(lake)  # an empty day
    assert len(rows_of(spark, lake, "silver.event_attribution", "revision")) == count
