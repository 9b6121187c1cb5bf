"""The whole chain on object storage: ``OMNILAKE_HOME=s3://bucket/lake`` against a moto S3 server.

One generated day goes through ``omnilake run`` twice, on a local lake and on the S3 lake, at the
same time; every bronze, quarantine, silver and gold table and every warehouse mart must have the
same content fingerprint on both. On the S3 lake the landing files, the ledger, the quality results
and Data Docs, the gold release, the published warehouse (an immutable version and its pointer) and
the audit trail are objects in the bucket, and the writer lock's lease object is gone after the
run. Then a person is erased: their landing lines are rewritten on S3, the Delta tables are
vacuumed there (no object left that the current version does not reference, none holding them),
older warehouse versions are deleted, and ``omnilake audit verify`` holds.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from omnilake.fingerprint import all_fingerprints
from omnilake.lake import Lake
from omnilake.settings import LakeRoot
from omnilake.storage.filesystem import filesystem_for

pytestmark = pytest.mark.e2e

DAY = date(2026, 3, 2)
OMNILAKE = str(Path(sys.executable).with_name("omnilake"))
OUTPUTS: list[str] = []  # everything the commands printed, searched for the credentials at the end


def _omnilake(home: str, local_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "OMNILAKE_HOME": home,
        "OMNILAKE_LOCAL_DIR": str(local_dir),
        "OMNILAKE_DBT_DOCS": "false",
    }
    env.pop("OMNILAKE_CRASH_AT", None)
    done = subprocess.run([OMNILAKE, "-v", *args], env=env, capture_output=True, text=True, timeout=600)
    OUTPUTS.append(done.stdout + done.stderr)
    return done


def _ok(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def _rows_text(fs, uri: str) -> str:
    return str(pq.read_table(io.BytesIO(fs.read_bytes(uri))).to_pylist())


def test_the_whole_chain_on_s3_equals_the_local_lake(bucket, tmp_path):
    local_home, s3_home = str(tmp_path / "local"), f"s3://{bucket}/lake"
    scratch = tmp_path / "scratch"
    generate = ("generate", "--start-date", DAY.isoformat(), "--days", "1", "--scale", "0.02", "--seed", "7")
    run = ("run", "--start-date", DAY.isoformat())
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [
            pool.submit(
                lambda home=home: (_ok(_omnilake(home, scratch, *generate)), _omnilake(home, scratch, *run))
            )
            for home in (local_home, s3_home)
        ]
        (_, local_run), (_, s3_run) = (r.result() for r in runs)
    _ok(local_run)
    _ok(s3_run)

    fs = filesystem_for(s3_home)
    local, on_s3 = Lake(LakeRoot(local_home)), Lake(LakeRoot(s3_home))
    expected = all_fingerprints(local)
    assert expected["silver.orders"].rows > 0 and expected["warehouse.fct_sales"].rows > 0
    assert all_fingerprints(on_s3) == expected

    # What the run left on the store, and nowhere else for readers
    assert [f.name for f in fs.list_dir(on_s3.path("landing", "orders", DAY.isoformat()))[1]] == [
        f"orders_{DAY}.ndjson"
    ]
    pointer = json.loads(fs.read_bytes(on_s3.path("warehouse", "CURRENT.json")))
    assert [v.path for v in fs.walk(on_s3.path("warehouse", "versions"))] == [pointer["path"]]
    assert fs.sha256(pointer["path"]) == pointer["sha256"]
    assert fs.stat(on_s3.path("_ops", "data_docs", "index.html")) is not None
    assert json.loads(fs.read_bytes(on_s3.path("gold", "_release.json")))["landing_date"] == DAY.isoformat()
    assert fs.stat(on_s3.path("_ops", "writer.lock")) is None
    assert not any(Path(local_home).glob("s3:*")) and not Path("s3:").exists()

    # Erase the first web order's customer, by e-mail
    orders_file = on_s3.path("landing", "orders", DAY.isoformat(), f"orders_{DAY}.ndjson")
    email = json.loads(fs.read_bytes(orders_file).splitlines()[0])["email"]
    assert email and email.encode() in fs.read_bytes(orders_file)
    erased = _ok(_omnilake(s3_home, scratch, "erase", "--email", email))
    assert "Delta tables vacuumed" in erased.stdout

    assert email.encode() not in fs.read_bytes(orders_file)
    from deltalake import DeltaTable

    bronze_orders = on_s3.table("bronze.orders").path
    referenced = {uri.removeprefix("s3://") for uri in DeltaTable(bronze_orders).file_uris()}
    stored = [
        f.path for f in fs.walk(bronze_orders) if f.path.endswith(".parquet") and "/_delta_log/" not in f.path
    ]
    assert {p.removeprefix("s3://") for p in stored} == referenced  # vacuumed: nothing unreferenced
    assert not any(email in _rows_text(fs, p) for p in stored)
    assert len(DeltaTable(bronze_orders).history()) == 1  # history before the checkpoint is gone
    versions = [v.path for v in fs.walk(on_s3.path("warehouse", "versions"))]
    assert versions == [json.loads(fs.read_bytes(on_s3.path("warehouse", "CURRENT.json")))["path"]]
    assert versions != [pointer["path"]]  # a new version without the person; the old one is deleted

    verified = _ok(_omnilake(s3_home, scratch, "audit", "verify"))
    assert "intact" in verified.stdout
    kinds = [
        json.loads(line)["kind"]
        for line in fs.read_bytes(on_s3.path("_ops", "audit", "audit.jsonl")).splitlines()
    ]
    assert kinds[-1] == "erasure" and "run" in kinds
    secret = os.environ["AWS_SECRET_ACCESS_KEY"]
    assert len(OUTPUTS) == 6 and not any(secret in output for output in OUTPUTS)  # -v: every log line too
