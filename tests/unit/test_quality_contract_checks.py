"""Contract -> expectation generation, and the pure pieces of the gates (no engine)."""

import pytest

from omnilake.contracts import Contract, Field, all_contracts
from omnilake.errors import ContractError
from quality.checks import Check, Suite, fail, warn
from quality.contract_checks import contract_checks
from quality.data_docs import make_offline, remote_assets
from quality.ge_format import expectation_config
from quality.results import CheckResult, GateReport, observed_text

pytestmark = pytest.mark.unit


def _contract(layer: str, keys=("order_id",), extra=()) -> Contract:
    return Contract(
        name="orders",
        layer=layer,
        keys=tuple(keys),
        fields=(
            Field("order_id", "string", required=True),
            Field("line", "int"),
            Field("status", "string", allowed_values=("placed", "shipped")),
            Field("quantity", "int", min=1, max=100),
            Field("discount", "decimal(5,2)", max=0.5),
            Field("items", "array<struct<sku:string,qty:int>>", required=True),
            *extra,
        ),
    )


def _by_name(checks: tuple[Check, ...]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_each_contract_rule_becomes_one_named_expectation():
    checks = contract_checks(_contract("silver"))
    assert [c.name for c in checks] == [
        "unique(order_id)",
        "not_null(order_id)",
        "in_set(status)",
        "between(quantity)",
        "between(discount)",
        "not_null(items)",
    ]
    by_name = _by_name(checks)
    assert by_name["unique(order_id)"].expectation.expectation_type == "expect_column_values_to_be_unique"
    assert by_name["in_set(status)"].expectation.value_set == ["placed", "shipped"]
    quantity = by_name["between(quantity)"].expectation
    assert (quantity.column, quantity.min_value, quantity.max_value) == ("quantity", 1, 100)
    discount = by_name["between(discount)"].expectation
    assert (discount.min_value, discount.max_value) == (None, 0.5)


def test_compound_key_is_unique_together_and_each_part_not_null():
    checks = _by_name(contract_checks(_contract("silver", keys=("order_id", "line"))))
    unique = checks["unique(order_id, line)"].expectation
    assert unique.expectation_type == "expect_compound_columns_to_be_unique"
    assert unique.column_list == ["order_id", "line"]
    assert "not_null(line)" in checks  # a key part, though the field is not marked required


def test_bronze_fails_on_keys_and_required_but_only_warns_on_values_and_ranges():
    severities = {c.name: c.severity for c in contract_checks(_contract("bronze"))}
    assert severities == {
        "unique(order_id)": "fail",
        "not_null(order_id)": "fail",
        "in_set(status)": "warn",
        "between(quantity)": "warn",
        "between(discount)": "warn",
        "not_null(items)": "fail",
    }


@pytest.mark.parametrize("layer", ["silver", "gold"])
def test_silver_and_gold_fail_on_every_contract_rule(layer):
    assert {c.severity for c in contract_checks(_contract(layer))} == {"fail"}


def test_range_on_a_text_field_is_a_contract_error_not_a_silent_skip():
    contract = _contract("gold", extra=(Field("segment", "string", min=1),))
    with pytest.raises(ContractError, match=r"gold.orders.segment: min/max apply to numeric fields"):
        contract_checks(contract)


def test_every_contract_under_schemas_generates_checks_on_its_own_columns():
    for contract in all_contracts().values():
        fields = set(contract.field_names)
        for check in contract_checks(contract):
            expectation = check.expectation
            columns = getattr(expectation, "column_list", None) or [expectation.column]
            assert set(columns) <= fields, f"{contract.qualified_name}: {check.name}"


def test_severity_travels_into_ge_as_its_own_severity_and_meta():
    expectation = warn(
        "volume", _by_name(contract_checks(_contract("silver")))["between(quantity)"].expectation
    )
    gx_expectation = expectation_config("silver.orders", expectation)
    assert gx_expectation.severity == "warning"
    assert gx_expectation.meta == {"check": "volume", "severity": "warn"}
    assert expectation_config("silver.orders", fail("x", expectation.expectation)).severity == "critical"


def test_a_suite_refuses_two_checks_with_one_name():
    check = contract_checks(_contract("silver"))[0]
    with pytest.raises(ValueError, match=r"declares the check\(s\) \['unique\(order_id\)'\] twice"):
        Suite("silver.orders", (check, check), data=lambda ctx: None)


def test_observed_value_names_the_offending_rows_by_their_identifying_columns():
    result = {
        "element_count": 3,
        "unexpected_count": 1,
        "partial_unexpected_list": [False],
        "partial_unexpected_index_list": [
            {"path": "landing/orders/b.ndjson", "bronze_rows": 8, "balanced": False}
        ],
    }
    assert (
        observed_text(result, None, "files")
        == "1 of 3 files: path=landing/orders/b.ndjson bronze_rows=8 balanced=False"
    )


def test_observed_value_says_when_more_rows_broke_than_are_listed():
    result = {"element_count": 100, "unexpected_count": 7, "partial_unexpected_list": [-1.0, 2.123456]}
    assert observed_text(result, None) == "7 of 100 rows: -1.0; 2.1235; …"


def test_observed_value_of_an_aggregate_and_of_an_error():
    assert observed_text({"observed_value": 42}, None) == "42"
    error = {"raised_exception": True, "exception_message": "column 'x' does not exist"}
    assert observed_text({}, error) == "error: column 'x' does not exist"


def test_a_metric_the_engine_cannot_compute_is_reported_as_an_error():
    # GE's shape when a metric fails, e.g. Sail 0.7.2 has no approxQuantile for column medians.
    per_metric = {
        "MetricConfigurationID(column.median)": {
            "raised_exception": True,
            "exception_message": "approx quantile",
        }
    }
    assert observed_text({"observed_value": None}, per_metric) == "error: approx quantile"


def test_report_separates_failed_from_warned_checks():
    def result(name, severity, success):
        return CheckResult("bronze.deliveries", name, "t", severity, success, "none")

    report = GateReport(
        "bronze",
        "r1",
        None,
        [result("freshness", "fail", False), result("volume", "warn", False), result("ratio", "fail", True)],
    )
    assert [r.expectation for r in report.failed] == ["freshness"]
    assert [r.expectation for r in report.warned] == ["volume"]
    assert not report.passed
    assert report.summary() == "bronze gate: 3 checks, 1 failed, 1 warned (0.0s)"
    assert report.as_dict()["failed"] == ["bronze.deliveries: freshness (observed: none)"]


PAGE = """<html><head>
<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css" />
<style>.logo { background: url('https://example.org/assets/full_logo_dark.png') 0 0 no-repeat; }</style>
</head><body>
<img src="https://example.org/assets/logo-long.png?d=1" alt="logo">
<a href="https://greatexpectations.io">Great Expectations</a>
<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>
<script src="https://cdn.jsdelivr.net/npm/vega-lite@5"></script>
<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>
<script src="https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js" integrity="sha384-x" crossorigin="anonymous"></script>
<script src="https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js" crossorigin="anonymous"></script>
<script>$(function () {});</script>
</body></html>"""


def test_data_docs_page_is_rewritten_to_load_only_vendored_files():
    page = make_offline(PAGE, "../../static")
    assert remote_assets(PAGE) and remote_assets(page) == []
    assert '<link rel="stylesheet" href="../../static/offline/bootstrap.min.css">' in page
    assert "bootstrap-prefers-dark" not in page
    assert page.count("vega-offline.js") == 1 and "popper" not in page
    assert page.index("offline/jquery.min.js") < page.index("offline/bootstrap.bundle.min.js")
    assert 'src="../../static/images/logo-long.png"' in page
    assert "url('../../static/images/logo-long.png')" in page
    assert '<a href="https://greatexpectations.io">' in page  # links stay; reading needs no network
    assert "<script>$(function () {});</script>" in page
