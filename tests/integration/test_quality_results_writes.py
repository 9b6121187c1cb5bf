"""ops.quality_results: a gate's first results are appended without a delete over every run's rows;
a re-run of the same run and layer replaces them, and other runs and layers are left as they were."""

from datetime import date, datetime

import pytest
from deltalake import DeltaTable

from quality.results import CheckResult, GateReport, write_results

pytestmark = pytest.mark.integration

DAY = date(2026, 1, 5)
AT = datetime(2026, 1, 5, 6)


def _report(layer, run_id, observed):
    check = CheckResult(
        f"{layer}.orders", "not_null(id)", "expect_column_values_to_not_be_null", "fail", True, observed
    )
    return GateReport(layer, run_id, DAY, [check])


def _rows(lake):
    table = DeltaTable(lake.table("ops.quality_results").path)
    return sorted(
        (r["run_id"], r["layer"], r["observed_value"]) for r in table.to_pyarrow_table().to_pylist()
    )


def _replaces(lake):
    """How many commits replaced rows: a delete, or an overwrite by predicate (delta-rs records
    that as a WRITE in mode Overwrite)."""
    history = DeltaTable(lake.table("ops.quality_results").path).history()
    return sum(
        h["operation"] == "DELETE"
        or (h["operation"] == "WRITE" and h.get("operationParameters", {}).get("mode") == "Overwrite")
        for h in history
    )


def test_first_results_append_and_a_rerun_replaces_only_its_own(spark, lake):
    write_results(spark, lake, _report("bronze", "r1", "0 of 3 rows"), AT)
    write_results(spark, lake, _report("silver", "r1", "0 of 4 rows"), AT)  # same run, another layer
    write_results(spark, lake, _report("bronze", "r2", "0 of 5 rows"), AT)
    assert _replaces(lake) == 0  # nothing of these runs and layers was there to replace
    write_results(spark, lake, _report("silver", "r1", "1 of 4 rows"), AT)  # the silver gate again
    assert _replaces(lake) == 1
    assert _rows(lake) == [
        ("r1", "bronze", "0 of 3 rows"),
        ("r1", "silver", "1 of 4 rows"),
        ("r2", "bronze", "0 of 5 rows"),
    ]
