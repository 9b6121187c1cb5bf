"""Deliveries with no records (a retailer's quiet day) and feeds a retailer does not deliver.

Each empty format ingests as zero records, reconciles (received 0 = 0 + 0), gets its ledger entry and
passes the bronze gate. A 0-byte file stays refused (``empty_file``, see tests/data/bad): an export
that wrote nothing at all, not even its header, most likely failed.
"""

from __future__ import annotations

import gzip
from datetime import date, timedelta
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from jobs.bronze.ingest import ingest
from omnilake import delta
from omnilake.contracts import contract
from omnilake.settings import reset_settings
from quality.config import QualityConfig
from quality.gates import run_gate

pytestmark = pytest.mark.integration

DAY = date(2026, 3, 3)


def _header(source: str) -> str:
    landing = contract("landing", source)
    return landing.options.get("delimiter", ",").join(f.raw_name for f in landing.fields) + "\n"


def deliver(lake, source: str, name: str, content: bytes | str, day: date = DAY) -> Path:
    folder = Path(lake.landing) / source / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


EMPTY_DELIVERIES = {
    "header-only pipe CSV": ("pos", "pos_S001_2026-03-03.csv", lambda: _header("pos")),
    "header-only snapshot CSV": ("products", "products_2026-03-03.csv", lambda: _header("products")),
    "header-only stock count": ("inventory_store", "inventory_store_2026-03-03.csv", lambda: _header("inventory_store")),
    "NDJSON of blank lines only": ("orders", "orders_2026-03-03.ndjson", lambda: "\n\n"),
    "empty gzip stream": ("events", "events_2026-03-03.ndjson.gz", lambda: gzip.compress(b"")),
}  # fmt: skip


@pytest.mark.parametrize("case", EMPTY_DELIVERIES, ids=list(EMPTY_DELIVERIES))
def test_a_delivery_without_records_is_ingested_reconciled_and_passes_the_gate(spark, lake, case):
    source, name, content = EMPTY_DELIVERIES[case]
    path = deliver(lake, source, name, content())

    (report,) = ingest([source], DAY, lake)

    assert (report.files_new, report.files_quarantined, report.records) == (1, 0, 0)
    assert (report.bronze_rows, report.quarantined_rows, report.unbalanced_files) == (0, 0, [])
    (entry,) = delta.read(spark, lake.table("ops.ingestion_ledger")).collect()
    assert (entry["path"], entry["status"], entry["records"]) == (
        f"landing/{source}/{DAY}/{path.name}",
        "ingested",
        0,
    )
    (recon,) = delta.read(spark, lake.table("ops.reconciliation")).collect()
    received = (recon["records_received"], recon["bronze_rows"], recon["quarantined_rows"], recon["balanced"])
    assert received == (0, 0, 0, True)
    assert delta.read(spark, lake.table(f"bronze.{source}")).count() == 0
    config = QualityConfig(required_sources=(source,), data_docs=False)
    gate = run_gate("bronze", f"run-empty-{source}", DAY, lake, config=config)
    assert gate.failed == [] and gate.warned == []
    assert ingest([source], DAY, lake)[0].files_skipped == 1, "taken exactly once, like any file"


def test_the_same_header_only_file_from_two_stores_and_two_days_is_three_deliveries(spark, lake):
    """Every quiet till exports the same bytes; none of them is a re-delivery of another."""
    for store, day in (("S001", DAY), ("S002", DAY), ("S001", DAY + timedelta(days=1))):
        deliver(lake, "pos", f"pos_{store}_{day}.csv", _header("pos"), day)
    first, second = ingest(["pos"], DAY, lake), ingest(["pos"], DAY + timedelta(days=1), lake)
    assert [(r.files_new, r.files_duplicate) for r in first + second] == [(2, 0), (1, 0)]
    ledger = delta.read(spark, lake.table("ops.ingestion_ledger")).select("path", "status", "records")
    assert sorted(tuple(r) for r in ledger.collect()) == [
        (f"landing/pos/{DAY}/pos_S001_{DAY}.csv", "ingested", 0),
        (f"landing/pos/{DAY}/pos_S002_{DAY}.csv", "ingested", 0),
        (f"landing/pos/{DAY + timedelta(days=1)}/pos_S001_{DAY + timedelta(days=1)}.csv", "ingested", 0),
    ]
    balanced = delta.read(spark, lake.table("ops.reconciliation")).where(F.col("balanced")).count()
    assert balanced == 3


def test_a_file_with_records_sent_twice_is_still_a_duplicate(spark, lake):
    line = "S001|R1|T-1|1|2026-03-03 10:00:00|SKU-1||1|10.00||cash||N\n"
    deliver(lake, "pos", "pos_S001_2026-03-03.csv", _header("pos") + line)
    deliver(lake, "pos", "pos_S001_2026-03-03_2.csv", _header("pos") + line)
    (report,) = ingest(["pos"], DAY, lake)
    assert (report.files_new, report.files_duplicate, report.records) == (1, 1, 1)


def test_a_zero_byte_file_is_still_refused_whole(spark, lake):
    deliver(lake, "orders", "orders_2026-03-03.ndjson", b"")
    (report,) = ingest(["orders"], DAY, lake)
    assert (report.files_new, report.files_quarantined) == (0, 1)
    assert report.quarantine_reasons == {"file:empty_file": 1}


def test_an_undeclared_feed_is_skipped_and_never_required(spark, lake, tmp_path, monkeypatch):
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  orders: {cadence: daily, kind: change}\n")
    monkeypatch.setenv("OMNILAKE_FEEDS", str(feeds))
    reset_settings()
    deliver(lake, "orders", "orders_2026-03-03.ndjson", "\n")
    stray = deliver(lake, "events", "events_2026-03-03.ndjson.gz", gzip.compress(b"{}\n"))

    orders, events = ingest(["orders", "events"], DAY, lake)

    assert (orders.declared, orders.files_new) == (True, 1)
    assert (events.declared, events.files_new, events.files_ignored) == (False, 0, 1)
    assert stray.exists()
    sources = {r["source"] for r in delta.read(spark, lake.table("ops.ingestion_ledger")).collect()}
    assert sources == {"orders"}
    assert not delta.exists(lake.table("bronze.events"))
    # The default gate config asks only for declared feeds due on the date: orders.
    gate = run_gate("bronze", "run-undeclared", DAY, lake, config=QualityConfig(data_docs=False))
    assert gate.failed == []
    freshness = [r for r in gate.results if r.expectation == "freshness"]
    assert [r.success for r in freshness] == [True]
