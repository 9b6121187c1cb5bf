"""Crash recovery and idempotent reruns of the whole pipeline, compared by content fingerprints.

A reference lake runs two generated days cleanly. A copy of that lake after day 1 then runs day 2
in a subprocess that SIGKILLs itself at a named point (``OMNILAKE_CRASH_AT``, see
``omnilake.faults``), once per point in the order a run reaches them: each of these runs is the
rerun of the run killed before it, so it has to get past what that one left half written before it
is killed in turn. After each kill the case checks what readers see at that moment and that no
process of the run outlives it. A last rerun goes to the end, and every bronze, quarantine, silver
and gold table and every warehouse mart is compared with the reference: nothing lost, nothing
duplicated, whatever the kills left. Fingerprints leave out lineage columns only (the batch that
wrote a row and when), as their contracts mark them.

One chain of runs rather than a fresh copy and a full rerun per point: the same kills and the same
recoveries (every run after the first starts from a killed run's leftovers), with one full day-2
run instead of one per point. The clean day 2 runs beside the chain (``WORKERS`` at a time: a run
waits on I/O and round trips much of its time), both started as soon as the lake after day 1
exists. What each kill left is kept and asserted by its own test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from omnilake.fingerprint import all_fingerprints, table_fingerprint, warehouse_fingerprints
from omnilake.lake import Lake
from omnilake.pipeline import GOLD_MARTS
from omnilake.publish import read_release
from omnilake.settings import LakeRoot

pytestmark = pytest.mark.e2e

DAY_1, DAY_2 = date(2026, 3, 1), date(2026, 3, 2)
OMNILAKE = str(Path(sys.executable).with_name("omnilake"))
WORKERS = 2
# How long a killed run's dbt child may take to receive its own SIGKILL and exit.
ORPHAN_GRACE_SECONDS = 10

# The points the suite kills a run at, in the order a run reaches them, and the state each leaves.
# The other points of omnilake.faults (bronze.after_quarantine_write, gold.after_dbt_build) sit
# between the same kinds of writes as their neighbours here.
CRASH_POINTS = {
    "bronze.after_data_write": "bronze rows written, quarantine and ledger not",
    "bronze.before_ledger_write": "a file's data written, its ledger entry not",
    "silver.orders.after_merge": "orders merged, their lines and status history not",
    "silver.orders.before_progress": "every orders table written, the progress record not",
    "gold.during_dbt_build": "dbt has built some models into the staging warehouse",
    "publish.after_first_mart": "one gold Delta table rewritten, the others and the swap not",
    "publish.before_swap": "every gold Delta table written, the warehouse not swapped",
}


def _omnilake(home: Path, *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMNILAKE_HOME": str(home), "OMNILAKE_DBT_DOCS": "false"}
    env.pop("OMNILAKE_CRASH_AT", None)
    if crash_at:
        env["OMNILAKE_CRASH_AT"] = crash_at
    return subprocess.run([OMNILAKE, *args], env=env, capture_output=True, text=True, timeout=900)


def _run_day(home: Path, day: date, crash_at: str | None = None) -> subprocess.CompletedProcess:
    return _omnilake(home, "run", "--start-date", day.isoformat(), crash_at=crash_at)


def _fingerprints(home: Path) -> dict:
    return all_fingerprints(Lake(LakeRoot(str(home))))


def _released_gold(home: Path) -> dict:
    """Each gold mart at the version the current release names: what a consistent reader sees."""
    lake = Lake(LakeRoot(str(home)))
    release = read_release(lake)
    return {
        mart: table_fingerprint(lake.table(f"gold.{mart}"), release["tables"][mart]["version"])
        for mart in GOLD_MARTS
    }


def _processes_on(home: Path) -> list[int]:
    """Live processes whose environment names this lake (a dbt build left running, say)."""
    marker = f"OMNILAKE_HOME={home}".encode()
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0") and b"Z" not in _state(proc):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def _state(proc: Path) -> bytes:
    return (proc / "stat").read_bytes().rsplit(b")", 1)[1].split()[0]


def _differences(actual: dict, expected: dict) -> dict:
    return {
        k: (actual.get(k), expected.get(k))
        for k in expected.keys() | actual.keys()
        if actual.get(k) != expected.get(k)
    }


def _kill(home: Path, point: str) -> dict:
    """Run day 2 on the lake at ``home`` until it is killed at ``point``; what readers saw then."""
    crashed = _run_day(home, DAY_2, crash_at=point)
    seen = {"crashed": crashed}
    if crashed.returncode == -9:
        deadline = time.monotonic() + ORPHAN_GRACE_SECONDS
        while (survivors := _processes_on(home)) and time.monotonic() < deadline:
            time.sleep(0.2)
        seen["survivors"] = survivors
        seen["warehouse"] = warehouse_fingerprints(Lake(LakeRoot(str(home))).warehouse_path)
        seen["released_gold"] = _released_gold(home)
    return seen


def _kill_at_every_point_and_rerun(after_day_1: Path, home: Path) -> dict:
    """On a copy of the lake after day 1, day 2 killed at each point in turn, then run to its end."""
    shutil.copytree(after_day_1, home)
    seen: dict = {"kills": {}}
    for point in CRASH_POINTS:
        seen["kills"][point] = _kill(home, point)
    seen["rerun"] = _run_day(home, DAY_2)
    if seen["rerun"].returncode == 0:
        seen["after_rerun"] = _fingerprints(home)
    shutil.rmtree(home, ignore_errors=True)
    return seen


def _clean_day_2(clean: Path) -> dict:
    second = _run_day(clean, DAY_2)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    return _fingerprints(clean)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Two clean days: the lake after day 1 (to copy), its published gold, and the fingerprints after
    day 2; and, started meanwhile, the chain of killed runs (``chain``: future of what it saw)."""
    root = tmp_path_factory.mktemp("crash")
    clean = root / "clean"
    generated = _omnilake(
        clean, "generate", "--start-date", DAY_1.isoformat(), "--days", "2", "--scale", "0.05", "--seed", "7"
    )
    assert generated.returncode == 0, generated.stderr[-3000:]
    first = _run_day(clean, DAY_1)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    after_day_1 = root / "after_day_1"
    shutil.copytree(clean, after_day_1)
    day_1_warehouse = warehouse_fingerprints(Lake(LakeRoot(str(clean))).warehouse_path)
    day_1_gold = _released_gold(clean)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        day_2: Future = pool.submit(_clean_day_2, clean)
        chain: Future = pool.submit(_kill_at_every_point_and_rerun, after_day_1, root / "killed")
        yield {
            "root": root,
            "clean": clean,
            "after_day_1": after_day_1,
            "day_1_warehouse": day_1_warehouse,
            "day_1_gold": day_1_gold,
            "day_2": day_2.result(),
            "chain": chain,
        }


