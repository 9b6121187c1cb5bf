"""The daily silver steps, which take in only new bronze batches, leave exactly what a full rebuild
from all of bronze leaves, compared by content fingerprints.

Ten generated landing days (scale 0.02, the generator's defects on: late app uploads, late and
out-of-order order versions, duplicate deliveries), each run through ingestion and the silver steps
as the pipeline orders them; after day 6 one person is erased, after days 4 and 8 every table is
maintained with zero retention (``omnilake.maintenance``: compacted, vacuumed, its log trimmed to a
checkpoint), which the next days' incremental steps must not notice. Identity merges two keys into one
along the way (asserted, so the case cannot pass without them). A copy of the lake is then rebuilt
(``RunContext.rebuild``: identity, customers and events recomputed from all of bronze) and every
table's fingerprint must match the incrementally built lake's.

Gates, dbt and publish are left out to keep this cheap: they read silver and write nothing silver
reads, so equal silver gives equal gold.
"""

from __future__ import annotations

import logging
import shutil
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from jobs.silver.events import read_attributed
from omnilake import delta
from omnilake.erasure import erase
from omnilake.fingerprint import all_fingerprints
from omnilake.generate import generate
from omnilake.lake import Lake
from omnilake.maintenance import Policy, maintain_lake
from omnilake.pipeline import RunContext, build_steps, new_run_id, run_step, topological
from omnilake.settings import LakeRoot

pytestmark = pytest.mark.e2e

START, DAYS, ERASE_AFTER, MAINTAIN_EVERY = date(2026, 4, 1), 10, 6, 4
SILVER_STEPS = [s for s in topological(build_steps()) if s.name.startswith(("ingest_", "silver_"))]
HARDEST = Policy(0, 0, compact_min_files=2, compact_unpartitioned_min_files=2)


def _run_day(lake: Lake, day: date, *, rebuild: bool = False) -> None:
    context = RunContext(new_run_id("test"), day, lake, rebuild=rebuild)
    for step in SILVER_STEPS:
        run_step(step, context)


def _erase_someone(spark, lake: Lake) -> str:
    """Erase the person with the most identifiers (ties: the smallest key); returns their key."""
    identifiers = delta.read(spark, lake.table("silver.customer_identifiers"))
    person = (
        identifiers.groupBy("customer_key").count().orderBy(F.col("count").desc(), "customer_key").first()
    )
    receipt = erase("customer_key", person["customer_key"], lake)
    assert receipt.status == "completed" and receipt.rows_removed > 0
    return person["customer_key"]


def _full_reads(caplog) -> Counter:
    """How often each incremental step fell back to reading everything, by its log line."""
    lines = {
        "identity": "building the graph's evidence from all of bronze",
        "events": "re-attributing the whole table",
        "customers": "building the evidence from all of bronze",
    }
    return Counter(step for r in caplog.records for step, line in lines.items() if line in r.getMessage())


def test_ten_incremental_days_with_late_data_merges_and_an_erasure_equal_a_full_rebuild(
    spark, lake, tmp_path: Path, caplog
):
    caplog.set_level(logging.INFO, logger="jobs.silver")
    generate(Path(lake.landing), START, DAYS, scale=0.02, seed=11)
    days = [START + timedelta(days=n) for n in range(DAYS)]
    for number, day in enumerate(days, start=1):
        _run_day(lake, day)
        if number == ERASE_AFTER:
            erased = _erase_someone(spark, lake)
        if number % MAINTAIN_EVERY == 0:  # compacted, vacuumed and trimmed as hard as it can be
            maintain_lake(lake, HARDEST)
    # Everything was read on the first day and once after the erasure emptied the state, never else.
    assert _full_reads(caplog) == {"identity": 2, "events": 2, "customers": 2}

    # What the case must contain for the comparison to mean something.
    merges = delta.read(spark, lake.table("silver.customer_key_merges")).count()
    assert merges > 0, "no identity merge happened in ten days: the case does not exercise merges"
    events = read_attributed(spark, lake)
    late = events.where(F.datediff(F.to_date("received_at"), F.col("event_date")) >= 1).count()
    assert late > 0, "no late event in ten days"
    assert events.where(F.col("customer_key") == erased).isEmpty()
    assert events.where(F.col("customer_key").isNotNull()).count() > 0, "no event was attributed"
    # Every ingested file of the identity sources was taken into the graph's state.
    ledger = delta.read(spark, lake.table("ops.ingestion_ledger")).where(
        (F.col("status") == "ingested") & F.col("source").isin("orders", "crm_members", "events", "pos")
    )
    progress = delta.read(spark, lake.table("ops.silver_progress")).where(
        F.col("table") == "identity_observations"
    )
    assert ledger.select("file_hash").subtract(progress.select("file_hash")).isEmpty()
    # The days delivered before the erasure but ingested after it (rewritten without the person)
    # still reached bronze: every source's delivery of the last day is in the ledger as ingested.
    last_day = {r["source"] for r in ledger.where(F.col("landing_date") == days[-1]).collect()}
    assert last_day == {"orders", "crm_members", "events", "pos"}, last_day

    copy = tmp_path / "rebuilt"
    shutil.copytree(lake.root.local_path, copy)
    rebuilt = Lake(LakeRoot(str(copy)))
    _run_day(rebuilt, days[-1], rebuild=True)

    incremental, full = all_fingerprints(lake), all_fingerprints(rebuilt)
    differences = {
        name: (incremental.get(name), full.get(name))
        for name in incremental.keys() | full.keys()
        if incremental.get(name) != full.get(name)
    }
    assert not differences, f"incremental and rebuilt lakes differ: {differences}"
    for name in (
        "silver.customer_identifiers",
        "silver.customers",
        "silver.events",
        "silver.event_attribution",
        "silver.identity_observations",
    ):
        assert incremental[name].rows > 0, name
