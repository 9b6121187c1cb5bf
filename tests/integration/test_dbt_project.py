"""The dbt project agrees with the data contracts (no dbt run: these read the project's files).

The gold contracts (schemas/gold/<mart>.yaml) and the marts' dbt YAML both declare every column
with its type; dbt enforces its copy on the build, the gold Delta writer and the quality gate use
the contracts. These tests keep the two in step, and the silver sources in step with the silver
contracts they are generated from.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

from omnilake.contracts import CLASSIFICATIONS, contract, parse_type
from omnilake.publish import DBT_PROJECT_DIR, MARTS

pytestmark = pytest.mark.integration

MODELS = DBT_PROJECT_DIR / "models"


def _model_entries() -> dict[str, dict]:
    entries = {}
    for path in MODELS.rglob("*.yml"):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            entries[model["name"]] = model
    return entries


def test_every_mart_has_a_gold_contract_with_the_same_columns_types_and_descriptions():
    entries = _model_entries()
    for mart in MARTS:
        gold = contract("gold", mart)
        columns = entries[mart]["columns"]
        assert [c["name"] for c in columns] == gold.field_names, mart
        assert [c["data_type"] for c in columns] == [f.type for f in gold.fields], mart
        assert [c["description"] for c in columns] == [f.description for f in gold.fields], mart


def test_every_gold_column_is_classified_and_typed_for_spark():
    for mart in MARTS:
        for field in contract("gold", mart).fields:
            assert field.classification in CLASSIFICATIONS, (mart, field.name)
            parse_type(field.type)


def test_the_marts_are_exactly_the_models_of_the_marts_folder_and_have_enforced_contracts():
    assert sorted(p.stem for p in (MODELS / "marts").rglob("*.sql")) == sorted(MARTS)
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    assert project["models"]["omnilake"]["marts"]["+contract"] == {"enforced": True}


def test_every_model_has_a_yaml_entry_describing_it_and_its_columns():
    entries = _model_entries()
    for sql in MODELS.rglob("*.sql"):
        entry = entries.get(sql.stem)
        assert entry and entry.get("description"), f"{sql.stem} has no YAML description"
        assert entry.get("columns"), f"{sql.stem} documents no columns"
        assert all(c.get("description") for c in entry["columns"]), sql.stem


def test_the_silver_sources_are_generated_from_the_current_silver_contracts():
    script = DBT_PROJECT_DIR / "scripts" / "sync_silver_sources.py"
    spec = importlib.util.spec_from_file_location("sync_silver_sources", script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    on_disk = Path(module.SOURCES_FILE).read_text(encoding="utf-8")
    assert on_disk == module.render(), "run: uv run python dbt_project/scripts/sync_silver_sources.py"
