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
