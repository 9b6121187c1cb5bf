"""The Spark and DuckDB backends compute every expectation type the same way, as GE defines it.

Six hand-made rows, seven checks; the expected counts are worked out by hand below, and both engines
must report them (the samples of offending rows may come in another order).
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import great_expectations as gx
import pytest

from quality.checks import Suite, fail, warn
from quality.duckdb_backend import validate_query
from quality.ge_format import Run
from quality.spark_backend import validate_dataframe

pytestmark = pytest.mark.integration

E = gx.expectations
ROWS = [
    ("k1", 1, 5),
    ("k1", 1, 7),
    ("k2", None, 3),
    (None, None, None),
    (None, None, 12),
    ("k3", 2, -1),
]
SUITE = Suite(
    "test.backends",
    (
        # (a, b): two rows have neither (missing); (k1, 1) twice: 2 unexpected.
        fail("unique(a, b)", E.ExpectCompoundColumnsToBeUnique(column_list=["a", "b"])),
        # a: null twice (missing), k1 twice: 2 unexpected.
        fail("unique(a)", E.ExpectColumnValuesToBeUnique(column="a")),
        # v: null once; nulls are what not-null judges.
        fail("not_null(v)", E.ExpectColumnValuesToNotBeNull(column="v")),
        # v outside [0, 10]: 12 and -1, of the 5 non-null values.
        fail("between(v)", E.ExpectColumnValuesToBeBetween(column="v", min_value=0, max_value=10)),
        # 3 of 5 judged values inside: 0.6 >= mostly 0.5.
        warn(
            "mostly_between(v)",
            E.ExpectColumnValuesToBeBetween(column="v", min_value=0, max_value=10, mostly=0.5),
        ),
        # a not in {k1, k2}: k3 only; the two nulls are missing.
        fail("in_set(a)", E.ExpectColumnValuesToBeInSet(column="a", value_set=["k1", "k2"])),
        fail("rows", E.ExpectTableRowCountToBeBetween(min_value=1, max_value=5)),
    ),
    data=lambda ctx: None,
    row_id=("a", "b"),
)
# check: (success, unexpected_count, missing_count or None, element_count or observed rows)
EXPECTED = {
    "unique(a, b)": (False, 2, 2, 6),
    "unique(a)": (False, 2, 2, 6),
    "not_null(v)": (False, 1, None, 6),
    "between(v)": (False, 2, 1, 6),
    "mostly_between(v)": (True, 2, 1, 6),
    "in_set(a)": (False, 1, 2, 6),
    "rows": (False, None, None, 6),
}


def _summary(validation) -> dict:
    out = {}
    for r in validation.results:
        result = r.result
        count = result.get("element_count", result.get("observed_value"))
        out[r.expectation_config.meta["check"]] = (
            r.success,
            result.get("unexpected_count"),
            result.get("missing_count"),
            count,
        )
    return out


def _samples(validation) -> dict:
    return {
        r.expectation_config.meta["check"]: sorted(
            map(repr, r.result.get("partial_unexpected_index_list") or []), key=str
        )
        for r in validation.results
    }


def test_spark_and_duckdb_report_the_same_counts_and_offending_rows(spark, lake):
    run = Run("backends", datetime.now(UTC))
    frame = spark.createDataFrame(ROWS, "a string, b int, v int")
    on_spark = validate_dataframe(lake, SUITE, frame, run, max_listed=10)
    with duckdb.connect() as con:
        con.execute("create table t (a varchar, b integer, v integer)")
        con.executemany("insert into t values (?, ?, ?)", ROWS)
        on_duckdb = validate_query(lake, SUITE, "select * from t", con, run, max_listed=10)

    assert _summary(on_spark) == EXPECTED
    assert _summary(on_duckdb) == EXPECTED
    assert _samples(on_spark) == _samples(on_duckdb)
    assert _samples(on_spark)["between(v)"] == sorted(
        [repr({"a": None, "b": None, "v": 12}), repr({"a": "k3", "b": 2, "v": -1})], key=str
    )


def test_a_check_that_cannot_be_computed_renders_its_data_docs_page_with_the_error(spark, lake, caplog):
    from pathlib import Path

    from omnilake.errors import QualityGateError
    from quality.checks import GateContext
    from quality.config import QualityConfig
    from quality.gates import run_suites

    broken = Suite(
        "test.broken",
        (fail("x_positive", E.ExpectColumnValuesToBeBetween(column="x", min_value=0)),),
        data=lambda ctx: spark.createDataFrame([(1,)], "y int"),  # no column x
    )
    with pytest.raises(QualityGateError, match=r"x_positive \(observed: error: "):
        run_suites(GateContext("silver", "run-broken", lake, QualityConfig()), [broken])
    # Neither GE's renderer nor the gate logs an error (the Spark Connect client logs the server's
    # analysis error itself when its logging is on, which depends on what ran before in the session).
    errors = [r for r in caplog.records if r.levelname == "ERROR" and not r.name.startswith("pyspark")]
    assert [r.getMessage()[:80] for r in errors] == []
    pages = list(
        Path(lake.path("_ops", "data_docs", "validations", "test", "broken", "run-broken")).rglob("*.html")
    )
    assert len(pages) == 1 and "AnalysisException" in pages[0].read_text(encoding="utf-8")
