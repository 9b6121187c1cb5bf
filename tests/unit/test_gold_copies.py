"""What publish writes to the gold Delta copies (omnilake.gold.copies) and when the dbt unit tests
run (omnilake.gold.unit_tests), on hand-built rows and files."""

from __future__ import annotations

from datetime import date

import duckdb
import pyarrow as pa
import pytest

from omnilake.gold import copies, unit_tests

pytestmark = pytest.mark.unit

D1, D2 = date(2026, 3, 8), date(2026, 3, 9)
COLUMNS = ["known_at", "customer_key", "score"]


def _digest(
    rows: list[tuple], run_column: str | None = "known_at", landing_date: date = D2
) -> copies.MartDigest:
    with duckdb.connect() as con:
        con.execute("create table mart (known_at date, customer_key varchar, score int)")
        if rows:
            con.executemany("insert into mart values (?, ?, ?)", rows)
        return copies.mart_digest(con, "mart", COLUMNS, run_column, landing_date)


DAY_1 = [(D1, "c1", 5), (D1, "c2", None)]
DAY_2 = [(D2, "c1", 4)]
LAYOUT = copies.schema_key(pa.schema([pa.field("known_at", pa.date32())]), ())


def _released(digest: copies.MartDigest, version: int = 0, layout: str = LAYOUT) -> dict:
    return {"version": version, "rows": digest.rows, "digest": digest.digest, "schema": layout}


def test_the_digest_ignores_row_order_and_splits_into_the_runs_rows_and_the_rest():
    both = _digest(DAY_1 + DAY_2)
    assert both == _digest(list(reversed(DAY_1 + DAY_2)))
    assert (both.rows, both.run_rows) == (3, 1)
    assert both.rest_digest == _digest(DAY_1).digest  # the rest is what day 1 published
    assert both.digest != _digest([*DAY_1, (D2, "c1", 3)]).digest  # one value differs
    assert _digest(DAY_1 + DAY_1[:1]).rows == 3  # a duplicated row changes the digest too
    assert _digest(DAY_1 + DAY_1[:1]).digest != _digest(DAY_1).digest


def test_an_accumulating_mart_appends_the_runs_rows_onto_an_unchanged_release():
    released = _released(_digest(DAY_1))
    assert copies.choose_action(_digest(DAY_1 + DAY_2), LAYOUT, released, 0) == "append"


def test_the_same_rows_are_not_written_again():
    day_2 = _digest(DAY_1 + DAY_2)
    assert copies.choose_action(day_2, LAYOUT, _released(day_2), 0) == "unchanged"
    table = _digest(DAY_1, run_column=None)
    assert copies.choose_action(table, LAYOUT, _released(table), 0) == "unchanged"


@pytest.mark.parametrize(
    "case",
    ["first publish", "written since the release", "new layout", "an old row changed", "no row of the run"],
)
def test_anything_else_is_a_whole_overwrite(case):
    day_2, released = _digest(DAY_1 + DAY_2), _released(_digest(DAY_1))
    if case == "first publish":
        assert copies.choose_action(day_2, LAYOUT, None, None) == "overwrite"
    elif case == "written since the release":  # e.g. an erasure deleted rows from the Delta table
        assert copies.choose_action(day_2, LAYOUT, released, 1) == "overwrite"
    elif case == "new layout":
        other = copies.schema_key(pa.schema([pa.field("known_at", pa.string())]), ())
        assert copies.choose_action(day_2, other, {**released, "schema": LAYOUT}, 0) == "overwrite"
    elif case == "an old row changed":
        changed = _digest([(D1, "c1", 1), DAY_1[1], *DAY_2])
        assert copies.choose_action(changed, LAYOUT, released, 0) == "overwrite"
    else:  # a day-1 row removed and nothing known at day 2: not an append
        fewer = _digest(DAY_1[:1])
        assert copies.choose_action(fewer, LAYOUT, released, 0) == "overwrite"


def _partitioned(rows: list[tuple]) -> copies.MartDigest:
    with duckdb.connect() as con:
        con.execute("create table mart (known_at date, customer_key varchar, score int)")
        if rows:
            con.executemany("insert into mart values (?, ?, ?)", rows)
        return copies.mart_digest(con, "mart", COLUMNS, None, D2, partition_column="known_at")


def _released_partitions(digest: copies.MartDigest) -> dict:
    return {**_released(digest), "partitions": [list(p) for p in digest.partitions or ()]}


D3 = date(2026, 3, 10)


