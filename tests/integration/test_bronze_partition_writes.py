"""Bronze writes skip the DELETE only when the landing-date partition holds no data file: a new
date's delivery is a plain append, while a partition with rows (an earlier file of the day, or a
crashed write of this very file) is still written in place of exactly this file's rows."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta

import pytest
from deltalake import DeltaTable
from pyspark.sql import functions as F

from jobs.bronze.ingest import _has_files_in, ingest
from omnilake import delta
from tests.integration.test_bronze_ingest import deliver, ndjson, order

pytestmark = pytest.mark.integration

DAY = date(2026, 3, 2)


def test_a_crashed_write_in_a_partition_with_an_earlier_file_is_replaced_only_for_its_file(spark, lake):
    deliver(lake, "orders", "a.ndjson", ndjson(order(1), order(2)))
    ingest(["orders"], DAY)
    later = ndjson(order(3), order(4, total_price="four"))
    deliver(lake, "orders", "b.ndjson", later)
    later_hash = hashlib.sha256(later.encode()).hexdigest()
    # What a run that died after its bronze write leaves: rows of b.ndjson in bronze, no ledger entry.
    table = lake.table("bronze.orders")
    crashed = delta.read(spark, table).where(F.col("id") == 1).withColumn("_file_hash", F.lit(later_hash))
    delta.append(crashed.unionByName(crashed), table)

    (report,) = ingest(["orders"], DAY)

    assert (report.files_new, report.bronze_rows, report.quarantined_rows) == (1, 1, 1)
    bronze = delta.read(spark, table).collect()
    assert sorted((r["id"], r["_file_hash"] == later_hash) for r in bronze) == [
        (1, False),
        (2, False),
        (3, True),
    ]
    (bad,) = delta.read(spark, lake.table("quarantine.orders")).collect()
    assert (bad["reason"], bad["_line"], json.loads(bad["_raw"])["id"]) == ("wrong_type", 2, 4)
    assert dict(report.quarantine_reasons) == {"wrong_type": 1}


def test_a_new_dates_delivery_is_appended_and_earlier_partitions_are_kept(spark, lake):
    deliver(lake, "orders", "a.ndjson", ndjson(order(1), order(2, total_price="two")))
    ingest(["orders"], DAY)
    table = lake.table("bronze.orders")
    next_day = DAY + timedelta(days=1)
    assert _has_files_in(table, [DAY]) and not _has_files_in(table, [next_day])
    deliver(lake, "orders", "c.ndjson", ndjson(order(5), order(6)), day=next_day)

    (report,) = ingest(["orders"], next_day)

    assert (report.bronze_rows, report.quarantined_rows) == (2, 0)
    assert _has_files_in(table, [next_day])
    by_date = sorted((r["_landing_date"], r["id"]) for r in delta.read(spark, table).collect())
    assert by_date == [(DAY, 1), (next_day, 5), (next_day, 6)]
    assert delta.read(spark, lake.table("quarantine.orders")).count() == 1
    recon = {r["path"]: r["balanced"] for r in delta.read(spark, lake.table("ops.reconciliation")).collect()}
    assert len(recon) == 2 and all(recon.values())


def test_a_rerun_after_a_crash_before_the_ledger_replaces_the_files_bookkeeping_rows(spark, lake):
    # A quote in the file name: the engine's and delta-rs's predicates quote strings differently.
    deliver(lake, "orders", "o'neil.ndjson", ndjson(order(7), order(8, total_price="eight"), order(9)))
    ingest(["orders"], DAY)
    # What a run that died just before its ledger write leaves: every table written but the ledger.
    ledger = lake.table("ops.ingestion_ledger")
    DeltaTable(ledger.path).delete("source = 'orders'")

    (report,) = ingest(["orders"], DAY)

    assert (report.files_new, report.bronze_rows, report.quarantined_rows) == (1, 2, 1)
    assert sorted(r["id"] for r in delta.read(spark, lake.table("bronze.orders")).collect()) == [7, 9]
    assert delta.read(spark, lake.table("quarantine.orders")).count() == 1
    (recon,) = delta.read(spark, lake.table("ops.reconciliation")).collect()
    assert (recon["path"], recon["records_received"], recon["bronze_rows"], recon["quarantined_rows"]) == (
        f"landing/orders/{DAY.isoformat()}/o'neil.ndjson",
        3,
        2,
        1,
    )
    (entry,) = delta.read(spark, ledger).collect()
    assert (entry["status"], entry["records"], entry["bronze_rows"], entry["batch_id"]) == (
        "ingested",
        3,
        2,
        report.batch_id,
    )
