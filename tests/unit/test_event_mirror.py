"""The event mirror follows silver's Delta logs and always equals the whole join the build would run."""

from datetime import UTC, date, datetime

import duckdb
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from omnilake.gold import event_mirror
from omnilake.lake import Lake
from omnilake.settings import LakeRoot

EVENT_SCHEMA = pa.schema(
    [
        ("message_id", pa.string()),
        ("session_id", pa.string()),
        ("product_sku", pa.string()),
        ("order_id", pa.string()),
        ("event_name", pa.string()),
        ("channel", pa.string()),
        ("device_type", pa.string()),
        ("event_at", pa.timestamp("us", tz="UTC")),
        ("received_on", pa.date32()),
        ("event_date", pa.date32()),
    ]
)
ATTRIBUTION_SCHEMA = pa.schema(
    [
        ("message_id", pa.string()),
        ("customer_key", pa.string()),
        ("journey_stage", pa.string()),
        ("revision", pa.int64()),
        ("replaces_earlier", pa.bool_()),
    ]
)


def _event(message_id: str, day: int, session: str = "s1") -> dict:
    at = datetime(2026, 1, day, 10, 0, tzinfo=UTC)
    return {
        "message_id": message_id,
        "session_id": session,
        "product_sku": "SKU-1",
        "order_id": None,
        "event_name": "Product Viewed",
        "channel": "web",
        "device_type": "desktop",
        "event_at": at,
        "received_on": at.date(),
        "event_date": at.date(),
    }


def _write_events(lake: Lake, rows: list[dict], **options) -> None:
    write_deltalake(
        lake.path("silver", "events"),
        pa.Table.from_pylist(rows, EVENT_SCHEMA),
        partition_by=["event_date"],
        **{"mode": "append", **options},
    )


def _attribute(lake: Lake, rows: list[tuple], *, mode: str = "append") -> None:
    """Append (message_id, customer_key, journey_stage, replaces_earlier) as the next revision."""
    path = lake.path("silver", "event_attribution")
    revision = DeltaTable(path).version() + 1 if DeltaTable.is_deltatable(path) else 0
    table = pa.Table.from_pylist(
        [
            {
                "message_id": m,
                "customer_key": k,
                "journey_stage": s,
                "revision": revision,
                "replaces_earlier": r,
            }
            for m, k, s, r in rows
        ],
        ATTRIBUTION_SCHEMA,
    )
    write_deltalake(path, table, mode=mode)


def _whole_join(lake: Lake) -> list[tuple]:
    """What stg_silver__events reads without the mirror: every event with its current attribution."""
    with duckdb.connect() as con:
        con.register("events", DeltaTable(lake.path("silver", "events")).to_pyarrow_dataset())
        con.register("attribution", DeltaTable(lake.path("silver", "event_attribution")).to_pyarrow_dataset())
        return con.execute(
            """
            with replaced as (
                select message_id, max(revision) as below from attribution where replaces_earlier group by 1
            ),
            current_attribution as (
                select attribution.* from attribution left join replaced using (message_id)
                where replaced.below is null or attribution.revision >= replaced.below
            )
            select events.message_id, events.session_id, events.event_date, current_attribution.customer_key,
                current_attribution.journey_stage
            from events left join current_attribution using (message_id)
            order by all
            """
        ).fetchall()


def _mirrored(lake: Lake) -> list[tuple]:
    with duckdb.connect(str(event_mirror.mirror_path(lake)), read_only=True) as con:
        return con.execute(
            "select message_id, session_id, event_date, customer_key, journey_stage from attributed_events order by all"
        ).fetchall()


def _lake(tmp_path) -> Lake:
    lake = Lake(LakeRoot(str(tmp_path / "lake")))
    _attribute(lake, [("m1", "ck_a", "interest", False), ("m2", None, "interest", False)])
    _write_events(lake, [_event("m1", 1), _event("m2", 1, "s2")])
    return lake


