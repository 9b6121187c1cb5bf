"""Behaviour events into silver.events on hand-written bronze: dedup, clock skew, sessions across
batches, attribution after identify, no clear-text contact data."""

from datetime import date, datetime, timedelta

import pytest

from jobs.silver.events import build_events, read_attributed
from jobs.silver.identity import resolve
from tests.integration.silver_bronze import deliver, rows_of

pytestmark = pytest.mark.integration

DAY1, DAY2 = date(2024, 3, 1), date(2024, 3, 2)
T0 = datetime(2024, 3, 1, 10, 0, 0)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def page(message_id: str, minutes: float, device: str = "dev-1", *, user_id=None, name="Home", path="/",
         clock_error: timedelta = timedelta(0), offline: timedelta = timedelta(0)) -> dict:  # fmt: skip
    """A page view ``minutes`` after 10:00 UTC, by a device whose clock is off by ``clock_error`` and
    that sends it ``offline`` later."""
    happened = T0 + timedelta(minutes=minutes)
    return {
        "messageId": message_id,
        "type": "page",
        "name": name,
        "anonymousId": device,
        "userId": user_id,
        "timestamp": iso(happened + clock_error),
        "sentAt": iso(happened + clock_error + offline + timedelta(milliseconds=100)),
        "receivedAt": iso(happened + offline + timedelta(milliseconds=300)),
        "context": {"ip": "192.0.2.7", "page": {"path": path}, "device": {"type": "desktop"}},
        "properties": {"path": path},
    }


def identify(message_id: str, minutes: float, device: str, user_id: str) -> dict:
    event = page(message_id, minutes, device)
    event.update(type="identify", name=None, userId=user_id, properties=None)
    event["traits"] = {
        "email": "Jane@Example.com",
        "phone": "312-555-0101",
        "firstName": "Jane",
        "lastName": "Doe",
    }
    return event


def events_by_id(spark, lake) -> dict[str, dict]:
    return {r["message_id"]: r.asDict() for r in read_attributed(spark, lake).orderBy("message_id").collect()}


def test_a_message_delivered_twice_is_kept_once(spark, lake):
    first = page("m1", 0)
    again = {**first, "receivedAt": iso(T0 + timedelta(seconds=40))}
    deliver(spark, lake, "events", DAY1, [first, again, page("m2", 1)])
    result = build_events(lake)
    assert (result.rows_in, result.duplicates, result.inserted) == (3, 1, 2)
    deliver(spark, lake, "events", DAY2, [again], name="-resent")
    assert build_events(lake).inserted == 0
    rows = events_by_id(spark, lake)
    assert sorted(rows) == ["m1", "m2"]
    assert rows["m1"]["received_at"] == T0 + timedelta(milliseconds=300)  # the first received copy
    assert (rows["m1"]["received_on"], rows["m2"]["received_on"]) == (DAY1, DAY1)  # known from DAY1


def test_a_wrong_device_clock_is_corrected_with_sent_and_received_times(spark, lake):
    deliver(spark, lake, "events", DAY1, [page("m1", 0, clock_error=timedelta(hours=5)), page("m2", 1)])
    build_events(lake)
    rows = events_by_id(spark, lake)
    # timestamp - (sentAt - receivedAt) = happened + 5h - (5h + 100 ms - 300 ms)
    assert rows["m1"]["event_at"] == T0 + timedelta(milliseconds=200)
    assert rows["m2"]["event_at"] == T0 + timedelta(minutes=1)  # 200 ms of latency is not skew
    assert rows["m1"]["session_id"] == rows["m2"]["session_id"]


def test_thirty_minutes_of_silence_splits_a_session_even_across_batches(spark, lake):
    deliver(spark, lake, "events", DAY1, [page("a", 0), page("b", 20), page("c", 51)])
    build_events(lake)
    first = events_by_id(spark, lake)
    assert first["a"]["session_id"] == first["b"]["session_id"] != first["c"]["session_id"]

    # A late upload fills the gap: b (20) -> d (36) -> c (51) are now within 30 minutes of each other.
    deliver(spark, lake, "events", DAY2, [page("d", 36, offline=timedelta(hours=3))], name="-late")
    result = build_events(lake)
    second = events_by_id(spark, lake)
    assert len({second[m]["session_id"] for m in "abcd"}) == 1
    assert second["a"]["session_id"] == first["a"]["session_id"]  # the session still starts at a
    assert result.resessionised == 3
    # Re-sessionised events keep the landing date they arrived on; the late one has its own.
    assert {m: second[m]["received_on"] for m in "abcd"} == {"a": DAY1, "b": DAY1, "c": DAY1, "d": DAY2}


def test_anonymous_events_are_attributed_once_an_identify_links_the_device(spark, lake):
    deliver(
        spark,
        lake,
        "events",
        DAY1,
        [page("m1", 0, "dev-9"), page("m2", 1, "dev-9", name="Product", path="/products/x")],
    )
    resolve(lake)
    build_events(lake)
    assert {r["customer_key"] for r in events_by_id(spark, lake).values()} == {None}

    deliver(spark, lake, "events", DAY2, [identify("m3", 60 * 24, "dev-9", "101")], name="-login")
    resolve(lake)
    result = build_events(lake)
    rows = events_by_id(spark, lake)
    customer = {
        r["identifier_type"]: r["customer_key"]
        for r in rows_of(spark, lake, "silver.customer_identifiers", "identifier_type")
    }
    assert {rows[m]["customer_key"] for m in ("m1", "m2", "m3")} == {customer["web_customer_id"]}
    assert result.reattributed == 2
    assert (rows["m1"]["journey_stage"], rows["m2"]["journey_stage"], rows["m3"]["journey_stage"]) == (
        "awareness",
        "interest",
        None,
    )


def test_silver_events_hold_no_clear_text_ip_or_contact_data(spark, lake):
    deliver(spark, lake, "events", DAY1, [identify("m1", 0, "dev-1", "101")])
    build_events(lake)
    (row,) = rows_of(spark, lake, "silver.events", "message_id")
    text = repr(row)
    assert "192.0.2.7" not in text
    assert "jane@example.com" not in text.lower()
    assert "555" not in text
    assert len(row["ip_hash"]) == 64


def test_a_session_spanning_two_midnights_is_read_back_to_its_start_when_it_grows(spark, lake):
    # dev-1 clicks every 29 minutes from 20:00 on 1 March to 00:02 on 3 March: one session of 59
    # events over three event-date partitions. dev-2 has one short session on the first morning.
    long_session = [page(f"long-{k:02d}", 600 + 29 * k) for k in range(59)]
    morning = [page("early-1", 0, "dev-2"), page("early-2", 10, "dev-2")]
    deliver(spark, lake, "events", DAY1, long_session + morning)
    build_events(lake)
    first = events_by_id(spark, lake)
    assert len({first[m]["session_id"] for m in first if m.startswith("long-")}) == 1

    # 29 minutes after the last click the session goes on; dev-2 comes back two days later.
    grows = page("long-59", 600 + 29 * 59)
    returns = page("late-1", 600 + 29 * 59, "dev-2")
    deliver(spark, lake, "events", DAY2, [grows, returns], name="-next")
    result = build_events(lake)
    second = events_by_id(spark, lake)
    assert {second[f"long-{k:02d}"]["session_id"] for k in range(60)} == {first["long-00"]["session_id"]}
    assert second["late-1"]["session_id"] != second["early-1"]["session_id"]
    # The window is the whole long session (all three partitions) and nothing of dev-2's morning.
    assert result.resessionised == 59
    assert (result.inserted, result.updated) == (2, 0)
