"""The dated marts' revisions: one registry of the marts with a history of what was known when, the
"as known at" table macros analysts call, and what each run's revisions changed.

Two kinds of history (see the marts' YAML in dbt_project/models/marts for the reasoning):

- **snapshots** (RFM, inventory positions, the journey funnel): a run for landing date L writes a
  revision ``known_at = L`` of the snapshots it revises; revisions accumulate run by run. The mart
  analysts read by default is each snapshot's latest revision; "as known at L" is, of each snapshot
  on or before L, the revision with the latest known_at on or before L.
- **versions** (sales lines): silver records when every change arrived, so each line's versions
  carry ``known_from``/``known_to`` (exclusive); "as known at L" is the version valid at L.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import duckdb

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatedMart:
    """A mart analysts read as known last, and the table of its history."""

    mart: str
    history: str
    snapshot: str  # the business date a row describes
    keys: tuple[str, ...]  # a row's key within one snapshot (and one revision or version)
    macro: str  # the warehouse table macro answering "as known at L"
    kind: Literal["snapshots", "versions"] = "snapshots"


DATED_MARTS = (
    DatedMart(
        "mart_customer_rfm",
        "mart_customer_rfm_revisions",
        "snapshot_date",
        ("customer_key",),
        "rfm_as_known_at",
    ),
    DatedMart(
        "mart_inventory_position",
        "mart_inventory_position_revisions",
        "snapshot_date",
        ("sku", "location_id"),
        "inventory_position_as_known_at",
    ),
    DatedMart(
        "mart_journey_funnel",
        "mart_journey_funnel_revisions",
        "session_date",
        ("channel", "device_type"),
        "journey_funnel_as_known_at",
    ),
    DatedMart(
        "fct_sales",
        "fct_sales_revisions",
        "business_date",
        ("sales_line_id",),
        "sales_as_known_at",
        "versions",
    ),
)


def as_known_at_sql(dated: DatedMart, schema: str) -> str:
    """``create macro <schema>.<macro>(as_known_at)``: the history's rows as known at that day."""
    history = f'"{schema}".{dated.history}'
    if dated.kind == "versions":
        chosen = f"""
            select * from {history}
            where known_from <= cast(as_known_at as date)
                and (known_to is null or known_to > cast(as_known_at as date))
            """
    else:
        chosen = f"""
            select revisions.*
            from {history} as revisions
            join (
                select {dated.snapshot}, max(known_at) as known_at
                from {history}
                where known_at <= cast(as_known_at as date) and {dated.snapshot} <= cast(as_known_at as date)
                group by {dated.snapshot}
            ) as chosen using ({dated.snapshot}, known_at)
            """
    return f'create or replace macro "{schema}".{dated.macro}(as_known_at) as table {chosen}'


def create_as_known_at_macros(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> None:
    """Every dated mart's "as known at" table macro in each of ``schemas`` (the warehouse's and the
    analysts' masked one, whose views have the same names), for the histories the schema holds."""
    for schema in schemas:
        present = {
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = $schema "
                "union select view_name from duckdb_views() where schema_name = $schema",
                {"schema": schema},
            ).fetchall()
        }
        for dated in DATED_MARTS:
            if dated.history in present:  # a macro binds its relation when created
                con.execute(as_known_at_sql(dated, schema))


