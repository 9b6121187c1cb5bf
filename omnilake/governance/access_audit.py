"""Who read what through ``omnilake sql``: one ``access`` entry per query in the hash-chained audit trail.

An entry says who asked (user, host, role), the query with its literals replaced by ``?`` (DuckDB's
parser gives each literal's place: ``json_serialize_sql``) and the SHA-256 of that redacted text (the
query's shape: a hash of the exact text could be tested against guessed e-mails), the tables and
columns it read with each column's classification (from the plan DuckDB would run: ``EXPLAIN``
lists each scan's table, projected columns and pushed-down filters, through views to the marts),
whether it read personal data, the rows returned and whether it ran or was refused. It never holds
a result value. A query whose plan DuckDB cannot show counts as personal (``plan_read`` false).

A row returned is *personal* when the query read a column that identifies a person or describes
them in confidence: a ``confidential`` or ``restricted`` column, a pseudonym or masked form
(``*_hash``, ``*_masked``) or ``customer_key``. ``flagged_access`` is the rule for unusual access:
one reader returning more personal rows in a UTC day than ``OMNILAKE_ACCESS_PERSONAL_ROWS_PER_DAY``;
the gold gate carries it as a ``warn`` check (``quality.access``) and ``omnilake run`` reports and
alerts it.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import os
import re
import socket
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from omnilake.analyst_views import tree_nodes
from omnilake.audit import append_entry, read_entries
from omnilake.contracts import all_contracts
from omnilake.errors import OmnilakeError
from omnilake.lake import Lake

log = logging.getLogger(__name__)

ACCESS_KIND = "access"
PERSONAL_CLASSIFICATIONS = frozenset({"confidential", "restricted"})
PERSON_KEY_COLUMNS = frozenset({"customer_key"})
_EXPLAIN = re.compile(r"^\s*explain(\s+analyze)?\s+", re.IGNORECASE)
_STRING_LITERAL = re.compile(r"'(?:[^']|'')*'")
_NUMBER_LITERAL = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# --- what a query reads --------------------------------------------------------------------------


def redacted(con: duckdb.DuckDBPyConnection, query: str) -> str:
    """``query`` with every literal (strings, numbers) replaced by ``?``, as written otherwise."""
    statement = query.strip().rstrip(";")
    try:
        parsed = json.loads(con.execute("select json_serialize_sql(?)", [statement]).fetchone()[0])
    except duckdb.Error:
        parsed = {"error": True}
    if parsed.get("error"):  # not a plain SELECT (SHOW, PIVOT, EXPLAIN …): redact by pattern
        return _NUMBER_LITERAL.sub("?", _STRING_LITERAL.sub("?", statement))
    spans = sorted(
        (n["query_location"], n["query_location_length"])
        for n in tree_nodes(parsed["statements"])
        if n.get("class") == "CONSTANT" and isinstance(n.get("query_location_length"), int)
    )
    text = statement.encode("utf-8")
    out, at = [], 0
    for start, length in spans:
        if start < at or length <= 0:
            continue
        out += [text[at:start], b"?"]
        at = start + length
    out.append(text[at:])
    return b"".join(out).decode("utf-8", errors="replace")


def columns_read(con: duckdb.DuckDBPyConnection, query: str) -> dict[str, set[str]] | None:
    """{table: columns} every scan of the query's plan reads (projected, or in a pushed-down filter);
    tables are ``schema.table``. None when DuckDB cannot show the plan."""
    statement = _EXPLAIN.sub("", query.strip().rstrip(";"), count=1)
    try:
        rows = con.execute(f"explain (format json) {statement}").fetchall()
    except duckdb.Error:
        return None
    found: dict[str, set[str]] = defaultdict(set)
    known = _table_columns(con)
    for row in rows:
        for node in tree_nodes(json.loads(row[1])):
            info = node.get("extra_info")
            if not isinstance(info, dict) or not isinstance(info.get("Table"), str):
                continue
            table = ".".join(info["Table"].split(".")[-2:]).lower()
            projected = info.get("Projections") or []
            names = {projected} if isinstance(projected, str) else set(projected)
            filters = info.get("Filters") or ""
            filters = " ".join(filters) if isinstance(filters, list) else str(filters)
            names |= set(_WORD.findall(filters))
            found[table] |= {n.lower() for n in names if n} & known.get(table, set())
    return dict(found)


def _table_columns(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    rows = con.execute(
        "select schema_name, table_name, column_name from duckdb_columns() "
        "where database_name = current_database()"
    ).fetchall()
    columns: dict[str, set[str]] = defaultdict(set)
    for schema, table, column in rows:
        columns[f"{schema}.{table}".lower()].add(column.lower())
    return columns


def classified(tables: dict[str, set[str]]) -> dict[str, dict[str, str]]:
    """{table: {column: classification}} from the gold contracts (``unknown`` without one)."""
    contracts = {c.name: c for c in all_contracts().values() if c.layer == "gold"}
    out = {}
    for table, columns in sorted(tables.items()):
        contract = contracts.get(table.split(".")[-1])
        declared = {f.name: f.classification for f in contract.fields} if contract else {}
        out[table] = {c: declared.get(c, "unknown") for c in sorted(columns)}
    return out


def is_personal(column: str, classification: str) -> bool:
    return (
        classification in PERSONAL_CLASSIFICATIONS
        or column in PERSON_KEY_COLUMNS
        or column.endswith(("_hash", "_masked"))
    )


# --- recording -----------------------------------------------------------------------------------


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def reader() -> str:
    return f"{_user()}@{socket.gethostname()}"


def record_access(
    lake: Lake,
    query: str,
    *,
    con: duckdb.DuckDBPyConnection | None,
    rows: int | None,
    status: str,
    role: str,
    seconds: float,
    who: str | None = None,
) -> dict[str, Any]:
    """Append the ``access`` entry of one query (``status``: ran, refused or failed)."""
    footprint = columns_read(con, query) if con is not None else {}
    text = (
        redacted(con, query) if con is not None else _NUMBER_LITERAL.sub("?", _STRING_LITERAL.sub("?", query))
    )
    read = classified(footprint or {})
    # a query whose plan cannot be shown counts as personal: the rule must not miss what it cannot see
    personal = footprint is None or any(is_personal(c, k) for cols in read.values() for c, k in cols.items())
    return append_entry(
        lake,
        ACCESS_KIND,
        {
            "reader": who or reader(),
            # who, as `audit show` lists it (not the command line: it quotes the query's literals)
            "actor": {"user": _user(), "host": socket.gethostname(), "pid": os.getpid()},
            "role": role,
            "status": status,
            "query_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            "query": text,
            "tables": sorted(read),
            "columns": read,
            "classifications": sorted({k for cols in read.values() for k in cols.values()}),
            "plan_read": footprint is not None,
            "personal": personal,
            "rows": rows,
            "personal_rows": rows if personal and rows else 0,
            "seconds": seconds,
        },
    )


def audited_query(query: str, fmt: str = "table", *, lake: Lake | None = None, **options: Any) -> str:
    """``omnilake sql``: run the query (``omnilake.sql.run_query``) and record it, refused or not."""
    from omnilake.analyst_views import analyst_role
    from omnilake.lake import get_lake
    from omnilake.sql import ReadOnlyQueryError, run_query

    lake = lake or get_lake()
    role = analyst_role()
    started = time.perf_counter()
    recorded: dict[str, Any] = {}

    def observe(con: duckdb.DuckDBPyConnection, rows: int) -> None:
        recorded["entry"] = record_access(
            lake, query, con=con, rows=rows, status="ran", role=role, seconds=time.perf_counter() - started
        )

    try:
        return run_query(query, fmt, observe=observe, **options)  # type: ignore[arg-type]
    except OmnilakeError as exc:
        if "entry" not in recorded:
            refused = isinstance(exc, ReadOnlyQueryError) or type(exc).__name__ == "AnalystAccessError"
            record_access(
                lake,
                query,
                con=None,
                rows=None,
                status="refused" if refused else "failed",
                role=role,
                seconds=time.perf_counter() - started,
            )
        raise


# --- summaries and the unusual-access rule -------------------------------------------------------


def access_entries(lake: Lake, since: date | None = None) -> list[dict[str, Any]]:
    entries = [e for e in read_entries(lake) if e.get("kind") == ACCESS_KIND]
    if since is not None:
        entries = [e for e in entries if _day(e) >= since]
    return entries


def _day(entry: dict[str, Any]) -> date:
    return datetime.fromisoformat(entry["recorded_at"]).astimezone(UTC).date()


@dataclass(frozen=True)
class ReaderDay:
    """One reader's queries on one UTC day."""

    day: date
    reader: str
    queries: int
    refused: int
    rows: int
    personal_rows: int
    tables: tuple[str, ...]


