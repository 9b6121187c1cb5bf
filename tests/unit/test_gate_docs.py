"""A run renders Data Docs once, at its gold gate; the bronze and silver gates defer their pages."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

import quality.gates as gates
from omnilake.lake import Lake
from omnilake.pipeline import RunContext
from omnilake.settings import LakeRoot


@pytest.mark.parametrize(
    ("layer", "run_docs", "renders"),
    [("bronze", True, False), ("silver", True, False), ("gold", True, True), ("gold", False, False)],
)
def test_only_the_gold_gate_of_a_rendering_run_renders(monkeypatch, tmp_path, layer, run_docs, renders):
    asked = {}

    def run_gate(layer, run_id, landing_date, lake, *, warehouse=None, docs=True):
        asked["docs"] = docs
        return SimpleNamespace(as_dict=lambda: {})

    monkeypatch.setattr(gates, "run_gate", run_gate)
    monkeypatch.setattr("omnilake.publish.staging_warehouse_path", lambda context: tmp_path / "w.duckdb")
    context = RunContext("r1", date(2026, 1, 1), Lake(LakeRoot(str(tmp_path))), docs=run_docs)
    gates.gate_step(context, layer)
    assert asked["docs"] is renders