def revision_changes(warehouse: Path, known_at: date) -> dict[str, list[dict[str, Any]]]:
    """Per dated mart, what the run known at ``known_at`` changed, per snapshot (business date):
    its rows as known then and how many were added, dropped or changed against what was known
    before (a snapshot's previous revision; for versions, the day before ``known_at``)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        present = {
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'main'"
            ).fetchall()
        }
        changes = {
            dated.mart: (_snapshot_changes if dated.kind == "snapshots" else _version_changes)(
                con, dated, known_at
            )
            for dated in DATED_MARTS
            if dated.history in present
        }
    for mart, revised in changes.items():
        for change in revised:
            log.info(
                "%s revision %s known at %s: %s row(s) changed",
                mart,
                change["snapshot_date"],
                change["known_at"],
                change["rows_changed"],
            )
    return changes


def describe_changes(changes: dict[str, list[dict[str, Any]]]) -> str:
    """One line for the run summary: per snapshot mart, each revised snapshot's changed/all rows;
    per versioned mart (a late line may be of any business date), the lines changed in total."""
    kinds = {dated.mart: dated.kind for dated in DATED_MARTS}

    def described(mart: str, revised: list[dict[str, Any]]) -> str:
        if kinds.get(mart) == "versions":
            changed = sum(c["rows_changed"] for c in revised)
            return f"{mart} changed: {changed:,} line(s) over {len(revised)} business date(s)"
        each = ", ".join(f"{c['snapshot_date']} {c['rows_changed']:,}/{c['rows']:,}" for c in revised)
        return f"{mart} changed: {each or 'none'}"

    return "; ".join(described(mart, revised) for mart, revised in changes.items())


def _value_columns(con: duckdb.DuckDBPyConnection, dated: DatedMart) -> list[str]:
    columns = [r[0] for r in con.execute(f"describe main.{dated.history}").fetchall()]
    return [c for c in columns if c not in {dated.snapshot, "known_at", *dated.keys}]


def _snapshot_changes(
    con: duckdb.DuckDBPyConnection, dated: DatedMart, known_at: date
) -> list[dict[str, Any]]:
    snapshot, values = dated.snapshot, _value_columns(con, dated)
    on = " and ".join(f"written.{c} = previous.{c}" for c in (snapshot, *dated.keys))
    first_key = dated.keys[0]
    rows = con.execute(
        f"""
        with revisions as (select * from main.{dated.history}),
        written as (select * from revisions where known_at = $known_at),
        previous_known as (
            select {snapshot}, max(known_at) as known_at from revisions
            where known_at < $known_at and {snapshot} in (select {snapshot} from written)
            group by {snapshot}
        ),
        previous as (
            select revisions.* from revisions
            join previous_known using ({snapshot}, known_at)
        ),
        compared as (
            select
                coalesce(written.{snapshot}, previous.{snapshot}) as {snapshot},
                written.{first_key} is not null as in_written,
                previous.{first_key} is not null as in_previous,
                (written.{first_key} is not null and previous.{first_key} is not null
                    and ({", ".join(f"written.{c}" for c in values)})
                        is distinct from ({", ".join(f"previous.{c}" for c in values)}))
                    as changed
            from written
            full outer join previous on {on}
        )
        select
            compared.{snapshot},
            previous_known.known_at as previous_known_at,
            count(*) filter (where in_written) as rows,
            count(*) filter (where in_written and not in_previous) as added,
            count(*) filter (where in_previous and not in_written) as dropped,
            count(*) filter (where changed) as changed
        from compared
        left join previous_known using ({snapshot})
        group by all
        order by compared.{snapshot}
        """,
        {"known_at": known_at},
    ).fetchall()
    return [
        _change(day, known_at, previous, count, added, dropped, changed)
        for day, previous, count, added, dropped, changed in rows
    ]


def _version_changes(
    con: duckdb.DuckDBPyConnection, dated: DatedMart, known_at: date
) -> list[dict[str, Any]]:
    """Per business date with a version starting or ending on ``known_at``: a line is added (a first
    version), changed (a version ends and the next starts) or dropped (its last version ends)."""
    snapshot, key = dated.snapshot, dated.keys[0]
    rows = con.execute(
        f"""
        with versions as (select * from main.{dated.history}),
        started as (select * from versions where known_from = $known_at),
        ended as (select * from versions where known_to = $known_at),
        moved as (
            select
                coalesce(started.{snapshot}, ended.{snapshot}) as {snapshot},
                started.{key} is not null as is_started,
                ended.{key} is not null as is_ended
            from started
            full outer join ended
                on started.{key} = ended.{key}
        ),
        known as (
            select {snapshot}, count(*) as rows from versions
            where known_from <= $known_at and (known_to is null or known_to > $known_at)
            group by {snapshot}
        )
        select
            moved.{snapshot},
            coalesce(max(known.rows), 0) as rows,
            count(*) filter (where is_started and not is_ended) as added,
            count(*) filter (where is_ended and not is_started) as dropped,
            count(*) filter (where is_started and is_ended) as changed
        from moved
        left join known using ({snapshot})
        group by moved.{snapshot}
        order by moved.{snapshot}
        """,
        {"known_at": known_at},
    ).fetchall()
    return [
        _change(day, known_at, None, count, added, dropped, changed)
        for day, count, added, dropped, changed in rows
    ]


def _change(
    day: date, known_at: date, previous: date | None, rows: int, added: int, dropped: int, changed: int
) -> dict[str, Any]:
    return {
        "snapshot_date": day.isoformat(),
        "known_at": known_at.isoformat(),
        "previous_known_at": previous.isoformat() if previous else None,
        "rows": rows,
        "rows_changed": added + dropped + changed,
        "added": added,
        "dropped": dropped,
        "changed": changed,
    }
