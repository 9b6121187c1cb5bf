"""Silver's attributed events as a DuckDB table, kept in step with the Delta logs.

Four readers of behaviour events in gold need every event with its attribution (re-attribution and
identity merges move old events between people, the engagement funnel counts all of history), so
a build that joins ``silver.events`` with ``silver.event_attribution`` afresh pays for all of
history every day. The mirror keeps that join in a DuckDB file of the lake's local folder
(``mirror_path``), and a build first brings it up to date (``refresh``) with what the Delta logs
say changed since, which is what the day changed:

- ``silver.events``: Delta never changes a data file, so each mirrored row records its file; the
  rows of files the table no longer has are dropped (a merge's rewrite, a delete), the rows of
  files it gained are added;
- ``silver.event_attribution`` only grows, a revision a run (see ``jobs.silver.events``): its new
  files' rows are applied by the rule ``stg_silver__event_attribution`` reads the whole table with
  (an event's rows of revisions at or above its highest ``replaces_earlier`` row are current; an
  event without one keeps all its rows), one event at a time: an event with a marked new row gets
  its new rows from the highest marked one, an event without one gets its new rows added, and the
  mirrored events of every event whose attribution changed get it.

It is reloaded whole, with the whole tables' rule, whenever it cannot be trusted: no mirror yet or a
different layout, a table recreated (another Delta id), a mirrored file of the attribution gone (the
rewrite that drops superseded rows, an erasure), or when asked (``omnilake rebuild``). It is not
used at all (``refresh`` returns None, and the build joins the silver tables as before) when a table
is missing, uses reader features (deletion vectors, column mapping) that change rows without
changing files, or an event has more than one current attribution row (what the join then yields is
not one row per event, and the mirror keeps one attribution row per event). An erasure deletes the
file (``remove``). The refresh is one DuckDB transaction: a build stopped midway leaves the mirror
as it was.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from omnilake.gold.delta_files import SOURCE_FILE, LiveFiles, live_files
from omnilake.storage.local import local_dir

if TYPE_CHECKING:
    from omnilake.lake import Lake

log = logging.getLogger(__name__)

EVENTS, ATTRIBUTION = "events", "event_attribution"
# The columns of silver.events that gold reads (stg_silver__events), mirrored as they are.
EVENT_COLUMNS = (
    "message_id",
    "session_id",
    "product_sku",
    "order_id",
    "event_name",
    "channel",
    "device_type",
    "event_date",
    "received_on",
    "event_at",
)
ATTRIBUTION_COLUMNS = ("message_id", "customer_key", "journey_stage", "revision", "replaces_earlier")
# Part of the recorded state: a mirror of another layout is reloaded.
LAYOUT = "1:" + ",".join(EVENT_COLUMNS) + "|" + ",".join(ATTRIBUTION_COLUMNS)


@dataclass(frozen=True)
class MirrorRefresh:
    """What one refresh did: ``mode`` is ``unchanged``, ``incremental`` or ``reload``."""

    path: Path
    mode: str
    events: int
    events_added: int
    events_dropped: int
    attribution_rows: int
    reattributed: int
    seconds: float


def mirror_path(lake: Lake) -> Path:
    """The mirror's file: beside the warehouse, in the lake's local folder (it is a cache of silver,
    rebuilt from it whenever it is missing)."""
    return local_dir(lake.root, "_ops", "gold", "attributed_events.duckdb")


def remove(lake: Lake) -> bool:
    """Delete the mirror (an erasure: it holds customer keys); the next build reloads it."""
    path = mirror_path(lake)
    found = path.exists()
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
    return found


def refresh(lake: Lake, *, reload: bool = False) -> MirrorRefresh | None:
    """Bring the mirror up to date with silver (reload it whole if ``reload`` or it cannot be
    trusted); None when the build must read silver itself (see the module docstring)."""
    started = time.perf_counter()
    path = mirror_path(lake)
    try:
        events, attribution = live_files(lake, EVENTS), live_files(lake, ATTRIBUTION)
        if events is None or attribution is None:
            remove(lake)
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(path)) as con:
            con.execute("set TimeZone = 'UTC'")
            con.execute("begin")
            state = None if reload else _recorded_state(con)
            if state is None or not _trusted(con, state, events, attribution):
                counts = _reload(con, events, attribution)
                mode = "reload"
            else:
                counts = _apply_changes(con, events, attribution)
                mode = "incremental" if any(counts) else "unchanged"
            duplicates = _attribution_duplicates(con, full=mode == "reload")
            if duplicates:
                con.execute("rollback")
            else:
                _record_state(con, events, attribution)
                con.execute("commit")
                total = con.execute("select count(*) from attributed_events").fetchone()[0]
        if duplicates:
            remove(lake)
            log.warning("event mirror: an event has more than one current attribution row; not used")
            return None
    except Exception:  # a cache: whatever stops it (a damaged file, an unreadable table), the
        # build joins the silver tables itself and the next one reloads the mirror
        log.warning("event mirror at %s could not be refreshed; removed, not used", path, exc_info=True)
        remove(lake)
        return None
    outcome = MirrorRefresh(path, mode, total, *counts, seconds=round(time.perf_counter() - started, 3))
    log.info("event mirror: %s", outcome)
    return outcome


def _recorded_state(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, int]] | None:
    tables = {
        r[0]
        for r in con.execute("select table_name from duckdb_tables() where schema_name = 'main'").fetchall()
    }
    if not {"mirror_state", "mirrored_files", "attribution", "attributed_events"} <= tables:
        return None
    rows = con.execute("select table_name, table_id, version, layout from mirror_state").fetchall()
    if {r[3] for r in rows} != {LAYOUT}:
        return None
    return {r[0]: (r[1], r[2]) for r in rows}


def _trusted(
    con: duckdb.DuckDBPyConnection,
    state: dict[str, tuple[str, int]],
    events: LiveFiles,
    attribution: LiveFiles,
) -> bool:
    """The recorded tables are these ones, and no mirrored attribution file is gone."""
    for name, source in ((EVENTS, events), (ATTRIBUTION, attribution)):
        if name not in state or state[name][0] != source.table_id or state[name][1] > source.version:
            return False
    mirrored = _mirrored_files(con, ATTRIBUTION)
    return mirrored <= set(attribution.fragments)


def _mirrored_files(con: duckdb.DuckDBPyConnection, name: str) -> set[str]:
    return {
        r[0] for r in con.execute("select path from mirrored_files where table_name = ?", [name]).fetchall()
    }


def _reload(
    con: duckdb.DuckDBPyConnection, events: LiveFiles, attribution: LiveFiles
) -> tuple[int, int, int, int]:
    """Every table of the mirror from the whole silver tables."""
    for table in ("attributed_events", "attribution", "mirrored_files", "mirror_state"):
        con.execute(f"drop table if exists {table}")
    attribution_rows = attribution.rows_of(sorted(attribution.fragments), ATTRIBUTION_COLUMNS)
    con.register("attribution_rows", attribution_rows)
    con.execute(
        "create table attribution as select message_id, customer_key, journey_stage, revision "
        f"from ({_current_attribution('attribution_rows')})"
    )
    con.unregister("attribution_rows")
    event_rows = events.rows_of(sorted(events.fragments), EVENT_COLUMNS)
    con.register("event_rows", event_rows)
    con.execute(f"create table attributed_events as {_attributed_select('event_rows')}")
    con.unregister("event_rows")
    con.execute("create table mirrored_files (table_name varchar, path varchar)")
    _add_files(con, EVENTS, sorted(events.fragments))
    _add_files(con, ATTRIBUTION, sorted(attribution.fragments))
    con.execute(
        "create table mirror_state (table_name varchar, table_id varchar, version bigint, layout varchar)"
    )
    return event_rows.num_rows, 0, attribution_rows.num_rows, 0


def _current_attribution(relation: str) -> str:
    """The rows of ``relation`` (attribution rows) still current among themselves, the rule of
    stg_silver__event_attribution: a row that replaces earlier ones drops every lower revision of
    its event. ``replaces``: the event had such a row (its earlier mirrored rows go too)."""
    return f"""
        with replaced as (
            select message_id, max(revision) as replaced_below
            from {relation}
            where replaces_earlier
            group by message_id
        )
        select rows.message_id, rows.customer_key, rows.journey_stage, rows.revision,
            replaced.replaced_below is not null as replaces
        from {relation} as rows
        left join replaced on rows.message_id = replaced.message_id
        where replaced.replaced_below is null or rows.revision >= replaced.replaced_below
    """


def _attributed_select(relation: str) -> str:
    columns = ", ".join(f"rows.{c}" for c in EVENT_COLUMNS)
    return (
        f"select {columns}, attribution.customer_key, attribution.journey_stage, rows.{SOURCE_FILE} "
        f"from {relation} as rows left join attribution on rows.message_id = attribution.message_id"
    )


def _add_files(con: duckdb.DuckDBPyConnection, name: str, paths: list[str]) -> None:
    if paths:
        con.executemany("insert into mirrored_files values (?, ?)", [(name, p) for p in paths])


def _apply_changes(
    con: duckdb.DuckDBPyConnection, events: LiveFiles, attribution: LiveFiles
) -> tuple[int, int, int, int]:
    """The attribution's new files, then the events' dropped and new files; returns (events added,
    events dropped, attribution rows applied, events re-attributed)."""
    new_attribution = sorted(set(attribution.fragments) - _mirrored_files(con, ATTRIBUTION))
    rows = attribution.rows_of(new_attribution, ATTRIBUTION_COLUMNS)
    con.register("new_attribution", rows)
    con.execute(f"create temp table attribution_changes as {_current_attribution('new_attribution')}")
    con.unregister("new_attribution")
    con.execute(
        "delete from attribution where message_id in "
        "(select message_id from attribution_changes where replaces)"
    )
    con.execute(
        "insert into attribution select message_id, customer_key, journey_stage, revision from attribution_changes"
    )
    _add_files(con, ATTRIBUTION, new_attribution)

    mirrored_events = _mirrored_files(con, EVENTS)
    dropped_files = sorted(mirrored_events - set(events.fragments))
    added_files = sorted(set(events.fragments) - mirrored_events)
    dropped = 0
    if dropped_files:
        con.execute("create temp table dropped_files (path varchar)")
        con.executemany("insert into dropped_files values (?)", [(p,) for p in dropped_files])
        dropped = con.execute(
            f"delete from attributed_events where {SOURCE_FILE} in (select path from dropped_files)"
        ).fetchone()[0]
        con.execute(
            "delete from mirrored_files where table_name = ? and path in (select path from dropped_files)",
            [EVENTS],
        )
    # re-attributed events already mirrored (new ones join the current attribution below)
    reattributed = con.execute(
        """
        update attributed_events
        set customer_key = attribution.customer_key, journey_stage = attribution.journey_stage
        from attribution
        where attributed_events.message_id = attribution.message_id
            and attribution.message_id in (select message_id from attribution_changes)
        """
    ).fetchone()[0]
    event_rows = events.rows_of(added_files, EVENT_COLUMNS)
    con.register("event_rows", event_rows)
    con.execute(f"insert into attributed_events {_attributed_select('event_rows')}")
    con.unregister("event_rows")
    _add_files(con, EVENTS, added_files)
    return event_rows.num_rows, dropped, rows.num_rows, reattributed


def _attribution_duplicates(con: duckdb.DuckDBPyConnection, *, full: bool) -> bool:
    """An event with more than one current attribution row (of the whole table after a reload, of
    the events a refresh changed otherwise)."""
    scope = "" if full else "where message_id in (select message_id from attribution_changes)"
    return bool(
        con.execute(
            f"select count(*) from (select message_id from attribution {scope} group by message_id having count(*) > 1)"
        ).fetchone()[0]
    )


def _record_state(con: duckdb.DuckDBPyConnection, events: LiveFiles, attribution: LiveFiles) -> None:
    con.execute("delete from mirror_state")
    con.executemany(
        "insert into mirror_state values (?, ?, ?, ?)",
        [
            (EVENTS, events.table_id, events.version, LAYOUT),
            (ATTRIBUTION, attribution.table_id, attribution.version, LAYOUT),
        ],
    )
