"""Data-quality gates: Great Expectations suites per layer, and the runner that stops a bad run.

    from quality.gates import run_gate
    report = run_gate("bronze", run_id, landing_date)   # QualityGateError if a `fail` check broke
    report.failed, report.warned, report.summary(), report.data_docs

| module | what it holds |
|---|---|
| ``checks`` | the vocabulary: ``Check`` (an expectation, a name, a severity), ``Suite`` (checks over one dataset), ``GateContext`` |
| ``contract_checks`` | checks generated from ``schemas/`` (keys, required, allowed_values, min/max) for any table |
| ``bronze``, ``silver``, ``gold`` | each layer's suites: its tables' contract checks plus its business rules |
| ``rules`` | helpers for cross-table rules (referential integrity, no future timestamps, warehouse queries) |
| ``config`` | thresholds (quarantine ratio, volume tolerance and window, required sources) |
| ``spark_backend`` | validation on Spark DataFrames over Spark Connect: every check of a suite in one aggregate query, GE results |
| ``scope`` | what a silver suite checks: the rows in data files Delta's log added since its last passing gate (``ops.gate_scopes``) |
| ``expectations`` | GE's expectation types declared without importing GE |
| ``ge_format`` | suites and validation results written in GE's JSON stores, for Data Docs and GE tooling |
| ``duckdb_backend`` | validation in the DuckDB warehouse, recorded in GE's result format |
| ``results`` | ``GateReport``, result rows, and the writer of ``ops.quality_results`` |
| ``data_docs`` | GE's context under the lake root and Data Docs that read offline (``data_docs_assets/``) |
| ``gates`` | ``run_gate`` and ``run_suites`` |

Nothing here is imported by this package itself. Great Expectations takes seconds to import and
only ``data_docs`` needs it (to render pages, once per multi-date run); callers still import
``quality.gates`` inside the function that runs a gate.
"""
