"""The pipeline graph: the one definition of what runs, in which order.

The Airflow DAG (``dags/omnilake_daily.py``) renders these steps as tasks, and ``omnilake run``
executes the same steps without a scheduler. Neither restates the order: both read ``STEPS``.

A step names its function as ``"module:function"`` so the DAG file imports nothing heavy at parse
time. Every step function takes a ``RunContext`` (plus the step's ``kwargs``) and returns a small
JSON-able summary.
"""

from __future__ import annotations

import importlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from omnilake.contracts import landing_sources
from omnilake.errors import OmnilakeError, add_context
from omnilake.lake import Lake, get_lake

log = logging.getLogger(__name__)

# The marts analysts and apps depend on; publish_gold declares them as Airflow Assets.
GOLD_MARTS = (
    "dim_customer",
    "dim_customer_history",
    "dim_customer_observations",
    "fct_sales",
    "fct_sales_revisions",
    "mart_customer_rfm",
    "mart_customer_rfm_revisions",
    "mart_customer_tags",
    "mart_inventory_deviation",
    "mart_inventory_position",
    "mart_inventory_position_revisions",
    "mart_journey_funnel",
    "mart_journey_funnel_revisions",
    "mart_online_safety_buffer",
    "mart_oversell_incidents",
    "mart_partner_segments_weekly",
    "mart_partner_sales_weekly",
    "mart_product_affinity",
    "mart_product_engagement",
)


@dataclass(frozen=True)
class RunContext:
    """What a step needs to know about the run it belongs to."""

    run_id: str
    landing_date: date
    lake: Lake
    # Render documentation (dbt docs, GE Data Docs) for this date: a multi-date run renders them
    # once, on its last date, since each rendering covers everything recorded so far.
    docs: bool = True
    # Recompute the incremental silver steps (identity, customers, events) from all of bronze, the
    # way every run did before they took in only new batches (``omnilake rebuild``).
    rebuild: bool = False


