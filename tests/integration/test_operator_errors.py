"""Mistakes an operator makes, driven through the CLI: each gives one line and a non-zero exit, and
leaves nothing half-written behind (no staging files, no Delta commit that cannot be read, no
ledger entry), so fixing the cause and running again is all it takes.

The full and read-only disks are real: small tmpfs mounts (tests run as root here). Where mounting
is not allowed the real-disk tests skip, and a simulated full disk (the staging writer raising
ENOSPC) still covers the message and the clean-up.
"""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from deltalake import DeltaTable
from typer.testing import CliRunner

from omnilake import delta
from omnilake.cli import app
from omnilake.lake import get_lake
from omnilake.settings import reset_settings

pytestmark = pytest.mark.integration

DAY = date(2026, 3, 2)
COMMIT_FILE = re.compile(r"^\d{20}\.(json|crc|checkpoint\.parquet)$|^_last_checkpoint$")


def order(order_id: int, **extra) -> dict:
    return {
        "id": order_id,
        "created_at": "2026-03-02T09:00:00-05:00",
        "updated_at": "2026-03-02T10:00:00-05:00",
        "currency": "USD",
        "financial_status": "paid",
        "total_price": "20.00",
        "line_items": [{"id": order_id * 10, "sku": "SKU-000001", "quantity": 1, "price": "20.00"}],
        **extra,
    }


def deliver_orders(root: Path, orders: list[dict]) -> Path:
    folder = root / "landing" / "orders" / DAY.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"orders_{DAY}.ndjson"
    path.write_text("".join(json.dumps(o) + "\n" for o in orders))
    return path


