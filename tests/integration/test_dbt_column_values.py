"""The consolidated column test (dbt_project/tests/generic/column_values.sql) fails on every bad row
its checks describe and passes on what dbt's own tests let through, scoped like every data test of
an accumulating mart to the rows the run wrote (macros/run_rows.sql).

One `dbt build` of a tiny project in a temporary directory: the project's generic test and run
macros, and hand-built models of a few rows, each breaking one check (or none). The project's
YAML declares which columns each model checks; the last test keeps every such check in the model's
column_values test (one dbt node per model, not one per column and check) naming real columns.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from omnilake.publish import DBT_PROJECT_DIR

pytestmark = pytest.mark.integration

CHECK_KINDS = {"not_null", "unique", "non_negative", "accepted_values"}

# Each model: its rows (id, status, amount, score, known_at) and the failures the test must count.
ROWS = {
    # nulls pass unique, non_negative and accepted_values, as dbt's own tests let them
    "clean": ("(1, 'open', 0, 1, date '2026-01-01'), (2, null, null, null, date '2026-01-02')", 0),
    "null_id": ("(1, 'open', 3, 1, date '2026-01-01'), (null, 'open', 3, 1, date '2026-01-01')", 1),
    # the value 1 twice and 2 three times: 1 + 2 rows repeat an earlier one
    "repeated_id": (
        "(1, 'open', 1, 1, date '2026-01-01'), (1, 'open', 1, 1, date '2026-01-01'),"
        " (2, 'open', 1, 1, date '2026-01-01'), (2, 'open', 1, 1, date '2026-01-01'),"
        " (2, 'open', 1, 1, date '2026-01-01')",
        3,
    ),
    "negative_amount": ("(1, 'open', -0.01, 1, date '2026-01-01'), (2, 'open', 0, 1, date '2026-01-01')", 1),
    "unknown_status": ("(1, 'opened', 1, 1, date '2026-01-01'), (2, 'Open', 1, 1, date '2026-01-01')", 2),
    "unknown_score": ("(1, 'open', 1, 6, date '2026-01-01'), (2, 'open', 1, 0, date '2026-01-01')", 2),
    # a row breaking two checks counts once per check
    "null_id_negative_amount": ("(null, 'open', -1, 1, date '2026-01-01')", 2),
}
# Models whose tests check the rows of the run's landing date only (meta run_rows: known_at).
SCOPED = {
    "old_bad_row": ("(1, 'open', 1, 1, date '2026-01-01'), (null, 'open', -1, 9, date '2025-12-31')", 0),
    "new_bad_row": ("(1, 'open', 1, 1, date '2026-01-01'), (null, 'open', 1, 1, date '2026-01-01')", 1),
}
LANDING_DATE = "2026-01-01"


def _model_sql(values: str) -> str:
    return (
        "select cast(id as integer) as id, cast(status as varchar) as status,"
        " cast(amount as decimal(12, 2)) as amount, cast(score as integer) as score, known_at\n"
        f"from (values {values}) as rows (id, status, amount, score, known_at)\n"
    )


def _project(root: Path) -> None:
    (root / "models").mkdir(parents=True)
    (root / "macros").mkdir()
    (root / "tests" / "generic").mkdir(parents=True)
    shutil.copy(DBT_PROJECT_DIR / "tests" / "generic" / "column_values.sql", root / "tests" / "generic")
    for macro in ("run_rows.sql", "run_context.sql"):
        shutil.copy(DBT_PROJECT_DIR / "macros" / macro, root / "macros")
    checks = {
        "not_null": ["id"],
        "unique": ["id"],
        "non_negative": ["amount"],
        "accepted_values": {"status": ["open", "closed", "it's shipped"], "score": [1, 2, 3, 4, 5]},
    }
    models = []
    for name, (values, _) in {**ROWS, **SCOPED}.items():
        (root / "models" / f"{name}.sql").write_text(_model_sql(values))
        entry = {"name": name, "data_tests": [{"column_values": {"arguments": checks}}]}
        if name in SCOPED:
            entry["config"] = {"meta": {"run_rows": "known_at"}}
        models.append(entry)
    (root / "models" / "_models.yml").write_text(yaml.safe_dump({"version": 2, "models": models}))
    (root / "dbt_project.yml").write_text(
        yaml.safe_dump(
            {
                "name": "column_values_case",
                "version": "1.0.0",
                "config-version": 2,
                "profile": "column_values_case",
                "flags": {"send_anonymous_usage_stats": False},
                "models": {"column_values_case": {"+materialized": "table"}},
            }
        )
    )
    (root / "profiles.yml").write_text(
        yaml.safe_dump(
            {
                "column_values_case": {
                    "target": "duckdb",
                    "outputs": {
                        "duckdb": {"type": "duckdb", "path": str(root / "case.duckdb"), "threads": 1}
                    },
                }
            }
        )
    )


def test_column_values_fails_on_each_bad_row_and_only_on_the_rows_the_run_wrote(tmp_path: Path):
    _project(tmp_path)
    dbt = Path(sys.executable).with_name("dbt")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNILAKE_")}
    env["OMNILAKE_RUN_LANDING_DATE"] = LANDING_DATE
    built = subprocess.run(
        [str(dbt), "build", "--project-dir", str(tmp_path), "--profiles-dir", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    nodes = json.loads((tmp_path / "target" / "manifest.json").read_text())["nodes"]
    outcomes = {
        nodes[r["unique_id"]]["attached_node"].split(".")[-1]: (r["status"], r["failures"])
        for r in results
        if r["unique_id"].startswith("test.")
    }
    expected = {
        name: ("fail" if failures else "pass", failures) for name, (_, failures) in {**ROWS, **SCOPED}.items()
    }
    assert outcomes == expected, built.stdout[-4000:]
    assert built.returncode == 1  # the build fails with its failing tests


def test_the_projects_column_checks_are_in_column_values_tests_naming_columns_of_their_model():
    declared = 0
    for path in (DBT_PROJECT_DIR / "models").rglob("_*.yml"):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            columns = {c["name"] for c in model.get("columns", [])}
            for column in model.get("columns", []):
                kinds = {next(iter(t)) if isinstance(t, dict) else t for t in column.get("data_tests", [])}
                assert not kinds & CHECK_KINDS, (model["name"], column["name"], kinds & CHECK_KINDS)
            for test in model.get("data_tests", []):
                if not isinstance(test, dict) or "column_values" not in test:
                    continue
                arguments = test["column_values"]["arguments"]
                assert set(arguments) <= CHECK_KINDS, (model["name"], arguments)
                named = {*arguments.get("not_null", []), *arguments.get("unique", [])}
                named |= {*arguments.get("non_negative", []), *arguments.get("accepted_values", {})}
                assert named and named <= columns, (model["name"], named - columns)
                declared += 1
    assert declared > 0
