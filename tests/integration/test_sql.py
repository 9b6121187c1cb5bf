"""`omnilake sql`: read-only queries on the warehouse, rendered as a table, CSV or JSON."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from omnilake.analyst_views import create_analyst_views
from omnilake.errors import OmnilakeError
from omnilake.sql import ReadOnlyQueryError, WarehouseUnavailableError, run_query

pytestmark = pytest.mark.integration


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            "create table mart_customer_rfm as select * from (values "
            "('C1', 'Champions', 170.00::decimal(14,2), date '2026-03-10'), "
            "('C2', 'About To Sleep', 32.50::decimal(14,2), date '2026-03-10'), "
            "('C3', null, 5.00::decimal(14,2), date '2026-03-10')"
            ") as t(customer_key, segment, monetary, snapshot_date)"
        )
        create_analyst_views(con)  # as publish_gold does: analysts read masked views
    return path


def test_a_query_renders_as_an_aligned_table_by_default(warehouse):
    out = run_query(
        "select customer_key, segment, monetary from mart_customer_rfm order by 1", warehouse=warehouse
    )
    assert out.splitlines() == [
        "customer_key  segment         monetary",
        "------------  --------------  --------",
        "C1            Champions         170.00",
        "C2            About To Sleep     32.50",
        "C3            NULL                5.00",
        "(3 rows)",
    ]


def test_a_long_result_is_cut_in_table_format_but_not_in_csv(warehouse):
    query = "select * from range(5) as t(n)"
    assert (
        run_query(query, warehouse=warehouse, max_rows=2).splitlines()[-1].startswith("(2 rows shown; more")
    )
    assert run_query(query, "csv", warehouse=warehouse, max_rows=2).splitlines() == [
        "n",
        "0",
        "1",
        "2",
        "3",
        "4",
    ]


def test_csv_and_json_formats(warehouse):
    query = "select customer_key, segment, monetary, snapshot_date from mart_customer_rfm order by 1 limit 2"
    assert run_query(query, "csv", warehouse=warehouse).splitlines() == [
        "customer_key,segment,monetary,snapshot_date",
        "C1,Champions,170.00,2026-03-10",
        "C2,About To Sleep,32.50,2026-03-10",
    ]
    assert json.loads(run_query(query, "json", warehouse=warehouse)) == [
        {"customer_key": "C1", "segment": "Champions", "monetary": 170.0, "snapshot_date": "2026-03-10"},
        {"customer_key": "C2", "segment": "About To Sleep", "monetary": 32.5, "snapshot_date": "2026-03-10"},
    ]


@pytest.mark.parametrize(
    "statement",
    [
        "delete from mart_customer_rfm",
        "drop table mart_customer_rfm",
        "create table notes as select 1",
        "update mart_customer_rfm set segment = 'Lost'",
        "copy mart_customer_rfm to 'out.csv'",
        "attach 'other.duckdb' as other",
        "select 1; drop table mart_customer_rfm",
    ],
)
def test_a_write_statement_is_refused_and_changes_nothing(warehouse, statement):
    with pytest.raises(
        ReadOnlyQueryError, match=r"refused: the warehouse is read-only|one statement at a time"
    ):
        run_query(statement, warehouse=warehouse)
    assert run_query("select count(*) as n from mart_customer_rfm", "csv", warehouse=warehouse) == "n\n3\n"


def test_the_read_only_connection_stops_what_the_statement_check_lets_through(warehouse):
    with pytest.raises(OmnilakeError, match="read-only"):
        run_query("explain analyze create table notes as select 1", warehouse=warehouse)


def test_describe_and_show_are_reads(warehouse):
    assert "customer_key" in run_query("describe mart_customer_rfm", warehouse=warehouse)
    assert "mart_customer_rfm" in run_query("show tables", warehouse=warehouse)


def test_errors_say_what_went_wrong(warehouse, tmp_path):
    with pytest.raises(OmnilakeError, match="query failed: Catalog Error"):
        run_query("select * from no_such_mart", warehouse=warehouse)
    with pytest.raises(OmnilakeError, match="cannot parse the query"):
        run_query("selec 1", warehouse=warehouse)
    with pytest.raises(OmnilakeError, match="unknown format 'xml'"):
        run_query("select 1", "xml", warehouse=warehouse)
    with pytest.raises(WarehouseUnavailableError, match="no warehouse at"):
        run_query("select 1", warehouse=tmp_path / "missing.duckdb")


def test_the_published_warehouse_of_the_configured_lake_is_the_default(lake_home, monkeypatch):
    monkeypatch.setenv("OMNILAKE_ANALYST_ROLE", "privileged")  # a bare table, no analyst views
    lake_home.mkdir(parents=True)
    with duckdb.connect(str(lake_home / "warehouse.duckdb")) as con:
        con.execute("create table fct_sales as select 42 as n")
    assert run_query("select n from fct_sales", "csv") == "n\n42\n"
