"""Realistic source data for an omnichannel retailer, written as the landing zone receives it.

``generate`` writes one delivery per source per day under ``<landing_root>/<source>/<yyyy-mm-dd>/``:
web-shop orders as change events (NDJSON), store till exports (CSV per store), Segment-style
behaviour events (gzipped NDJSON), product, store and CRM snapshots and two inventory systems (CSV).
The formats are specified in ``schemas/landing/*.yaml`` and ``docs/landing_formats.md``; what really
happened (who is who, which defects were injected) goes to ``<landing_root>/_truth/``.

A day's files depend only on the seed, the scale and the date, so days can be generated one run at a
time (a daily DAG) or all at once with byte-identical results. Memory does not grow with the number
of days; work and disk grow linearly with scale.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from omnilake.errors import ConfigError
from omnilake.generate.clock import SHOP_OPENED
from omnilake.generate.defects import DefectLog, DefectRates
from omnilake.generate.events import EventFeed
from omnilake.generate.inventory import InventoryFeed
from omnilake.generate.orders import OrderFeed
from omnilake.generate.pos import PosFeed
from omnilake.generate.reference import ReferenceFeed
from omnilake.generate.summary import SOURCES, GenerationSummary, SourceSummary
from omnilake.generate.truth import TRUTH_DIR, write_generation, write_identity
from omnilake.generate.world import World
from omnilake.generate.writers import Landing

__all__ = ["SOURCES", "DefectRates", "GenerationSummary", "SourceSummary", "generate"]

log = logging.getLogger(__name__)

MAX_SCALE = 500.0


def generate(
    landing_root: Path,
    start_date: date,
    days: int,
    scale: float = 1.0,
    seed: int = 42,
    defects: DefectRates | None = None,
    *,
    on_day: Callable[[date, int, int], None] | None = None,
) -> GenerationSummary:
    """Write ``days`` daily deliveries of every source from ``start_date`` and the truth files.

    ``defects`` defaults to ``DefectRates()`` (low rates); ``DefectRates.none()`` gives clean data.
    ``on_day(day, done, total)`` is called after each day, for progress display. Existing files of a
    generated (source, day) are replaced; other days in the landing zone are left alone.
    """
    _check(start_date, days, scale)
    rates = defects if defects is not None else DefectRates()
    landing_root = Path(landing_root)
    last_day = start_date + timedelta(days=days - 1)
    began = time.perf_counter()
    log.info(
        "generating %d day(s) from %s at scale %s, seed %s into %s",
        days,
        start_date,
        scale,
        seed,
        landing_root,
    )

    world = World(seed, scale)
    defect_log = DefectLog()
    landing = Landing(landing_root, seed, rates, defect_log)
    references = ReferenceFeed(world, landing, rates, defect_log)
    inventory = InventoryFeed(world, landing, rates, defect_log)
    events = EventFeed(world, landing, rates, defect_log)
    pos = PosFeed(world, landing, rates, defect_log)
    generated_days = [start_date + timedelta(days=n) for n in range(days)]
    with tempfile.TemporaryDirectory(prefix="omnilake-generate-") as spool_dir:
        orders = OrderFeed(world, landing, rates, defect_log, start_date, last_day, Path(spool_dir))
        try:
            orders.warm_up()
            for done, day in enumerate(generated_days, start=1):
                references.deliver(day)
                inventory.deliver(day)
                events.deliver(day, orders.orders_created(day))
                orders.deliver(day)
                pos.deliver(day)
                log.debug("generated %s", day)
                if on_day is not None:
                    on_day(day, done, days)
        finally:
            orders.close()

    truth_dir = landing_root / TRUTH_DIR
    persons = write_identity(world, truth_dir)
    defect_log.write(truth_dir / "defects.json", rates, landing.generated)
    population = {
        "persons": persons,
        "stores": len(world.stores),
        "distribution_centres": len(world.dcs),
        "products": world.catalog.size,
    }
    write_generation(truth_dir, seed, scale, generated_days, population)

    summary = GenerationSummary(
        landing_root=landing_root,
        start_date=start_date,
        days=days,
        scale=scale,
        seed=seed,
        sources={
            source: SourceSummary(source, tally.files, tally.rows, tally.bytes)
            for source, tally in sorted(landing.tally.items(), key=lambda item: SOURCES.index(item[0]))
        },
        defects=defect_log.totals(),
        persons=persons,
        seconds=time.perf_counter() - began,
    )
    log.info(
        "generated %s rows in %s files in %.1f s (%s)",
        f"{summary.total_rows:,}",
        summary.total_files,
        summary.seconds,
        ", ".join(f"{s.source}={s.rows:,}" for s in summary.sources.values()),
    )
    return summary


def _check(start_date: date, days: int, scale: float) -> None:
    if not isinstance(days, int) or days < 1:
        raise ConfigError(f"--days must be a whole number of at least 1, got {days!r}")
    if not scale > 0 or scale > MAX_SCALE:
        raise ConfigError(f"--scale must be above 0 and at most {MAX_SCALE:g}, got {scale!r}")
    if start_date < SHOP_OPENED:
        raise ConfigError(
            f"--start-date must be on or after {SHOP_OPENED.isoformat()} (the shop's opening day)"
        )
