"""Validate a suite where bronze and silver live, over Spark Connect, in one aggregate query.

Each expectation a suite declares (GE's expectation types, ``quality.expectations``) is computed by
this module as Spark aggregates: the counts of every check of the suite come back from one query
over the dataset, and only a check that found offending rows asks for a bounded sample of them
(GE's ``SUMMARY`` format, ``partial_unexpected_count`` rows). The results are written in GE's own
format to GE's validation store (``quality.ge_format``), so ``ops.quality_results`` and Data Docs
read the same as before. A dataset may be a scope of a table (``quality.scope``): the rows written
since the last passing gate, with keys counted against every row of the table.

Why not GE's Spark execution engine: it computes each metric of each expectation as its own Spark
job, plus schema and config calls, about 130 ms of Spark Connect round trips per check against the
handful of milliseconds the aggregates cost here; a bronze gate made some 1,400 calls a day for a few
thousand rows. The expectation types and their semantics are those of ``quality.duckdb_backend``
(``SUPPORTED``), the same on both engines: nulls are missing and not judged except by not-null, a
non-unique value counts every row that holds it, ``mostly`` is honoured.

Uniqueness is a window counting each key's rows, inside the one aggregate query. (Counting by a
grouping over the key columns alone would shuffle less, but Sail 0.7.2 refuses that plan on a Delta
table whose key columns are declared non-null: "physical input schema should be the same as the one
converted from logical input schema".)

If the batched query fails (a rule names a column that is gone), each check is evaluated alone, so
the error is reported against the check that caused it and the others still count.
"""

from __future__ import annotations

from functools import reduce
from typing import TYPE_CHECKING, Any

from pyspark.sql import Window
from pyspark.sql import functions as F

from quality.duckdb_backend import (
    SUPPORTED,
    error_result,
    map_result,
    row_count_result,
    sample_columns,
    store_suite_result,
)
from quality.ge_format import ExpectationConfig, Run, SuiteValidation, ValidationResult, expectation_configs
from quality.scope import Scoped

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from omnilake.lake import Lake
    from quality.checks import Suite

DATASOURCE = "spark"
_ROW_COUNT = "expect_table_row_count_to_be_between"


class _Plan:
    """One check as Spark columns: which rows it finds unexpected, which are missing (not judged)."""

    def __init__(self, index: int, config: ExpectationConfig) -> None:
        self.index, self.config, self.kwargs = index, config, config.kwargs
        self.copies: Column | None = None  # the window counting a value's rows (uniqueness)
        self.unexpected: Column | None = None
        self.missing: Column | None = None
        kind = config.type
        if kind == _ROW_COUNT:
            return
        if kind == "expect_compound_columns_to_be_unique":
            columns = [F.col(c) for c in self.kwargs["column_list"]]
        else:
            columns = [F.col(self.kwargs["column"])]
        column = columns[0]
        if kind == "expect_column_values_to_not_be_null":
            self.unexpected = column.isNull()
        elif kind == "expect_column_values_to_be_in_set":
            values = list(self.kwargs["value_set"])
            self.missing = column.isNull()
            self.unexpected = column.isNotNull() & ~column.isin(values) if values else column.isNotNull()
        elif kind == "expect_column_values_to_be_between":
            outside = []
            if self.kwargs.get("min_value") is not None:
                low = F.lit(self.kwargs["min_value"])
                outside.append(column <= low if self.kwargs.get("strict_min") else column < low)
            if self.kwargs.get("max_value") is not None:
                high = F.lit(self.kwargs["max_value"])
                outside.append(column >= high if self.kwargs.get("strict_max") else column > high)
            self.missing = column.isNull()
            any_outside = F.lit(False)
            for condition in outside:
                any_outside = any_outside | condition
            self.unexpected = column.isNotNull() & any_outside
        elif kind in ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"):
            all_missing = F.lit(True)
            for c in columns:
                all_missing = all_missing & c.isNull()
            self.missing = all_missing
            self.copies = F.count(F.lit(1)).over(Window.partitionBy(*columns))
            self.unexpected = ~all_missing & (F.col(self.copies_name) > 1)
        else:
            raise NotImplementedError(
                f"{kind} is not computed on Spark; use one of {', '.join(SUPPORTED)} "
                "or add it to quality/spark_backend.py"
            )

    @property
    def copies_name(self) -> str:
        return f"_omnilake_copies_{self.index}"

    def aggregates(self) -> list[Column]:
        if self.unexpected is None:
            return []
        missing = F.count(F.when(self.missing, 1)) if self.missing is not None else F.lit(0)
        return [
            missing.alias(f"_missing_{self.index}"),
            F.count(F.when(self.unexpected, 1)).alias(f"_unexpected_{self.index}"),
        ]


