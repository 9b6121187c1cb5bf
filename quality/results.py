"""What a gate found: one row per check, the report the CLI prints, and ``ops.quality_results``."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from omnilake import delta

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from omnilake.lake import Lake
    from quality.checks import Severity, Suite
    from quality.ge_format import ValidationResult

# ops.quality_results.details holds GE's result as JSON, cut to this many characters.
DETAILS_MAX_CHARS = 8000


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check in one gate run."""

    suite: str
    expectation: str
    expectation_type: str
    severity: Severity
    success: bool
    observed: str
    unexpected_count: int | None = None
    element_count: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.suite}: {self.expectation}"

    def describe(self) -> str:
        return f"{self.label} (observed: {self.observed})"


@dataclass
class GateReport:
    """A gate run: every check's result, what failed, what only warned, and where the docs are."""

    layer: str
    run_id: str
    landing_date: date | None
    results: list[CheckResult]
    seconds: float = 0.0
    data_docs: str | None = None

    @property
    def failed(self) -> list[CheckResult]:
        """Breached checks of severity ``fail``: downstream work must not run."""
        return [r for r in self.results if not r.success and r.severity == "fail"]

    @property
    def warned(self) -> list[CheckResult]:
        """Breached checks of severity ``warn``: recorded, the run goes on."""
        return [r for r in self.results if not r.success and r.severity == "warn"]

    @property
    def passed(self) -> bool:
        return not self.failed

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able summary (what a pipeline step returns)."""
        return {
            "layer": self.layer,
            "run_id": self.run_id,
            "landing_date": self.landing_date.isoformat() if self.landing_date else None,
            "checks": len(self.results),
            "failed": [r.describe() for r in self.failed],
            "warned": [r.describe() for r in self.warned],
            "seconds": round(self.seconds, 2),
            "data_docs": self.data_docs,
        }

    def summary(self) -> str:
        """One line, e.g. ``bronze gate 2026-01-05: 14 checks, 1 failed, 1 warned (2.1s)``."""
        when = f" {self.landing_date}" if self.landing_date else ""
        return (
            f"{self.layer} gate{when}: {len(self.results)} checks, {len(self.failed)} failed, "
            f"{len(self.warned)} warned ({self.seconds:.1f}s)"
        )


# --- from GE's results ---------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4) if math.isfinite(value) else value
    if isinstance(value, Decimal):
        return _plain(float(value)) if value != value.to_integral_value() else int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _row_text(row: Any) -> str:
    if isinstance(row, dict):
        return " ".join(f"{k}={_plain(v)}" for k, v in row.items())
    return str(_plain(row))


def raised_error(exception_info: dict[str, Any] | None) -> str | None:
    """The error that kept GE from computing a check, or None.

    GE reports it either flat (``raised_exception``, ``exception_message``) or, when a metric failed,
    per metric: ``{metric id: {raised_exception, exception_message, ...}}``.
    """
    if not exception_info:
        return None
    reports = [exception_info] if "raised_exception" in exception_info else list(exception_info.values())
    messages = [
        str(r.get("exception_message") or "the check could not be computed")
        for r in reports
        if isinstance(r, dict) and r.get("raised_exception")
    ]
    return "; ".join(dict.fromkeys(messages)) or None


def observed_text(result: dict[str, Any], exception_info: dict[str, Any] | None, unit: str = "rows") -> str:
    """GE's result as a short phrase naming the observed value, e.g.
    ``1 of 3 files: path=a.ndjson balanced=False`` or ``0.12``."""
    error = raised_error(exception_info)
    if error:
        return f"error: {error}"
    if result.get("observed_value") is not None:
        return str(_plain(result["observed_value"]))
    if "unexpected_count" in result:
        count, total = result["unexpected_count"], result.get("element_count")
        text = f"{count} of {total} {unit}" if total is not None else f"{count} {unit}"
        rows = result.get("partial_unexpected_index_list") or result.get("partial_unexpected_list") or []
        if count and rows:
            text += ": " + "; ".join(_row_text(r) for r in rows)
            if count > len(rows):
                text += "; …"
        return text
    if result.get("partial_missing_list"):
        return "missing " + ", ".join(str(_plain(v)) for v in result["partial_missing_list"])
    return "n/a"


def _json_default(value: Any) -> Any:
    plain = _plain(value)
    return plain if plain is not value else str(value)


def check_result(
    suite: Suite,
    validation: ValidationResult,
    *,
    unit: str | None = None,
    scope: str | None = None,
) -> CheckResult:
    """One check's outcome. ``unit`` and ``scope`` say which rows were checked when a suite checked
    part of a table (``rows written since version 4``), else the suite's unit and the whole dataset."""
    config = validation.expectation_config
    meta = config.meta or {}
    result = dict(validation.result or {})
    details: dict[str, Any] = {
        "kwargs": {k: v for k, v in config.kwargs.items() if k != "batch_id"},
        "result": result,
    }
    if scope:
        details["scope"] = scope
    if error := raised_error(validation.exception_info):
        details["error"] = error
    return CheckResult(
        suite=suite.name,
        expectation=meta.get("check", config.type),
        expectation_type=config.type,
        severity=meta.get("severity", "fail"),
        # A check GE could not compute has not held, whatever GE's flag says.
        success=bool(validation.success) and not error,
        observed=observed_text(result, validation.exception_info, unit or suite.unit),
        unexpected_count=result.get("unexpected_count"),
        element_count=result.get("element_count"),
        details=details,
    )