def test_a_day_of_appends_rewrites_and_reattribution_is_applied_as_the_whole_join_sees_it(tmp_path):
    lake = _lake(tmp_path)
    assert event_mirror.refresh(lake).mode == "reload"
    # the next day: a new event whose attribution comes first, m2's device linked to ck_b, m1 kept
    _attribute(lake, [("m3", "ck_b", "decision", False), ("m2", "ck_b", "interest", True)])
    _write_events(lake, [_event("m3", 2, "s2")])
    # a merge's rewrite of day 1: m2 moves to session s3 (its file is replaced)
    _write_events(
        lake,
        [_event("m1", 1), _event("m2", 1, "s3")],
        mode="overwrite",
        predicate="event_date = '2026-01-01'",
    )
    refreshed = event_mirror.refresh(lake)
    assert refreshed.mode == "incremental"
    assert (refreshed.events_added, refreshed.events_dropped, refreshed.reattributed) == (3, 2, 0)
    assert _mirrored(lake) == _whole_join(lake)
    assert _mirrored(lake) == [
        ("m1", "s1", date(2026, 1, 1), "ck_a", "interest"),
        ("m2", "s3", date(2026, 1, 1), "ck_b", "interest"),
        ("m3", "s2", date(2026, 1, 2), "ck_b", "decision"),
    ]
    # a re-attribution alone (a merge retires ck_a) reaches the mirrored rows in place
    _attribute(lake, [("m1", "ck_b", "interest", True)])
    refreshed = event_mirror.refresh(lake)
    assert (refreshed.mode, refreshed.reattributed) == ("incremental", 1)
    assert _mirrored(lake) == _whole_join(lake)
    assert event_mirror.refresh(lake).mode == "unchanged"


def test_the_mirror_is_reloaded_when_the_attribution_is_rewritten_or_a_table_recreated(tmp_path):
    lake = _lake(tmp_path)
    event_mirror.refresh(lake)
    # silver drops superseded rows by rewriting the attribution: its mirrored files are gone
    _attribute(lake, [("m1", "ck_c", "loyalty", False), ("m2", None, "interest", False)], mode="overwrite")
    assert event_mirror.refresh(lake).mode == "reload"
    assert _mirrored(lake) == _whole_join(lake)
    # a rebuild recreates the events table (another Delta id)
    (tmp_path / "lake" / "silver" / "events").rename(tmp_path / "old_events")
    _write_events(lake, [_event("m1", 3)])
    assert event_mirror.refresh(lake).mode == "reload"
    assert _mirrored(lake) == _whole_join(lake)
    assert event_mirror.refresh(lake, reload=True).mode == "reload"


def test_an_event_with_two_current_attribution_rows_is_left_to_the_whole_join(tmp_path):
    lake = _lake(tmp_path)
    event_mirror.refresh(lake)
    # a second unmarked row: both are current, and the join yields the event twice
    _attribute(lake, [("m1", "ck_z", "interest", False)])
    assert event_mirror.refresh(lake) is None
    assert not event_mirror.mirror_path(lake).exists()
    assert len(_whole_join(lake)) == 3


def test_removing_the_mirror_deletes_its_file(tmp_path):
    lake = _lake(tmp_path)
    event_mirror.refresh(lake)
    assert event_mirror.remove(lake)
    assert not event_mirror.mirror_path(lake).exists()
    assert event_mirror.refresh(lake).mode == "reload"


def test_a_retailer_without_an_events_feed_has_its_mirror_removed_and_not_used(tmp_path):
    lake = _lake(tmp_path)
    event_mirror.refresh(lake)
    # the feed is dropped (or was never delivered): no silver events table
    (tmp_path / "lake" / "silver" / "events").rename(tmp_path / "old_events")
    assert event_mirror.refresh(lake) is None
    assert not event_mirror.mirror_path(lake).exists()


def test_empty_deliveries_mirror_as_nothing_and_change_nothing(tmp_path):
    lake = Lake(LakeRoot(str(tmp_path / "lake")))
    _attribute(lake, [])
    _write_events(lake, [])  # a first delivery that was header-only
    refreshed = event_mirror.refresh(lake)
    assert (refreshed.mode, refreshed.events) == ("reload", 0)
    _attribute(lake, [])
    _write_events(lake, [])  # another empty day: commits without files
    assert event_mirror.refresh(lake).mode == "unchanged"
    _attribute(lake, [("m1", "ck_a", "interest", False)])
    _write_events(lake, [_event("m1", 3)])
    refreshed = event_mirror.refresh(lake)
    assert (refreshed.mode, refreshed.events) == ("incremental", 1)
    assert _mirrored(lake) == _whole_join(lake)
