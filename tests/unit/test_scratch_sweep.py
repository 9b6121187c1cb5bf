"""Scratch and staging a killed run left behind are swept by a later run; a live run's are kept."""

import os
import time

import pytest

from omnilake.settings import LakeRoot
from omnilake.storage.transient import STALE_SECONDS, sweep_stale

pytestmark = pytest.mark.unit


def test_only_folders_whose_newest_file_is_older_than_the_limit_are_removed(tmp_path):
    scratch = tmp_path / "lake" / "_ops" / "scratch"
    dead, live, busy = scratch / "orders-dead", scratch / "orders-live", scratch / "identity-busy"
    for folder in (dead, live, busy / "003_labels"):
        folder.mkdir(parents=True)
        (folder / "part-0.parquet").write_bytes(b"rows")
    (busy / "001_nodes").mkdir()
    (busy / "001_nodes" / "part-0.parquet").write_bytes(b"rows")
    long_ago = time.time() - STALE_SECONDS - 60
    # dead: nothing written for longer than the limit; busy: started long ago, still writing
    for path in (
        dead,
        dead / "part-0.parquet",
        busy,
        busy / "001_nodes",
        busy / "001_nodes" / "part-0.parquet",
    ):
        os.utime(path, (long_ago, long_ago))

    root = LakeRoot(str(tmp_path / "lake"))
    assert sweep_stale(root, "_ops", "scratch") == ["orders-dead"]
    assert sweep_stale(root, "_ops", "never-created") == []

    assert sorted(p.name for p in scratch.iterdir()) == ["identity-busy", "orders-live"]
