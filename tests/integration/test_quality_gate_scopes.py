"""The silver gate checks what changed since its last passing run, with the whole table's verdicts.

Two small partitioned tables (orders by order_date, order lines) are written through omnilake.delta
and gated with their contract checks and a referential rule. Each case counts on Delta's rule that a
rewritten row lands in a new file: the gate reads the files the log added since the version it last
checked in a passing gate, so a row changed in place (same ``_batch_id``) is checked again.
"""

import shutil
from datetime import date

import pytest
from deltalake import DeltaTable

from omnilake import delta
from omnilake.contracts import Contract, Field, all_contracts
from omnilake.errors import QualityGateError
from quality.checks import GateContext
from quality.config import QualityConfig
from quality.contract_checks import contract_suite
from quality.gates import run_suites
from quality.rules import references
from quality.scope import rows_near

pytestmark = pytest.mark.integration

D1, D2, D3 = date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)
ORDERS = Contract(
    name="orders",
    layer="silver",
    keys=("order_id",),
    partition_by=("order_date",),
    fields=(
        Field("order_id", "string", required=True),
        Field("status", "string", allowed_values=("placed", "shipped")),
        Field("order_date", "date", required=True),
        Field("_batch_id", "string", required=True),
    ),
)
LINES = Contract(
    name="order_lines",
    layer="silver",
    keys=("order_id", "line"),
    fields=(Field("order_id", "string", required=True), Field("line", "int", required=True)),
)


@pytest.fixture
def tables(lake, monkeypatch):
    # These tables are tiny: every day rewrites most of them, which is checked whole by default.
    monkeypatch.setattr("quality.scope.WHOLE_TABLE_SHARE", 2.0)
    registry = {**all_contracts(), "silver.orders": ORDERS, "silver.order_lines": LINES}
    monkeypatch.setattr("omnilake.lake.all_contracts", lambda: registry)
    return lake.table("silver.orders"), lake.table("silver.order_lines")


def _orders(spark, rows):
    return spark.createDataFrame(rows, ORDERS.spark_schema())


def _lines(spark, rows):
    return spark.createDataFrame(rows, LINES.spark_schema())


def _gate(lake, run_id, with_lines=False):
    """Run the orders contract suite (and the lines' reference to orders); every result by check."""
    suites = [contract_suite(lake.table("silver.orders"))]
    if with_lines:
        suites.append(
            references("silver.order_lines", "order_id", "silver.orders", row_id=("order_id", "line"))
        )
    try:
        report = run_suites(GateContext("silver", run_id, lake, QualityConfig(data_docs=False)), suites)
    except QualityGateError as error:
        report = error.report
    return {r.expectation: (r.success, r.observed) for r in report.results}


def _scopes(lake, run_id):
    rows = DeltaTable(lake.table("ops.gate_scopes").path).to_pyarrow_table().to_pylist()
    return {
        (r["suite"], r["table_name"]): (r["since_version"], r["version"], r["held"], r["gate_passed"])
        for r in rows
        if r["run_id"] == run_id
    }


def test_first_run_checks_every_row_then_only_rows_written_since(spark, lake, tables):
    orders, _ = tables
    delta.append(
        _orders(spark, [("o1", "placed", D1, "b1"), ("o2", "placed", D1, "b1"), ("o3", "shipped", D2, "b1")]),
        orders,
    )  # version 1 (version 0 created the table)
    assert _gate(lake, "r1")["in_set(status)"] == (True, "0 of 3 rows")
    assert _scopes(lake, "r1") == {("silver.orders", "silver.orders"): (None, 1, True, True)}

    delta.append(_orders(spark, [("o4", "placed", D3, "b2")]), orders)  # version 2
    assert _gate(lake, "r2")["in_set(status)"] == (True, "0 of 1 rows written since version 1")
    # Nothing written since: nothing to read, and the verdict stands.
    assert _gate(lake, "r3")["unique(order_id)"] == (True, "0 of 0 rows written since version 2")


def test_a_bad_value_rewritten_into_an_old_partition_is_caught_by_the_next_gate(spark, lake, tables):
    orders, _ = tables
    delta.append(_orders(spark, [("o1", "placed", D1, "b1"), ("o2", "shipped", D2, "b1")]), orders)
    delta.append(_orders(spark, [("o3", "placed", D3, "b2")]), orders)
    assert _gate(lake, "r1")["in_set(status)"][0]

    # An in-place rewrite of the oldest partition's row: same batch id, so a scope on new batch ids
    # would never look at it; its file is new.
    delta.merge(_orders(spark, [("o1", "lost", D1, "b1")]), orders)
    success, observed = _gate(lake, "r2")["in_set(status)"]
    assert not success
    assert observed == "1 of 1 rows written since version 2: order_id=o1 status=lost"