def test_rerunning_a_date_leaves_every_table_with_identical_content(reference):
    expected = reference["day_2"]
    assert expected["silver.orders"].rows > 0 and expected["warehouse.fct_sales"].rows > 0

    again = _run_day(reference["clean"], DAY_2)

    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert _differences(_fingerprints(reference["clean"]), expected) == {}


@pytest.mark.parametrize("point", list(CRASH_POINTS))
def test_a_run_killed_at_any_point_leaves_no_process_and_readers_the_previous_gold(reference, point):
    seen = reference["chain"].result()["kills"][point]
    crashed = seen["crashed"]

    assert crashed.returncode == -9, (
        f"not killed at {point}: " + crashed.stdout[-2000:] + crashed.stderr[-2000:]
    )
    # The dbt child dies with the run: nothing goes on writing the lake.
    assert seen["survivors"] == []
    # Until a run publishes, readers see the previous gold whole: the analyst warehouse and every
    # mart at the release's version.
    assert seen["warehouse"] == reference["day_1_warehouse"]
    assert seen["released_gold"] == reference["day_1_gold"]


def test_runs_killed_at_every_point_in_turn_then_rerun_match_a_clean_run(reference):
    chain = reference["chain"].result()
    # Every run reached its point: each rerun got past what the killed run before it left.
    assert {point: seen["crashed"].returncode for point, seen in chain["kills"].items()} == dict.fromkeys(
        CRASH_POINTS, -9
    )

    rerun = chain["rerun"]
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert _differences(chain["after_rerun"], reference["day_2"]) == {}
