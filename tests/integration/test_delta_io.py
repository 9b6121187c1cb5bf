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


def test_merge_sql_keeps_braces_and_leaves_no_view_behind(spark, lake):
    table = lake.table("ops.doctor_scratch")
    delta.append(_rows(spark, [(1, "a"), (2, "b")]), table)
    views_before = {t.name for t in spark.catalog.listTables()}
    # The source travels with the statement; braces in the SQL are literal text, not placeholders.
    result = delta.merge(_rows(spark, [(1, "{kept}"), (2, "b2")]), table, update_when="s.label <> '{kept}'")
    assert (result.inserted, result.updated) == (0, 1)
    assert {r["id"]: r["label"] for r in delta.read(spark, table).collect()} == {1: "a", 2: "b2"}
    assert {t.name for t in spark.catalog.listTables()} == views_before


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


def test_writes_bound_the_files_of_an_unpartitioned_table(spark, lake, monkeypatch):
    from deltalake import DeltaTable

    from omnilake.settings import reset_settings

    monkeypatch.setenv("OMNILAKE_MERGE_MAX_FILES", "3")
    reset_settings()
    table = lake.table("ops.doctor_scratch")
    files = []
    for n in range(1, 9):  # eight one-row appends and replaces: one file each without the bound
        if n % 2:
            delta.append(_rows(spark, [(n, f"v{n}")]), table)
        else:
            delta.overwrite(_rows(spark, [(n, f"v{n}")]), table, replace_where=f"id = {n}")
        files.append(len(DeltaTable(table.path).file_uris()))
    # A write finding more than 3 files compacts them to one first, then adds its own.
    assert files == [1, 2, 3, 4, 2, 3, 4, 2], files
    assert sorted((r["id"], r["label"]) for r in delta.read(spark, table).collect()) == [
        (n, f"v{n}") for n in range(1, 9)
    ]
    reset_settings()


def test_a_table_delta_rs_writes_gets_a_checkpoint_sail_reads_from(spark, lake):
    import os

    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    path = lake.path("_ops", "checkpointed")
    made = []
    for n in range(30):  # delta-rs itself checkpoints only every 100 commits
        write_deltalake(path, pa.table({"id": [n], "label": [f"v{n}"]}), mode="append")
        made.append(delta.checkpoint_if_due(path))
    # versions 0..29: a checkpoint once ten commits follow the last one (none before version 9)
    assert [v for v in made if v is not None] == [9, 19, 29]
    assert delta.last_checkpoint_version(path) == 29
    # Sail reads the table from the checkpoint: the commits before it can go (it keeps reading the
    # commit at the checkpoint's own version, for its timestamp).
    log_dir = os.path.join(path, "_delta_log")
    for name in os.listdir(log_dir):
        if name.endswith(".json") and int(name[:20]) < 29:
            os.remove(os.path.join(log_dir, name))
    spark.createDataFrame([(30, "v30")], "id long, label string").write.format("delta").mode("append").save(
        path
    )
    rows = spark.read.format("delta").load(path).collect()
    assert sorted((r["id"], r["label"]) for r in rows) == [(n, f"v{n}") for n in range(31)]
    assert DeltaTable(path).version() == 30


def test_partition_max_reads_the_log_not_the_rows(spark, lake):
    from datetime import date

    table = lake.table("quarantine.files")
    assert delta.exists(table) is False
    delta.ensure_table(spark, table)
    assert delta.partition_max(spark, table, "landing_date") is None

    def refused(day: int):
        return (
            "orders",
            f"landing/orders/2026-01-0{day}/o.json",
            f"h{day}",
            0,
            "empty_file",
            None,
            "b",
            None,
            date(2026, 1, day),
        )

    schema = table.contract.spark_schema()
    rows = [refused(d) for d in (2, 5, 3)]
    frame = spark.createDataFrame(rows, schema).withColumn("quarantined_at", F.current_timestamp())
    delta.append(frame, table)
    assert delta.partition_max(spark, table, "landing_date") == date(2026, 1, 5)
    delta.delete_where(spark, table, "landing_date = date'2026-01-05'")
    assert delta.partition_max(spark, table, "landing_date") == date(2026, 1, 3)
    with pytest.raises(ValueError):
        delta.partition_max(spark, table, "source")