def test_a_bad_row_of_a_failed_run_is_still_caught_by_the_next_run(spark, lake, tables):
    orders, _ = tables
    delta.append(_orders(spark, [("o1", "placed", D1, "b1")]), orders)  # version 1
    assert _gate(lake, "r1")["in_set(status)"][0]

    delta.append(_orders(spark, [("o2", "lost", D2, "b2")]), orders)  # version 2: the gate fails
    assert _gate(lake, "r2")["in_set(status)"] == (
        False,
        "1 of 1 rows written since version 1: order_id=o2 status=lost",
    )
    assert _scopes(lake, "r2")[("silver.orders", "silver.orders")] == (1, 2, False, False)

    delta.append(_orders(spark, [("o3", "placed", D3, "b3")]), orders)  # version 3: a clean day
    # Still built on version 1, the last one a passing gate checked: o2 is checked again.
    assert _gate(lake, "r3")["in_set(status)"] == (
        False,
        "1 of 2 rows written since version 1: order_id=o2 status=lost",
    )

    delta.merge(_orders(spark, [("o2", "shipped", D2, "b2")]), orders)  # fixed in place
    assert _gate(lake, "r4")["in_set(status)"][0]
    assert _gate(lake, "r5")["in_set(status)"] == (
        True,
        f"0 of 0 rows written since version {orders_version(orders)}",
    )


def orders_version(table):
    return DeltaTable(table.path).version()


def test_a_new_row_repeating_an_old_key_is_a_duplicate(spark, lake, tables):
    orders, _ = tables
    delta.append(_orders(spark, [("o1", "placed", D1, "b1"), ("o2", "placed", D1, "b1")]), orders)
    assert _gate(lake, "r1")["unique(order_id)"] == (True, "0 of 2 rows")

    delta.append(_orders(spark, [("o1", "shipped", D3, "b2"), ("o3", "placed", D3, "b2")]), orders)
    # The new o1 is judged against every row of the table, not only against the new rows.
    assert _gate(lake, "r2")["unique(order_id)"] == (
        False,
        "1 of 2 rows written since version 1: order_id=o1",
    )


def test_a_rebuilt_table_is_checked_whole(spark, lake, tables):
    orders, _ = tables
    rows = [("o1", "placed", D1, "b1"), ("o2", "lost", D2, "b1")]
    delta.append(_orders(spark, rows[:1]), orders)
    assert _gate(lake, "r1")["in_set(status)"][0]

    # Recreated from scratch with a bad row at version 1 again: the recorded version 1 is another
    # table's (another Delta id), so nothing is built on it.
    shutil.rmtree(orders.path)
    delta.append(_orders(spark, rows), orders)
    assert _gate(lake, "r2")["in_set(status)"] == (False, "1 of 2 rows: order_id=o2 status=lost")
    assert _scopes(lake, "r2")[("silver.orders", "silver.orders")][0] is None


def test_an_old_child_whose_parent_is_deleted_is_caught(spark, lake, tables):
    orders, lines = tables
    delta.append(_orders(spark, [("o1", "placed", D1, "b1"), ("o2", "placed", D2, "b1")]), orders)
    delta.append(_lines(spark, [("o1", 1), ("o2", 1)]), lines)
    ref = "references(order_id -> silver.orders.order_id)"
    assert _gate(lake, "r1", with_lines=True)[ref] == (True, "0 of 2 rows")

    # The parent rewritten in place (files removed) but no order gone: only the new line is checked.
    delta.merge(_orders(spark, [("o1", "shipped", D1, "b2")]), orders)
    delta.append(_lines(spark, [("o1", 2)]), lines)
    assert _gate(lake, "r2", with_lines=True)[ref] == (True, "0 of 1 rows written since version 1")

    # o2 deleted: no line was written, but an old one lost its order, so every line is checked.
    delta.delete_where(spark, orders, "order_id = 'o2'")
    assert _gate(lake, "r3", with_lines=True)[ref] == (
        False,
        "1 of 3 rows: line=1 order_id=o2 has_parent=False",
    )


def test_a_parent_whose_removed_files_were_vacuumed_has_every_child_checked(spark, lake, tables):
    orders, lines = tables
    delta.append(_orders(spark, [("o1", "placed", D1, "b1")]), orders)
    delta.append(_lines(spark, [("o1", 1), ("o9", 1)]), lines)  # o9 has no order: a failed gate
    ref = "references(order_id -> silver.orders.order_id)"
    assert _gate(lake, "r1", with_lines=True)[ref] == (
        False,
        "1 of 2 rows: line=1 order_id=o9 has_parent=False",
    )
    delta.append(_orders(spark, [("o9", "placed", D1, "b2")]), orders)  # the missing order arrives
    assert _gate(lake, "r2", with_lines=True)[ref] == (True, "0 of 2 rows")  # built on no passing run

    delta.merge(_orders(spark, [("o1", "shipped", D1, "b3")]), orders)
    delta.vacuum(orders, retention_hours=0)  # what o1's old file held can no longer be compared
    assert _gate(lake, "r3", with_lines=True)[ref] == (True, "0 of 2 rows")


