"""Omnilake's daily Airflow DAG: landing -> bronze -> silver -> gold, gated at every layer.

The tasks and their order come from ``omnilake.pipeline.build_steps()`` — the same definition
``omnilake run`` executes without a scheduler — so this file only renders them for Airflow 3.
Each run processes the landing date of its data interval (the run for interval [D, D+1) ingests
``landing/<source>/D``). Work lives in the jobs; a task only resolves its step and calls it under the
lake's writer lock (Sail has no write-conflict detection).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, task
from airflow.timetables.interval import CronDataIntervalTimetable

from omnilake.assets import gold_asset
from omnilake.pipeline import Step, build_steps, topological
from omnilake.settings import get_settings

DAG_ID = "omnilake_daily"
WRITER_LOCK_WAIT_SECONDS = 1800


def _run_step(step_name: str) -> dict:
    """Task body: run one pipeline step for this run's landing date."""
    from airflow.sdk import get_current_context

    from omnilake.lake import get_lake
    from omnilake.lock import writer_lock
    from omnilake.pipeline import RunContext, run_step, step_by_name

    airflow_context = get_current_context()
    lake = get_lake()
    context = RunContext(
        run_id=airflow_context["run_id"],
        landing_date=airflow_context["data_interval_start"].date(),
        lake=lake,
    )
    with writer_lock(lake, wait_seconds=WRITER_LOCK_WAIT_SECONDS):
        return run_step(step_by_name(step_name), context)


def _task_for(step: Step):
    return task(
        task_id=step.name,
        doc_md=step.doc,
        outlets=[gold_asset(t) for t in step.outlets],
        execution_timeout=timedelta(minutes=step.timeout_minutes),
    )(_run_step)


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
    },
    tags=["omnilake"],
    doc_md=__doc__,
) as dag:
    tasks = {}
    for step in topological(build_steps()):
        tasks[step.name] = _task_for(step)(step.name)
        for upstream in step.upstream:
            tasks[upstream] >> tasks[step.name]