def test_a_partitioned_digest_is_the_sum_of_its_partitions():
    both = _partitioned(DAY_1 + DAY_2)
    assert (both.rows, both.digest) == (3, _digest(DAY_1 + DAY_2, run_column=None).digest)
    assert [(value, rows) for value, rows, _ in both.partitions] == [("2026-03-08", 2), ("2026-03-09", 1)]
    assert both.partitions[0][2] == _digest(DAY_1, run_column=None).digest
    with_null = _partitioned([*DAY_1, (None, "c3", 1)])
    assert [value for value, _, _ in with_null.partitions] == ["2026-03-08", None]  # null last


@pytest.mark.parametrize(
    ("case", "changed"),
    [
        ("a changed row", ["2026-03-08"]),
        ("a partition emptied", ["2026-03-09"]),
        ("a new partition", ["2026-03-10"]),
        ("a null partition", [None]),
    ],
)
def test_a_partitioned_mart_replaces_only_the_partitions_that_changed(case, changed):
    released = _released_partitions(_partitioned(DAY_1 + DAY_2))
    rows = {
        "a changed row": [(D1, "c1", 1), DAY_1[1], *DAY_2],
        "a partition emptied": [*DAY_1, (D3, "c1", 2)],
        "a new partition": [*DAY_1, *DAY_2, (D3, "c1", 2)],
        "a null partition": [*DAY_1, *DAY_2, (None, "c9", 2)],
    }[case]
    now = _partitioned(rows)
    if case == "a partition emptied":  # 03-09 gone, 03-10 new: both replaced, 03-08 kept
        changed = ["2026-03-09", "2026-03-10"]
    assert copies.changed_partitions(now, released) == changed
    assert copies.choose_action(now, LAYOUT, released, 0) == "partitions"


def test_a_partitioned_mart_is_written_whole_when_no_partition_is_kept_or_the_release_has_none():
    released = _released_partitions(_partitioned(DAY_1 + DAY_2))
    every = _partitioned([(D1, "c1", 1), (D2, "c1", 1)])  # both partitions changed
    assert copies.choose_action(every, LAYOUT, released, 0) == "overwrite"
    one_changed = _partitioned([(D1, "c1", 1), DAY_1[1], *DAY_2])
    assert copies.choose_action(one_changed, LAYOUT, _released(_partitioned(DAY_1 + DAY_2)), 0) == "overwrite"
    assert copies.choose_action(one_changed, LAYOUT, released, 1) == "overwrite"  # written since
    assert copies.choose_action(one_changed, LAYOUT, None, None) == "overwrite"  # first publish
    assert copies.choose_action(_partitioned(DAY_1 + DAY_2), LAYOUT, released, 0) == "unchanged"


def test_unit_tests_run_again_when_a_project_file_changes(tmp_path):
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: p\n")
    model = project / "models" / "m.sql"
    model.write_text("select 1 as x\n")
    dbt_dir, machine = tmp_path / "dbt", tmp_path / "machine"
    first = unit_tests.code_version(project)
    assert unit_tests.needs_unit_tests(dbt_dir, first, machine)  # never passed on this lake
    unit_tests.record_passed(dbt_dir, first, machine)
    assert not unit_tests.needs_unit_tests(dbt_dir, unit_tests.code_version(project), machine)
    model.write_text("select 2 as x\n")
    assert unit_tests.needs_unit_tests(dbt_dir, unit_tests.code_version(project), machine)
    model.write_text("select 1 as x\n")
    (project / "models" / "n.sql").write_text("select 1 as x\n")  # a new file counts too
    assert unit_tests.needs_unit_tests(dbt_dir, unit_tests.code_version(project), machine)


def test_unit_tests_passed_on_the_machine_are_not_run_again_on_a_new_lake(tmp_path):
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: p\n")
    (project / "models" / "m.sql").write_text("select 1 as x\n")
    machine, first_lake, new_lake = (
        tmp_path / "machine",
        tmp_path / "lake1" / "dbt",
        tmp_path / "lake2" / "dbt",
    )
    version = unit_tests.code_version(project)
    assert unit_tests.needs_unit_tests(first_lake, version, machine)
    unit_tests.record_passed(first_lake, version, machine)
    assert not unit_tests.needs_unit_tests(new_lake, version, machine)  # passed here, on another lake
    assert unit_tests.needs_unit_tests(new_lake, version, tmp_path / "other-machine")
    (project / "models" / "m.sql").write_text("select 2 as x\n")
    assert unit_tests.needs_unit_tests(new_lake, unit_tests.code_version(project), machine)