def test_a_table_mostly_rewritten_since_is_checked_whole(spark, lake, tables, monkeypatch):
    monkeypatch.setattr("quality.scope.WHOLE_TABLE_SHARE", 0.5)
    orders, _ = tables
    delta.append(_orders(spark, [("o1", "placed", D1, "b1"), ("o2", "placed", D2, "b1")]), orders)
    assert _gate(lake, "r1")["in_set(status)"] == (True, "0 of 2 rows")
    delta.append(_orders(spark, [("o3", "placed", D3, "b2")]), orders)  # 1 of 3 rows: the new one
    assert _gate(lake, "r2")["in_set(status)"] == (True, "0 of 1 rows written since version 1")
    # 3 of the 6 rows written since: half the table, read in one scan.
    delta.append(
        _orders(spark, [("o4", "placed", D3, "b3"), ("o5", "placed", D3, "b3"), ("o6", "placed", D3, "b3")]),
        orders,
    )
    assert _gate(lake, "r3")["in_set(status)"] == (True, "0 of 6 rows")
    assert _scopes(lake, "r3")[("silver.orders", "silver.orders")][0] is None


def test_the_scope_log_stays_bounded_in_files_and_commits(spark, lake, tables, monkeypatch):
    # One gate a day for a month: the log every gate reads must not grow a file per day.
    monkeypatch.setenv("OMNILAKE_MERGE_MAX_FILES", "4")
    from omnilake.settings import reset_settings

    reset_settings()
    orders, _ = tables
    delta.append(_orders(spark, [("o1", "placed", D1, "b1")]), orders)
    for day in range(12):
        assert _gate(lake, f"r{day}")["in_set(status)"][0] is True
    log = lake.table("ops.gate_scopes").path
    assert len(DeltaTable(log).file_uris()) <= 5  # compacted past 4, then one more append at most
    assert delta.last_checkpoint_version(log) is not None
    # and what the log says survives compaction: the last run built on the one before it
    assert _scopes(lake, "r11") == {("silver.orders", "silver.orders"): (1, 1, True, True)}
    reset_settings()


def test_a_table_kept_in_revisions_reads_keys_of_the_new_rows_revisions_and_catches_their_duplicates(
    spark, lake, monkeypatch
):
    monkeypatch.setattr("quality.scope.WHOLE_TABLE_SHARE", 2.0)
    table = lake.table("silver.event_attribution")  # keys message_id, revision; latest_by revision
    schema = table.contract.spark_schema()

    def append(rows):
        delta.append(spark.createDataFrame(rows, schema), table)

    def gate(run_id):
        try:
            report = run_suites(
                GateContext("silver", run_id, lake, QualityConfig(data_docs=False)), [contract_suite(table)]
            )
        except QualityGateError as error:
            report = error.report
        return {r.expectation: (r.success, r.observed) for r in report.results}

    append([("m1", "k1", "awareness", 1, False), ("m2", "k1", "interest", 1, False)])
    assert gate("r1")["unique(message_id, revision)"] == (True, "0 of 2 rows")
    # a new revision of m1: unique, though m1 is there already (another revision)
    append([("m1", "k2", "awareness", 2, True)])
    assert gate("r2")["unique(message_id, revision)"] == (True, "0 of 1 rows written since version 1")
    # a new row repeating an old row's revision and key is caught: the keys of that revision are read
    append([("m2", "k3", "interest", 1, True), ("m3", "k3", "interest", 3, False)])
    assert gate("r3")["unique(message_id, revision)"] == (
        False,
        "1 of 2 rows written since version 2: message_id=m2 revision=1",
    )


def test_an_order_deleted_from_a_rewritten_file_is_caught_while_rewritten_orders_are_not_gone(
    spark, lake, tables
):
    """The removed files' orders are compared with the files added since: one still there (its file
    rewritten) keeps the check to new lines, one deleted from a file that keeps others widens it."""
    orders, lines = tables
    delta.append(_orders(spark, [("o1", "placed", D1, "b1"), ("o3", "placed", D1, "b1")]), orders)
    delta.append(_orders(spark, [("o2", "placed", D2, "b1")]), orders)
    delta.append(_lines(spark, [("o1", 1), ("o2", 1), ("o3", 1)]), lines)
    ref = "references(order_id -> silver.orders.order_id)"
    assert _gate(lake, "r1", with_lines=True)[ref] == (True, "0 of 3 rows")

    # o3 deleted: its file (shared with o1) is replaced by one holding o1 only; o2's is untouched.
    delta.delete_where(spark, orders, "order_id = 'o3'")
    delta.append(_lines(spark, [("o2", 2)]), lines)
    assert _gate(lake, "r2", with_lines=True)[ref] == (
        False,
        "1 of 4 rows: line=1 order_id=o3 has_parent=False",
    )


