"""Run a layer's quality gate: validate every suite, record every result, then stop the run or not.

    report = run_gate("bronze", run_id, landing_date)   # raises QualityGateError on a failed `fail`

A gate always records before it judges: every check's result goes to ``ops.quality_results`` and
GE's Data Docs (``<lake>/_ops/data_docs/index.html``), and only then does a breached ``fail`` check
raise ``QualityGateError`` naming each failed check and what was observed. Breached ``warn``
checks are in ``report.warned`` and the run goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omnilake.errors import ConfigError, OmnilakeError, QualityGateError
from omnilake.lake import Lake, get_lake
from quality import bronze, gold, silver
from quality.checks import GateContext, Suite
from quality.config import QualityConfig
from quality.data_docs import build_data_docs, defer_pages, deferred_pages, forget_deferred
from quality.duckdb_backend import batch_identifier, validate_query
from quality.ge_format import Run, validation_key
from quality.results import (
    CheckResult,
    GateReport,
    check_result,
    missing_data_result,
    suite_error_result,
    write_results,
)
from quality.scope import Scoped
from quality.spark_backend import validate_dataframe

if TYPE_CHECKING:
    from omnilake.pipeline import RunContext

log = logging.getLogger(__name__)

GATES: dict[str, Callable[[GateContext], list[Suite]]] = {
    "bronze": bronze.suites,
    "silver": silver.suites,
    "gold": gold.suites,
}
# A failure message names this many failed checks; the rest are in ops.quality_results.
MESSAGE_MAX_FAILURES = 5


def run_gate(
    layer: str,
    run_id: str,
    landing_date: date | None = None,
    lake: Lake | None = None,
    *,
    config: QualityConfig | None = None,
    warehouse: str | Path | None = None,
    docs: bool = True,
) -> GateReport:
    """Validate ``layer`` for ``run_id``.

    Bronze checks ``landing_date`` (default: the newest delivered). Gold checks the DuckDB file
    ``warehouse`` (default ``<lake>/warehouse.duckdb``): a publisher passes the file it is building,
    so that marts failing the gate never replace the ones analysts read. ``docs=False`` records the
    results but leaves their Data Docs pages to the next gate that renders (a multi-date run renders
    once, on its last date); a failed gate always renders.
    """
    if layer not in GATES:
        raise ConfigError(f"no quality gate for layer {layer!r}; gates exist for {', '.join(GATES)}")
    ctx = GateContext(layer, run_id, lake or get_lake(), config or QualityConfig(), landing_date)
    ctx.warehouse_path = str(warehouse) if warehouse is not None else None
    if layer == "bronze":
        ctx.landing_date = bronze.processed_date(ctx)
    return run_suites(ctx, GATES[layer](ctx), docs=docs)


def gate_step(context: RunContext, layer: str) -> dict[str, Any]:
    """The gate as a pipeline step: ``Step(func="quality.gates:gate_step", kwargs={"layer": "bronze"})``.

    Gold checks the warehouse ``build_gold`` is building, before ``publish_gold`` swaps it in.
    Data Docs are rendered once per run, by its last gate (gold), with the pages the bronze and
    silver gates deferred: each rendering imports Great Expectations and rebuilds the whole index
    (about 1.3 CPU-s after ten days, and the import about 4), for the same site. A failed gate
    renders at once, so a stopped run still shows why.
    """
    warehouse = None
    if layer == "gold":
        from omnilake.publish import staging_warehouse_path

        warehouse = staging_warehouse_path(context)
    docs = context.docs and layer == "gold"
    report = run_gate(
        layer, context.run_id, context.landing_date, context.lake, warehouse=warehouse, docs=docs
    )
    return report.as_dict()


def run_suites(ctx: GateContext, suites: list[Suite], *, docs: bool = True) -> GateReport:
    """Validate ``suites``, record the results and Data Docs, raise if a ``fail`` check broke.

    Great Expectations is imported only to render Data Docs: results are computed by the backends
    and written in GE's format (``quality.ge_format``)."""
    started = time.perf_counter()
    run = Run(ctx.run_id, ctx.checked_at.replace(tzinfo=UTC))
    results: list[CheckResult] = []
    validated: list[Suite] = []
    try:
        for suite in suites:
            suite_results, was_validated = _run_suite(ctx, suite, run)
            results.extend(suite_results)
            if was_validated:
                validated.append(suite)
    finally:
        ctx.close()
    report = GateReport(ctx.layer, ctx.run_id, ctx.landing_date, results)
    if ctx.config.data_docs:
        pages = [validation_key(s.name, run, batch_identifier(s, s.engine)) for s in validated]
        if docs or report.failed:
            report.data_docs = _data_docs(ctx, [s.name for s in validated], pages)
        else:
            defer_pages(ctx.lake, pages)
    report.seconds = time.perf_counter() - started
    write_results(None, ctx.lake, report, ctx.checked_at)  # no engine needed (started if it is)
    if "scopes" in ctx.__dict__:  # after the results: a version is built on only once recorded as checked
        held = {s.name: True for s in validated}
        for r in results:
            held[r.suite] = held.get(r.suite, False) and r.success
        ctx.scopes.record(ctx.run_id, held, report.passed, ctx.checked_at)
    log.info("%s", report.summary())
    for warning in report.warned:
        log.warning("%s gate warning: %s", ctx.layer, warning.describe())
    if report.failed:
        error = QualityGateError(failure_message(report))
        error.report = report  # type: ignore[attr-defined]  # alerts name each check and its observed value
        raise error
    return report