def reader_days(entries: Iterable[dict[str, Any]]) -> list[ReaderDay]:
    grouped: dict[tuple[date, str], list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        grouped[(_day(entry), entry.get("reader", "?"))].append(entry)
    return [
        ReaderDay(
            day,
            who,
            len(found),
            sum(1 for e in found if e.get("status") != "ran"),
            sum(e.get("rows") or 0 for e in found),
            sum(e.get("personal_rows") or 0 for e in found),
            tuple(sorted({t for e in found for t in e.get("tables") or []})),
        )
        for (day, who), found in sorted(grouped.items())
    ]


@dataclass(frozen=True)
class AccessFlag:
    """A reader who returned more personal rows in a day than the threshold."""

    day: date
    reader: str
    personal_rows: int
    threshold: int

    @property
    def check(self) -> str:
        return "personal_rows_per_reader_per_day"

    def describe(self) -> str:
        return (
            f"{self.reader} returned {self.personal_rows:,} personal rows through omnilake sql on {self.day} "
            f"(threshold {self.threshold:,} a day)"
        )


def personal_rows_threshold() -> int:
    from omnilake.settings import get_settings

    return get_settings().access_personal_rows_per_day


def flagged_access(
    lake: Lake, *, since: date | None = None, threshold: int | None = None
) -> list[AccessFlag]:
    """Reader-days over the threshold (``since`` the day given; default: yesterday and today, UTC)."""
    threshold = personal_rows_threshold() if threshold is None else threshold
    since = since or (datetime.now(UTC).date() - timedelta(days=1))
    return [
        AccessFlag(d.day, d.reader, d.personal_rows, threshold)
        for d in reader_days(access_entries(lake, since))
        if d.personal_rows > threshold
    ]


def audit_access_command(days: int = 7, lake: Lake | None = None) -> None:
    """``omnilake audit access``: per day and reader, queries, rows and personal rows; flags last."""
    from rich.console import Console
    from rich.table import Table as RichTable

    from omnilake.audit import audit_path
    from omnilake.lake import get_lake

    lake = lake or get_lake()
    since = datetime.now(UTC).date() - timedelta(days=max(days - 1, 0))
    threshold = personal_rows_threshold()
    table = RichTable(
        "day",
        "reader",
        "queries",
        "refused",
        "rows",
        "personal rows",
        "tables",
        title=f"omnilake sql access since {since}",
    )
    for d in reader_days(access_entries(lake, since)):
        over = d.personal_rows > threshold
        table.add_row(
            str(d.day),
            d.reader,
            str(d.queries),
            str(d.refused),
            f"{d.rows:,}",
            f"[bold red]{d.personal_rows:,}[/]" if over else f"{d.personal_rows:,}",
            ", ".join(t.split(".")[-1] for t in d.tables),
        )
    console = Console()
    console.print(table)
    flags = flagged_access(lake, since=since, threshold=threshold)
    for flag in flags:
        console.print(f"[bold red]unusual access[/]: {flag.describe()}", highlight=False)
    if not flags:
        console.print(
            f"no reader over {threshold:,} personal rows a day; entries in {Path(audit_path(lake))}",
            highlight=False,
        )
