"""What really happened, under ``landing/_truth/``: the pipeline never reads it; tests and the
identity-resolution scorecard do.

- ``identity.ndjson``: one line per person with every identifier they hold (normalised).
- ``shared_identifiers.ndjson``: identifiers used by several people (household landlines, family
  tablets, store kiosks); linking people through them is an over-merge.
- ``defects.json``: injected defects per source, day and kind (written by ``DefectLog``).
- ``generation.json``: the parameters each generated day was made with.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

from omnilake.generate.world import World
from omnilake.generate.writers import LandingFile, ndjson_line

log = logging.getLogger(__name__)

TRUTH_DIR = "_truth"


def write_identity(world: World, truth_dir: Path) -> int:
    """Stream every person's identifiers; returns how many persons were written."""
    truth_dir.mkdir(parents=True, exist_ok=True)
    population = world.population
    out = LandingFile(truth_dir / "identity.ndjson")
    try:
        for index in range(population.size):
            out.write(ndjson_line(population.person(index).truth()))
    except BaseException:
        out.abort()
        raise
    out.close()

    shared = LandingFile(truth_dir / "shared_identifiers.ndjson")
    try:
        for block in range(population.n_blocks):
            household = population.household(block)
            if household is None:
                continue
            persons = [f"P{i:07d}" for i in household.members]
            if household.landline:
                shared.write(
                    ndjson_line(
                        {
                            "kind": "phone",
                            "value": household.landline,
                            "shared_by": "household",
                            "household_id": household.household_id,
                            "person_ids": persons,
                        }
                    )
                )
            if household.tablet:
                for anonymous_id in household.tablet.anonymous_ids:
                    shared.write(
                        ndjson_line(
                            {
                                "kind": "anonymous_id",
                                "value": anonymous_id,
                                "shared_by": "family_tablet",
                                "household_id": household.household_id,
                                "person_ids": persons,
                            }
                        )
                    )
        for store in world.stores:
            shared.write(
                ndjson_line(
                    {
                        "kind": "anonymous_id",
                        "value": store.kiosk_anonymous_id,
                        "shared_by": "store_kiosk",
                        "store_id": store.store_id,
                        "person_ids": None,
                    }
                )
            )
    except BaseException:
        shared.abort()
        raise
    shared.close()
    return population.size


def write_generation(
    truth_dir: Path, seed: int, scale: float, days: list[date], counts: dict[str, Any]
) -> None:
    """Merge this run's days into generation.json, warning when earlier days used other parameters
    (the truth files then describe only the latest population)."""
    path = truth_dir / "generation.json"
    previous: dict[str, Any] = {}
    if path.exists():
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            previous = {}
    per_day = dict(previous.get("days", {}))
    others = {d for d, p in per_day.items() if (p.get("seed"), p.get("scale")) != (seed, scale)}
    replaced = {d.isoformat() for d in days}
    if others - replaced:
        log.warning(
            "landing already holds %d day(s) generated with another seed or scale; _truth/ now describes "
            "seed=%s scale=%s only",
            len(others - replaced),
            seed,
            scale,
        )
    for day in days:
        per_day[day.isoformat()] = {"seed": seed, "scale": scale}
    document = {"seed": seed, "scale": scale, "days": dict(sorted(per_day.items())), "population": counts}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
