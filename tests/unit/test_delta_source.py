"""The dbt delta plugin's DuckDB read of a Delta table (omnilake.gold.delta_source).

DuckDB reads the files delta-rs lists; what it reads must be what the stock pyarrow dataset gives,
row for row and type for type, and a table it would not read exactly must fall back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from omnilake.gold.delta_source import parquet_scan_sql, table_location

SCHEMA = pa.schema(
    [
        ("order_id", pa.string()),
        ("quantity", pa.int32()),
        ("amount", pa.decimal128(12, 2)),
        ("changed_at", pa.timestamp("us", tz="UTC")),
        ("business_date", pa.date32()),
    ]
)


def _rows(*rows: tuple) -> pa.Table:
    return pa.Table.from_pylist([dict(zip(SCHEMA.names, r, strict=True)) for r in rows], schema=SCHEMA)


def _read(sql_or_dataset) -> tuple[list[tuple], list[str]]:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    if isinstance(sql_or_dataset, str):
        relation = con.sql(sql_or_dataset)
    else:
        con.register("dataset", sql_or_dataset)
        relation = con.sql("select * from dataset")
    types = [str(t) for t in relation.types]
    return sorted(relation.order("order_id").fetchall()), [*relation.columns, *types]


def test_a_partitioned_table_reads_as_the_pyarrow_dataset_does(tmp_path):
    path = str(tmp_path / "orders")
    at = datetime(2026, 1, 2, 10, 30, tzinfo=UTC)
    write_deltalake(
        path, _rows(("o1", 2, Decimal("9.99"), at, date(2026, 1, 1))), partition_by=["business_date"]
    )
    write_deltalake(
        path,
        _rows(("o2", 1, Decimal("0.50"), None, date(2026, 1, 2)), ("o3", None, None, at, date(2026, 1, 2))),
        partition_by=["business_date"],
        mode="append",
    )
    write_deltalake(  # o1 deleted by an overwrite of its partition: its file leaves the table
        path,
        _rows(("o4", 5, Decimal("1.00"), at, date(2026, 1, 1))),
        partition_by=["business_date"],
        mode="overwrite",
        predicate="business_date = '2026-01-01'",
    )
    table = DeltaTable(path)
    sql = parquet_scan_sql(table)

    assert sql is not None and "read_parquet" in sql
    rows, described = _read(sql)
    assert rows == [
        ("o2", 1, Decimal("0.50"), None, date(2026, 1, 2)),
        ("o3", None, None, at, date(2026, 1, 2)),
        ("o4", 5, Decimal("1.00"), at, date(2026, 1, 1)),
    ]
    assert (rows, described) == _read(table.to_pyarrow_dataset())
    assert described[5:] == ["VARCHAR", "INTEGER", "DECIMAL(12,2)", "TIMESTAMP WITH TIME ZONE", "DATE"]


def test_a_filter_on_the_partition_column_reads_only_its_files(tmp_path):
    path = str(tmp_path / "orders")
    at = datetime(2026, 1, 2, 10, 30, tzinfo=UTC)
    for day, order in ((date(2026, 1, 1), "o1"), (date(2026, 1, 2), "o2")):
        write_deltalake(
            path, _rows((order, 1, Decimal("1.00"), at, day)), partition_by=["business_date"], mode="append"
        )
    con = duckdb.connect()
    plan = "\n".join(
        row[1]
        for row in con.sql(
            f"explain analyze select * from ({parquet_scan_sql(DeltaTable(path))}) "
            "where business_date = date '2026-01-02'"
        ).fetchall()
    )
    # of the two files, the one of 2026-01-01 is pruned by its partition directory
    assert "Scanning Files: 1/2" in plan, plan


def test_tables_duckdb_would_not_read_exactly_fall_back_to_the_dataset(tmp_path):
    null_partition = str(tmp_path / "null_partition")
    write_deltalake(null_partition, _rows(("o1", 1, None, None, None)), partition_by=["business_date"])
    assert parquet_scan_sql(DeltaTable(null_partition)) is None

    nested = str(tmp_path / "nested")
    write_deltalake(nested, pa.table({"id": ["a"], "tags": [["x", "y"]]}))
    assert parquet_scan_sql(DeltaTable(nested)) is None


@pytest.mark.parametrize(
    ("path", "home", "expected"),
    [
        ("silver/events", "/lakes/one", "/lakes/one/silver/events"),
        ("silver/events", "s3://bucket/lake", "s3://bucket/lake/silver/events"),
        ("/elsewhere/events", "/lakes/one", "/elsewhere/events"),
        ("s3://other/events", "/lakes/one", "s3://other/events"),
    ],
)
def test_a_relative_table_path_is_under_the_lake_root(monkeypatch, path, home, expected):
    monkeypatch.setenv("OMNILAKE_HOME", home)
    assert table_location(path) == expected
