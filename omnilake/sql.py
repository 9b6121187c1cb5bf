"""Read-only SQL on the analysts' warehouse (``omnilake sql "<query>"``).

The warehouse is opened with ``read_only=True``, so a query never takes DuckDB's writer lock and
any number of analysts can query while the pipeline builds the next warehouse beside it. Write
statements are refused before they reach DuckDB, with a message saying so; the read-only
connection is the second line of defence (``explain analyze`` of a write, for example).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import duckdb

from omnilake.analyst_views import check_reader_query, connect_reader
from omnilake.errors import OmnilakeError

Format = Literal["table", "csv", "json"]
FORMATS: tuple[str, ...] = ("table", "csv", "json")
READ_STATEMENTS = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})
DEFAULT_MAX_ROWS = 1000


class ReadOnlyQueryError(OmnilakeError):
    """The query would change the warehouse, or is not a single read statement."""


class WarehouseUnavailableError(OmnilakeError):
    """There is no published warehouse to query, or it cannot be opened."""


def run_query(
    query: str,
    fmt: Format = "table",
    *,
    warehouse: str | Path | None = None,
    max_rows: int | None = DEFAULT_MAX_ROWS,
    observe: Callable[[duckdb.DuckDBPyConnection, int], None] | None = None,
) -> str:
    """Run one read-only statement on the warehouse and render its result.

    ``fmt`` is ``table`` (aligned text for a terminal, at most ``max_rows`` rows), ``csv`` or ``json``
    (every row). ``warehouse`` defaults to the published ``<lake>/warehouse.duckdb``. ``observe`` is
    called with the open connection and the number of rows returned, before it closes (the access
    audit, ``omnilake.governance.access_audit``, reads the query's plan there).
    """
    if fmt not in FORMATS:
        raise OmnilakeError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    check_read_only(query)
    path = Path(warehouse) if warehouse is not None else _published_warehouse()
    if not path.exists():
        raise WarehouseUnavailableError(
            f"no warehouse at {path}: build and publish the gold layer first (omnilake run)"
        )
    limit = max_rows if fmt == "table" else None
    try:
        con = connect_reader(path)
    except duckdb.Error as exc:
        raise WarehouseUnavailableError(f"cannot open {path} read-only: {_first_line(exc)}") from None
    with con:
        try:
            check_reader_query(con, query)
            cursor = con.execute(query)
            columns = [d[0] for d in cursor.description or []]
            rows = cursor.fetchall() if limit is None else cursor.fetchmany(limit + 1)
        except duckdb.Error as exc:
            raise OmnilakeError(f"query failed: {_first_line(exc)}") from None
        if observe is not None:
            observe(con, len(rows) if limit is None else min(len(rows), limit))
    if fmt == "csv":
        return _as_csv(columns, rows)
    if fmt == "json":
        return _as_json(columns, rows)
    truncated = limit is not None and len(rows) > limit
    return _as_table(columns, rows[:limit] if truncated else rows, truncated)


def check_read_only(query: str) -> None:
    """Refuse anything but exactly one SELECT (incl. WITH, SHOW, DESCRIBE, SUMMARIZE) or EXPLAIN."""
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise OmnilakeError(f"cannot parse the query: {_first_line(exc)}") from None
    if not statements:
        raise ReadOnlyQueryError("the query is empty")
    if len(statements) > 1:
        raise ReadOnlyQueryError(f"run one statement at a time (got {len(statements)})")
    kind = statements[0].type
    if kind not in READ_STATEMENTS:
        raise ReadOnlyQueryError(
            f"refused: the warehouse is read-only and this is a {kind.name} statement; "
            "only SELECT queries (and EXPLAIN) run here. The marts are rebuilt by the pipeline."
        )


def _published_warehouse() -> Path:
    from omnilake.lake import get_lake

    lake = get_lake()
    if not lake.root.is_local:  # the published version, fetched into the lake's local folder
        from omnilake.storage.local import local_dir
        from omnilake.storage.warehouse import fetch_warehouse

        fetched = fetch_warehouse(lake.root, local_dir(lake.root, "warehouse.duckdb"))
        if fetched is None:
            raise WarehouseUnavailableError(
                f"no warehouse published at {lake.root}: run the pipeline (omnilake run) first"
            )
        return fetched
    return Path(lake.warehouse_path)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# --- rendering -----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _as_table(columns: Sequence[str], rows: Sequence[tuple], truncated: bool) -> str:
    numeric = [
        all(isinstance(row[i], int | float | Decimal) or row[i] is None for row in rows) and bool(rows)
        for i in range(len(columns))
    ]
    cells = [[_text(v) for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if numeric[i] else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ).rstrip()

    out = [line(columns), "  ".join("-" * w for w in widths)]
    out.extend(line(r) for r in cells)
    count = f"{len(rows)} row" + ("" if len(rows) == 1 else "s")
    out.append(f"({count} shown; more not shown, use --format csv for all)" if truncated else f"({count})")
    return "\n".join(out)


def _as_csv(columns: Sequence[str], rows: Sequence[tuple]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if v is None else _text(v) for v in row])
    return buffer.getvalue()


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _as_json(columns: Sequence[str], rows: Sequence[tuple]) -> str:
    records = [dict(zip(columns, row, strict=True)) for row in rows]
    return json.dumps(records, default=_json_value, ensure_ascii=False, indent=2)
