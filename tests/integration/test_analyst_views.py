"""Least privilege on the warehouse: analysts read masked views, read-only, and cannot reach past them.

A tiny warehouse by hand: every mart typed by its contract, one dim_customer row with profile tags
(confidential), and a stand-in mart ``dim_contact`` whose contract (given to the function, not under
schemas/) has a pseudonym, a masked form and an internal column.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from omnilake.analyst_views import (
    AnalystAccessError,
    check_reader_query,
    connect_reader,
    create_analyst_views,
)
from omnilake.classification import violations
from omnilake.contracts import Contract, Field, all_contracts, contract
from omnilake.publish import MARTS

pytestmark = pytest.mark.integration

CONTACT = Contract(
    name="dim_contact",
    layer="gold",
    fields=(
        Field("customer_key", "string", classification="internal"),
        Field("email_hash", "string", classification="confidential"),
        Field("email_masked", "string", classification="confidential"),
        Field("raw_note", "string", classification="restricted"),
    ),
)


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        for mart in MARTS:
            columns = ", ".join(f'"{f.name}" {f.type}' for f in contract("gold", mart).fields)
            con.execute(f"create table main.{mart} ({columns})")
        con.execute(
            "insert into dim_customer (customer_key, channel_count, is_member, email_opt_in, sms_opt_in, "
            "profiling_consent, online_orders, online_revenue, store_orders, store_revenue, price_sensitivity, "
            "channel_preference, content_interest) "
            "values ('C1', 2, true, true, false, true, 3, 120.50, 1, 20.00, 'high', 'online', 'shoes')"
        )
        con.execute(
            "create table main.dim_contact (customer_key varchar, email_hash varchar, email_masked varchar, raw_note varchar)"
        )
        con.execute("insert into dim_contact values ('C1', repeat('a', 64), 'j***@example.com', 'call me')")
        created = create_analyst_views(con, [*all_contracts().values(), CONTACT])
        assert created == sorted([*MARTS, "dim_contact"])
    return path


def test_confidential_columns_are_masked_and_restricted_ones_left_out(warehouse):
    with connect_reader(warehouse, "analyst") as con:
        row = con.execute("select * from dim_customer").fetchone()
        columns = [d[0] for d in con.description]
        profile = dict(zip(columns, row, strict=True))
        assert profile["customer_key"] == "C1" and profile["online_orders"] == 3
        assert (profile["price_sensitivity"], profile["channel_preference"], profile["content_interest"]) == (
            None,
            None,
            None,
        )
        assert columns == contract("gold", "dim_customer").field_names
        contact = con.execute("select * from dim_contact").fetchall()
        assert [d[0] for d in con.description] == ["customer_key", "email_hash", "email_masked"]
        assert contact == [("C1", None, "j***@example.com")]


def test_a_privileged_reader_sees_the_marts_unmasked(warehouse):
    with connect_reader(warehouse, "privileged") as con:
        check_reader_query(con, "select price_sensitivity from main.dim_customer", "privileged")
        assert con.execute("select price_sensitivity from dim_customer").fetchone() == ("high",)


@pytest.mark.parametrize(
    "query",
    [
        "select * from main.dim_customer",
        'select * from "main"."dim_customer"',
        "select (select max(price_sensitivity) from main.dim_customer)",
        "with t as (select * from main.dim_customer) select * from t",
        "summarize main.dim_customer",
        "select * from query('select * from main.dim_customer')",
        "select * from pragma_storage_info('main.dim_customer')",
        "explain analyze select * from main.dim_customer",
        "pivot dim_customer on tier",
    ],
)
def test_an_analyst_query_that_reaches_past_the_views_is_refused(warehouse, query):
    with connect_reader(warehouse, "analyst") as con, pytest.raises(AnalystAccessError):
        check_reader_query(con, query, "analyst")


@pytest.mark.parametrize(
    "query",
    [
        "select customer_key, online_orders from dim_customer",
        "select * from analyst.dim_customer d join analyst.dim_contact c using (customer_key)",
        "with t as (select * from dim_customer) select count(*) from t",
        "describe dim_customer",
        "show tables",
        "select table_name from duckdb_tables()",
        "select * from range(3)",
        "explain select * from fct_sales",
    ],
)
def test_ordinary_analyst_queries_pass(warehouse, query):
    with connect_reader(warehouse, "analyst") as con:
        check_reader_query(con, query, "analyst")
        con.execute(query).fetchall()


def test_analyst_connections_are_read_only_and_cannot_touch_files(warehouse, tmp_path):
    gold = tmp_path / "gold.parquet"
    with duckdb.connect() as con:
        con.execute(f"copy (select 'high' as price_sensitivity) to '{gold}' (format parquet)")
    with connect_reader(warehouse, "analyst") as con:
        with pytest.raises(duckdb.Error, match=r"read-only|read only"):
            con.execute("create table main.x (a int)")
        with pytest.raises(duckdb.Error, match="disabled"):
            con.execute(f"select * from read_parquet('{gold}')")


def test_a_warehouse_without_views_is_refused_to_analysts(tmp_path):
    bare = tmp_path / "bare.duckdb"
    duckdb.connect(str(bare)).close()
    with pytest.raises(AnalystAccessError, match="publish the gold layer again"):
        connect_reader(bare, "analyst")


def test_the_built_warehouse_matches_the_gold_contracts(warehouse, tmp_path):
    assert [str(v) for v in violations(warehouse=warehouse) if v.where.startswith("gold.dim_contact")] == [
        "gold.dim_contact: the warehouse mart has no contract; add schemas/gold/dim_contact.yaml classifying its "
        "columns [gold_without_contract]"
    ]
    other = [v for v in violations(warehouse=warehouse) if not v.where.startswith("gold.dim_contact")]
    assert [v.rule for v in other if v.rule.startswith("gold")] == []
