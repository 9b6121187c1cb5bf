"""A maintenance pass over the lake: every table compacted, vacuumed and its log cleaned, recorded.

The caller holds the writer lock (the pipeline's tasks and ``omnilake maintain`` do). The pipeline
runs the pass as its last step, ``maintain_tables``, once every ``maintenance_interval_days``
landing dates (``due``): a pass lists every table's files and log, which is cheap but not free, and
what it frees accumulates slowly.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, write_deltalake

from omnilake import delta
from omnilake.contracts import contract
from omnilake.maintenance.compaction import compact
from omnilake.maintenance.policy import Policy
from omnilake.maintenance.retention import clean_log, vacuum
from omnilake.settings import get_settings

if TYPE_CHECKING:
    from omnilake.lake import Lake, Table
    from omnilake.pipeline import RunContext

log = logging.getLogger(__name__)

LOG_TABLE = "ops.maintenance_log"


@dataclass
class TableMaintenance:
    """What a pass did to one table (a row of ``ops.maintenance_log``)."""

    table_name: str
    version: int | None = None
    partitions_compacted: int = 0
    files_compacted: int = 0
    files_written: int = 0
    files_vacuumed: int = 0
    bytes_vacuumed: int = 0
    log_files_removed: int = 0
    log_bytes_removed: int = 0
    checkpoint_version: int | None = None
    seconds: float = 0.0


@dataclass
class LakeMaintenance:
    """A pass over the lake: per table, and the totals (``summary``)."""

    policy: Policy
    tables: list[TableMaintenance] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Counts only (no data): for the step's outcome, the CLI and the audit trail."""

        def total(name: str) -> int:
            return sum(getattr(t, name) for t in self.tables)

        return {
            "tables_maintained": len(self.tables),
            "partitions_compacted": total("partitions_compacted"),
            "files_compacted": total("files_compacted"),
            "files_written": total("files_written"),
            "files_vacuumed": total("files_vacuumed"),
            "bytes_vacuumed": total("bytes_vacuumed"),
            "log_files_removed": total("log_files_removed"),
            "bytes_freed": total("bytes_vacuumed") + total("log_bytes_removed"),
            "checkpoints": sum(t.checkpoint_version is not None for t in self.tables),
            "vacuum_retention_hours": self.policy.vacuum_retention_hours,
            "log_retention_hours": self.policy.log_retention_hours,
        }


def maintain_table(path: str, name: str, policy: Policy, *, now: datetime | None = None) -> TableMaintenance:
    """Compact, vacuum, checkpoint and clean the log of the Delta table at ``path``, in that order:
    the files compaction replaces stay for the retention like any other rewrite's."""
    started = time.perf_counter()
    done = TableMaintenance(name)
    table = DeltaTable(path)  # one load: each operation leaves it at the version it made
    compacted = compact(
        table, policy.compact_min_files, policy.target_file_bytes, policy.compact_unpartitioned_min_files
    )
    done.partitions_compacted = compacted.partitions
    done.files_compacted, done.files_written = compacted.files_removed, compacted.files_added
    vacuumed = vacuum(path, policy.vacuum_retention_hours, now=now, table=table)
    done.files_vacuumed, done.bytes_vacuumed = vacuumed.files, vacuumed.bytes
    cleaned, done.checkpoint_version = clean_log(path, policy.log_retention_hours, now=now, table=table)
    done.log_files_removed, done.log_bytes_removed = cleaned.files, cleaned.bytes
    done.version = table.version()
    done.seconds = round(time.perf_counter() - started, 3)
    return done


def maintain_lake(
    lake: Lake,
    policy: Policy | None = None,
    *,
    tables: list[Table] | None = None,
    now: datetime | None = None,
) -> LakeMaintenance:
    """One pass over ``tables`` (default: every table of the lake that exists). Hold the writer lock."""
    policy = policy or Policy.from_settings()
    result = LakeMaintenance(policy)
    chosen = tables if tables is not None else sorted(lake.tables(), key=lambda t: t.qualified_name)
    for table in chosen:
        if delta.exists(table):
            result.tables.append(maintain_table(table.path, table.qualified_name, policy, now=now))
    summary = result.summary()
    log.info(
        "maintenance: %d tables, %d files compacted into %d, %d files vacuumed, %d log files removed, %d bytes freed",
        summary["tables_maintained"],
        summary["files_compacted"],
        summary["files_written"],
        summary["files_vacuumed"],
        summary["log_files_removed"],
        summary["bytes_freed"],
    )
    return result


# --- the record ----------------------------------------------------------------------------------


@cache
def _arrow_schema() -> pa.Schema:
    types = {"string": pa.string(), "long": pa.int64(), "double": pa.float64(), "date": pa.date32()}
    types["timestamp"] = pa.timestamp("us")
    declared = contract("ops", "maintenance_log")
    return pa.schema([pa.field(f.name, types[f.type], nullable=not f.required) for f in declared.fields])


def record(lake: Lake, run_id: str, landing_date: date | None, result: LakeMaintenance) -> None:
    """Append the pass to ``ops.maintenance_log`` (one row per table)."""
    if not result.tables:
        return
    maintained_at = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        {
            **asdict(t),
            "run_id": run_id,
            "landing_date": landing_date,
            "vacuum_retention_hours": float(result.policy.vacuum_retention_hours),
            "log_retention_hours": float(result.policy.log_retention_hours),
            "maintained_at": maintained_at,
        }
        for t in result.tables
    ]
    table = lake.table(LOG_TABLE)
    write_deltalake(table.path, pa.Table.from_pylist(rows, _arrow_schema()), mode="append")
    delta.bound_files_for_merge(table, get_settings().merge_max_files)
    delta.checkpoint_if_due(table.path)


def last_maintained(lake: Lake) -> date | None:
    """The latest landing date a pipeline run maintained the lake on (None: never)."""
    table = lake.table(LOG_TABLE)
    if not delta.exists(table):
        return None
    dates = DeltaTable(table.path).to_pyarrow_table(columns=["landing_date"]).column("landing_date")
    return pc.max(dates).as_py()


def due(landing_date: date, last: date | None, interval_days: int) -> bool:
    """Whether a run for ``landing_date`` maintains the lake: first ever, or ``interval_days`` landing
    dates after the last pass (a rerun of an earlier date never is)."""
    return last is None or (landing_date - last).days >= interval_days


# --- the pipeline step ---------------------------------------------------------------------------


def maintain_step(context: RunContext) -> dict[str, Any]:
    """Pipeline step ``maintain_tables`` (after publish): a pass when ``due``, else nothing."""
    lake = context.lake
    last = last_maintained(lake)
    interval = get_settings().maintenance_interval_days
    if not due(context.landing_date, last, interval):
        return {"due": False, "last_maintained": last.isoformat() if last else None}
    result = maintain_lake(lake)
    record(lake, context.run_id, context.landing_date, result)
    return {"due": True, **result.summary()}
