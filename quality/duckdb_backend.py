"""Validate a suite where gold lives: the DuckDB warehouse, with GE's result format and Data Docs.

GE 1.24 reaches SQL databases through SQLAlchemy, and DuckDB has neither a GE dialect nor, in this
environment, the ``duckdb-engine`` SQLAlchemy driver. So each expectation a suite declares (the same
expectation types the Spark suites use) is computed here as one DuckDB aggregate plus a bounded
sample of offending rows, and written in GE's result format to GE's validation store
(``quality.ge_format``), so results, ``ops.quality_results`` and Data Docs look the same whichever
engine ran them.

Supported expectation types are in ``SUPPORTED``; any other one is reported as a failed check whose
message says so, never silently passed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import TYPE_CHECKING, Any

import duckdb

from quality.checks import quote_identifier as q
from quality.ge_format import (
    ExpectationConfig,
    Run,
    SuiteValidation,
    ValidationResult,
    expectation_configs,
    ge_version,
    validation_key,
    write_suite,
    write_validation,
)

if TYPE_CHECKING:
    from omnilake.lake import Lake
    from quality.checks import Suite

# (unexpected-row predicate, its parameters, missing-row predicate, ranking window or None)
_MapRule = tuple[str, list[Any], str, str | None]


def _not_null(kwargs: dict) -> _MapRule:
    return f"{q(kwargs['column'])} is null", [], "false", None


def _in_set(kwargs: dict) -> _MapRule:
    column, values = q(kwargs["column"]), list(kwargs["value_set"])
    if not values:
        return f"{column} is not null", [], f"{column} is null", None
    marks = ", ".join("?" for _ in values)
    return f"{column} is not null and {column} not in ({marks})", values, f"{column} is null", None


def _between(kwargs: dict) -> _MapRule:
    column = q(kwargs["column"])
    outside, params = [], []
    if kwargs.get("min_value") is not None:
        outside.append(f"{column} {'<=' if kwargs.get('strict_min') else '<'} ?")
        params.append(kwargs["min_value"])
    if kwargs.get("max_value") is not None:
        outside.append(f"{column} {'>=' if kwargs.get('strict_max') else '>'} ?")
        params.append(kwargs["max_value"])
    return f"{column} is not null and ({' or '.join(outside)})", params, f"{column} is null", None


def _unique(kwargs: dict) -> _MapRule:
    column = q(kwargs["column"])
    return f"{column} is not null and _omnilake_copies > 1", [], f"{column} is null", column


def _compound_unique(kwargs: dict) -> _MapRule:
    columns = [q(c) for c in kwargs["column_list"]]
    all_missing = " and ".join(f"{c} is null" for c in columns)
    return f"not ({all_missing}) and _omnilake_copies > 1", [], all_missing, ", ".join(columns)


_COLUMN_MAP: dict[str, Callable[[dict], _MapRule]] = {
    "expect_column_values_to_not_be_null": _not_null,
    "expect_column_values_to_be_in_set": _in_set,
    "expect_column_values_to_be_between": _between,
    "expect_column_values_to_be_unique": _unique,
    "expect_compound_columns_to_be_unique": _compound_unique,
}
SUPPORTED = (*_COLUMN_MAP, "expect_table_row_count_to_be_between")


def _column_map(
    connection: duckdb.DuckDBPyConnection,
    query: str,
    config: ExpectationConfig,
    row_id: tuple[str, ...],
    max_listed: int,
) -> tuple[bool, dict]:
    kwargs = config.kwargs
    unexpected, params, missing, partition = _COLUMN_MAP[config.type](kwargs)
    counts = None
    if partition:
        # Keys are unique when the distinct keys number the rows that have one: a hash aggregate,
        # where counting each row's copies needs a window over the whole table (about 3x the CPU).
        # Only when some key repeats is the window computed, for the count and the sample.
        element_count, missing_count, keyed, distinct = connection.execute(
            f"select count(*), count(*) filter (where {missing}), count(*) filter (where not ({missing})), "
            f"count(distinct ({partition})) filter (where not ({missing})) from ({query})",
            params,
        ).fetchone()
        if keyed == distinct:
            counts = (element_count, missing_count, 0)
    copies = f", count(*) over (partition by {partition}) as _omnilake_copies" if partition else ""
    rows = f"with _omnilake_data as ({query}) select *{copies} from _omnilake_data"
    if counts is None:
        counts = connection.execute(
            f"select count(*), count(*) filter (where {missing}), count(*) filter (where {unexpected}) "
            f"from ({rows})",
            params,
        ).fetchone()
    element_count, missing_count, unexpected_count = counts
    named = sample_columns(kwargs, row_id)
    sample = []
    if unexpected_count:  # else no row to list
        sample = connection.execute(
            f"select {', '.join(q(c) for c in named)} from ({rows}) where {unexpected} limit {int(max_listed)}",
            params,
        ).fetchall()
    return map_result(
        kwargs, row_id, element_count, missing_count if missing != "false" else None, unexpected_count, sample
    )


def sample_columns(kwargs: dict, row_id: tuple[str, ...]) -> list[str]:
    """The columns a sample of offending rows shows: the row's identity, then the checked columns."""
    checked = kwargs.get("column_list") or [kwargs["column"]]
    return [c for c in row_id if c not in checked] + list(checked)


