"""Least privilege for readers of the warehouse: an ``analyst`` schema of masked views over the marts.

The warehouse holds the marts in schema ``main`` exactly as their contracts (``schemas/gold/``)
declare them; no gold column may be ``restricted`` (``omnilake.classification`` enforces it). For
analysts, ``create_analyst_views`` adds one view per mart in schema ``analyst`` that shows:

- ``public`` and ``internal`` columns as they are;
- ``confidential`` columns masked: a masked display form (``*_masked``, e.g. ``j***@example.com``)
  is kept, a pseudonym (``*_hash``) and any other confidential value (profile tags) become null;
- ``restricted`` columns never (and a table column without a contract never either: a view lists
  its contract's columns only).

Who is an analyst: ``OMNILAKE_ANALYST_ROLE`` (``analyst``, the default, or ``privileged``; read from
the settings object, so until the setting exists everyone is an analyst). ``connect_reader`` opens
the warehouse read-only with file-system access switched off (no ``read_parquet`` of the gold Delta
files, no ``ATTACH``) and, for analysts, resolves unqualified names in ``analyst`` first;
``check_reader_query`` refuses an analyst query that names a table outside ``analyst`` (``main.x``,
``query('...')``, ``pragma_storage_info``), or one DuckDB cannot show as a plain SELECT (PIVOT).

A DuckDB file has no grants: anyone who can read ``warehouse.duckdb`` with their own DuckDB client
can read ``main``. The views protect the sanctioned path (``omnilake sql``, notebooks that use
``connect_reader``); the file itself must be readable only by the privileged group (mode 0640).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb

from omnilake.contracts import Contract, all_contracts
from omnilake.errors import OmnilakeError

log = logging.getLogger(__name__)

ANALYST_SCHEMA = "analyst"
SOURCE_SCHEMA = "main"
ROLES = ("analyst", "privileged")
# Table functions an analyst may call: generators and catalogue listings (names and types, no data).
SAFE_TABLE_FUNCTIONS = frozenset(
    {
        "range",
        "generate_series",
        "unnest",
        "duckdb_tables",
        "duckdb_views",
        "duckdb_columns",
        "duckdb_schemas",
        "duckdb_databases",
        "duckdb_types",
        "duckdb_functions",
        "duckdb_keywords",
    }
)
_EXPLAIN = re.compile(r"^\s*explain(\s+analyze)?\s+", re.IGNORECASE)


class AnalystAccessError(OmnilakeError):
    """An analyst query reaches past the masked views."""


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- the views -----------------------------------------------------------------------------------


def column_expression(name: str, classification: str | None, data_type: str) -> str | None:
    """What an analyst sees of a column: itself, a typed null, or nothing (None: left out)."""
    column = _quoted(name)
    if classification in ("public", "internal"):
        return column
    if classification == "confidential":
        if name.endswith("_masked"):
            return column
        return f"cast(null as {data_type}) as {column}"
    return None  # restricted, or unclassified: never shown


def view_sql(
    table_contract: Contract, column_types: dict[str, str], source_schema: str, schema: str
) -> str | None:
    """``create or replace view <schema>.<mart>`` masking the mart's confidential columns (None when
    the table has no column an analyst may see)."""
    expressions = [
        expression
        for f in table_contract.fields
        if f.name in column_types
        and (expression := column_expression(f.name, f.classification, column_types[f.name])) is not None
    ]
    if not expressions:
        return None
    select = ",\n    ".join(expressions)
    return (
        f"create or replace view {_quoted(schema)}.{_quoted(table_contract.name)} as\n"
        f"select\n    {select}\nfrom {_quoted(source_schema)}.{_quoted(table_contract.name)}"
    )


def create_analyst_views(
    con: duckdb.DuckDBPyConnection,
    contracts: Iterable[Contract] | None = None,
    *,
    source_schema: str = SOURCE_SCHEMA,
    schema: str = ANALYST_SCHEMA,
) -> list[str]:
    """Create (or replace) one masked view per gold mart present in ``source_schema``; returns the
    marts given a view. Call it on the *staging* warehouse after the build, before the swap."""
    gold = [c for c in (contracts or all_contracts().values()) if c.layer == "gold"]
    types: dict[str, dict[str, str]] = {}
    for table, column, data_type in con.execute(
        "select table_name, column_name, data_type from duckdb_columns() "
        "where database_name = current_database() and schema_name = ?",
        [source_schema],
    ).fetchall():
        types.setdefault(table, {})[column] = data_type
    con.execute(f"create schema if not exists {_quoted(schema)}")
    created = []
    for table_contract in sorted(gold, key=lambda c: c.name):
        if table_contract.name not in types:
            continue
        statement = view_sql(table_contract, types[table_contract.name], source_schema, schema)
        if statement is None:
            log.warning("no analyst view for %s: none of its columns is in its contract", table_contract.name)
            continue
        con.execute(statement)
        created.append(table_contract.name)
    log.info("analyst views over %s: %s", source_schema, ", ".join(created))
    return created


# --- readers -------------------------------------------------------------------------------------


def analyst_role(role: str | None = None) -> str:
    """The reader's role: ``role`` if given, else ``OMNILAKE_ANALYST_ROLE`` (default ``analyst``)."""
    if role is None:
        from omnilake.settings import get_settings

        role = getattr(get_settings(), "analyst_role", "analyst")
    if role not in ROLES:
        raise OmnilakeError(f"unknown analyst role {role!r}: use one of {', '.join(ROLES)}")
    return role


