"""Omnilake's daily Airflow DAG: landing -> bronze -> silver -> gold, gated at every layer.

The tasks and their order come from ``omnilake.pipeline.build_steps()`` — the same definition
``omnilake run`` executes without a scheduler — so this file only renders them for Airflow 3.
Each run processes the landing date of its data interval (the run for interval [D, D+1) ingests
``landing/<source>/D``). Work lives in the jobs; a task only resolves its step and calls it under the
lake's writer lock (Sail has no write-conflict detection).

The gold build is one ``dbt build``; the ``gold_models`` group shows each dbt model as a task with
dbt's lineage, reporting that model's build and tests (``omnilake.gold_models``). A final ``audit``
task (a teardown: it runs whatever happened and does not decide the run's state) appends the run to
the lake's hash-chained audit trail and alerts unusual access, as ``omnilake run`` does. A task that
fails for good (a breached gate, a missed freshness deadline, an error) alerts through
``OMNILAKE_ALERT_WEBHOOK`` (``omnilake.ops.airflow_notifier``).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, TaskGroup, task
from airflow.timetables.interval import CronDataIntervalTimetable

from omnilake.assets import gold_asset
from omnilake.gold_models import models
from omnilake.ops.airflow_notifier import WebhookNotifier
from omnilake.pipeline import Step, build_steps, topological
from omnilake.settings import get_settings

DAG_ID = "omnilake_daily"
WRITER_LOCK_WAIT_SECONDS = 1800
DBT_NODES = "dbt_node_results"  # XCom key: dbt's result per node of the gold build
OUTCOME = "step_outcome"  # XCom key: step, landing date, seconds (for the audit task)


def _context():
    from airflow.sdk import get_current_context

    from omnilake.lake import get_lake
    from omnilake.pipeline import RunContext

    airflow_context = get_current_context()
    run = RunContext(
        run_id=airflow_context["run_id"],
        landing_date=airflow_context["data_interval_start"].date(),
        lake=get_lake(),
    )
    return airflow_context, run


def _run_step(step_name: str) -> dict:
    """Task body: run one pipeline step for this run's landing date."""
    import time

    from omnilake.lock import writer_lock
    from omnilake.pipeline import run_step, step_by_name
    from omnilake.publish import GoldBuildError

    airflow_context, context = _context()
    ti = airflow_context["ti"]
    step = step_by_name(step_name)
    started = time.perf_counter()
    with writer_lock(context.lake, wait_seconds=WRITER_LOCK_WAIT_SECONDS, run_id=context.run_id):
        try:
            result = run_step(step, context)
        except GoldBuildError as exc:
            ti.xcom_push(key=DBT_NODES, value=exc.node_results)
            raise
    if isinstance(result, dict) and "nodes" in result:
        ti.xcom_push(key=DBT_NODES, value=result.pop("nodes"))
    ti.xcom_push(key=OUTCOME, value={"step": step_name, "seconds": round(time.perf_counter() - started, 2)})
    return result


def _report_model(model_name: str, build_task_id: str) -> dict | None:
    """Task body: what the gold build did to one dbt model and its tests (see omnilake.gold_models)."""
    from pathlib import Path

    from airflow.exceptions import AirflowSkipException

    from omnilake.gold_models import load_manifest, model_report
    from omnilake.publish import dbt_artifacts_path

    airflow_context, context = _context()
    nodes = airflow_context["ti"].xcom_pull(task_ids=build_task_id, key=DBT_NODES) or []
    built = Path(dbt_artifacts_path(context.lake), "manifest.json")
    report = model_report(model_name, nodes, load_manifest(built) if built.exists() else None)
    if report is None:
        raise AirflowSkipException(f"dbt did not run {model_name} in this build")
    return report


def _audit(step_names: list[str]) -> dict:
    """Task body: append this run (its steps' outcomes and results) to the lake's audit trail."""
    from omnilake.audit import record_run

    airflow_context, context = _context()
    ti = airflow_context["ti"]
    outcomes = []
    for name in step_names:
        outcome = ti.xcom_pull(task_ids=name, key=OUTCOME)
        step = {"step": name, "landing_date": context.landing_date}
        if outcome is None:  # failed, or never ran because an upstream task failed
            outcomes.append({**step, "seconds": None, "status": "failed or not run", "result": None})
        else:
            result = ti.xcom_pull(task_ids=name)
            outcomes.append({**step, "seconds": outcome["seconds"], "status": "succeeded", "result": result})
    entry = record_run(context, outcomes)  # the audit file has its own lock
    from omnilake.ops.alerts import alert_flagged_access

    alert_flagged_access(context.lake, context.run_id)
    return {"status": entry["status"], "entry_hash": entry["entry_hash"]}


def _task_for(step: Step):
    return task(
        task_id=step.name,
        doc_md=step.doc,
        outlets=[gold_asset(t) for t in step.outlets],
        execution_timeout=timedelta(minutes=step.timeout_minutes),
    )(_run_step)


def _model_tasks(build: Step) -> TaskGroup:
    """One reporting task per dbt model, wired by dbt's lineage, after the build (whatever its outcome)."""
    with TaskGroup(group_id="gold_models", tooltip="Each dbt model of the gold build and its tests") as group:
        graph = models()
        reports = {}
        for model in graph:
            reports[model.name] = task(
                task_id=model.name,
                doc_md=f"dbt model `{model.folder}/{model.name}`: {model.description or 'no description'}",
                trigger_rule="all_done",
                retries=0,
                execution_timeout=timedelta(minutes=5),
            )(_report_model)(model.name, build.name)
        for model in graph:
            for upstream in model.upstream:
                reports[upstream] >> reports[model.name]
    return group


with DAG(
    dag_id=DAG_ID,
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": get_settings().task_retries,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=20),
        "execution_timeout": timedelta(hours=1),
        # a task that fails for good alerts once (OMNILAKE_ALERT_WEBHOOK); skipped ones do not
        "on_failure_callback": [WebhookNotifier()],
    },
    tags=["omnilake"],
    doc_md=__doc__,
) as dag:
    steps = topological(build_steps())
    tasks, groups = {}, {}
    for step in steps:
        tasks[step.name] = _task_for(step)(step.name)
        for upstream in step.upstream:
            tasks[upstream] >> tasks[step.name]
            if upstream in groups:
                groups[upstream] >> tasks[step.name]
        if step.kind == "dbt":
            groups[step.name] = _model_tasks(step)
            tasks[step.name] >> groups[step.name]
    audit = task(
        task_id="audit",
        doc_md="Append this run to the lake's hash-chained audit trail (`omnilake audit show`).",
        retries=1,
        execution_timeout=timedelta(minutes=10),
    )(_audit)([s.name for s in steps])
    [*tasks.values(), *groups.values()] >> audit.as_teardown()
