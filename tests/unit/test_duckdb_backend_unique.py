"""Uniqueness on the DuckDB backend: judged by a distinct count first, by each row's copies only
when a key repeats; both give GE's counts, nulls missing and not judged."""

from __future__ import annotations

import duckdb
import pytest

from quality import expectations as E
from quality.checks import Suite, fail
from quality.duckdb_backend import _column_map
from quality.ge_format import expectation_configs

pytestmark = pytest.mark.unit


def _unique(rows: list[tuple], columns: list[str]) -> tuple[bool, int, int, int, list]:
    """(success, element_count, missing_count, unexpected_count, offending keys) of the check."""
    expectation = (
        E.ExpectColumnValuesToBeUnique(column=columns[0])
        if len(columns) == 1
        else E.ExpectCompoundColumnsToBeUnique(column_list=columns)
    )
    suite = Suite("test.unique", (fail("unique", expectation),), data=lambda ctx: None, row_id=("a", "b"))
    (config,) = expectation_configs(suite)
    with duckdb.connect() as con:
        con.execute("create table t (a varchar, b integer)")
        con.executemany("insert into t values (?, ?)", rows)
        success, result = _column_map(con, "select * from t", config, ("a", "b"), 10)
    listed = sorted((tuple(r.values()) for r in result["partial_unexpected_index_list"]), key=repr)
    return success, result["element_count"], result["missing_count"], result["unexpected_count"], listed


def test_unique_keys_with_nulls_pass_with_the_nulls_counted_missing():
    rows = [("k1", 1), ("k2", 1), (None, 2), (None, 3)]
    assert _unique(rows, ["a"]) == (True, 4, 2, 0, [])
    assert _unique([*rows, (None, None), (None, None)], ["a", "b"]) == (True, 6, 2, 0, [])


def test_a_repeated_key_is_counted_and_listed_row_by_row():
    rows = [("k1", 1), ("k1", 1), ("k2", None), ("k2", None), ("k3", None), (None, None)]
    # a: k1 and k2 twice each, the null missing (rows listed as (b, a): identity, then the column)
    assert _unique(rows, ["a"]) == (False, 6, 1, 4, [(1, "k1"), (1, "k1"), (None, "k2"), (None, "k2")])
    # (a, b): (k1, 1) and (k2, null) twice each (a key with one null part is judged)
    assert _unique(rows, ["a", "b"]) == (False, 6, 1, 4, [("k1", 1), ("k1", 1), ("k2", None), ("k2", None)])
