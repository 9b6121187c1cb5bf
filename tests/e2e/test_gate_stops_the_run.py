"""A breached silver `fail` rule stops the run at the silver gate and leaves published gold as it was."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from omnilake import delta
from omnilake.errors import QualityGateError
from omnilake.pipeline import GOLD_MARTS, run_pipeline

pytestmark = pytest.mark.e2e


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_orphan_order_line_stops_the_run_at_the_silver_gate(spark, lake, monkeypatch):
    from omnilake.generate import DefectRates, generate
    from omnilake.settings import reset_settings

    monkeypatch.setenv("OMNILAKE_DBT_DOCS", "false")  # dbt docs take seconds per date, tested elsewhere
    reset_settings()
    generate(Path(lake.landing), date(2026, 2, 1), 2, scale=0.02, seed=11, defects=DefectRates.none())
    run_pipeline([date(2026, 2, 1)], lake)
    gold_versions = {m: delta.version(lake.table(f"gold.{m}")) for m in GOLD_MARTS}
    warehouse = Path(lake.warehouse_path)
    published = _digest(warehouse)

    # A line whose order does not exist: breaks "every order line has its order" (severity fail).
    lines = lake.table("silver.order_lines")
    orphan = delta.read(spark, lines).limit(1).withColumn("order_id", F.lit("no-such-order"))
    delta.append(orphan, lines)

    with pytest.raises(QualityGateError, match=r"references\(order_id -> silver\.orders"):
        run_pipeline([date(2026, 2, 2)], lake)

    assert {m: delta.version(lake.table(f"gold.{m}")) for m in GOLD_MARTS} == gold_versions
    assert _digest(warehouse) == published
