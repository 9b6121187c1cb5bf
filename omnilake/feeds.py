"""Declared feeds: which landing sources a retailer delivers, how often, and in what form.

One YAML file (``schemas/feeds.yaml``, or the file ``OMNILAKE_FEEDS`` names) lists the delivered
sources. Everything that used to assume all eight sources every day reads this instead: ingestion
takes only declared feeds, the bronze gate's freshness rule asks only for feeds due on the landing
date, and the run summary names the marts that have no feed. A mistake in the file is a
``ConfigError`` naming the file, the feed and what is wrong, in one line.

Imports only contracts, settings and errors, so any layer can ask about feeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

from omnilake.contracts import SCHEMAS_DIR, landing_sources
from omnilake.errors import ConfigError
from omnilake.settings import get_settings

DEFAULT_FEEDS_FILE = SCHEMAS_DIR / "feeds.yaml"
CADENCES = ("daily", "weekly", "on_change")
KINDS = ("snapshot", "change")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_FEED_KEYS = {"cadence", "kind", "weekday"}

# The landing sources each gold mart is built from; a mart none of whose sources is declared has
# no feed and is built empty. (Identity and reference data feed every mart; they are not listed.)
MART_SOURCES: dict[str, tuple[str, ...]] = {
    "dim_customer": ("crm_members", "orders", "pos", "events"),
    "dim_customer_observations": ("crm_members", "orders", "pos", "events"),
    "dim_customer_history": ("crm_members", "orders", "pos", "events"),
    "fct_sales": ("orders", "pos"),
    "fct_sales_revisions": ("orders", "pos"),
    "mart_customer_rfm": ("orders", "pos"),
    "mart_customer_rfm_revisions": ("orders", "pos"),
    "mart_inventory_position": ("inventory_online", "inventory_store"),
    "mart_inventory_position_revisions": ("inventory_online", "inventory_store"),
    "mart_journey_funnel": ("events",),
    "mart_journey_funnel_revisions": ("events",),
    "mart_customer_tags": ("crm_members", "orders", "pos", "events"),
    "mart_product_affinity": ("orders", "pos"),
    "mart_product_engagement": ("events", "orders"),
    "mart_oversell_incidents": ("orders", "inventory_online", "inventory_store"),
    "mart_inventory_deviation": ("inventory_online", "inventory_store"),
    "mart_online_safety_buffer": ("inventory_online", "inventory_store"),
    "mart_partner_sales_weekly": ("orders", "pos"),
    "mart_partner_segments_weekly": ("crm_members", "orders", "pos"),
}


@dataclass(frozen=True)
class Feed:
    source: str
    cadence: Literal["daily", "weekly", "on_change"]
    kind: Literal["snapshot", "change"]
    weekday: int | None = None  # 0 = Monday, only for weekly feeds

    def due_on(self, day: date) -> bool:
        """Whether a delivery of this feed must have arrived for landing date ``day``."""
        if self.cadence == "daily":
            return True
        if self.cadence == "weekly":
            return day.weekday() == self.weekday
        return False

    @property
    def is_snapshot(self) -> bool:
        return self.kind == "snapshot"

    def describe(self) -> str:
        when = (
            f"weekly on {WEEKDAYS[self.weekday].capitalize()}" if self.cadence == "weekly" else self.cadence
        )
        return f"{when}, {self.kind}"


@dataclass(frozen=True)
class Feeds:
    """The declaration: feeds by source, and the file it came from."""

    path: Path
    feeds: dict[str, Feed]

    def declared(self, source: str) -> bool:
        return source in self.feeds

    def sources(self) -> tuple[str, ...]:
        """Declared sources, in landing-contract order."""
        return tuple(s for s in landing_sources() if s in self.feeds)

    def absent(self) -> tuple[str, ...]:
        """Landing sources this retailer does not deliver."""
        return tuple(s for s in landing_sources() if s not in self.feeds)

    def due_on(self, day: date) -> tuple[str, ...]:
        """Declared sources whose delivery is due for landing date ``day`` (sorted)."""
        return tuple(sorted(s for s, feed in self.feeds.items() if feed.due_on(day)))

    def marts_without_feed(self) -> dict[str, tuple[str, ...]]:
        """Gold marts none of whose sources is declared, with the sources they would need."""
        return {
            mart: sources
            for mart, sources in MART_SOURCES.items()
            if not any(self.declared(s) for s in sources)
        }

    def marts_partly_fed(self) -> dict[str, tuple[str, ...]]:
        """Gold marts with some of their sources declared, with the sources that are missing."""
        partly = {}
        for mart, sources in MART_SOURCES.items():
            missing = tuple(s for s in sources if not self.declared(s))
            if missing and len(missing) < len(sources):
                partly[mart] = missing
        return partly


def feeds_file() -> Path:
    """The declaration in force: ``OMNILAKE_FEEDS`` if set, else ``schemas/feeds.yaml``."""
    configured = get_settings().feeds
    return Path(configured).expanduser().resolve() if configured else DEFAULT_FEEDS_FILE


def load_feeds(path: Path | str | None = None) -> Feeds:
    """The validated declaration at ``path`` (default: ``feeds_file()``); re-read when the file changes."""
    target = Path(path).expanduser().resolve() if path is not None else feeds_file()
    try:
        stamp = target.stat().st_mtime_ns
    except FileNotFoundError:
        raise ConfigError(f"no feeds declaration at {target}: create it or fix OMNILAKE_FEEDS") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the feeds declaration {target}: {exc.strerror or exc}") from None
    return _load(target, stamp)


@cache
def _load(path: Path, _stamp: int) -> Feeds:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"{path}{where}: {problem}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the feeds declaration {path}: {exc}") from None
    return parse_feeds(raw, path)


def parse_feeds(raw: Any, path: Path = DEFAULT_FEEDS_FILE) -> Feeds:
    """Validate a parsed declaration; every problem is a one-line ConfigError naming the feed."""
    if not isinstance(raw, dict) or set(raw) != {"feeds"}:
        found = sorted(raw) if isinstance(raw, dict) else type(raw).__name__
        raise ConfigError(f"{path}: expected one top-level key 'feeds', found {found}")
    entries = raw["feeds"]
    if not isinstance(entries, dict) or not entries:
        raise ConfigError(f"{path}: 'feeds' must map at least one landing source to its cadence and kind")
    known = landing_sources()
    feeds = {}
    for source, spec in entries.items():
        if source not in known:
            raise ConfigError(f"{path}: unknown source {source!r}; landing sources are {', '.join(known)}")
        feeds[source] = _parse_feed(source, spec, path)
    return Feeds(path, feeds)


def _parse_feed(source: str, spec: Any, path: Path) -> Feed:
    where = f"{path}: feed {source!r}"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected a mapping with 'cadence' and 'kind', got {spec!r}")
    unknown = sorted(set(spec) - _FEED_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; a feed has {sorted(_FEED_KEYS)}")
    cadence, kind, weekday = spec.get("cadence"), spec.get("kind"), spec.get("weekday")
    if cadence not in CADENCES:
        raise ConfigError(f"{where}: cadence {cadence!r} is not one of {', '.join(CADENCES)}")
    if kind not in KINDS:
        raise ConfigError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    if cadence == "weekly":
        if weekday is None:
            raise ConfigError(f"{where}: a weekly feed needs 'weekday' ({', '.join(WEEKDAYS)})")
        if not isinstance(weekday, str) or weekday.lower() not in WEEKDAYS:
            raise ConfigError(f"{where}: weekday {weekday!r} is not one of {', '.join(WEEKDAYS)}")
        return Feed(source, cadence, kind, WEEKDAYS.index(weekday.lower()))
    if weekday is not None:
        raise ConfigError(f"{where}: 'weekday' is only for weekly feeds (cadence is {cadence})")
    return Feed(source, cadence, kind)
