"""The bronze gate follows the declared feeds: freshness asks only for feeds due on the landing
date, and volume compares a delivery with the feed's own earlier deliveries (weeks, for a weekly
feed). The ops tables are built in code, as in test_quality_gates."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from omnilake import delta
from omnilake.errors import QualityGateError
from omnilake.settings import reset_settings
from quality.config import QualityConfig
from quality.gates import run_gate

pytestmark = pytest.mark.integration

MONDAY = date(2026, 3, 9)
NOW = datetime(2026, 3, 10, 6, 0)
CONFIG = QualityConfig(data_docs=False)
FEEDS = """\
feeds:
  orders: {cadence: daily, kind: change}
  inventory_store: {cadence: weekly, weekday: monday, kind: snapshot}
  products: {cadence: on_change, kind: snapshot}
"""


@pytest.fixture
def declared(tmp_path, monkeypatch):
    path = tmp_path / "feeds.yaml"
    path.write_text(FEEDS)
    monkeypatch.setenv("OMNILAKE_FEEDS", str(path))
    reset_settings()
    yield
    reset_settings()


def _deliveries(spark, lake, files: list[tuple[str, date, int]]) -> None:
    """Ledger and reconciliation rows: one ingested, balanced file per (source, day, records)."""
    ledger, reconciliation = lake.table("ops.ingestion_ledger"), lake.table("ops.reconciliation")
    ledger_rows, reconciliation_rows = [], []
    for number, (source, day, records) in enumerate(files):
        path, file_hash = f"landing/{source}/{day}/{source}_{day}.csv", f"{source}-{day}-{number}"
        ledger_rows.append(
            (path, file_hash, source, day, 1, "ingested", None, records, records, 0, 0, "b", NOW)
        )
        reconciliation_rows.append((path, file_hash, source, day, records, records, 0, True, "b", NOW, None))
    delta.append(spark.createDataFrame(ledger_rows, ledger.contract.spark_schema()), ledger)
    delta.append(
        spark.createDataFrame(reconciliation_rows, reconciliation.contract.spark_schema()), reconciliation
    )


def _weeks_of_counts(weeks: int) -> list[tuple[str, date, int]]:
    """Daily orders (50 a day) and the Monday stock count (1,000 rows) for ``weeks`` weeks before MONDAY."""
    start = MONDAY - timedelta(weeks=weeks)
    days = [start + timedelta(days=n) for n in range(weeks * 7)]
    return [("orders", d, 50) for d in days] + [
        ("inventory_store", d, 1000) for d in days if d.weekday() == 0
    ]


def test_a_weekly_feed_is_not_due_between_its_deliveries(spark, lake, declared):
    tuesday = MONDAY + timedelta(days=1)
    _deliveries(spark, lake, [*_weeks_of_counts(2), ("inventory_store", MONDAY, 1000), ("orders", MONDAY, 50),
                              ("orders", tuesday, 50)])  # fmt: skip
    report = run_gate("bronze", "run-tuesday", tuesday, lake, config=CONFIG)
    assert (report.failed, report.warned) == ([], [])
    # Products (on change) never delivered and never asked for; the stock count only on Mondays.
    assert CONFIG.sources_required(tuesday) == ("orders",)


def test_a_weekly_feed_missing_on_its_day_fails_freshness(spark, lake, declared):
    _deliveries(spark, lake, [*_weeks_of_counts(2), ("orders", MONDAY, 50)])
    with pytest.raises(
        QualityGateError,
        match=r"freshness \(observed: 1 of 2 sources: source=inventory_store files_delivered=0\)",
    ):
        run_gate("bronze", "run-monday-late", MONDAY, lake, config=CONFIG)


def test_a_weekly_delivery_is_compared_with_earlier_weeks(spark, lake, declared):
    # 1,000 rows on each of three earlier Mondays; today's 400 is 0.4 of that: a volume warning.
    # Compared with the days in between (no delivery at all), any count would look odd or divide by 0.
    _deliveries(spark, lake, [*_weeks_of_counts(3), ("inventory_store", MONDAY, 400), ("orders", MONDAY, 50)])
    report = run_gate("bronze", "run-monday-small", MONDAY, lake, config=CONFIG)
    assert report.failed == []
    assert [(r.expectation, r.observed) for r in report.warned] == [
        ("volume", "1 of 2 sources: source=inventory_store volume_ratio=0.4")
    ]


def test_an_on_change_feed_is_compared_with_its_previous_delivery_however_long_ago(spark, lake, declared):
    # Products last changed 20 days ago (30 rows); today's 90 rows are three times that.
    _deliveries(spark, lake, [("products", MONDAY - timedelta(days=20), 30), ("products", MONDAY, 90),
                              ("orders", MONDAY, 50), ("inventory_store", MONDAY, 1000)])  # fmt: skip
    report = run_gate("bronze", "run-products", MONDAY, lake, config=CONFIG)
    assert report.failed == []
    assert [(r.expectation, r.observed) for r in report.warned] == [
        ("volume", "1 of 3 sources: source=products volume_ratio=3.0")
    ]
