"""What the log says was written since a checked version, when compactions moved rows in between:
delta-rs tables written by hand, no engine."""

from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable, write_deltalake

from omnilake import delta


def _table(tmp_path):
    return SimpleNamespace(path=str(tmp_path / "t"), qualified_name="silver.t")


def _append(table, rows, partition_by=("day",)):
    write_deltalake(table.path, pa.Table.from_pylist(rows), mode="append", partition_by=list(partition_by))
    return DeltaTable(table.path).version()


def _rows(files):
    """The ids the files hold."""
    return sorted(
        i for f in files for i in pq.read_table(f.uri.removeprefix("file://")).column("id").to_pylist()
    )


def test_a_compaction_of_checked_files_leaves_nothing_to_check(tmp_path):
    table = _table(tmp_path)
    _append(table, [{"id": 1, "day": "a"}, {"id": 2, "day": "b"}])
    checked = _append(table, [{"id": 3, "day": "a"}, {"id": 4, "day": "b"}])
    DeltaTable(table.path).optimize.compact()
    changes = delta.files_changed_since(table, checked)
    assert changes.version == checked + 1
    assert (changes.added, changes.removed) == ((), ())


def test_rows_appended_before_a_compaction_stay_in_scope_and_untouched_partitions_do_not(tmp_path):
    table = _table(tmp_path)
    _append(table, [{"id": 1, "day": "a"}, {"id": 2, "day": "b"}])
    checked = _append(table, [{"id": 3, "day": "a"}, {"id": 4, "day": "b"}])
    _append(table, [{"id": 5, "day": "b"}])
    DeltaTable(table.path).optimize.compact()
    changes = delta.files_changed_since(table, checked)
    # partition b's compacted file took in the unchecked row 5: read again whole; a's file is not
    assert _rows(changes.added) == [2, 4, 5]
    # its checked files count as removed, their rows found again in the added file
    assert _rows(changes.removed) == [2, 4]


def test_a_compacted_file_rewritten_later_is_removed_and_its_rewrite_added(tmp_path):
    table = _table(tmp_path)
    _append(table, [{"id": 1, "day": "a"}])
    checked = _append(table, [{"id": 2, "day": "a"}])
    DeltaTable(table.path).optimize.compact()
    DeltaTable(table.path).delete("id = 2")
    changes = delta.files_changed_since(table, checked)
    assert _rows(changes.added) == [1]
    # the compacted file is the one the delete took away: the rows a reference may have lost are there
    assert len(changes.removed) == 1 and Path(changes.removed[0].uri.removeprefix("file://")).is_file()
    assert _rows(changes.removed) == [1, 2]


def test_two_compactions_in_a_row_still_leave_nothing_to_check(tmp_path):
    table = _table(tmp_path)
    checked = _append(table, [{"id": 1, "day": "a"}])
    _append(table, [{"id": 2, "day": "a"}])
    changes_before = delta.files_changed_since(table, checked)
    assert _rows(changes_before.added) == [2]
    checked = DeltaTable(table.path).version()
    DeltaTable(table.path).optimize.compact()
    _append(table, [{"id": 3, "day": "a"}])
    DeltaTable(table.path).optimize.compact()
    changes = delta.files_changed_since(table, checked)
    # the second compaction took in row 3, written since: its file is checked again, rows 1 to 3
    assert _rows(changes.added) == [1, 2, 3]
    checked = DeltaTable(table.path).version()
    DeltaTable(table.path).optimize.compact()  # nothing left to compact: no commit, or no change
    _append(table, [{"id": 4, "day": "a"}])
    assert _rows(delta.files_changed_since(table, checked).added) == [4]


def test_a_vacuum_between_leaves_nothing_to_check(tmp_path):
    table = _table(tmp_path)
    _append(table, [{"id": 1, "day": "a"}])
    checked = _append(table, [{"id": 2, "day": "a"}])
    DeltaTable(table.path).optimize.compact()
    DeltaTable(table.path).vacuum(retention_hours=0, dry_run=False, enforce_retention_duration=False)
    assert delta.files_changed_since(table, checked).added == ()


def test_a_commit_missing_from_the_log_falls_back_to_the_files_live_then_and_now(tmp_path):
    table = _table(tmp_path)
    _append(table, [{"id": 1, "day": "a"}])
    checked = _append(table, [{"id": 2, "day": "a"}])
    DeltaTable(table.path).optimize.compact()
    _append(table, [{"id": 3, "day": "a"}])
    DeltaTable(table.path).create_checkpoint()
    # a log cleanup past the checkpoint took the compaction's commit: it cannot be told apart
    # from a rewrite any more, so its file is checked again
    Path(table.path, "_delta_log", f"{checked + 1:020d}.json").unlink()
    assert _rows(delta.files_changed_since(table, checked).added) == [1, 2, 3]


def test_a_checked_version_cleaned_from_the_log_is_not_built_on(tmp_path):
    table = _table(tmp_path)
    checked = _append(table, [{"id": 1, "day": "a"}])
    DeltaTable(table.path).optimize.compact()
    _append(table, [{"id": 2, "day": "a"}])
    DeltaTable(table.path).create_checkpoint()
    for version in range(checked + 1):
        Path(table.path, "_delta_log", f"{version:020d}.json").unlink()
    assert delta.files_changed_since(table, checked) is None
