"""Silver's plain tables as DuckDB tables, kept in step with the Delta logs, for the gold build.

The staging models read whole silver tables: orders, their lines, the till lines, positions,
customers. Loading them from Delta each build (delta-rs -> Arrow -> DuckDB) costs all of history
every day, though a day adds a few files and rewrites fewer. The mirror keeps each table in a DuckDB
file of the lake's local folder (``mirror_path``), one row per silver row with the file it came
from, and a build first brings it up to date (``refresh``) by the files each log gained and lost
since (``omnilake.gold.delta_files``): the rows of files gone are dropped, those of new files
added. So the mirror always holds exactly the table's rows, as the Arrow scan would give them.

A table is reloaded whole when its mirror cannot be followed: not mirrored yet, another Delta id
(recreated), an older version than recorded, another schema; and every table on a recompute
(``omnilake rebuild``, a full refresh). A table that is missing or uses deletion vectors or column
mapping is left out (its staging model reads silver itself, ``macros/silver_mirror.sql``). The
refresh is one DuckDB transaction; whatever stops it, the file is removed and the build reads
silver. An erasure removes the file (``remove``): it holds customer keys.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from omnilake.gold.delta_files import SOURCE_FILE, LiveFiles, live_files
from omnilake.storage.local import local_dir

if TYPE_CHECKING:
    from omnilake.lake import Lake

log = logging.getLogger(__name__)

# The silver tables staging reads that a plain copy follows: events and their attribution have a
# mirror of their own (omnilake.gold.event_mirror), which applies the attribution rule.
TABLES = (
    "customer_key_merges",
    "customers",
    "inventory_positions",
    "locations",
    "order_lines",
    "order_status_history",
    "orders",
    "pos_lines",
    "products",
)
FORMAT = "1"  # part of each table's recorded layout: a mirror of another format is reloaded


@dataclass(frozen=True)
class MirrorRefresh:
    """What one refresh did: per table ``unchanged``, ``incremental`` or ``reload``."""

    path: Path
    tables: dict[str, str]
    rows_added: int
    rows_dropped: int
    seconds: float


def mirror_path(lake: Lake) -> Path:
    """The mirror's file, beside the warehouse in the lake's local folder (a cache of silver)."""
    return local_dir(lake.root, "_ops", "gold", "silver_tables.duckdb")


def remove(lake: Lake) -> bool:
    """Delete the mirror (an erasure: it holds customer keys); the next build reloads it."""
    path = mirror_path(lake)
    found = path.exists()
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
    return found


def _layout(source: LiveFiles) -> str:
    return hashlib.sha256(f"{FORMAT}|{source.schema}".encode()).hexdigest()[:32]


def refresh(lake: Lake, *, reload: bool = False, tables: Iterable[str] = TABLES) -> MirrorRefresh | None:
    """Bring the mirror up to date with silver (every table reloaded if ``reload``); None when the
    build must read every silver table itself."""
    started = time.perf_counter()
    path = mirror_path(lake)
    modes: dict[str, str] = {}
    added = dropped = 0
    try:
        sources = {name: live_files(lake, name) for name in tables}
        if not any(sources.values()):
            remove(lake)
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(path)) as con:
            con.execute("set TimeZone = 'UTC'")
            con.execute("begin")
            con.execute(
                "create table if not exists mirror_state "
                "(table_name varchar primary key, table_id varchar, version bigint, layout varchar)"
            )
            con.execute("create table if not exists mirrored_files (table_name varchar, path varchar)")
            state = {r[0]: r[1:] for r in con.execute("select * from mirror_state").fetchall()}
            for name, source in sources.items():
                if source is None:
                    _forget(con, name)
                    continue
                recorded = state.get(name)
                if (
                    reload
                    or recorded is None
                    or recorded[0] != source.table_id
                    or recorded[1] > source.version
                    or recorded[2] != _layout(source)
                ):
                    added += _reload(con, name, source)
                    modes[name] = "reload"
                else:
                    plus, minus = _apply_changes(con, name, source)
                    added, dropped = added + plus, dropped + minus
                    modes[name] = "incremental" if plus or minus else "unchanged"
                con.execute("delete from mirror_state where table_name = ?", [name])
                con.execute(
                    "insert into mirror_state values (?, ?, ?, ?)",
                    [name, source.table_id, source.version, _layout(source)],
                )
            con.execute("commit")
    except Exception:  # a cache: whatever stops it, the build reads silver and the next one reloads
        log.warning("silver mirror at %s could not be refreshed; removed, not used", path, exc_info=True)
        remove(lake)
        return None
    outcome = MirrorRefresh(path, modes, added, dropped, round(time.perf_counter() - started, 3))
    log.info("silver mirror: %s", outcome)
    return outcome


def _forget(con: duckdb.DuckDBPyConnection, name: str) -> None:
    con.execute(f'drop table if exists "{name}"')
    con.execute("delete from mirrored_files where table_name = ?", [name])
    con.execute("delete from mirror_state where table_name = ?", [name])


def _reload(con: duckdb.DuckDBPyConnection, name: str, source: LiveFiles) -> int:
    _forget(con, name)
    paths = sorted(source.fragments)
    rows = source.rows_of(paths)
    con.register("mirror_rows", rows)
    con.execute(f'create table "{name}" as select * from mirror_rows')
    con.unregister("mirror_rows")
    _add_files(con, name, paths)
    return rows.num_rows


def _apply_changes(con: duckdb.DuckDBPyConnection, name: str, source: LiveFiles) -> tuple[int, int]:
    """The rows of the files the table lost dropped, of the files it gained added."""
    mirrored = {
        r[0] for r in con.execute("select path from mirrored_files where table_name = ?", [name]).fetchall()
    }
    gone = sorted(mirrored - set(source.fragments))
    new = sorted(set(source.fragments) - mirrored)
    dropped = 0
    if gone:
        con.execute("create or replace temp table gone_files (path varchar)")
        con.executemany("insert into gone_files values (?)", [(p,) for p in gone])
        dropped = con.execute(
            f'delete from "{name}" where {SOURCE_FILE} in (select path from gone_files)'
        ).fetchone()[0]
        con.execute(
            "delete from mirrored_files where table_name = ? and path in (select path from gone_files)",
            [name],
        )
    rows = source.rows_of(new)
    if rows.num_rows:
        con.register("mirror_rows", rows)
        con.execute(f'insert into "{name}" by name select * from mirror_rows')
        con.unregister("mirror_rows")
    _add_files(con, name, new)
    return rows.num_rows, dropped


def _add_files(con: duckdb.DuckDBPyConnection, name: str, paths: list[str]) -> None:
    if paths:
        con.executemany("insert into mirrored_files values (?, ?)", [(name, p) for p in paths])
