"""The Delta write helpers on a real Sail server and real Delta tables."""

import pytest
from pyspark.sql import functions as F

from omnilake import delta
from omnilake.errors import SchemaMismatchError

pytestmark = pytest.mark.integration

ROWS = "id long, label string"


def _rows(spark, rows):
    return spark.createDataFrame(rows, ROWS).withColumn("checked_at", F.current_timestamp())


def test_append_then_read_back(spark, lake):
    table = lake.table("ops.doctor_scratch")
    delta.append(_rows(spark, [(1, "a"), (2, "b")]), table)
    assert sorted(r["label"] for r in delta.read(spark, table).collect()) == ["a", "b"]
    assert delta.version(table) == 1  # version 0 is the creation from the contract


def test_extra_column_is_refused_and_nothing_is_written(spark, lake):
    table = lake.table("ops.doctor_scratch")
    delta.append(_rows(spark, [(1, "a")]), table)
    with pytest.raises(SchemaMismatchError, match="extra column 'coupon'"):
        delta.append(_rows(spark, [(2, "b")]).withColumn("coupon", F.lit("X")), table)
    assert delta.read(spark, table).count() == 1


def test_mistyped_column_is_refused_not_cast(spark, lake):
    table = lake.table("ops.doctor_scratch")
    mistyped = spark.createDataFrame([("7", "a")], "id string, label string").withColumn(
        "checked_at", F.current_timestamp()
    )
    with pytest.raises(SchemaMismatchError, match="column 'id' is string, the contract says bigint"):
        delta.append(mistyped, table)


def test_merge_updates_matches_and_inserts_the_rest(spark, lake):
    table = lake.table("ops.doctor_scratch")
    delta.append(_rows(spark, [(1, "a"), (2, "b")]), table)
    result = delta.merge(_rows(spark, [(2, "b2"), (3, "c")]), table)
    assert (result.inserted, result.updated) == (1, 1)
    assert {r["id"]: r["label"] for r in delta.read(spark, table).collect()} == {1: "a", 2: "b2", 3: "c"}


def test_merge_guard_keeps_the_newer_row(spark, lake):
    table = lake.table("ops.doctor_scratch")
    newer = spark.sql("select 1L as id, 'newer' as label, timestamp'2026-01-02 00:00:00' as checked_at")
    older = spark.sql("select 1L as id, 'older' as label, timestamp'2026-01-01 00:00:00' as checked_at")
    delta.merge(newer, table)
    result = delta.merge(older, table, update_when="s.checked_at > t.checked_at")
    assert result.updated == 0
    assert [r["label"] for r in delta.read(spark, table).collect()] == ["newer"]


def test_overwrite_with_replace_where_touches_only_matching_rows(spark, lake):
    table = lake.table("ops.doctor_scratch")
    delta.append(_rows(spark, [(1, "keep"), (2, "old")]), table)
    delta.overwrite(_rows(spark, [(2, "new")]), table, replace_where="id = 2")
    assert {r["id"]: r["label"] for r in delta.read(spark, table).collect()} == {1: "keep", 2: "new"}


def test_contract_that_gained_a_column_evolves_the_table(spark, lake, monkeypatch):
    from dataclasses import replace

    from omnilake.contracts import Field
    from omnilake.lake import Table

    table = lake.table("ops.doctor_scratch")
    delta.append(_rows(spark, [(1, "a")]), table)
    grown = Table(
        replace(
            table.contract,
            fields=(*table.contract.fields, Field("note", "string", classification="internal")),
        ),
        table.root,
    )
    delta.append(_rows(spark, [(2, "b")]).withColumn("note", F.lit("hello")), grown)
    notes = {r["id"]: r["note"] for r in delta.read(spark, grown).collect()}
    assert notes == {1: None, 2: "hello"}


def test_history_and_vacuum_go_through_delta_rs(spark, lake):
    table = lake.table("ops.doctor_scratch")
    delta.append(_rows(spark, [(1, "a")]), table)
    delta.overwrite(_rows(spark, [(1, "b")]), table)
    operations = [entry["operation"] for entry in delta.history(table)]
    assert operations[0] == "WRITE" and len(operations) == 3
    removed = delta.vacuum(table, retention_hours=0)
    assert removed, "the overwritten file should be vacuumed"


def test_a_merge_target_over_the_file_bound_is_compacted_before_the_merge(spark, lake, monkeypatch):
    from deltalake import DeltaTable

    from omnilake.settings import reset_settings

    monkeypatch.setenv("OMNILAKE_MERGE_MAX_FILES", "3")
    reset_settings()
    table = lake.table("ops.doctor_scratch")
    for n in range(1, 5):  # four one-row appends: four files, one over the bound
        delta.append(_rows(spark, [(n, f"v{n}")]), table)
    assert len(DeltaTable(table.path).file_uris()) == 4
    result = delta.merge(_rows(spark, [(2, "v2b"), (5, "v5")]), table)
    # The merge's own counts, not the compaction's; the rows as a merge without compaction leaves them.
    assert (result.inserted, result.updated) == (1, 1)
    assert {r["id"]: r["label"] for r in delta.read(spark, table).collect()} == {
        1: "v1",
        2: "v2b",
        3: "v3",
        4: "v4",
        5: "v5",
    }
    operations = [h["operation"] for h in delta.history(table, 2)]
    assert operations[1] == "OPTIMIZE" and operations[0] != "OPTIMIZE", operations
    reset_settings()
