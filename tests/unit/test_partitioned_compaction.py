"""When a write compacts a partitioned table first: only when compaction can remove files (delta-rs
only, no engine)."""

from datetime import date

from deltalake import DeltaTable

from omnilake import delta
from omnilake.lake import get_lake
from tests.unit.refused_records import append_refused

DAYS = [date(2026, 1, d) for d in range(1, 6)]


def _operations(table) -> list[str]:
    return [h["operation"] for h in DeltaTable(table.path).history()]


def test_a_partitioned_table_is_compacted_only_when_compaction_can_remove_files(lake_home):
    table = get_lake().table("quarantine.silver_rejects")
    for day in DAYS:  # five partitions, one file each: over a bound of 3, and nothing to merge
        append_refused(table.path, day, 1)
    assert delta.bound_files_for_merge(table, 3) is None
    append_refused(table.path, DAYS[0], 2)  # 6 files, 1 removable: fewer than the 3 over the bound
    assert delta.bound_files_for_merge(table, 3) is None
    assert "OPTIMIZE" not in _operations(table)

    append_refused(table.path, DAYS[1], 2)
    append_refused(table.path, DAYS[2], 2)  # 8 files, 3 removable
    # the partitions a merge rewrites are left to it: 2 removable elsewhere, not due
    assert delta.bound_files_for_merge(table, 3, leave={"landing_date": [DAYS[0]]}) is None
    assert "OPTIMIZE" not in _operations(table)
    assert delta.bound_files_for_merge(table, 3) == 5  # one file a partition
    assert _operations(table)[0] == "OPTIMIZE"
    rows = DeltaTable(table.path).to_pyarrow_table().to_pylist()
    assert sorted((r["landing_date"], r["line"]) for r in rows) == sorted(
        [(d, 1) for d in DAYS] + [(d, 2) for d in DAYS[:3]]
    )


def test_a_table_with_fewer_partitions_than_the_bound_is_compacted_when_over_it(lake_home):
    table = get_lake().table("quarantine.silver_rejects")
    for line in range(1, 4):
        append_refused(table.path, DAYS[0], line)
        append_refused(table.path, DAYS[1], line)  # 6 files in 2 partitions
    assert delta.bound_files_for_merge(table, 4) == 2
