"""Validate a suite where bronze and silver live: GE's Spark datasource over Spark Connect.

GE 1.24 accepts a ``pyspark.sql.connect.dataframe.DataFrame`` as a Spark batch (its
``is_spark_data_frame`` admits Connect frames and ``SparkDFExecutionEngine`` treats a Connect session
as one it must not stop), so the suite runs unchanged against Sail or a remote cluster: every metric
is a Spark aggregate and only bounded samples of offending rows reach the client (the ``SUMMARY``
result format with ``partial_unexpected_count``). Nothing is collected into pandas.

The datasource is created with ``persist=False``: GE would otherwise cache each batch in the
engine, which on a large bronze partition costs more memory than the handful of scans it saves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import great_expectations as gx

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context import EphemeralDataContext
    from pyspark.sql import DataFrame

    from quality.checks import Suite

DATASOURCE = "spark"


def result_format(row_id: tuple[str, ...], max_listed: int) -> dict:
    """Counts plus a bounded sample of offending rows, each named by its ``row_id`` columns."""
    fmt: dict = {"result_format": "SUMMARY", "partial_unexpected_count": max_listed}
    if row_id:
        fmt["unexpected_index_column_names"] = list(row_id)
    return fmt


def validate_dataframe(
    context: EphemeralDataContext,
    suite: Suite,
    frame: DataFrame,
    run: RunIdentifier,
    max_listed: int,
) -> ExpectationSuiteValidationResult:
    """Run the suite's expectations on the frame; GE stores the result for Data Docs."""
    try:
        datasource = context.data_sources.get(DATASOURCE)
    except (KeyError, ValueError):
        datasource = context.data_sources.add_spark(name=DATASOURCE, persist=False)
    batch_definition = datasource.add_dataframe_asset(name=suite.name).add_batch_definition_whole_dataframe(
        suite.name
    )
    gx_suite = context.suites.add_or_update(
        gx.ExpectationSuite(
            name=suite.name,
            expectations=[c.to_gx() for c in suite.checks],
            # GE's renderer wants notes as {"format": ..., "content": ...}, not a bare string.
            meta={"notes": {"format": "markdown", "content": [suite.description]}}
            if suite.description
            else None,
        )
    )
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{suite.name}@{run.run_name}", data=batch_definition, suite=gx_suite)
    )
    return definition.run(
        batch_parameters={"dataframe": frame},
        run_id=run,
        result_format=result_format(suite.row_id, max_listed),
    )
