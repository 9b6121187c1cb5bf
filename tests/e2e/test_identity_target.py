"""The identity target on default generated data: pairwise F1 against the truth of at least 0.99.

Default data is the sample ``make run`` generates (three days at scale 0.2, default defect rates).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from jobs.bronze.ingest import ingest
from jobs.silver.identity import evaluate, resolve
from omnilake.cli import SAMPLE
from omnilake.generate import generate

pytestmark = pytest.mark.e2e


def test_identity_resolution_scores_f1_of_at_least_099_on_the_default_sample(lake):
    start = date.fromisoformat(SAMPLE["start_date"])
    generate(Path(lake.landing), start, SAMPLE["days"], scale=SAMPLE["scale"], seed=42)
    ingest(["orders", "crm_members", "events"], None, lake)
    resolve(lake)

    score = evaluate(lake)

    assert score.persons > 1000
    assert score.precision >= 0.99 and score.f1 >= 0.99, score.as_dict()
