"""The analyst notebook runs top to bottom on a warehouse built by two daily gold runs."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from omnilake.publish import build_gold, publish_gold

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "analyst.ipynb"


def _silver_case():
    """The hand-made silver lake of the gold integration tests (tests/integration/test_dbt_marts.py)."""
    path = REPO / "tests" / "integration" / "test_dbt_marts.py"
    spec = importlib.util.spec_from_file_location("gold_silver_case", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_analyst_notebook_runs_on_two_days_of_gold(tmp_path, monkeypatch):
    case = _silver_case()
    home = tmp_path / "lake"
    case.write_silver(home)
    for run, day in (("day1", date(2026, 3, 5)), ("day2", date(2026, 3, 10))):
        context = case.context_for(home, run, day)
        build_gold(context, docs=False)
        publish_gold(context)

    monkeypatch.setenv("OMNILAKE_HOME", str(home))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()

    outputs = {
        i: cell.get("outputs", []) for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"
    }
    assert not [o for cell in outputs.values() for o in cell if o.get("output_type") == "error"]
    images = [o for cell in outputs.values() for o in cell if "image/png" in o.get("data", {})]
    assert len(images) == 5  # segments, migration, inventory deviation, deviation trend, funnel
    text = "".join(str(o.get("data", {}).get("text/plain", "")) for cell in outputs.values() for o in cell)
    assert "Potential Loyalists" in text and "Promising" in text  # C1 moved from Promising on
    assert "units_short" in text and "recommended_buffer_qty" in text  # the incident and buffer tables
