"""The lake's file layer behaves the same on a local disk and on S3 (a moto server on loopback)."""

from __future__ import annotations

import gzip
import hashlib

import pytest

from omnilake.storage.filesystem import filesystem_for

pytestmark = pytest.mark.integration


@pytest.fixture(params=["local", "s3"])
def root(request, tmp_path) -> str:
    if request.param == "local":
        return str(tmp_path / "lake")
    return f"s3://{request.getfixturevalue('bucket')}/lake"


def test_write_read_list_and_hash(root):
    fs = filesystem_for(root)
    fs.write_bytes(fs.join(root, "landing", "pos", "2026-03-02", "a.csv"), b"x,y\n1,2\n")
    fs.write_bytes(fs.join(root, "landing", "pos", "2026-03-03", "b.csv"), b"x,y\n")
    fs.write_bytes(fs.join(root, "landing", "pos", "top.txt"), b"")

    dirs, files = fs.list_dir(fs.join(root, "landing", "pos"))
    assert [d.rsplit("/", 1)[-1] for d in dirs] == ["2026-03-02", "2026-03-03"]
    assert [(f.name, f.size) for f in files] == [("top.txt", 0)]
    walked = [(f.path.removeprefix(root), f.size) for f in fs.walk(fs.join(root, "landing"))]
    assert walked == [
        ("/landing/pos/2026-03-02/a.csv", 8),
        ("/landing/pos/2026-03-03/b.csv", 4),
        ("/landing/pos/top.txt", 0),
    ]
    path = fs.join(root, "landing", "pos", "2026-03-02", "a.csv")
    assert fs.read_bytes(path) == b"x,y\n1,2\n"
    assert fs.sha256(path) == hashlib.sha256(b"x,y\n1,2\n").hexdigest()
    assert fs.is_dir(fs.join(root, "landing")) and not fs.is_dir(fs.join(root, "nothing"))
    assert fs.stat(fs.join(root, "nothing.txt")) is None and fs.exists(path)


def test_overwrite_is_whole_and_upload_round_trips(root, tmp_path):
    fs = filesystem_for(root)
    path = fs.join(root, "_ops", "audit", "trail.jsonl")
    fs.write_bytes(path, b"first\n")
    fs.write_bytes(path, b"first\nsecond\n")
    assert fs.read_bytes(path) == b"first\nsecond\n"
    local = tmp_path / "warehouse.duckdb"
    local.write_bytes(bytes(range(256)) * 4096)
    fs.upload(local, fs.join(root, "warehouse", "v1.duckdb"))
    back = tmp_path / "back" / "copy.duckdb"
    fs.download(fs.join(root, "warehouse", "v1.duckdb"), back)
    assert back.read_bytes() == local.read_bytes()
    # no temporary object is left beside what was written
    assert sorted(f.name for f in fs.walk(root)) == ["trail.jsonl", "v1.duckdb"]


def test_conditional_puts_refuse_what_changed(root):
    fs = filesystem_for(root)
    path = fs.join(root, "_ops", "writer.lock")
    first = fs.put_if_absent(path, b"holder one")
    assert first is not None
    assert fs.put_if_absent(path, b"holder two") is None
    assert fs.read_bytes(path) == b"holder one"

    assert fs.put_if_match(path, b"holder two", "not-the-version") is None
    assert fs.read_bytes(path) == b"holder one"
    second = fs.put_if_match(path, b"holder two", fs.stat(path).version)
    assert second is not None and fs.read_bytes(path) == b"holder two"

    assert fs.delete_if_match(path, first) is False  # the version it saw is gone
    assert fs.exists(path)
    assert fs.delete_if_match(path, second) is True
    assert not fs.exists(path)
    assert fs.put_if_match(path, b"x", second) is None  # nothing there to match


def test_a_gzip_landing_file_streams_from_storage(root):
    fs = filesystem_for(root)
    lines = b"".join(b'{"n": %d}\n' % n for n in range(20_000))
    path = fs.join(root, "landing", "events", "2026-03-02", "events.ndjson.gz")
    fs.write_bytes(path, gzip.compress(lines))
    with fs.open_read(path) as raw, gzip.GzipFile(fileobj=raw) as unzipped:
        assert unzipped.read() == lines


def test_warehouse_versions_and_pointer(bucket, tmp_path):
    from omnilake.errors import OmnilakeError
    from omnilake.settings import LakeRoot
    from omnilake.storage.warehouse import current_pointer, fetch_warehouse, publish_warehouse

    root = LakeRoot(f"s3://{bucket}/lake")
    fs = filesystem_for(root.uri)
    assert current_pointer(root) is None and fetch_warehouse(root, tmp_path / "w.duckdb") is None
    built = tmp_path / "built.duckdb"
    pointers = []
    for run in ("run-1", "run-2", "run-3"):
        built.write_bytes(run.encode() * 1000)
        pointers.append(publish_warehouse(root, built, run))
    # the current version and the one before it; the first is deleted
    assert sorted(v.path for v in fs.walk(root.join("warehouse", "versions"))) == sorted(
        p["path"] for p in pointers[1:]
    )
    assert current_pointer(root) == pointers[2]
    fetched = fetch_warehouse(root, tmp_path / "reader" / "w.duckdb")
    assert fetched.read_bytes() == b"run-3" * 1000
    assert pointers[2]["sha256"] == hashlib.sha256(b"run-3" * 1000).hexdigest()

    fs.write_bytes(pointers[2]["path"], b"damaged")
    with pytest.raises(OmnilakeError, match="does not match its pointer"):
        fetch_warehouse(root, tmp_path / "other" / "w.duckdb")
    assert not (tmp_path / "other" / "w.duckdb").exists()


def test_the_audit_trail_on_s3_takes_concurrent_appends_without_losing_one(bucket):
    from concurrent.futures import ThreadPoolExecutor

    from omnilake.audit import append_entry, read_entries, verify
    from omnilake.lake import Lake
    from omnilake.settings import LakeRoot

    lake = Lake(LakeRoot(f"s3://{bucket}/lake"))
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda n: append_entry(lake, "run", {"run_id": f"run-{n}"}), range(8)))
    entries = read_entries(lake)
    assert sorted(e["run_id"] for e in entries) == [f"run-{n}" for n in range(8)]
    assert [e["seq"] for e in entries] == list(range(1, 9))
    assert verify(lake).ok
