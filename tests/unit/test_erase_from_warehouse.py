"""Erasure from a DuckDB warehouse: a person with no online orders, and the change capture tables."""

import duckdb

from omnilake.erasure import erase_from_warehouse


def _warehouse(path):
    with duckdb.connect(str(path)) as con:
        con.execute("create table main.dim_customer (customer_key varchar, city varchar)")
        con.execute("insert into main.dim_customer values ('ck_a', 'Lyon'), ('ck_b', 'Nice')")
        con.execute("create schema change_capture")
        con.execute(
            "create table change_capture.sales_source_digests (channel varchar, order_id varchar, source_digest varchar)"
        )
        con.execute(
            "insert into change_capture.sales_source_digests values "
            "('online', 'O1', '1-ab'), ('online', 'O2', '1-cd'), ('store', 'O1', '2-ef')"
        )
        con.execute(
            "create table change_capture.customer_tag_day_digests "
            "(customer_key varchar, digest_date date, input_digest varchar, reference_digest varchar)"
        )
        con.execute(
            "insert into change_capture.customer_tag_day_digests values "
            "('ck_a', null, '1-ab', '9-ff'), ('ck_a', '2026-01-02', '2-cd', '9-ff'), ('ck_b', null, '1-cd', '9-ff')"
        )


def test_a_person_without_online_orders_is_erased(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    _warehouse(path)
    removed = erase_from_warehouse(path, {"ck_a"}, set())
    assert removed == {"warehouse.dim_customer": 1, "warehouse.change_capture.customer_tag_day_digests": 2}
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("select customer_key from main.dim_customer").fetchall() == [("ck_b",)]
        assert con.execute("select count(*) from change_capture.sales_source_digests").fetchone()[0] == 3
        # the person's tag input digests (every date) go, the other person's stay
        digests = con.execute("select customer_key from change_capture.customer_tag_day_digests").fetchall()
        assert digests == [("ck_b",)]


def test_the_erased_online_orders_leave_the_sales_change_capture(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    _warehouse(path)
    removed = erase_from_warehouse(path, {"ck_a"}, {"O1"})
    assert removed == {
        "warehouse.dim_customer": 1,
        "warehouse.change_capture.sales_source_digests": 1,
        "warehouse.change_capture.customer_tag_day_digests": 2,
    }
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "select channel, order_id from change_capture.sales_source_digests order by all"
        ).fetchall()
    # the store basket that happens to share the id is not the person's online order
    assert rows == [("online", "O2"), ("store", "O1")]
