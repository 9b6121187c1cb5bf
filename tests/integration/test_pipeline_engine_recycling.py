"""A multi-date run recycles the engine it started, and leaves a caller's session alone."""

from datetime import date

import omnilake.engine as engine
import omnilake.pipeline as pipeline

DATES = [date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)]


def _count_recycles(monkeypatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(pipeline, "build_steps", lambda: [])
    monkeypatch.setattr(engine, "recycle_engine", lambda: calls.append(1))
    return calls


def test_a_session_the_caller_holds_survives_a_multi_date_run(spark, lake, monkeypatch):
    calls = _count_recycles(monkeypatch)
    pipeline.run_pipeline(DATES, lake)
    assert calls == []
    assert spark.range(2).count() == 2


def test_a_run_that_started_the_engine_recycles_it_between_dates(lake, monkeypatch):
    calls = _count_recycles(monkeypatch)
    monkeypatch.setattr(engine, "engine_started", lambda: False)
    pipeline.run_pipeline(DATES, lake)
    assert calls == [1, 1]  # before the second and the third date


def test_a_run_that_started_the_engine_stops_it_before_the_dbt_build(lake, monkeypatch):
    """dbt needs no engine: its server is stopped before the build (so that its memory is not held
    while dbt builds) and the next step that needs one starts a fresh server."""
    events: list[str] = []
    steps = [
        pipeline.Step("silver_x", "unused:run", "a Spark step"),
        pipeline.Step("gold_build", "unused:run", "the dbt build", ("silver_x",), kind="dbt"),
        pipeline.Step("gate_gold", "unused:run", "a Spark step after it", ("gold_build",)),
    ]
    monkeypatch.setattr(pipeline, "build_steps", lambda: steps)
    monkeypatch.setattr(pipeline, "run_step", lambda step, context: events.append(step.name))
    monkeypatch.setattr(engine, "recycle_engine", lambda: events.append("recycle"))
    monkeypatch.setattr(engine, "engine_started", lambda: False)
    pipeline.run_pipeline(DATES[:2], lake)
    day = ["silver_x", "recycle", "gold_build", "gate_gold"]
    assert events == [*day, "recycle", *day]


def test_a_session_the_caller_holds_is_not_stopped_before_the_dbt_build(spark, lake, monkeypatch):
    events: list[str] = []
    steps = [pipeline.Step("gold_build", "unused:run", "the dbt build", kind="dbt")]
    monkeypatch.setattr(pipeline, "build_steps", lambda: steps)
    monkeypatch.setattr(pipeline, "run_step", lambda step, context: events.append(step.name))
    monkeypatch.setattr(engine, "recycle_engine", lambda: events.append("recycle"))
    pipeline.run_pipeline(DATES[:1], lake)
    assert events == ["gold_build"]
