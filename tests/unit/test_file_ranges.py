"""Which files of a Delta table can hold a key, judged from the bounds its log records per file."""

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pyarrow as pa
from deltalake import write_deltalake

from omnilake.pruning.ranges import FileRanges, file_ranges, files_holding


def _table(tmp_path, batches):
    """A Delta table (partitioned by ``day``) with one file per batch, as a ``Table``-like object."""
    path = str(tmp_path / "t")
    for rows in batches:
        write_deltalake(path, pa.Table.from_pylist(rows), mode="append", partition_by=["day"])
    return SimpleNamespace(path=path)


def _file(**bounds):
    return FileRanges("f", (), 1, bounds)


def test_a_file_is_ruled_out_only_when_no_value_looked_for_falls_inside_its_bounds():
    f = _file(order_id=("5040130000001", "5040140000099"), line=(1, 4))
    assert f.may_hold_values({"order_id": ["5040139999999"]})
    assert not f.may_hold_values({"order_id": ["5040120000000", "5040150000000"]})
    # every column must be in range for one row to hold the key
    assert not f.may_hold_values({"order_id": ["5040130000001"], "line": [5, 9]})
    # a column the file has no bounds for (or bounds of another type) rules nothing out
    assert f.may_hold_values({"sku": ["x"], "line": ["3"]})
    # no upper bound (a string cut short by the writer): anything from the lower one on
    assert _file(message_id=("c", None)).may_hold_values({"message_id": ["zz"]})
    assert not _file(message_id=("c", None)).may_hold_values({"message_id": ["b"]})


def test_files_overlap_when_their_bounds_meet_on_every_column_pair():
    lines = _file(order_id=("a2", "a9"))
    assert _file(order_id=("a1", "a2")).overlaps(lines, {"order_id": "order_id"})
    assert not _file(order_id=("m1", "m2")).overlaps(lines, {"order_id": "order_id"})
    assert _file(order_id=("m1", None)).overlaps(_file(order_id=("z", "z")), {"order_id": "order_id"})
    assert _file().overlaps(lines, {"order_id": "order_id"})  # no bounds: may hold anything


def test_bounds_come_from_the_log_and_only_exact_ones_are_kept(tmp_path):
    at = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
    long_id = "x" * 40
    table = _table(
        tmp_path,
        [
            [
                {"id": "a1", "n": 3, "at": at, "day": date(2026, 1, 1)},
                {"id": "a2", "n": 7, "at": at, "day": date(2026, 1, 1)},
            ],
            [
                {"id": "m1", "n": 1, "at": at, "day": date(2026, 1, 2)},
                {"id": long_id, "n": 2, "at": at, "day": date(2026, 1, 2)},
            ],
        ],
    )
    files = sorted(file_ranges(table, ["id", "n", "at", "day"]).values(), key=lambda f: f.partition_values)
    first, second = files
    assert first.bounds == {"id": ("a1", "a2"), "n": (3, 7), "day": (date(2026, 1, 1), date(2026, 1, 1))}
    # a 40-character maximum may have been cut: a lower bound only; timestamps are never trusted
    assert second.bounds["id"] == ("m1", None)
    assert "at" not in second.bounds

    kept, every = files_holding(table, {"id": ["a3"]})
    assert len(every) == 2 and kept == []  # past a2, before m1
    kept, _ = files_holding(table, {"id": ["zz"]})
    assert [f.uri for f in kept] == [second.uri]  # m1.. has no end
    kept, _ = files_holding(table, {"id": ["a2"], "n": [7]})
    assert [f.uri for f in kept] == [first.uri]
    kept, _ = files_holding(table, {"id": ["a2"], "n": [8]})
    assert kept == []  # a2 is in the first file's range, 8 in neither's
    # a null looked for narrows nothing (a null-safe key match could find it anywhere)
    kept, _ = files_holding(table, {"id": ["a0", None]})
    assert len(kept) == 2


def test_a_table_whose_log_cannot_be_read_rules_out_nothing(tmp_path):
    assert file_ranges(SimpleNamespace(path=str(tmp_path / "missing")), ["id"]) is None