def _with_copies(frame: DataFrame, plans: list[_Plan], keys_from: DataFrame | None = None) -> DataFrame:
    """The frame with, per uniqueness check, how many rows hold each row's key: among the frame's
    rows, or among ``keys_from``'s (the whole table, when the frame is the rows written since the
    last check): a key-only scan narrowed to the frame's keys before it is counted."""
    unique = [p for p in plans if p.copies is not None]
    if not unique:
        return frame
    if keys_from is None:
        return frame.select("*", *(p.copies.alias(p.copies_name) for p in unique))
    for plan in unique:
        columns = list(plan.kwargs.get("column_list") or [plan.kwargs["column"]])
        aliases = [f"_omnilake_key_{plan.index}_{i}" for i in range(len(columns))]
        wanted = frame.select(*(F.col(c).alias(a) for c, a in zip(columns, aliases, strict=True))).distinct()
        table_keys = keys_from.select(
            *(F.col(c).alias(f"{a}_t") for c, a in zip(columns, aliases, strict=True))
        )
        on_wanted = reduce(lambda a, b: a & b, (table_keys[f"{a}_t"].eqNullSafe(wanted[a]) for a in aliases))
        counted = (
            table_keys.join(wanted, on_wanted, "left_semi")
            .select(
                *(F.col(f"{a}_t").alias(a) for a in aliases),
                F.count(F.lit(1))
                .over(Window.partitionBy(*(f"{a}_t" for a in aliases)))
                .alias(plan.copies_name),
            )
            .distinct()
        )
        on_rows = reduce(
            lambda a, b: a & b,
            (frame[c].eqNullSafe(counted[a]) for c, a in zip(columns, aliases, strict=True)),
        )
        frame = frame.join(counted, on_rows, "left").drop(*aliases)
    return frame


def _evaluate(
    frame: DataFrame | None,
    plans: list[_Plan],
    row_id: tuple[str, ...],
    max_listed: int,
    keys_from: DataFrame | None = None,
) -> list[ValidationResult]:
    """The plans' results from one aggregate query, plus one sample query per breached check.
    No frame: no row is in scope, and every count is zero without asking the engine."""
    if frame is None:
        rows = None
        counts = {"_rows": 0} | {f"_{n}_{p.index}": 0 for p in plans for n in ("missing", "unexpected")}
    else:
        rows = _with_copies(frame, plans, keys_from)
        aggregates = [F.count(F.lit(1)).alias("_rows")]
        for plan in plans:
            aggregates.extend(plan.aggregates())
        counts = rows.agg(*aggregates).first().asDict()
    element_count = counts["_rows"]
    results = []
    for plan in plans:
        if plan.unexpected is None:
            success, result = row_count_result(plan.config, element_count)
        else:
            unexpected_count = counts[f"_unexpected_{plan.index}"]
            sample: list[tuple] = []
            if unexpected_count:
                named = sample_columns(plan.kwargs, row_id)
                sample = [
                    tuple(r)
                    for r in rows.where(plan.unexpected).select(*named).limit(int(max_listed)).collect()
                ]
            success, result = map_result(
                plan.kwargs,
                row_id,
                element_count,
                counts[f"_missing_{plan.index}"] if plan.missing is not None else None,
                unexpected_count,
                sample,
            )
        results.append(ValidationResult(success=success, expectation_config=plan.config, result=result))
    return results


def evaluate_checks(
    frame: DataFrame | None,
    configs: list[ExpectationConfig],
    row_id: tuple[str, ...],
    max_listed: int,
    keys_from: DataFrame | None = None,
) -> list[ValidationResult]:
    """Every check's result, in order; a check that cannot be computed carries its error.
    ``keys_from``: the table uniqueness is judged against (default: the frame itself)."""
    plans: list[_Plan | None] = []
    results: dict[int, Any] = {}
    for index, config in enumerate(configs):
        try:
            plans.append(_Plan(index, config))
        except NotImplementedError as exc:
            plans.append(None)
            results[index] = error_result(config, exc)
    ready = [p for p in plans if p is not None]
    if ready:
        try:
            batched = _evaluate(frame, ready, row_id, max_listed, keys_from)
        except Exception:  # find which check the engine refuses: each alone
            batched = []
            for plan in ready:
                try:
                    batched.extend(_evaluate(frame, [plan], row_id, max_listed, keys_from))
                except Exception as exc:
                    batched.append(error_result(plan.config, exc))
        for plan, result in zip(ready, batched, strict=True):
            results[plan.index] = result
    return [results[i] for i in range(len(configs))]


def result_format(row_id: tuple[str, ...], max_listed: int) -> dict:
    """Counts plus a bounded sample of offending rows, each named by its ``row_id`` columns."""
    fmt: dict = {"result_format": "SUMMARY", "partial_unexpected_count": max_listed}
    if row_id:
        fmt["unexpected_index_column_names"] = list(row_id)
    return fmt


def validate_dataframe(
    lake: Lake,
    suite: Suite,
    frame: DataFrame | Scoped,
    run: Run,
    max_listed: int,
) -> SuiteValidation:
    """Run the suite's expectations on the frame (or on a scope of a table: ``quality.scope``);
    the result is stored for Data Docs, with the scope in its batch spec."""
    configs = expectation_configs(suite)
    batch_spec: dict = {"engine": "spark", "result_format": result_format(suite.row_id, max_listed)}
    if isinstance(frame, Scoped):
        batch_spec["scope"] = frame.describe()
        batch_spec["scopes"] = [s.as_dict() for s in frame.scopes]
        results = evaluate_checks(frame.rows, configs, suite.row_id, max_listed, frame.keys_from)
    else:
        results = evaluate_checks(frame, configs, suite.row_id, max_listed)
    return store_suite_result(lake, suite, results, run, batch_spec=batch_spec, datasource=DATASOURCE)
