"""Per-model reports of the gold build: which model or test failed, and what dbt never ran."""

from __future__ import annotations

import pytest

from omnilake.gold_models import GoldModelError, attached_tests, model_report, models
from omnilake.pipeline import GOLD_MARTS

pytestmark = pytest.mark.unit


def _node(kind: str, name: str, *depends_on: str, attached: str | None = None) -> dict:
    return {
        "resource_type": kind,
        "name": name,
        "fqn": ["omnilake", "marts", name],
        "depends_on": {"nodes": list(depends_on)},
        "attached_node": attached,
        "description": f"{name} model",
    }


MANIFEST = {
    "nodes": {
        "model.omnilake.stg_orders": _node("model", "stg_orders", "source.omnilake.silver.orders"),
        "model.omnilake.fct_sales": _node("model", "fct_sales", "model.omnilake.stg_orders"),
        "test.omnilake.unique_fct_sales_id": _node(
            "test", "unique_fct_sales_id", "model.omnilake.fct_sales", attached="model.omnilake.fct_sales"
        ),
        # Declared on fct_sales, referencing stg_orders: it belongs to fct_sales.
        "test.omnilake.relationships_fct_sales": _node(
            "test",
            "relationships_fct_sales",
            "model.omnilake.stg_orders",
            "model.omnilake.fct_sales",
            attached="model.omnilake.fct_sales",
        ),
    },
    "unit_tests": {},
}


def _result(uid: str, status: str, message: str = "") -> dict:
    return {"unique_id": uid, "status": status, "message": message, "execution_time": 0.5}


def test_models_carry_their_lineage_and_tests():
    by_name = {m.name: m for m in models(MANIFEST)}
    assert by_name["fct_sales"].upstream == ("stg_orders",)
    assert by_name["stg_orders"].upstream == ()
    assert attached_tests(by_name["fct_sales"], MANIFEST) == [
        "test.omnilake.relationships_fct_sales",
        "test.omnilake.unique_fct_sales_id",
    ]
    assert attached_tests(by_name["stg_orders"], MANIFEST) == []


def test_a_built_model_with_passing_tests_reports_success():
    results = [
        _result("model.omnilake.fct_sales", "success"),
        _result("test.omnilake.unique_fct_sales_id", "pass"),
        _result("test.omnilake.relationships_fct_sales", "warn"),
    ]
    report = model_report("fct_sales", results, MANIFEST)
    assert report["status"] == "success" and report["tests_passed"] == 1
    assert report["tests_warned"] == ["test.omnilake.relationships_fct_sales"]


def test_a_failed_test_fails_its_model_and_names_the_test():
    results = [
        _result("model.omnilake.fct_sales", "success"),
        _result("test.omnilake.unique_fct_sales_id", "fail", "Got 3 results, configured to fail if != 0"),
    ]
    with pytest.raises(GoldModelError, match=r"unique_fct_sales_id: Got 3 results"):
        model_report("fct_sales", results, MANIFEST)


def test_a_failed_model_is_named_and_a_model_dbt_skipped_or_never_ran_reports_nothing():
    failed = [_result("model.omnilake.stg_orders", "error", "Binder Error: column x not found")]
    with pytest.raises(GoldModelError, match="stg_orders failed: Binder Error"):
        model_report("stg_orders", failed, MANIFEST)
    assert (
        model_report("fct_sales", [*failed, _result("model.omnilake.fct_sales", "skipped")], MANIFEST) is None
    )
    assert model_report("fct_sales", [], MANIFEST) is None


def test_the_project_manifest_holds_every_mart_with_its_upstream_models():
    by_name = {m.name: m for m in models()}
    assert set(GOLD_MARTS) <= set(by_name)
    for model in by_name.values():
        assert set(model.upstream) <= set(by_name), model.name
    assert all(by_name[m].upstream for m in GOLD_MARTS)