def use_lake(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNILAKE_HOME", str(root))
    reset_settings()


def omnilake(*args: str):
    """Run the CLI in this process (sharing the test session's engine)."""
    return CliRunner().invoke(app, list(args))


def assert_one_line_error(result, *fragments: str) -> str:
    """A non-zero exit with exactly one line on stderr, starting 'error:', and no traceback."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # not an uncaught error
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def assert_nothing_half_written(root: Path) -> None:
    """No staging left, every Delta table opens and reads in full, no file recorded as ingested."""
    staging = root / "_ops" / "staging"
    assert not staging.exists() or not any(staging.iterdir()), list(staging.iterdir())
    for log in root.rglob("_delta_log"):
        assert all(COMMIT_FILE.match(p.name) for p in log.iterdir()), sorted(p.name for p in log.iterdir())
        for commit in log.glob("*.json"):
            [json.loads(line) for line in commit.read_text().splitlines()]
        DeltaTable(str(log.parent)).to_pyarrow_table()  # every file the log names is there, whole
    ledger = root / "_ops" / "ingestion_ledger"
    if DeltaTable.is_deltatable(str(ledger)):
        assert DeltaTable(str(ledger)).to_pyarrow_table().num_rows == 0


def assert_ingested_and_balanced(spark, records: int) -> None:
    lake = get_lake()
    (recon,) = delta.read(spark, lake.table("ops.reconciliation")).collect()
    assert (recon["records_received"], recon["bronze_rows"], recon["balanced"]) == (records, records, True)
    assert delta.read(spark, lake.table("bronze.orders")).count() == records


# --- mistakes caught before anything is written ------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "--date", "2026-02-30"], "invalid date '2026-02-30': use YYYY-MM-DD"),
        (["run", "--start-date", "03/02/2026"], "invalid date '03/02/2026': use YYYY-MM-DD"),
        (["transform", "--date", "yesterday"], "invalid date 'yesterday': use YYYY-MM-DD"),
        (["ingest"], "no landing folder at "),
        (["run"], "no deliveries under "),
        (["ingest", "--source", "order"], "unknown source 'order'; known sources: crm_members, "),
    ],
    ids=[
        "ingest-bad-date",
        "run-bad-date",
        "transform-bad-date",
        "ingest-no-landing",
        "run-no-landing",
        "unknown-source",
    ],
)
def test_operator_mistake_gives_one_line_and_writes_nothing(spark, lake_home, args, message):
    result = omnilake(*args)
    assert_one_line_error(result, message)
    assert not lake_home.exists() or not any(p.name != "landing" for p in lake_home.iterdir())


def test_invalid_date_through_the_installed_command_prints_no_traceback(lake_home):
    command = Path(sys.executable).with_name("omnilake")
    done = subprocess.run(
        [str(command), "ingest", "--date", "2026-13-01"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMNILAKE_HOME": str(lake_home)},
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == ["error: invalid date '2026-13-01': use YYYY-MM-DD"]


def test_lake_root_that_is_a_file_is_refused_in_one_line(spark, tmp_path, monkeypatch):
    """OMNILAKE_HOME pointing at a regular file: no command gets further than its first write."""
    not_a_folder = tmp_path / "lake.tar"
    not_a_folder.write_bytes(b"an archive, not a lake")
    use_lake(not_a_folder, monkeypatch)

    assert_one_line_error(omnilake("ingest"), f"{not_a_folder} is a file, not a folder; check OMNILAKE_HOME")
    for command, written_first in [
        (["run", "--start-date", DAY.isoformat()], "_ops"),  # the writer lock
        (["generate", "--days", "1", "--scale", "0.01"], "landing/stores/2026-01-01"),
    ]:
        assert_one_line_error(
            omnilake(*command),
            f"cannot write to the lake ({not_a_folder}/{written_first})",
            "a file stands where a folder is expected: check OMNILAKE_HOME",
        )
    assert not_a_folder.read_bytes() == b"an archive, not a lake"


# --- real small and read-only disks --------------------------------------------------------------


@dataclass
class Disk:
    """A tmpfs mounted for one test; ``root`` is the lake root on it."""

    mount: Path

    @property
    def root(self) -> Path:
        return self.mount / "lake"

    def remount(self, options: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{options}", str(self.mount)], check=True)

    def fill(self) -> Path:
        """Write a filler file until the disk refuses another byte."""
        filler = self.mount / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:
            for size in (1 << 16, 1 << 12, 1):
                try:
                    while True:
                        os.write(fd, b"\0" * size)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
        finally:
            os.close(fd)
        return filler


@pytest.fixture
def small_disk(tmp_path, monkeypatch):
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "omnilake-test", str(mount)], capture_output=True
        )
    except FileNotFoundError:
        pytest.skip("no mount command")
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.decode().strip()}")
    disk = Disk(mount)
    disk.root.mkdir()
    use_lake(disk.root, monkeypatch)
    yield disk
    subprocess.run(["umount", "-l", str(mount)], check=False)
    reset_settings()


def test_read_only_lake_is_refused_in_one_line_and_nothing_is_written(spark, small_disk):
    deliver_orders(small_disk.root, [order(1)])
    small_disk.remount("ro")

    assert_one_line_error(
        omnilake("ingest", "--date", DAY.isoformat()),
        f"cannot write to the lake ({small_disk.root}/",
        "the file system is read-only: point OMNILAKE_HOME at a writable folder",
    )
    assert sorted(p.name for p in small_disk.root.iterdir()) == ["landing"]


def test_disk_full_before_staging_then_freed_reruns_cleanly(spark, small_disk):
    deliver_orders(small_disk.root, [order(i) for i in range(1, 4)])
    filler = small_disk.fill()

    assert_one_line_error(
        omnilake("ingest", "--date", DAY.isoformat()),
        f"staging landing/orders/{DAY}/orders_{DAY}.ndjson: cannot write to the lake",
        "the disk is full: free space (or point OMNILAKE_HOME at a larger disk) and run again",
    )
    assert_nothing_half_written(small_disk.root)

    filler.unlink()
    assert omnilake("ingest", "--date", DAY.isoformat()).exit_code == 0
    assert_ingested_and_balanced(spark, 3)


def test_disk_full_during_the_delta_write_then_grown_reruns_cleanly(spark, small_disk):
    """The landing file (2.4 MB) and its staging copy fit on the 4 MB disk; the bronze table does not."""
    noise = os.urandom(1 << 20).hex()
    orders = [order(i, note=noise[i * 1200 : (i + 1) * 1200]) for i in range(1, 1601)]
    landing = deliver_orders(small_disk.root, orders)
    assert 2_000_000 < landing.stat().st_size < 2_600_000

    line = assert_one_line_error(omnilake("ingest", "--date", DAY.isoformat()), "cannot write to the lake")
    assert not line.startswith("error: staging")  # staging went through: the engine's write failed
    assert line.endswith(
        "the disk is full: free space (or point OMNILAKE_HOME at a larger disk) and run again"
    )
    assert_nothing_half_written(small_disk.root)

    small_disk.remount("size=64m")
    assert omnilake("ingest", "--date", DAY.isoformat()).exit_code == 0
    assert_ingested_and_balanced(spark, 1600)


def test_simulated_full_disk_while_staging_is_one_line_and_cleaned_up(spark, lake_home, monkeypatch):
    """Where no tmpfs can be mounted, the same failure injected into the staging writer."""
    from omnilake import landing

    def no_space(self) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    deliver_orders(lake_home, [order(1)])
    monkeypatch.setattr(landing._StagingWriter, "flush", no_space)

    assert_one_line_error(omnilake("ingest", "--date", DAY.isoformat()), "the disk is full")
    assert_nothing_half_written(lake_home)
