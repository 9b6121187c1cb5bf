"""``omnilake doctor``: prove the engine and Delta work end to end on a scratch table."""

from __future__ import annotations

import logging
import platform
import shutil
import time
from dataclasses import dataclass, field
from importlib.metadata import version

from pyspark.sql import functions as F

from omnilake import delta
from omnilake.engine import get_engine
from omnilake.errors import OmnilakeError
from omnilake.lake import get_lake
from omnilake.settings import get_settings

log = logging.getLogger(__name__)

PACKAGES = (
    "pysail",
    "pyspark",
    "deltalake",
    "duckdb",
    "dbt-core",
    "dbt-duckdb",
    "great-expectations",
    "apache-airflow",
)


@dataclass
class DoctorReport:
    engine: str
    engine_url: str | None
    lake_root: str
    versions: dict[str, str]
    checks: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0


def _installed(package: str) -> str:
    try:
        return version(package)
    except Exception:
        return "not installed"


def run_doctor() -> DoctorReport:
    """Start the engine; write, read back and merge into a scratch Delta table; report."""
    started = time.perf_counter()
    settings = get_settings()
    lake = get_lake()
    lake.ensure_layout()
    engine = get_engine(settings)
    spark = engine.spark
    report = DoctorReport(
        engine=engine.name,
        engine_url=engine.remote_url,
        lake_root=str(lake.root),
        versions={"python": platform.python_version(), **{p: _installed(p) for p in PACKAGES}},
    )
    table = lake.table("ops.doctor_scratch")
    if lake.root.is_local:
        shutil.rmtree(table.path, ignore_errors=True)

    rows = spark.range(3).select(
        F.col("id").cast("long").alias("id"),
        F.concat(F.lit("row-"), F.col("id").cast("string")).alias("label"),
        F.current_timestamp().alias("checked_at"),
    )
    delta.append(rows, table)
    written = delta.read(spark, table).count()
    if written != 3:
        raise OmnilakeError(f"doctor wrote 3 rows to {table.path} but read back {written}")
    report.checks.append(("write + read back", f"3 rows, Delta version {delta.version(table)}"))

    changes = spark.createDataFrame([(2, "row-2-updated"), (3, "row-3")], "id long, label string").withColumn(
        "checked_at", F.current_timestamp()
    )
    result = delta.merge(changes, table)
    merged = {r["id"]: r["label"] for r in delta.read(spark, table).collect()}
    if merged.get(2) != "row-2-updated" or len(merged) != 4:
        raise OmnilakeError(f"doctor's MERGE into {table.path} gave {merged}")
    report.checks.append(("merge", f"{result.inserted} inserted, {result.updated} updated, 4 rows"))

    try:
        delta.append(changes.withColumn("unexpected", F.lit(1)), table)
    except OmnilakeError as exc:
        report.checks.append(("schema enforcement", f"refused: {exc}".split(": ", 2)[-1]))
    else:
        raise OmnilakeError("the write helper accepted a column the contract does not declare")

    report.checks.append(("history", f"{len(delta.history(table))} Delta versions via delta-rs"))
    report.seconds = time.perf_counter() - started
    return report
