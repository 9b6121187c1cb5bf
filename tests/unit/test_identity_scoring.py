"""Pure parts of identity resolution and behaviour events: scoring arithmetic and contract agreement."""

import pytest

from jobs.silver.events import JOURNEY_STAGES
from jobs.silver.identity import STRONG_TYPES, WEAK_TYPES, f1, ratio
from omnilake.contracts import contract

pytestmark = pytest.mark.unit


def test_f1_is_the_harmonic_mean_of_precision_and_recall():
    assert f1(1.0, 0.5) == pytest.approx(2 / 3)
    assert f1(0.99, 0.99) == pytest.approx(0.99)
    assert f1(0.0, 0.0) == 0.0


def test_no_pairs_to_find_counts_as_nothing_missed():
    assert ratio(0, 0) == 1.0
    assert ratio(3, 4) == 0.75


def test_every_identifier_type_the_graph_uses_is_allowed_by_the_contract():
    allowed = set(contract("silver", "customer_identifiers").field("identifier_type").allowed_values)
    assert set(STRONG_TYPES) | set(WEAK_TYPES) == allowed
    assert not set(STRONG_TYPES) & set(WEAK_TYPES)


def test_journey_stages_are_the_contracts_stages():
    assert set(JOURNEY_STAGES) == set(
        contract("silver", "event_attribution").field("journey_stage").allowed_values
    )