def map_result(
    kwargs: dict,
    row_id: tuple[str, ...],
    element_count: int,
    missing_count: int | None,
    unexpected_count: int,
    sample: list[tuple],
) -> tuple[bool, dict]:
    """A column-map expectation's success and GE ``SUMMARY`` result from its counts and a sample of
    offending rows (``sample_columns`` order). ``missing_count`` None: the check judges nulls."""
    checked = kwargs.get("column_list") or [kwargs["column"]]
    named = sample_columns(kwargs, row_id)
    # As in GE: nulls are "missing" and not judged, except by not-null, where they are what is judged.
    judged = element_count - (missing_count or 0)
    result: dict[str, Any] = {
        "element_count": element_count,
        "unexpected_count": unexpected_count,
        "unexpected_percent": 100 * unexpected_count / judged if judged else 0.0,
        "partial_unexpected_list": [
            dict(zip(checked, r[-len(checked) :], strict=True)) if len(checked) > 1 else r[-1] for r in sample
        ],
    }
    if missing_count is not None:
        result["missing_count"] = missing_count
        result["missing_percent"] = 100 * missing_count / element_count if element_count else None
    if row_id:
        result["unexpected_index_column_names"] = list(row_id)
        result["partial_unexpected_index_list"] = [dict(zip(named, r, strict=True)) for r in sample]
    mostly = kwargs.get("mostly") or 1.0
    success = unexpected_count == 0 or (mostly < 1 and (judged - unexpected_count) / judged >= mostly)
    return success, result


def row_count_result(config: ExpectationConfig, count: int) -> tuple[bool, dict]:
    low, high = config.kwargs.get("min_value"), config.kwargs.get("max_value")
    success = (low is None or count >= low) and (high is None or count <= high)
    return success, {"observed_value": count}


def error_result(config: ExpectationConfig, exc: BaseException) -> ValidationResult:
    """A check that could not be computed, as GE reports one (GE's page renderer needs a traceback
    string; the message stands in for it)."""
    message = f"{type(exc).__name__}: {exc}"
    return ValidationResult(
        success=False,
        expectation_config=config,
        result={},
        exception_info={
            "raised_exception": True,
            "exception_message": message,
            "exception_traceback": message,
        },
    )


def _row_count(
    connection: duckdb.DuckDBPyConnection, query: str, config: ExpectationConfig, *_: Any
) -> tuple[bool, dict]:
    (count,) = connection.execute(f"select count(*) from ({query})").fetchone()
    return row_count_result(config, count)


def _validate(
    connection: duckdb.DuckDBPyConnection,
    query: str,
    config: ExpectationConfig,
    row_id: tuple[str, ...],
    max_listed: int,
) -> ValidationResult:
    try:
        if config.type in _COLUMN_MAP:
            success, result = _column_map(connection, query, config, row_id, max_listed)
        elif config.type == "expect_table_row_count_to_be_between":
            success, result = _row_count(connection, query, config)
        else:
            raise NotImplementedError(
                f"{config.type} is not computed on DuckDB; use one of {', '.join(SUPPORTED)} "
                "or add it to quality/duckdb_backend.py"
            )
    except (duckdb.Error, NotImplementedError) as exc:
        return error_result(config, exc)
    return ValidationResult(success=success, expectation_config=config, result=result)


def validate_query(
    lake: Lake,
    suite: Suite,
    query: str,
    connection: duckdb.DuckDBPyConnection,
    run: Run,
    max_listed: int,
) -> SuiteValidation:
    """Run the suite's expectations on the rows of ``query`` and store the result as GE would."""
    results = [_validate(connection, query, c, suite.row_id, max_listed) for c in expectation_configs(suite)]
    return store_suite_result(
        lake, suite, results, run, batch_spec={"engine": "duckdb", "query": query}, datasource="duckdb"
    )


def store_suite_result(
    lake: Lake,
    suite: Suite,
    results: list[ValidationResult],
    run: Run,
    *,
    batch_spec: dict,
    datasource: str,
) -> SuiteValidation:
    """The suite's results as GE's suite result, written with the suite to GE's stores for Data Docs."""
    validation = SuiteValidation(
        suite_name=suite.name,
        results=results,
        meta={
            "great_expectations_version": ge_version(),
            "batch_spec": batch_spec,
            "active_batch_definition": {
                "datasource_name": datasource,
                "data_connector_name": "warehouse" if datasource == "duckdb" else "dataframe",
                "data_asset_name": suite.name,
                "batch_identifiers": {},
            },
            "run_id": run.to_json_dict(),
            "validation_time": run.run_time.astimezone(UTC).isoformat(),
        },
    )
    write_suite(lake, suite)
    write_validation(lake, validation, validation_key(suite.name, run, batch_identifier(suite, datasource)))
    return validation


def batch_identifier(suite: Suite, datasource: str) -> str:
    """The name of a suite's validation page within a run (GE's batch identifier)."""
    return f"{datasource}-{suite.name}"
