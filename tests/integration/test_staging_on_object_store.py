"""On an object-store lake, bronze staging lives under the lake, so a Spark server on another machine
can read it: ingestion against a Sail server in its own process (``SPARK_REMOTE``) gives the bronze
of the embedded engine on a local lake, and no location handed to Spark is on this machine's disk.

One snapshot feed (``crm_members``) over two days, so that all three kinds of staged file are
exercised: the staged records, the keys gone from the snapshot (``gone-keys.parquet``) and the gone
rows Spark writes and reads back. Day 1: members A, B, C. Day 2: A changes tier, B is no longer
listed, C loses its loyalty card (quarantined, so its key is gone that day), D joins.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from jobs.bronze.ingest import ingest
from omnilake import delta
from omnilake.contracts import contract
from omnilake.fingerprint import table_fingerprint
from omnilake.lake import Lake
from omnilake.settings import LakeRoot
from omnilake.storage.filesystem import filesystem_for
from omnilake.storage.local import local_dir
from omnilake.storage.transient import STALE_SECONDS, sweep_stale
from tests.sail_server import sail_server

pytestmark = pytest.mark.integration

DAYS = [date(2026, 3, 2), date(2026, 3, 3)]
SOURCE = "crm_members"
REPO = Path(__file__).resolve().parents[2]


def member(member_id: str, card: str, tier: str) -> dict[str, str]:
    return {
        "member_id": member_id,
        "loyalty_card": card,
        "first_name": "Ann",
        "last_name": "Lee",
        "email": f"{member_id.lower()}@mail.example",
        "postal_code": "10001",
        "signup_date": "2025-01-10",
        "signup_channel": "store",
        "signup_store_id": "S001",
        "tier": tier,
        "email_opt_in": "true",
        "sms_opt_in": "false",
        "profiling_consent": "true",
    }


A, B, C, D = (member(f"M0000000{i}", f"604500000000000{i}", "bronze") for i in range(1, 5))
SNAPSHOTS = {DAYS[0]: [A, B, C], DAYS[1]: [{**A, "tier": "silver"}, {**C, "loyalty_card": ""}, D]}


def snapshot_csv(day: date) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(
        out, [f.raw_name for f in contract("landing", SOURCE).fields], lineterminator="\n"
    )
    writer.writeheader()
    for row in SNAPSHOTS[day]:
        writer.writerow({"snapshot_date": day.isoformat(), **row})
    return out.getvalue().encode("utf-8")


def deliver(lake: Lake, day: date) -> None:
    path = lake.path("landing", SOURCE, day.isoformat(), f"{SOURCE}_{day.isoformat()}.csv")
    if lake.root.is_local:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    filesystem_for(path).write_bytes(path, snapshot_csv(day))


# The ingestion step of each day against SPARK_REMOTE; every location handed to Spark's readers and
# writers is recorded (at the pyspark API, whatever our code does underneath) and printed as JSON.
RUNNER = """
import json, sys
from datetime import date
from pyspark.sql.connect.readwriter import DataFrameReader, DataFrameWriter
from jobs.bronze.ingest import ingest_step
from omnilake.lake import get_lake
from omnilake.pipeline import RunContext, new_run_id
from omnilake.settings import get_settings

handed = []
inside = []  # parquet() calls load() itself: only the outermost call is recorded

def recording(method):
    def wrapper(self, *args, **kwargs):
        if not inside:
            for given in [*args, kwargs.get("path")]:
                handed.extend([given] if isinstance(given, str) else list(given or []))
        inside.append(method)
        try:
            return method(self, *args, **kwargs)
        finally:
            inside.pop()
    return wrapper

DataFrameReader.parquet = recording(DataFrameReader.parquet)
DataFrameReader.load = recording(DataFrameReader.load)
DataFrameWriter.parquet = recording(DataFrameWriter.parquet)
DataFrameWriter.save = recording(DataFrameWriter.save)
lake = get_lake()
lake.ensure_layout()
assert get_settings().engine == "remote", get_settings().engine
for day in sys.argv[1:]:
    ingest_step(RunContext(new_run_id("test"), date.fromisoformat(day), lake), "crm_members")