def test_keys_are_looked_up_only_in_partitions_whose_key_range_can_hold_them(
    spark, lake, tables, monkeypatch
):
    """Ids that follow time cluster by day: a new row's key is judged against the partitions whose
    files' key bounds reach it, and a repeat of an old key there is still a duplicate."""
    monkeypatch.setattr("quality.scope.NARROWED_SHARE_MAX", 1.0)  # narrow even this small a table
    orders, lines = tables
    delta.append(_orders(spark, [("a1", "placed", D1, "b1"), ("a2", "placed", D1, "b1")]), orders)
    delta.append(_orders(spark, [("m1", "placed", D2, "b1"), ("m2", "placed", D2, "b1")]), orders)
    delta.append(_lines(spark, [("a1", 1), ("m2", 1)]), lines)
    ref = "references(order_id -> silver.orders.order_id)"
    assert _gate(lake, "r1", with_lines=True)[ref] == (True, "0 of 2 rows")

    delta.append(_orders(spark, [("a1", "shipped", D3, "b2"), ("a3", "placed", D3, "b2")]), orders)
    ctx = GateContext("silver", "probe", lake, QualityConfig(data_docs=False))
    ctx.suite = contract_suite(orders)
    scope = ctx.scope(orders)
    near = rows_near(spark, orders, orders, scope.added, {"order_id": "order_id"})
    # the new file holds a1..a3: D1's a1..a2 can share a key with it, D2's m1..m2 cannot
    assert sorted(r["order_id"] for r in near.collect()) == ["a1", "a1", "a2", "a3"]
    assert _gate(lake, "r2")["unique(order_id)"] == (
        False,
        "1 of 2 rows written since version 2: order_id=a1",
    )

    # a line of an old order (a2, in D1) and one of no order (a9): only D1 and D3 are read for them
    delta.append(_lines(spark, [("a2", 1), ("a9", 1)]), lines)
    ctx.suite = references("silver.order_lines", "order_id", "silver.orders")
    parents = rows_near(spark, orders, lines, ctx.scope(lines).added, {"order_id": "order_id"})
    assert sorted(r["order_id"] for r in parents.collect()) == ["a1", "a1", "a2", "a3"]
    assert _gate(lake, "r3", with_lines=True)[ref] == (
        False,
        "1 of 2 rows written since version 1: line=1 order_id=a9 has_parent=False",
    )


def test_a_compaction_of_checked_rows_leaves_nothing_to_check_and_no_child_to_recheck(spark, lake, tables):
    orders, lines = tables
    delta.append(_orders(spark, [("o1", "placed", D1, "b1")]), orders)
    delta.append(_orders(spark, [("o2", "placed", D1, "b2"), ("o3", "shipped", D2, "b2")]), orders)
    delta.append(_lines(spark, [("o1", 1), ("o3", 1)]), lines)
    assert all(success for success, _ in _gate(lake, "r1", with_lines=True).values())

    delta.compact(orders)  # maintenance's rewrite: dataChange false, the same rows in fewer files
    compacted = orders_version(orders)
    results = _gate(lake, "r2", with_lines=True)
    assert results["unique(order_id)"] == (True, f"0 of 0 rows written since version {compacted - 1}")
    # the parent's keys are all still there: the child is not widened to every row
    assert results["references(order_id -> silver.orders.order_id)"] == (
        True,
        "0 of 0 rows written since version 1",
    )
    assert _scopes(lake, "r2")[("silver.orders", "silver.orders")] == (compacted - 1, compacted, True, True)


def test_rows_appended_before_a_compaction_are_still_checked_after_it(spark, lake, tables):
    orders, _ = tables
    delta.append(_orders(spark, [("o1", "placed", D1, "b1")]), orders)
    delta.append(_orders(spark, [("o2", "placed", D2, "b1")]), orders)
    assert _gate(lake, "r1")["in_set(status)"][0]
    checked = orders_version(orders)

    delta.append(_orders(spark, [("o3", "lost", D1, "b2"), ("o1", "shipped", D1, "b2")]), orders)
    delta.compact(orders)  # D1's files, checked and not, into one: read again; D2's untouched
    results = _gate(lake, "r2")
    assert results["in_set(status)"] == (
        False,
        f"1 of 3 rows written since version {checked}: order_id=o3 status=lost",
    )
    assert results["unique(order_id)"] == (
        False,
        f"2 of 3 rows written since version {checked}: order_id=o1; order_id=o1",
    )
