"""The calendar's data range comes from the Delta log's per-file statistics, not a scan."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pyarrow as pa
from deltalake import write_deltalake

from jobs.silver.reference import _range_from_stats


def _append(path: str, days: list[date | None]) -> None:
    write_deltalake(path, pa.table({"snapshot_date": pa.array(days, pa.date32())}), mode="append")


def test_the_range_spans_every_file_and_ignores_nulls(tmp_path):
    path = str(tmp_path / "positions")
    _append(path, [date(2026, 1, 5), date(2026, 1, 3)])
    _append(path, [None, None])  # a file with rows but no value: it adds nothing to the range
    _append(path, [date(2025, 12, 30), None, date(2026, 2, 1)])
    assert _range_from_stats(SimpleNamespace(path=path), "snapshot_date") == (
        date(2025, 12, 30),
        date(2026, 2, 1),
    )


def test_no_value_anywhere_is_no_range(tmp_path):
    path = str(tmp_path / "positions")
    _append(path, [None])
    assert _range_from_stats(SimpleNamespace(path=path), "snapshot_date") is None


def test_a_column_without_statistics_is_left_to_the_engine(tmp_path):
    path = str(tmp_path / "positions")
    _append(path, [date(2026, 1, 5)])
    assert _range_from_stats(SimpleNamespace(path=path), "business_date") is False