def missing_data_result(suite: Suite) -> CheckResult:
    """A required dataset that does not exist: its checks could not run, which fails the gate."""
    return CheckResult(
        suite=suite.name,
        expectation="exists",
        expectation_type="table_exists",
        severity="fail",
        success=False,
        observed=f"{suite.name} does not exist",
    )


def suite_error_result(suite: Suite, error: Exception) -> CheckResult:
    """A suite that could not be evaluated at all: a failure, with the engine's error as observed."""
    message = " ".join(str(error).split())[:500]
    return CheckResult(
        suite=suite.name,
        expectation="evaluated",
        expectation_type="suite_evaluated",
        severity="fail",
        success=False,
        observed=f"error: {type(error).__name__}: {message}",
        details={"error": f"{type(error).__name__}: {error}"},
    )


# --- ops.quality_results ---------------------------------------------------------------------------


def write_results(spark: SparkSession | None, lake: Lake, report: GateReport, checked_at: datetime) -> None:
    """Replace this run's rows for this layer (re-running a gate for a run is idempotent).

    A gate's few dozen rows are written with delta-rs in one commit, as the ingestion ledger's small
    ops tables are: no engine plan is needed, so the gold gate, the only engine use after the dbt
    build, no longer starts a Sail server and session for them (~1 CPU-s a day). The engine
    (``spark``, default the run's, started only then) still creates or migrates the table when its
    contract requires it (``delta.prepare_write``)."""
    from deltalake import DeltaTable, write_deltalake
    from pyspark.sql.pandas.types import to_arrow_schema

    table = lake.table("ops.quality_results")
    schema = table.contract.spark_schema()
    rows = [
        (
            report.run_id,
            report.layer,
            report.landing_date,
            r.suite,
            r.expectation,
            r.expectation_type,
            r.severity,
            r.success,
            r.observed,
            r.unexpected_count,
            r.element_count,
            json.dumps(r.details, default=_json_default, sort_keys=True)[:DETAILS_MAX_CHARS],
            checked_at,
        )
        for r in report.results
    ]
    loaded = delta.prepare_write(spark if spark is not None else _EngineWhenUsed(), table)
    target = loaded if loaded is not None else table.path
    frame = (
        pa.Table.from_pylist(
            [dict(zip(schema.names, row, strict=True)) for row in rows],
            schema=to_arrow_schema(schema, timezone="UTC"),
        )
        if rows
        else None
    )
    if not _may_hold_run(table, report.run_id, report.layer):
        # the first results of this run and layer (the usual case): nothing to replace, and a
        # predicate would scan every run's results to find so
        if frame is not None:
            write_deltalake(target, frame, mode="append")
            delta.checkpoint_if_due(table.path, loaded=loaded)
        return
    where = f"run_id = {_text_literal(report.run_id)} and layer = {_text_literal(report.layer)}"
    loaded = loaded if loaded is not None else DeltaTable(table.path)
    if frame is not None:
        write_deltalake(loaded, frame, mode="overwrite", predicate=where)
    else:
        loaded.delete(where)
    delta.checkpoint_if_due(table.path, loaded=loaded)  # delta-rs checkpoints only every 100 commits itself


def _may_hold_run(table, run_id: str, layer: str) -> bool:
    """Whether some data file's statistics allow rows of this run and layer (no file is read)."""
    from omnilake.pruning.ranges import files_holding

    if not delta.exists(table):
        return False
    found = files_holding(table, {"run_id": [run_id], "layer": [layer]})
    return found is None or bool(found[0])


def _text_literal(value: str) -> str:
    """A string literal in delta-rs (DataFusion) SQL: quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


class _EngineWhenUsed:
    """Stands for the run's engine session and starts it only when something is asked of it."""

    def __getattr__(self, name: str) -> Any:
        from omnilake.engine import get_spark

        return getattr(get_spark(), name)
