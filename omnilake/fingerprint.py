"""Content fingerprints of lake tables: did two runs leave the same data?

A fingerprint is a table's row count and an order-independent digest of its rows (the sums of the
two halves of an MD5 per row, so it sees a duplicated or a missing row, not the order of files). Columns the
contract marks ``lineage`` (the batch that wrote a row, its load time) are left out: they differ
between two correct runs of the same data. ``ops`` tables are logs of the runs themselves and are
not fingerprinted; the analyst warehouse is, table by table.

Used by the reliability tests (a rerun or a crash-and-rerun must match a clean run) and by
``omnilake fingerprint`` to compare two environments.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
from deltalake import DeltaTable

from omnilake.lake import Lake, Table

LAYERS = ("bronze", "quarantine", "silver", "gold")


@dataclass(frozen=True)
class Fingerprint:
    rows: int
    digest: str  # hex; "" for an absent table

    def __str__(self) -> str:
        return f"{self.rows} rows, {self.digest[:16] or 'absent'}"


ABSENT = Fingerprint(0, "")


def _digest(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> Fingerprint:
    row = ", ".join(f'"{c}" := "{c}"' for c in columns)
    rows, upper, lower = con.execute(
        # The row as JSON hashes the same in every run, nested values and nulls included.
        f"select count(*), coalesce(sum(md5_number_upper(j)), 0), coalesce(sum(md5_number_lower(j)), 0) "
        f"from (select to_json(struct_pack({row}))::varchar as j from {relation})"
    ).fetchone()
    return Fingerprint(int(rows), f"{int(upper) % (1 << 64):016x}{int(lower) % (1 << 64):016x}")


def table_fingerprint(table: Table, version: int | None = None) -> Fingerprint:
    """The fingerprint of one Delta table at ``version`` (default: the latest); ``ABSENT`` if the
    table does not exist."""
    if not DeltaTable.is_deltatable(table.path):
        return ABSENT
    columns = [f.name for f in table.contract.fields if not f.lineage]
    with duckdb.connect() as con:
        con.register("delta_table", DeltaTable(table.path, version=version).to_pyarrow_dataset())
        return _digest(con, _current_rows(table, "delta_table"), columns)


def _current_rows(table: Table, relation: str) -> str:
    """``relation``, or for a table kept in revisions (contract option ``latest_by``: the column
    whose highest value among rows of the other keys is current) its current rows: what its readers
    see, whatever superseded rows a run has not dropped yet."""
    latest_by = table.contract.options.get("latest_by")
    if not latest_by:
        return relation
    keys = ", ".join(f'"{k}"' for k in table.contract.keys if k != latest_by)
    return f'(select * from {relation} qualify row_number() over (partition by {keys} order by "{latest_by}" desc) = 1)'


def lake_fingerprints(lake: Lake, layers: tuple[str, ...] = LAYERS) -> dict[str, Fingerprint]:
    """Every contracted table of ``layers``, by qualified name (absent tables included, as ABSENT)."""
    return {t.qualified_name: table_fingerprint(t) for layer in layers for t in lake.tables(layer)}


def warehouse_fingerprints(path: str | Path) -> dict[str, Fingerprint]:
    """Every table of the analyst warehouse's ``main`` schema (read-only, so it never blocks a swap)."""
    if not Path(path).exists():
        return {}
    with duckdb.connect(str(path), read_only=True) as con:
        names = [
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'main' order by 1"
            ).fetchall()
        ]
        result = {}
        for name in names:
            columns = [r[0] for r in con.execute(f'describe main."{name}"').fetchall()]
            result[f"warehouse.{name}"] = _digest(con, f'main."{name}"', columns)
        return result


def all_fingerprints(lake: Lake) -> dict[str, Fingerprint]:
    """Every table of ``LAYERS`` and every mart of the lake's analyst warehouse (on an object-store
    lake, the published version, fetched into the lake's local folder)."""
    warehouse: str | Path | None = lake.warehouse_path
    if not lake.root.is_local:
        from omnilake.storage.local import local_dir
        from omnilake.storage.warehouse import fetch_warehouse

        warehouse = fetch_warehouse(lake.root, local_dir(lake.root, "warehouse.duckdb"))
    return {**lake_fingerprints(lake), **(warehouse_fingerprints(warehouse) if warehouse else {})}
