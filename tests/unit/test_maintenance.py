"""Routine table maintenance on small delta-rs tables (no engine): compaction only where a partition
gathered many files, a vacuum and a log cleanup that keep what the retention window's versions need."""

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import DeltaError

from omnilake import delta
from omnilake.lake import get_lake
from omnilake.maintenance import Policy, maintain_lake
from omnilake.maintenance.retention import clean_log, kept_versions, log_files, vacuum
from omnilake.maintenance.run import due, last_maintained, maintain_step
from omnilake.pipeline import RunContext
from tests.unit.refused_records import append_refused, refused_record

# Now, not a fixed date: delta-rs's own checkpoints remove commits older than 30 days by the clock.
NOW = datetime.now(UTC)
DAY = timedelta(days=1)


def _append(path: str, rows: list[dict], partition_by: list[str] | None = None, mode: str = "append") -> None:
    write_deltalake(path, pa.Table.from_pylist(rows), mode=mode, partition_by=partition_by)


def _commit_at(path: str, version: int, at: datetime) -> None:
    """Date a commit as if it had been made at ``at`` (the log's times are its files' times)."""
    stamp = at.timestamp()
    os.utime(Path(path, "_delta_log", f"{version:020d}.json"), (stamp, stamp))


def _data_files(path: str) -> set[str]:
    return {str(p.relative_to(path)) for p in Path(path).rglob("*.parquet") if "_delta_log" not in p.parts}


def _files_of(path: str, version: int) -> set[str]:
    table = DeltaTable(path, version=version)
    return {Path(u).relative_to(path).as_posix() for u in table.file_uris()}


def _rows(path: str, version: int | None = None) -> list[tuple]:
    table = DeltaTable(path, version=version).to_pyarrow_table()
    return sorted(tuple(r.values()) for r in table.to_pylist())


def test_the_versions_kept_are_the_window_and_the_one_current_when_it_began():
    commits = {0: NOW - 10 * DAY, 1: NOW - 5 * DAY, 2: NOW - 2 * DAY, 3: NOW - DAY}
    assert kept_versions(commits, NOW - 7 * DAY) == [0, 1, 2, 3]
    assert kept_versions(commits, NOW - 3 * DAY) == [1, 2, 3]
    assert kept_versions(commits, NOW) == [3]


def test_maintenance_is_due_every_interval_of_landing_dates_and_never_on_a_rerun_of_an_older_one():
    last = date(2026, 3, 1)
    assert due(last, None, 7)
    assert not due(last + timedelta(days=6), last, 7)
    assert due(last + timedelta(days=7), last, 7)
    assert not due(last - timedelta(days=3), last, 7)


def test_only_partitions_with_many_small_files_are_compacted_and_rows_stay_the_same(lake_home):
    table = get_lake().table("quarantine.silver_rejects")
    busy, quiet = date(2026, 1, 1), date(2026, 1, 2)
    for line in range(5):
        append_refused(table.path, busy, line)
    for line in range(2):
        append_refused(table.path, quiet, line)
    before = _rows(table.path)
    quiet_files = {f for f in _data_files(table.path) if "2026-01-02" in f}

    result = maintain_lake(get_lake(), Policy(0, 0, compact_min_files=5), tables=[table])

    (done,) = result.tables
    assert (done.partitions_compacted, done.files_compacted, done.files_written) == (1, 5, 1)
    assert _rows(table.path) == before
    live = {Path(u).relative_to(table.path).as_posix() for u in DeltaTable(table.path).file_uris()}
    assert quiet_files <= live  # the partition with two files is left as it was
    assert len(live) == 3
    assert done.files_vacuumed == 5  # zero retention: the replaced files go at once
    assert _data_files(table.path) == live


def test_the_vacuum_keeps_files_a_version_in_the_window_needs_and_commits_nothing(tmp_path):
    path = str(tmp_path / "t")
    _append(path, [{"k": 1}])  # v0
    _append(path, [{"k": 2}], mode="overwrite")  # v1: v0's file is no longer live
    _append(path, [{"k": 3}], mode="overwrite")  # v2
    for version, age in ((0, 10 * DAY), (1, 5 * DAY), (2, DAY)):
        _commit_at(path, version, NOW - age)
    orphan = Path(path, "part-00000-never-committed.parquet")
    orphan.write_bytes(b"left by a crashed write")
    files = _data_files(path)

    # v0 was current 7 days ago: every version is kept, so only the orphan could go; it waits
    assert vacuum(path, retention_hours=7 * 24, now=NOW).files == 0
    assert _data_files(path) == files and _rows(path, 0) == [(1,)]

    freed = vacuum(path, retention_hours=3 * 24, now=NOW)  # v1 was current 3 days ago
    assert freed.files == 2 and freed.bytes > 0  # v0's file and the orphan
    assert _data_files(path) == _files_of(path, 1) | _files_of(path, 2)
    assert _rows(path, 1) == [(2,)] and _rows(path) == [(3,)]
    assert DeltaTable(path).version() == 2  # no commit: versions move only with the data