def connect_reader(warehouse: str | Path, role: str | None = None) -> duckdb.DuckDBPyConnection:
    """The warehouse, read-only and without file-system access; analysts resolve names in ``analyst``."""
    role = analyst_role(role)
    con = duckdb.connect(str(warehouse), read_only=True, config={"enable_external_access": False})
    if role == "analyst":
        has_views = con.execute(
            "select count(*) from duckdb_views() where database_name = current_database() and schema_name = ?",
            [ANALYST_SCHEMA],
        ).fetchone()[0]
        if not has_views:
            con.close()
            raise AnalystAccessError(
                f"{warehouse} has no {ANALYST_SCHEMA} views: publish the gold layer again "
                "(or set OMNILAKE_ANALYST_ROLE=privileged if you are entitled to the unmasked marts)"
            )
        con.execute(f"set search_path = '{ANALYST_SCHEMA}'")
    return con


def tree_nodes(tree: Any) -> Iterator[dict[str, Any]]:
    """Every object of a JSON tree (DuckDB's serialized statements and plans), depth first."""
    if isinstance(tree, dict):
        yield tree
        for value in tree.values():
            yield from tree_nodes(value)
    elif isinstance(tree, list):
        for item in tree:
            yield from tree_nodes(item)


def _relations(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    return {
        row[0].lower()
        for row in con.execute(
            "select table_name from duckdb_tables() where database_name = current_database() and schema_name = ? "
            "union select view_name from duckdb_views() where database_name = current_database() and schema_name = ?",
            [schema, schema],
        ).fetchall()
    }


def _table_macros(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    return {
        row[0].lower()
        for row in con.execute(
            "select function_name from duckdb_functions() where database_name = current_database() "
            "and schema_name = ? and function_type = 'table_macro'",
            [schema],
        ).fetchall()
    }


def check_reader_query(con: duckdb.DuckDBPyConnection, query: str, role: str | None = None) -> None:
    """Refuse an analyst query that could read past the masked views (privileged readers pass)."""
    if analyst_role(role) == "privileged":
        return
    statement = _EXPLAIN.sub("", query, count=1)
    parsed = json.loads(con.execute("select json_serialize_sql(?)", [statement]).fetchone()[0])
    if parsed.get("error"):
        raise AnalystAccessError(
            f"refused: analysts read the warehouse read-only, with plain SELECT queries over the "
            f"{ANALYST_SCHEMA} views ({parsed.get('error_message', 'this statement cannot be checked')})"
        )
    database = con.execute("select current_database()").fetchone()[0].lower()
    hidden = _relations(con, SOURCE_SCHEMA) - _relations(con, ANALYST_SCHEMA)
    for node in tree_nodes(parsed["statements"]):
        kind = node.get("type")
        if kind == "BASE_TABLE":
            catalog = (node.get("catalog_name") or "").lower()
            schema = (node.get("schema_name") or "").lower()
            table = (node.get("table_name") or "").lower()
            if (
                catalog not in ("", database)
                or schema not in ("", ANALYST_SCHEMA)
                or (not schema and table in hidden)
            ):
                name = ".".join(p for p in (catalog, schema, table) if p)
                raise AnalystAccessError(
                    f"analysts read the masked views in schema {ANALYST_SCHEMA} only, not {name}; "
                    f"query {ANALYST_SCHEMA}.{table} (or just {table})"
                )
        elif kind == "TABLE_FUNCTION":
            function = (node.get("function") or {}).get("function_name", "").lower()
            schema = ((node.get("function") or {}).get("schema") or "").lower()
            if schema in ("", ANALYST_SCHEMA) and function in _table_macros(con, ANALYST_SCHEMA):
                continue  # a macro over the masked views (e.g. rfm_as_known_at)
            if function not in SAFE_TABLE_FUNCTIONS:
                raise AnalystAccessError(
                    f"analysts may not call the table function {function}(); query the {ANALYST_SCHEMA} views"
                )
