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