def _run_suite(ctx: GateContext, suite: Suite, run: Run) -> tuple[list[CheckResult], bool]:
    """The suite's results, and whether GE validated it (a dataset that does not exist is not).

    A suite that cannot be evaluated at all (a rule's query names a column that is gone, the engine
    refuses a plan) becomes one failed result carrying the error, and the other suites still run.
    """
    suite_started = time.perf_counter()
    ctx.suite = suite
    try:
        data = suite.data(ctx)
        if data is None:
            if suite.required:
                return [missing_data_result(suite)], False
            log.info("skipped %s: no data", suite.name)
            return [], False
        if suite.engine == "spark":
            validation = validate_dataframe(ctx.lake, suite, data, run, ctx.config.max_listed)
        else:
            validation = validate_query(ctx.lake, suite, data, ctx.warehouse, run, ctx.config.max_listed)
    except OmnilakeError:
        raise
    except Exception as exc:
        log.warning("could not evaluate %s: %s: %s", suite.name, type(exc).__name__, exc)
        return [suite_error_result(suite, exc)], False
    finally:
        ctx.suite = None
    log.info("validated %s in %.2fs", suite.name, time.perf_counter() - suite_started)
    if isinstance(data, Scoped):
        return [
            check_result(suite, r, unit=data.unit, scope=data.describe()) for r in validation.results
        ], True
    return [check_result(suite, r) for r in validation.results], True


def _data_docs(ctx: GateContext, suite_names: list[str], pages: list[tuple[str, ...]]) -> str | None:
    """Build the pages of this gate's results and of those earlier gates deferred, and the index.
    Docs are a view of results already recorded, so a failure to render them is logged, never
    allowed to hide the gate's verdict."""
    deferred = deferred_pages(ctx.lake)
    try:
        index = build_data_docs(ctx.lake, suite_names, [*pages, *deferred])
    except Exception as exc:  # a rendering bug must not mask the results
        log.warning("Data Docs were not built: %s: %s", type(exc).__name__, exc)
        return None
    forget_deferred(ctx.lake, deferred)
    return str(index) if index else None


def failure_message(report: GateReport) -> str:
    failed = report.failed
    named = "; ".join(r.describe() for r in failed[:MESSAGE_MAX_FAILURES])
    more = f"; and {len(failed) - MESSAGE_MAX_FAILURES} more" if len(failed) > MESSAGE_MAX_FAILURES else ""
    when = f" for landing date {report.landing_date}" if report.landing_date else ""
    docs = f"; Data Docs: {report.data_docs}" if report.data_docs else ""
    return (
        f"{report.layer} gate failed{when}, run {report.run_id}: {named}{more}. "
        f"Nothing downstream may run until the data is fixed; every result is in ops.quality_results{docs}"
    )