print(json.dumps(handed))
"""


def test_ingestion_on_a_remote_engine_reads_staging_from_the_store(spark, lake, bucket, tmp_path):
    # The reference: the embedded engine, on a local lake (staging on local disk, as always).
    for day in DAYS:
        deliver(lake, day)
        ingest([SOURCE], day, lake)

    on_s3 = Lake(LakeRoot(f"s3://{bucket}/lake"))
    for day in DAYS:
        deliver(on_s3, day)
    working = tmp_path / "working"
    with sail_server(tmp_path / "sail.log") as (url, _server):
        env = {
            **os.environ,
            "SPARK_REMOTE": url,
            "OMNILAKE_HOME": on_s3.root.uri,
            "OMNILAKE_LOCAL_DIR": str(working),
        }
        done = subprocess.run(
            [sys.executable, "-c", RUNNER, *(d.isoformat() for d in DAYS)],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    handed = json.loads(done.stdout.strip().splitlines()[-1])

    # Everything Spark was given is on the store; the staged files under the lake's staging folder:
    # day 1 one staged file, day 2 the staged file, the gone keys, and the gone rows (written, read);
    # each day its classified records (written, read).
    assert handed and [h for h in handed if not h.startswith(f"{on_s3.root.uri}/")] == []
    staging = on_s3.path("_ops", "staging") + "/"
    staged = [h.removeprefix(staging).split("/", 1)[1] for h in handed if h.startswith(staging)]
    assert sorted(staged) == sorted(
        [f"{h}.parquet" for h in _file_hashes(on_s3)]
        + ["gone-keys.parquet", "gone-rows", "gone-rows"]
        + ["classified"] * 2 * len(DAYS)
    )

    for name in (f"bronze.{SOURCE}", f"quarantine.{SOURCE}"):
        assert table_fingerprint(on_s3.table(name)) == table_fingerprint(lake.table(name)), name
    changes = sorted(
        (r["member_id"], r["_change"], r["_landing_date"])
        for r in delta.read(spark, lake.table(f"bronze.{SOURCE}")).collect()
    )
    assert changes == sorted(
        [
            (A["member_id"], "new", DAYS[0]),
            (B["member_id"], "new", DAYS[0]),
            (C["member_id"], "new", DAYS[0]),
            (A["member_id"], "changed", DAYS[1]),
            (D["member_id"], "new", DAYS[1]),
            (B["member_id"], "gone", DAYS[1]),
            (C["member_id"], "gone", DAYS[1]),
        ]
    )

    # Nothing staged is left, on the store or in the local working folder.
    assert list(filesystem_for(staging).walk(staging)) == []
    local_staging = working / "omnilake"
    assert not [p for p in local_staging.rglob("*") if p.is_file() and "staging" in p.parts]


def _file_hashes(lake: Lake) -> list[str]:
    from deltalake import DeltaTable

    ledger = DeltaTable(lake.table("ops.ingestion_ledger").path).to_pyarrow_table(columns=["file_hash"])
    return ledger.column("file_hash").to_pylist()


def test_staging_a_killed_run_left_on_the_store_is_swept_by_age(bucket, tmp_path, monkeypatch):
    monkeypatch.setenv("OMNILAKE_LOCAL_DIR", str(tmp_path / "working"))
    from omnilake.settings import reset_settings

    reset_settings()
    root = LakeRoot(f"s3://{bucket}/lake")
    fs = filesystem_for(root.uri)
    left = root.join("_ops", "staging", "crm_members-20260302T010000-0badf00d")
    for name in ("aa.parquet", "gone-rows/part-0.parquet"):
        fs.write_bytes(f"{left}/{name}", b"rows")
    local_left = local_dir(root, "_ops", "staging", "crm_members-20260302T010000-0badf00d")
    local_left.mkdir(parents=True)
    (local_left / "aa.parquet").write_bytes(b"rows")

    assert sweep_stale(root, "_ops", "staging") == []  # minutes old: a live run's
    assert len(list(fs.walk(left))) == 2 and local_left.is_dir()

    later = datetime.now(UTC) + timedelta(seconds=STALE_SECONDS + 60)
    assert sweep_stale(root, "_ops", "staging", now=later) == ["crm_members-20260302T010000-0badf00d"]
    assert list(fs.walk(root.join("_ops", "staging"))) == [] and not local_left.exists()
    reset_settings()
