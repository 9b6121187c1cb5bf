"""The silver mirror follows each table's Delta log and always holds exactly the table's rows."""

import shutil
from datetime import date

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from omnilake.gold import silver_mirror
from omnilake.lake import Lake
from omnilake.settings import LakeRoot

ORDERS = pa.schema([("order_id", pa.string()), ("total", pa.float64()), ("business_date", pa.date32())])


def _orders(*rows: tuple) -> pa.Table:
    return pa.Table.from_pylist([{"order_id": o, "total": t, "business_date": d} for o, t, d in rows], ORDERS)


def _write(lake: Lake, table: pa.Table, **options) -> None:
    write_deltalake(lake.path("silver", "orders"), table, partition_by=["business_date"], **options)


def _silver(lake: Lake) -> list[tuple]:
    rows = DeltaTable(lake.path("silver", "orders")).to_pyarrow_table().to_pylist()
    return sorted(tuple(r.values()) for r in rows)


def _mirrored(lake: Lake, columns: str = "order_id, total, business_date") -> list[tuple]:
    with duckdb.connect(str(silver_mirror.mirror_path(lake)), read_only=True) as con:
        return con.execute(f"select {columns} from orders order by all").fetchall()


def _refresh(lake: Lake, **options) -> dict[str, str]:
    outcome = silver_mirror.refresh(lake, tables=("orders", "order_lines"), **options)
    assert outcome is not None
    return outcome.tables


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake(LakeRoot(str(tmp_path / "lake")))


D1, D2, D3 = date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)


def test_new_files_are_added_rewritten_partitions_replaced_and_a_missing_table_left_out(lake):
    _write(lake, _orders(("o1", 10.0, D1), ("o2", 20.0, D1)), mode="append")
    assert _refresh(lake) == {"orders": "reload"}  # order_lines was never delivered: not mirrored
    assert _mirrored(lake) == _silver(lake)

    _write(lake, _orders(("o3", 30.0, D2)), mode="append")
    assert _refresh(lake) == {"orders": "incremental"}
    assert _mirrored(lake) == _silver(lake) == [("o1", 10.0, D1), ("o2", 20.0, D1), ("o3", 30.0, D2)]

    # a late correction rewrites day 1's partition: its old file's rows go, the new file's come
    _write(lake, _orders(("o1", 11.0, D1)), mode="overwrite", predicate="business_date = '2026-01-01'")
    assert _refresh(lake) == {"orders": "incremental"}
    assert _mirrored(lake) == _silver(lake) == [("o1", 11.0, D1), ("o3", 30.0, D2)]

    # a header-only day: a commit without a data file
    _write(lake, _orders(), mode="append")
    assert _refresh(lake) == {"orders": "unchanged"}
    assert _mirrored(lake) == _silver(lake)

    # the partition column comes from the file's partition values, as the Arrow scan gives it
    with duckdb.connect(str(silver_mirror.mirror_path(lake)), read_only=True) as con:
        per_day = con.execute("select business_date, count(*) from orders group by 1 order by 1").fetchall()
    assert per_day == [(D1, 1), (D2, 1)]


def test_a_recreated_table_a_new_schema_and_a_recompute_reload_the_table(lake):
    _write(lake, _orders(("o1", 10.0, D1)), mode="append")
    _refresh(lake)
    # recreated (another Delta id), its first version as the old one's: reloaded, not followed
    shutil.rmtree(lake.path("silver", "orders"))
    _write(lake, _orders(("o1", 10.0, D1), ("o4", 40.0, D3)), mode="append")
    assert _refresh(lake) == {"orders": "reload"}
    assert _mirrored(lake) == _silver(lake)

    wider = _orders(("o5", 50.0, D3)).append_column("channel", pa.array(["web"]))
    _write(lake, wider, mode="append", schema_mode="merge")
    assert _refresh(lake) == {"orders": "reload"}  # another schema: reloaded with the new column
    assert _mirrored(lake, "order_id, channel") == [("o1", None), ("o4", None), ("o5", "web")]

    assert _refresh(lake, reload=True) == {"orders": "reload"}
    assert _mirrored(lake) == [("o1", 10.0, D1), ("o4", 40.0, D3), ("o5", 50.0, D3)]


def test_no_table_to_mirror_removes_the_file(lake):
    _write(lake, _orders(("o1", 10.0, D1)), mode="append")
    _refresh(lake)
    shutil.rmtree(lake.path("silver", "orders"))
    assert silver_mirror.refresh(lake, tables=("orders",)) is None
    assert not silver_mirror.mirror_path(lake).exists()


def test_a_damaged_file_is_removed_and_reloaded_by_the_next_refresh(lake):
    _write(lake, _orders(("o1", 10.0, D1)), mode="append")
    _refresh(lake)
    silver_mirror.mirror_path(lake).write_bytes(b"not a database")
    assert silver_mirror.refresh(lake, tables=("orders",)) is None
    assert not silver_mirror.mirror_path(lake).exists()
    assert _refresh(lake) == {"orders": "reload"}
    assert _mirrored(lake) == _silver(lake)
