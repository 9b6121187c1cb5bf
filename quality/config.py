"""The gates' thresholds, in one small typed object.

| setting | default | meaning |
|---|---|---|
| ``quarantine_ratio_max`` | ``0.05`` | bronze: a source's quarantined_rows / records for the processed landing date must not exceed this (fail) |
| ``silver_refused_share_max`` | ``0.05`` | silver: the share of a source's bronze rows of the processed landing date that a silver table refused (``quarantine.silver_rejects``) before a warning |
| ``volume_tolerance`` | ``0.5`` | bronze: a source's records may differ from its trailing average by this fraction (0.5 = 50% to 150%) before a warning |
| ``volume_window`` | ``7`` | bronze: how many earlier deliveries of the source make the trailing average (landing dates it delivered on: weeks for a weekly feed) |
| ``required_sources`` | the declared feeds due that day | bronze: sources whose delivery must have arrived for the processed date (freshness); by default the feeds of ``schemas/feeds.yaml`` (``OMNILAKE_FEEDS``) due on the date: daily feeds every day, weekly feeds on their weekday, on-change feeds never |
| ``warehouse_schema`` | ``main`` | gold: the DuckDB schema searched first for a gold table (any schema holding the table is used otherwise) |
| ``max_listed`` | ``5`` | how many offending rows a result message names |
| ``data_docs`` | ``True`` | render GE Data Docs after the gate (about a second of template rendering per run) |

``QualityConfig()`` is what the pipeline uses; tests and callers pass their own to ``run_gate(config=...)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from omnilake.feeds import load_feeds


@dataclass(frozen=True)
class QualityConfig:
    quarantine_ratio_max: float = 0.05
    silver_refused_share_max: float = 0.05
    volume_tolerance: float = 0.5
    volume_window: int = 7
    required_sources: tuple[str, ...] | None = None
    warehouse_schema: str = "main"
    max_listed: int = 5
    data_docs: bool = True

    def sources_required(self, landing_date: date | None = None) -> tuple[str, ...]:
        """The sources whose delivery the freshness rule expects for ``landing_date``: configured,
        or the declared feeds due that day (an undeclared feed is never required)."""
        if self.required_sources is not None:
            return self.required_sources
        feeds = load_feeds()
        if landing_date is None:  # nothing delivered yet: every declared feed is missing
            return tuple(sorted(feeds.sources()))
        return feeds.due_on(landing_date)
