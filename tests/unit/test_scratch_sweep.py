"""Scratch a killed silver run left behind is swept by a later run; a live run's scratch is kept."""

import os
import time

import pytest
from pyarrow import fs as pafs

from jobs.silver.writes import STALE_SCRATCH_SECONDS, _sweep_stale_scratch

pytestmark = pytest.mark.unit


def test_only_scratch_older_than_the_limit_is_removed(tmp_path):
    stale, live = tmp_path / "orders-dead", tmp_path / "orders-live"
    for folder in (stale, live):
        folder.mkdir()
        (folder / "part-0.parquet").write_bytes(b"rows")
    long_ago = time.time() - STALE_SCRATCH_SECONDS - 60
    os.utime(stale, (long_ago, long_ago))

    _sweep_stale_scratch(pafs.LocalFileSystem(), str(tmp_path))
    _sweep_stale_scratch(pafs.LocalFileSystem(), str(tmp_path / "never-created"))

    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders-live"]
