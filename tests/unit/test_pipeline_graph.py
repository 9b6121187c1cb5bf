import pytest

from omnilake.errors import OmnilakeError
from omnilake.pipeline import Step, build_steps, topological

pytestmark = pytest.mark.unit


def _step(name, *upstream):
    return Step(name=name, func="m:f", doc=name, upstream=upstream)


def test_every_step_follows_its_upstream():
    ordered = topological([_step("gold", "silver"), _step("silver", "a", "b"), _step("a"), _step("b")])
    names = [s.name for s in ordered]
    assert names == ["a", "b", "silver", "gold"]


def test_unknown_upstream_is_refused():
    with pytest.raises(OmnilakeError, match="unknown step"):
        topological([_step("silver", "bronze")])


def test_cycle_is_refused():
    with pytest.raises(OmnilakeError, match="cycle"):
        topological([_step("a", "b"), _step("b", "a")])


def test_the_pipeline_ingests_every_landing_source():
    from omnilake.contracts import all_contracts

    landing = {c.name for c in all_contracts().values() if c.layer == "landing"}
    ingest_steps = {s.kwargs["source"] for s in build_steps() if s.name.startswith("ingest_")}
    assert ingest_steps == landing
    topological(build_steps())  # the real graph is acyclic and closed


def record_context(context, seen):
    seen.append((context.landing_date, context.docs))
    return {}


def test_a_multi_date_run_renders_documentation_once_on_its_last_date(monkeypatch, tmp_path):
    from datetime import date

    from omnilake import pipeline
    from omnilake.lake import Lake
    from omnilake.settings import LakeRoot

    seen: list = []
    step = pipeline.Step("record", f"{__name__}:record_context", "records its context", kwargs={"seen": seen})
    monkeypatch.setattr(pipeline, "build_steps", lambda: [step])
    days = [date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)]
    pipeline.run_pipeline(days, Lake(LakeRoot(str(tmp_path))))
    assert seen == [(days[0], False), (days[1], False), (days[2], True)]
    seen.clear()
    pipeline.run_pipeline(days[:1], Lake(LakeRoot(str(tmp_path))))
    assert seen == [(days[0], True)]