@dataclass(frozen=True)
class Step:
    name: str
    func: str
    doc: str
    upstream: tuple[str, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    outlets: tuple[str, ...] = ()  # tables this step publishes (Airflow Assets)
    kind: str = "python"  # "dbt": Airflow renders it per model; the CLI runs one `dbt build`
    timeout_minutes: int = 60

    def resolve(self) -> Callable[..., Any]:
        module, _, attribute = self.func.partition(":")
        return getattr(importlib.import_module(module), attribute)


def build_steps() -> list[Step]:
    """The pipeline, in dependency order: ingest, bronze gate, silver, silver gate, gold, gold gate,
    publish, table maintenance."""
    ingest = [
        Step(
            name=f"ingest_{source}",
            func="jobs.bronze.ingest:ingest_step",
            kwargs={"source": source},
            doc=f"Ingest new `landing/{source}/<date>/` files into `bronze.{source}`, exactly once per file; "
            "bad records go to quarantine with a reason.",
        )
        for source in landing_sources()
    ]
    gate = ("gate_bronze",)
    silver = [
        Step(
            "silver_reference",
            "jobs.silver.run:reference_step",
            "Conformed `silver.products` and `silver.locations` from the newest reference snapshots.",
            gate,
        ),
        Step(
            "silver_identity",
            "jobs.silver.identity:identity_step",
            "Resolve one stable `customer_key` per "
            "person across web accounts, e-mails, phones, loyalty cards and devices; record merges.",
            gate,
        ),
        Step(
            "silver_customers",
            "jobs.silver.customers:customers_step",
            "`silver.customers`: one row per "
            "person with pseudonymised contact points, membership and consent.",
            ("silver_identity",),
        ),
        Step(
            "silver_orders",
            "jobs.silver.run:orders_step",
            "CDC merge of order changes into `silver.orders`, "
            "its lines and status history; a late, older change never overwrites a newer one.",
            ("silver_reference", "silver_identity"),
        ),
        Step(
            "silver_pos",
            "jobs.silver.run:pos_step",
            "Till lines to UTC with store-local business dates; voids, returns and duplicates handled.",
            ("silver_reference", "silver_identity"),
        ),
        Step(
            "silver_events",
            "jobs.silver.events:events_step",
            "Behaviour events deduplicated, sessionised, staged on the journey and attributed to people.",
            ("silver_identity",),
        ),
        Step(
            "silver_inventory",
            "jobs.silver.run:inventory_step",
            "One position per sku x location x day "
            "from the online and store inventory systems, with their deviation.",
            ("silver_reference",),
        ),
        Step(
            "silver_calendar",
            "jobs.silver.run:calendar_step",
            "`silver.calendar` covering the facts' dates.",
            ("silver_orders", "silver_pos", "silver_inventory"),
        ),
    ]
    gates = [
        Step(
            "gate_bronze",
            "quality.gates:gate_step",
            "Bronze quality gate: reconciliation per file, "
            "quarantine ratio, freshness, volume anomaly. A `fail` stops everything downstream.",
            tuple(s.name for s in ingest),
            kwargs={"layer": "bronze"},
        ),
        Step(
            "gate_silver",
            "quality.gates:gate_step",
            "Silver quality gate: keys, not-null, referential "
            "integrity, ranges, no future timestamps, stable identity keys.",
            tuple(s.name for s in silver),
            kwargs={"layer": "silver"},
        ),
    ]
    gold = [
        Step(
            "gold_build",
            "omnilake.publish:build_gold",
            "One `dbt build` of the gold marts (models and their "
            "tests) into a staging DuckDB warehouse; nothing published yet.",
            ("gate_silver",),
            kind="dbt",
        ),
        Step(
            "gate_gold",
            "quality.gates:gate_step",
            "Gold quality gate on the staging warehouse: RFM scores, "
            "customer counts, available-to-sell, revenue reconciliation.",
            ("gold_build",),
            kwargs={"layer": "gold"},
        ),
        Step(
            "publish_gold",
            "omnilake.publish:publish_gold",
            "Write the marts as Delta tables under `gold/` "
            "and swap the staging warehouse in atomically for analysts.",
            ("gate_gold",),
            outlets=GOLD_MARTS,
        ),
    ]
    maintenance = Step(
        "maintain_tables",
        "omnilake.maintenance:maintain_step",
        "Every `maintenance_interval_days` landing dates: compact partitions that gathered many small "
        "files, vacuum data files older versions no longer need (retention window), checkpoint and "
        "trim the Delta logs; recorded in `ops.maintenance_log`.",
        ("publish_gold",),
    )
    return [*ingest, *gates[:1], *silver, *gates[1:], *gold, maintenance]


def topological(steps: Iterable[Step]) -> list[Step]:
    """Steps ordered so every step follows its upstream (stable for steps at the same depth)."""
    pending = list(steps)
    names = {s.name for s in pending}
    for step in pending:
        missing = set(step.upstream) - names
        if missing:
            raise OmnilakeError(f"step {step.name} depends on unknown step(s) {sorted(missing)}")
    done: list[Step] = []
    placed: set[str] = set()
    while pending:
        ready = [s for s in pending if set(s.upstream) <= placed]
        if not ready:
            raise OmnilakeError(f"the pipeline has a cycle among {[s.name for s in pending]}")
        for step in ready:
            done.append(step)
            placed.add(step.name)
            pending.remove(step)
    return done


def step_by_name(name: str) -> Step:
    for step in build_steps():
        if step.name == name:
            return step
    raise OmnilakeError(f"no pipeline step {name!r}")


def run_step(step: Step, context: RunContext) -> Any:
    log.info("run %s: step %s for %s", context.run_id, step.name, context.landing_date)
    try:
        return step.resolve()(context, **step.kwargs)
    except Exception as exc:
        if not isinstance(exc, OmnilakeError):  # a bug: say where it happened
            add_context(exc, step=step.name, run_id=context.run_id, landing_date=context.landing_date)
        raise


@dataclass
class StepOutcome:
    step: str
    landing_date: date
    seconds: float
    result: Any


def new_run_id(prefix: str = "manual") -> str:
    return f"{prefix}__{datetime.now(UTC):%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:6]}"


def run_pipeline(
    landing_dates: Iterable[date],
    lake: Lake | None = None,
    run_id: str | None = None,
    on_step: Callable[[StepOutcome], None] | None = None,
    *,
    rebuild: bool = False,
) -> list[StepOutcome]:
    """Run every step for each date in order, as the scheduler would, one date after another.

    Documentation (dbt docs, Data Docs) is rendered once, with the last date; ``rebuild``
    recomputes the incremental silver steps from all of bronze on the first date. Each date after
    the first gets a fresh engine server, as each Airflow task does (``engine.recycle_engine``),
    and the server is stopped before the dbt build, which needs none; unless the caller already
    held a session when the run began: that session is the caller's."""
    from omnilake.engine import engine_started, recycle_engine

    lake = lake or get_lake()
    owns_engine = not engine_started()
    ordered = topological(build_steps())
    outcomes = []
    dates = list(landing_dates)
    for index, landing_date in enumerate(dates):
        if index and owns_engine:
            recycle_engine()
        context = RunContext(
            run_id or new_run_id(),
            landing_date,
            lake,
            docs=index == len(dates) - 1,
            rebuild=rebuild and index == 0,
        )
        for step in ordered:
            if step.kind == "dbt" and owns_engine:
                # dbt needs no engine: the server's memory (its caches, the parsers Sail never frees)
                # goes back while dbt builds, as in Airflow, where each task has its own process.
                recycle_engine()
            started = time.perf_counter()
            result = run_step(step, context)
            outcome = StepOutcome(step.name, landing_date, time.perf_counter() - started, result)
            outcomes.append(outcome)
            if on_step:
                on_step(outcome)
    return outcomes
