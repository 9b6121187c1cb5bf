"""Bronze ingestion on a real Sail server, real landing files and real Delta tables."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from jobs.bronze.ingest import ingest
from omnilake import delta

pytestmark = pytest.mark.integration

DAY = date(2026, 3, 2)
POS_HEADER = "STORE_ID|REGISTER_ID|TXN_ID|LINE_NO|TXN_DATETIME|SKU|EAN|QTY|UNIT_PRICE|DISCOUNT|TENDER|LOYALTY_CARD|VOID"


def order(order_id: int, updated_at: str = "2026-03-02T10:00:00-05:00", **extra) -> dict:
    return {
        "id": order_id,
        "name": f"#{order_id}",
        "order_number": order_id,
        "created_at": "2026-03-02T09:00:00-05:00",
        "updated_at": updated_at,
        "currency": "USD",
        "financial_status": "paid",
        "total_price": "20.00",
        "line_items": [
            {"id": order_id * 10, "sku": "SKU-1", "quantity": 2, "price": "10.00", "total_discount": "0.00"}
        ],
        **extra,
    }


def deliver(lake, source: str, name: str, content: bytes | str, day: date = DAY) -> Path:
    folder = Path(lake.landing) / source / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def ndjson(*records: dict | str) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def rows(spark, lake, table: str):
    return delta.read(spark, lake.table(table)).collect()


def test_good_and_bad_records_are_split_with_reasons_and_reconciled(spark, lake):
    deliver(
        lake,
        "orders",
        "orders.ndjson",
        ndjson(
            order(1, gift_wrap=True),  # unknown field: kept in _rescued
            order(2, total_price="twenty"),  # wrong type
            {k: v for k, v in order(3).items() if k != "updated_at"},  # missing required
            '{"id": 4, "created_at": ',  # truncated line
            "",  # blank line: not a record
            order(5, id=99999999999999999999),  # overflows long: wrong type, never wrapped
        ),
    )
    (report,) = ingest(["orders"], DAY)

    assert (report.records, report.bronze_rows, report.quarantined_rows) == (5, 1, 4)
    bronze = rows(spark, lake, "bronze.orders")
    assert [(r["id"], r["_line"], json.loads(r["_rescued"])) for r in bronze] == [
        (1, 1, {"gift_wrap": "true"})
    ]
    quarantined = {r["_line"]: (r["reason"], r["detail"]) for r in rows(spark, lake, "quarantine.orders")}
    assert (
        quarantined[2][0] == "wrong_type"
        and "total_price" in quarantined[2][1]
        and "twenty" in quarantined[2][1]
    )
    assert quarantined[3] == ("missing_required", "missing_required: updated_at")
    assert quarantined[4][0] == "malformed_json"
    assert quarantined[6][0] == "wrong_type" and "id is not long" in quarantined[6][1]
    (recon,) = rows(spark, lake, "ops.reconciliation")
    assert (
        recon["records_received"],
        recon["bronze_rows"],
        recon["quarantined_rows"],
        recon["balanced"],
    ) == (5, 1, 4, True)
    (ledger,) = rows(spark, lake, "ops.ingestion_ledger")
    assert (ledger["status"], ledger["records"], ledger["blank_lines"]) == ("ingested", 5, 1)
    drift = rows(spark, lake, "ops.schema_drift")
    assert [(d["kind"], d["column"], d["records"]) for d in drift] == [("unknown_field", "gift_wrap", 1)]


def test_second_ingest_of_the_same_landing_changes_nothing(spark, lake):
    deliver(lake, "orders", "orders.ndjson", ndjson(order(1), order(2)))
    ingest(["orders"], DAY)
    tables = ["bronze.orders", "quarantine.orders", "ops.ingestion_ledger", "ops.reconciliation"]
    versions = {t: delta.version(lake.table(t)) for t in tables}

    (again,) = ingest(["orders"], DAY)

    assert (again.files_new, again.files_skipped, again.records) == (0, 1, 0)
    assert {t: delta.version(lake.table(t)) for t in tables} == versions
    assert len(rows(spark, lake, "bronze.orders")) == 2


def test_same_bytes_under_another_name_are_a_duplicate_not_ingested_twice(spark, lake):
    content = ndjson(order(1), order(2))
    deliver(lake, "orders", "orders.ndjson", content)
    deliver(lake, "orders", "orders_resent.ndjson", content)
    (report,) = ingest(["orders"], DAY)
    assert (report.files_new, report.files_duplicate, report.bronze_rows) == (1, 1, 2)
    ledger = {
        r["path"].rsplit("/", 1)[-1]: (r["status"], r["duplicate_of"])
        for r in rows(spark, lake, "ops.ingestion_ledger")
    }
    assert ledger["orders_resent.ndjson"] == ("duplicate", f"landing/orders/{DAY}/orders.ndjson")
    assert ledger["orders.ndjson"] == ("ingested", None)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.ndjson", b"", "empty_file"),
        ("gbk.ndjson", '{"id": 1, "note": "上海"}\n'.encode("gbk"), "bad_encoding"),
        ("cut.ndjson.gz", gzip.compress(ndjson(order(1)).encode() * 50)[:-40], "truncated_compression"),
        ("array.json", json.dumps([order(1)]).encode(), "json_array"),
    ],
)
def test_unreadable_file_is_quarantined_whole_with_its_reason(spark, lake, name, content, reason):
    deliver(lake, "orders", name, content)
    (report,) = ingest(["orders"], DAY)
    assert (report.files_quarantined, report.bronze_rows) == (1, 0)
    (refused,) = rows(spark, lake, "quarantine.files")
    assert (refused["reason"], refused["path"]) == (reason, f"landing/orders/{DAY}/{name}")
    (ledger,) = rows(spark, lake, "ops.ingestion_ledger")
    assert ledger["status"] == "quarantined"


def test_pos_csv_bom_crlf_alias_and_malformed_rows(spark, lake):
    renamed = POS_HEADER.replace("QTY", "QUANTITY")
    lines = [
        renamed,
        "S001|R1|T1|1|2026-03-02 10:00:00|SKU-1||2|10.00|0.00|card||N",
        "S001|R1|T1|2|2026-03-02 10:00:00|SKU-2||1|5.00|0.00|card",  # a field short
        renamed,  # header repeated mid-file
        "S001|R1|T2|1|2026-03-02 11:00:00|SKU-1||-1|10.00|0.00|card||N",
    ]
    deliver(lake, "pos", "pos_S001.csv", "\ufeff" + "\r\n".join(lines) + "\r\n")
    (report,) = ingest(["pos"], DAY)

    assert (report.records, report.bronze_rows, report.quarantined_rows) == (4, 2, 2)
    bronze = sorted(
        (r["transaction_id"], r["quantity"], r["store_id"]) for r in rows(spark, lake, "bronze.pos")
    )
    assert bronze == [("T1", 2, "S001"), ("T2", -1, "S001")]
    reasons = sorted(r["reason"] for r in rows(spark, lake, "quarantine.pos"))
    assert reasons == ["malformed_csv", "repeated_header"]
    drift = [(d["kind"], d["column"]) for d in rows(spark, lake, "ops.schema_drift")]
    assert drift == [("renamed_column", "QTY")]


def test_pos_with_wrong_delimiter_is_refused_with_a_clear_reason(spark, lake):
    deliver(lake, "pos", "pos_S002.csv", POS_HEADER.replace("|", ";") + "\nS002;R1;T1;1\n")
    (report,) = ingest(["pos"], DAY)
    assert (report.files_quarantined, report.records) == (1, 0)
    (refused,) = rows(spark, lake, "quarantine.files")
    assert refused["reason"] == "header_mismatch" and "';'" in refused["detail"]


CRASH_RUN = """
import sys
from datetime import date
from jobs.bronze.ingest import ingest
ingest(["orders"], date.fromisoformat(sys.argv[1]))
"""


@pytest.mark.parametrize("point", ["bronze.after_data_write", "bronze.before_ledger_write"])
def test_crash_between_data_and_ledger_then_rerun_loses_and_duplicates_nothing(spark, lake, point):
    deliver(lake, "orders", "orders.ndjson", ndjson(order(1), order(2), order(3, total_price="x")))
    env = {**os.environ, "OMNILAKE_CRASH_AT": point, "OMNILAKE_HOME": str(lake.root)}
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH_RUN, DAY.isoformat()], env=env, capture_output=True, timeout=300
    )
    assert crashed.returncode == -9, crashed.stderr[-2000:]
    assert not delta.exists(lake.table("ops.ingestion_ledger"))  # the ledger is always written last

    (report,) = ingest(["orders"], DAY)

    assert (report.files_new, report.bronze_rows, report.quarantined_rows) == (1, 2, 1)
    bronze = delta.read(spark, lake.table("bronze.orders"))
    assert sorted(r["id"] for r in bronze.collect()) == [1, 2]
    assert delta.read(spark, lake.table("quarantine.orders")).count() == 1
    assert bronze.groupBy("_file_hash", "_line").count().where(F.col("count") > 1).count() == 0
