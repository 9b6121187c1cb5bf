"""The CRM hand-off: audiences of customers who consent to the channel, as CSVs the CRM imports."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from omnilake.exports import (
    AUDIENCE_COLUMNS,
    CAMPAIGN_COLUMNS,
    ExportError,
    campaign_audience,
    marketing_audience,
)
from omnilake.lake import Lake, get_lake

AT_RISK_SEGMENTS = ("At Risk", "Cannot Lose Them", "About To Sleep")


def export_at_risk(lake: Lake | None = None, segments: tuple[str, ...] = AT_RISK_SEGMENTS) -> Path:
    """Write ``<lake>/exports/crm/at_risk_<snapshot>.csv`` (pseudonymous keys only) and return its path.

    Only people with e-mail marketing consent are in it (``marketing_audience`` applies consent). The
    file appears whole or not at all: it is written beside its final name and renamed.
    """
    lake = lake or get_lake()
    rows = []
    for segment in segments:
        try:
            rows.extend(marketing_audience(lake, segment, channel="email"))
        except ExportError as exc:
            if "no segment" not in str(exc):  # a segment nobody is in this week is not an error
                raise
    snapshot = max((str(r["snapshot_date"]) for r in rows), default="empty")
    target = Path(lake.path("exports", "crm", f"at_risk_{snapshot}.csv"))
    return write_csv(target, AUDIENCE_COLUMNS, rows)


def export_audience(name: str, lake: Lake | None = None, channel: Literal["email", "sms"] = "email") -> Path:
    """Write ``<lake>/exports/crm/<name>_<channel>_<snapshot>.csv``: audience ``name``
    (``omnilake.exports.AUDIENCES``) of the latest RFM snapshot, pseudonymous keys of the people who
    consent to ``channel`` only, each row with the audience's purpose."""
    lake = lake or get_lake()
    rows = campaign_audience(lake, name, channel=channel)
    snapshot = max((str(r["snapshot_date"]) for r in rows), default="empty")
    target = Path(lake.path("exports", "crm", f"{name}_{channel}_{snapshot}.csv"))
    return write_csv(target, CAMPAIGN_COLUMNS, rows)


def write_csv(target: Path, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> Path:
    """Write ``rows`` to ``target`` whole or not at all: beside its final name, then renamed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".csv.part")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(partial, target)
    return target
