"""Content fingerprints see a changed, missing or duplicated row, not file order or lineage columns."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from omnilake.fingerprint import ABSENT, table_fingerprint
from omnilake.lake import Lake
from omnilake.publish import arrow_schema
from omnilake.settings import LakeRoot

pytestmark = pytest.mark.integration


def _refused(path: str, reason: str, batch: str) -> dict:
    return {
        "source": "orders",
        "path": path,
        "file_hash": path[-1] * 64,
        "size_bytes": 10,
        "reason": reason,
        "detail": None,
        "batch_id": batch,  # lineage
        "quarantined_at": datetime(2026, 3, 2, int(batch[-1])),  # lineage
        "landing_date": date(2026, 3, 2),
    }


def _write(lake: Lake, rows: list[dict], *chunks: list[dict]) -> None:
    table = lake.table("quarantine.files")
    schema = arrow_schema(table.contract)
    write_deltalake(table.path, pa.Table.from_pylist(rows, schema), mode="overwrite")
    for chunk in chunks:  # more files, in another order
        write_deltalake(table.path, pa.Table.from_pylist(chunk, schema), mode="append")


def test_same_rows_in_another_order_and_batch_give_the_same_fingerprint(tmp_path):
    a, b = Lake(LakeRoot(str(tmp_path / "a"))), Lake(LakeRoot(str(tmp_path / "b")))
    table = lambda lake: lake.table("quarantine.files")  # noqa: E731
    assert table_fingerprint(table(a)) == ABSENT

    rows = [_refused("x/1", "empty_file", "b1"), _refused("x/2", "json_array", "b1")]
    _write(a, rows)
    _write(b, [_refused("x/2", "json_array", "b2")], [_refused("x/1", "empty_file", "b3")])
    first = table_fingerprint(table(a))
    assert first.rows == 2 and first == table_fingerprint(table(b))

    _write(b, rows, [rows[0]])  # a duplicated row
    assert table_fingerprint(table(b)).rows == 3 and table_fingerprint(table(b)) != first
    _write(b, [rows[0], {**rows[1], "reason": "bad_encoding"}])  # a changed value
    assert table_fingerprint(table(b)).rows == 2 and table_fingerprint(table(b)) != first
    _write(b, [rows[0], {**rows[1], "detail": "now with a detail"}])  # null to a value
    assert table_fingerprint(table(b)) != first
    assert table_fingerprint(table(a), version=0) == first