def test_the_log_is_cleaned_up_to_the_checkpoint_the_kept_versions_start_from(tmp_path):
    path = str(tmp_path / "t")
    for k in range(25):
        _append(path, [{"k": k}])
        delta.checkpoint_if_due(path)  # checkpoints at versions 9 and 19
        _commit_at(path, k, NOW - (25 - k) * DAY)
    assert sorted(f.version for f in log_files(path) if f.kind == "checkpoint") == [9, 19]

    freed, checkpoint = clean_log(path, retention_hours=8 * 24, now=NOW)  # keeps versions 16 on

    assert checkpoint is None  # 5 commits since the last one: not due
    assert freed.files == 9  # commits 0-8: version 16 is read from the checkpoint at 9
    assert min(f.version for f in log_files(path)) == 9
    assert _rows(path, 16) == [(k,) for k in range(17)]
    assert _rows(path) == [(k,) for k in range(25)]
    with pytest.raises(DeltaError):  # older versions are gone with their commits
        DeltaTable(path, version=8)
    assert vacuum(path, 20 * 24, now=NOW).files == 0  # a window reaching past the log: no failure


def test_a_compaction_after_a_release_leaves_the_released_rows_current(tmp_path):
    path = str(tmp_path / "t")
    for k in range(3):
        _append(path, [{"k": k}])
    released = DeltaTable(path).version()
    DeltaTable(path).optimize.compact()
    assert DeltaTable(path).version() == released + 1
    assert delta.data_version(path, released) == released
    _append(path, [{"k": 9}])
    assert delta.data_version(path, released) == released + 2


def test_the_pipeline_step_maintains_when_due_and_records_the_pass(lake_home):
    lake = get_lake()
    table = lake.table("quarantine.silver_rejects")
    for line in range(8):
        append_refused(table.path, date(2026, 1, 1), line)
    first = date(2026, 1, 10)

    result = maintain_step(RunContext("run-1", first, lake))

    assert result["due"] and result["files_compacted"] == 8 and result["files_written"] == 1
    assert last_maintained(lake) == first
    log = DeltaTable(lake.table("ops.maintenance_log").path).to_pyarrow_table().to_pylist()
    assert [(r["run_id"], r["table_name"], r["files_compacted"]) for r in log] == [
        ("run-1", "quarantine.silver_rejects", 8)
    ]
    not_due = maintain_step(RunContext("run-2", first + timedelta(days=1), lake))
    assert not_due == {"due": False, "last_maintained": first.isoformat()}
    from omnilake.cli import _describe  # the line `omnilake run` shows for the step

    # the replaced files stay for the retention window
    assert _describe(result) == "8 files compacted into 1, 0 vacuumed, 0.0 MiB freed"
    assert _describe(not_due) == "not due (last pass 2026-01-10)"


def test_omnilake_maintain_records_the_pass_and_an_audit_entry(lake_home):
    from typer.testing import CliRunner

    from omnilake.audit import read_entries
    from omnilake.cli import app

    lake = get_lake()
    table = lake.table("quarantine.silver_rejects")
    for line in range(8):
        append_refused(table.path, date(2026, 1, 1), line)

    shown = CliRunner().invoke(app, ["maintain"])

    assert shown.exit_code == 0, shown.output
    assert "8 files compacted into 1" in " ".join(shown.output.split())
    (entry,) = read_entries(lake)
    assert entry["kind"] == "maintenance" and entry["summary"]["files_compacted"] == 8
    assert last_maintained(lake) is None  # outside a run: the pipeline's cadence counts runs only


def test_an_unpartitioned_table_is_compacted_only_past_the_writes_own_bound(tmp_path):
    from omnilake.maintenance.compaction import compact

    path = str(tmp_path / "t")
    for k in range(9):
        _append(path, [{"k": k}])
    policy = Policy()  # 8 files a partition; an unpartitioned table past 16
    args = (policy.compact_min_files, policy.target_file_bytes, policy.compact_unpartitioned_min_files)
    assert compact(DeltaTable(path), *args).files_removed == 0
    for k in range(9, 17):
        _append(path, [{"k": k}])
    assert compact(DeltaTable(path), *args).files_removed == 17
    assert _rows(path) == [(k,) for k in range(17)]


def test_a_pass_over_a_lake_of_missing_feeds_and_empty_deliveries_finds_nothing_due(lake_home):
    lake = get_lake()
    table = lake.table("quarantine.silver_rejects")
    empty = pa.Table.from_pylist([refused_record(date(2026, 1, 1), 1)]).slice(0, 0)
    for _ in range(3):  # a header-only day after another: commits that add no file
        write_deltalake(table.path, empty, mode="append", partition_by=["landing_date"])
    versions = DeltaTable(table.path).version()

    result = maintain_lake(lake, Policy(0, 0, compact_min_files=2))  # every table; most were never made

    (done,) = result.tables
    assert done.table_name == "quarantine.silver_rejects"
    assert (done.partitions_compacted, done.files_compacted, done.files_vacuumed) == (0, 0, 0)
    assert DeltaTable(table.path).version() == versions  # no commit
    assert _rows(table.path) == []
