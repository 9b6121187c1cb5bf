"""The gold gate on a mart that accumulates history: after a passing gate it checks the landing
dates written since, unless an older one changed, and a bad row is caught wherever it is."""

import duckdb
import pytest

from omnilake import delta
from omnilake.contracts import Contract, Field
from omnilake.errors import ContractError, QualityGateError
from quality import expectations as E
from quality.checks import GateContext, fail
from quality.config import QualityConfig
from quality.contract_checks import warehouse_suite
from quality.gates import run_suites
from quality.rules import warehouse_rule

pytestmark = pytest.mark.integration

CONFIG = QualityConfig(data_docs=False)
REVISIONS = Contract(
    name="score_revisions",
    layer="gold",
    keys=("customer_key", "known_at"),
    fields=(
        Field("customer_key", "string", required=True),
        Field("known_at", "date", required=True),
        Field("score", "int", min=1, max=5),
    ),
)
ONE_SCORE_PER_KNOWN_AT = warehouse_rule(
    "gold.one_score_per_known_at",
    "select known_at, count(distinct score) as scores from {score_revisions} group by known_at",
    (fail("one_score_per_known_at", E.ExpectColumnValuesToBeBetween(column="scores", max_value=1)),),
    row_id=("known_at",),
    grouped_by={"score_revisions": "known_at"},
)
SUITES = [warehouse_suite(REVISIONS, grouped_by="known_at"), ONE_SCORE_PER_KNOWN_AT]


def _sql(lake, statement: str) -> None:
    connection = duckdb.connect(lake.warehouse_path)
    connection.execute(statement)
    connection.close()


def _add(lake, known_at: str, *rows: tuple[str, int]) -> None:
    values = ", ".join(f"('{key}', date '{known_at}', {score})" for key, score in rows)
    _sql(lake, f"insert into score_revisions values {values}")


def _gate(spark, lake, run_id: str, *, passes: bool) -> dict[str, tuple[bool, str]]:
    """Run the two suites; {check: (success, observed)} as recorded."""
    if passes:
        run_suites(GateContext("gold", run_id, lake, CONFIG), SUITES)
    else:
        with pytest.raises(QualityGateError):
            run_suites(GateContext("gold", run_id, lake, CONFIG), SUITES)
    rows = (
        delta.read(spark, lake.table("ops.quality_results"))
        .where(f"run_id = '{run_id}'")
        .select("expectation", "success", "observed_value")
        .collect()
    )
    return {r["expectation"]: (r["success"], r["observed_value"]) for r in rows}


def test_later_runs_check_only_new_landing_dates_until_an_old_one_changes(spark, lake):
    _sql(lake, "create table score_revisions (customer_key varchar, known_at date, score int)")
    _add(lake, "2026-01-01", ("c1", 3), ("c2", 3))
    _add(lake, "2026-01-02", ("c1", 4), ("c2", 4))
    # first gate: every row (4) and both groups
    first = _gate(spark, lake, "run-1", passes=True)
    assert first["between(score)"] == (True, "0 of 4 rows")
    assert first["one_score_per_known_at"] == (True, "0 of 2 rows")

    # a new landing date: only its 3 rows and 1 group; its bad score and duplicate key are caught
    _add(lake, "2026-01-03", ("c1", 9), ("c2", 2), ("c2", 2))
    third = _gate(spark, lake, "run-2", passes=False)
    assert third["between(score)"] == (False, "1 of 3 rows: customer_key=c1 known_at=2026-01-03 score=9")
    assert third["unique(customer_key, known_at)"][0] is False
    assert third["one_score_per_known_at"] == (False, "1 of 1 rows: known_at=2026-01-03 scores=2")

    # the failed gate is not built on: the next one checks 2026-01-03 again, with 2026-01-04
    _sql(lake, "delete from score_revisions where known_at = date '2026-01-03'")
    _add(lake, "2026-01-03", ("c1", 2), ("c2", 2))
    _add(lake, "2026-01-04", ("c1", 1))
    fourth = _gate(spark, lake, "run-3", passes=True)
    assert fourth["between(score)"] == (True, "0 of 3 rows")
    assert fourth["unique(customer_key, known_at)"] == (True, "0 of 3 rows")
    assert fourth["one_score_per_known_at"] == (True, "0 of 2 rows")

    # an old landing date rewritten with a bad row (a recompute, a bug): the digest of the groups
    # checked before differs, so every row (8) is checked and the bad old row is caught
    _sql(
        lake,
        "update score_revisions set score = 0 where customer_key = 'c2' and known_at = date '2026-01-01'",
    )
    _add(lake, "2026-01-05", ("c1", 5))
    fifth = _gate(spark, lake, "run-4", passes=False)
    assert fifth["between(score)"] == (False, "1 of 8 rows: customer_key=c2 known_at=2026-01-01 score=0")
    assert fifth["one_score_per_known_at"] == (False, "1 of 5 rows: known_at=2026-01-01 scores=2")


def test_checks_grouped_by_a_column_outside_the_keys_are_refused():
    with pytest.raises(ContractError, match="grouped by known_at need it in the keys"):
        warehouse_suite(
            Contract("scores", "gold", REVISIONS.fields, keys=("customer_key",)), grouped_by="known_at"
        )
