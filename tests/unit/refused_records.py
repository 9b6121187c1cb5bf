"""Rows of ``quarantine.silver_rejects`` for maintenance tests: a small partitioned table every lake has."""

from datetime import date

import pyarrow as pa
from deltalake import write_deltalake


def refused_record(day: date, line: int) -> dict:
    """One record silver refused on ``day`` (the partition value) at ``line``."""
    return {
        "silver_table": "orders",
        "source": "orders",
        "file_hash": f"h{day.day}",
        "line": line,
        "reason": "future_timestamp",
        "batch_id": f"b{day.day}",
        "landing_date": day,
    }


def append_refused(path: str, day: date, line: int) -> None:
    """One refused record of ``day``: one new file in that day's partition."""
    write_deltalake(
        path, pa.Table.from_pylist([refused_record(day, line)]), mode="append", partition_by=["landing_date"]
    )
