"""Suites and validation results in Great Expectations' own JSON, written without importing GE.

A gate computes its checks itself, so all it needs of GE is the format GE's stores read: each suite
as ``_ops/gx/expectations/<suite, dots as folders>.json`` and each validation as
``_ops/gx/validations/<suite>/<run name>/<run time>/<batch>.json``, exactly what GE's
``TupleFilesystemStoreBackend`` writes. Data Docs (``quality.data_docs``) import GE and render from
those files, once per multi-date run, and GE's tooling reads them as its own.

The classes mirror the attributes of GE's ``ExpectationValidationResult`` that the gates read
(``success``, ``result``, ``expectation_config.meta``, ``exception_info``).
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omnilake.storage.local import local_dir
from quality.expectations import declared

if TYPE_CHECKING:
    from omnilake.lake import Lake
    from quality.checks import Check, Suite

# Our severities as GE's FailureSeverity values.
GE_SEVERITY = {"fail": "critical", "warn": "warning"}
_IDS = uuid.UUID("5b1c3e0e-6f4e-4c59-9d0a-0f3e1c2b7a10")  # namespace of the suites' stable ids


@cache
def ge_version() -> str:
    return version("great_expectations")


@dataclass(frozen=True)
class Run:
    """GE's run identifier: a name and an aware time."""

    run_name: str
    run_time: datetime

    def to_tuple(self) -> tuple[str, str]:
        return self.run_name or "__none__", self.run_time.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")

    def to_json_dict(self) -> dict:
        return {"run_name": self.run_name, "run_time": self.run_time.astimezone(UTC).isoformat()}


@dataclass(frozen=True)
class ExpectationConfig:
    """One expectation as GE stores it in a suite and repeats it in each of its results."""

    id: str
    type: str
    kwargs: dict[str, Any]
    meta: dict[str, Any]
    severity: str
    notes: str | None = None

    def to_json_dict(self) -> dict:
        return {
            "id": self.id,
            "kwargs": self.kwargs,
            "meta": self.meta,
            "notes": self.notes,
            "severity": self.severity,
            "type": self.type,
        }


@dataclass
class ValidationResult:
    """GE's ``ExpectationValidationResult``: whether one expectation held, and what was seen."""

    success: bool
    expectation_config: ExpectationConfig
    result: dict[str, Any] = field(default_factory=dict)
    exception_info: dict[str, Any] | None = None

    def to_json_dict(self) -> dict:
        return {
            "exception_info": self.exception_info
            or {"exception_message": None, "exception_traceback": None, "raised_exception": False},
            "expectation_config": self.expectation_config.to_json_dict(),
            "meta": {},
            "result": self.result,
            "success": self.success,
        }


@dataclass
class SuiteValidation:
    """GE's ``ExpectationSuiteValidationResult``: a suite's results for one run and dataset."""

    suite_name: str
    results: list[ValidationResult]
    meta: dict[str, Any]

    @property
    def success(self) -> bool:
        return all(r.success for r in self.results)

    def to_json_dict(self) -> dict:
        passed = sum(r.success for r in self.results)
        return {
            "id": None,
            "meta": self.meta,
            "results": [r.to_json_dict() for r in self.results],
            "statistics": {
                "evaluated_expectations": len(self.results),
                "success_percent": 100 * passed / len(self.results) if self.results else None,
                "successful_expectations": passed,
                "unsuccessful_expectations": len(self.results) - passed,
            },
            "success": self.success,
            "suite_name": self.suite_name,
            "suite_parameters": {},
        }


def expectation_config(suite_name: str, check: Check) -> ExpectationConfig:
    """A check as GE's expectation: our name and severity in ``meta``, our severity as GE's, and an
    id stable across runs."""
    kind, kwargs = declared(check.expectation)
    return ExpectationConfig(
        id=str(uuid.uuid5(_IDS, f"{suite_name}\x1f{check.name}")),
        type=kind,
        kwargs=kwargs,
        meta={"check": check.name, "severity": check.severity},
        severity=GE_SEVERITY[check.severity],
        notes=check.notes or None,
    )


def expectation_configs(suite: Suite) -> list[ExpectationConfig]:
    return [expectation_config(suite.name, check) for check in suite.checks]


def suite_json(suite: Suite) -> dict:
    meta: dict[str, Any] = {"great_expectations_version": ge_version()}
    if suite.description:  # GE's renderer wants notes as {"format": ..., "content": ...}
        meta["notes"] = {"format": "markdown", "content": [suite.description]}
    return {
        "expectations": [c.to_json_dict() for c in expectation_configs(suite)],
        "id": str(uuid.uuid5(_IDS, suite.name)),
        "meta": meta,
        "name": suite.name,
        "notes": None,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _dumps(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=True, default=_plain)


def _store(lake: Lake, folder: str) -> Path:
    return local_dir(lake.root, "_ops", "gx", folder)


def write_suite(lake: Lake, suite: Suite) -> None:
    """The suite in GE's expectations store, rewritten only when its declaration changed."""
    path = _store(lake, "expectations").joinpath(*suite.name.split(".")).with_suffix(".json")
    text = _dumps(suite_json(suite))
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def validation_key(suite_name: str, run: Run, batch_identifier: str) -> tuple[str, ...]:
    """GE's ``ValidationResultIdentifier.to_tuple()``: suite (dots as parts), run name, run time, batch."""
    return (*suite_name.split("."), *run.to_tuple(), batch_identifier)


def write_validation(lake: Lake, validation: SuiteValidation, key: tuple[str, ...]) -> None:
    path = _store(lake, "validations").joinpath(*key[:-1], f"{key[-1]}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_dumps(validation.to_json_dict()), encoding="utf-8")
