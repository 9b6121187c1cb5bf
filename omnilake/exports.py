"""Exports to downstream systems that act on people, with consent applied here, not left to them.

``marketing_audience(lake, segment)`` is the RFM segment a CRM campaign targets: the customers of
one segment in the latest (or a given) RFM snapshot who consent to marketing on the channel, read
from the published warehouse read-only. Consent comes from ``dim_customer`` (the CRM's latest
opt-in flags, false when unknown), so a person who withdrew consent drops out of the next export
after the next run; an erased person is not in the warehouse at all.

Rows carry the pseudonymous ``customer_key`` and the scores, never a contact point: the CRM maps
keys to people itself.

``campaign_audience(lake, name)`` is one of the named ``AUDIENCES``: RFM segments with the purpose
they are exported for (the high-value audience for an exclusive offer and priority shipping, the
win-back audience), each row consenting to the channel as above.

``partner_aggregates(lake)`` reads the k-anonymous partner marts (``mart_partner_sales_weekly``,
``mart_partner_segments_weekly``) and checks every row again before it leaves: a row below k
(``partner_min_customers()``, the dbt var the build used) stops the export.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import duckdb
import yaml

from omnilake.errors import OmnilakeError
from omnilake.lake import Lake, get_lake

log = logging.getLogger(__name__)

CONSENT_COLUMNS = {"email": "email_opt_in", "sms": "sms_opt_in"}
AUDIENCE_COLUMNS = (
    "customer_key",
    "snapshot_date",
    "segment",
    "rfm_cell",
    "recency_days",
    "frequency",
    "monetary",
    "tier",
)


class ExportError(OmnilakeError):
    """An export cannot be produced as asked."""


@dataclass(frozen=True)
class Audience:
    """RFM segments exported together, and what the receiving system may use them for."""

    segments: tuple[str, ...]
    purpose: str


AUDIENCES = {
    "high_value": Audience(("Champions", "Cannot Lose Them"), "exclusive offer and priority shipping"),
    "win_back": Audience(("Hibernating", "Lost"), "win-back offer to lapsed customers"),
}
CAMPAIGN_COLUMNS = (*AUDIENCE_COLUMNS, "audience", "purpose")
PARTNER_MARTS = ("mart_partner_sales_weekly", "mart_partner_segments_weekly")


def marketing_audience(
    lake: Lake | None,
    segment: str,
    *,
    channel: Literal["email", "sms"] = "email",
    snapshot_date: date | None = None,
    warehouse: str | Path | None = None,
) -> list[dict[str, Any]]:
    """Customers of ``segment`` who consent to marketing by ``channel``, one dict per person.

    ``snapshot_date`` defaults to the latest RFM snapshot. Raises ExportError for an unknown segment
    or snapshot (naming the ones there are), or when there is no published warehouse.
    """
    if channel not in CONSENT_COLUMNS:
        raise ExportError(f"unknown channel {channel!r}: use one of {', '.join(CONSENT_COLUMNS)}")
    path = Path(warehouse) if warehouse is not None else Path((lake or get_lake()).warehouse_path)
    if not path.exists():
        raise ExportError(f"no warehouse at {path}: run the pipeline (omnilake run) before exporting")
    consent = CONSENT_COLUMNS[channel]
    with duckdb.connect(str(path), read_only=True) as con:
        snapshot = (
            snapshot_date
            or con.execute("select max(snapshot_date) from main.mart_customer_rfm").fetchone()[0]
        )
        if snapshot is None:
            raise ExportError(f"no RFM snapshot in {path}: the mart_customer_rfm mart is empty")
        segments = sorted(
            row[0]
            for row in con.execute(
                "select distinct segment from main.mart_customer_rfm where snapshot_date = ?", [snapshot]
            ).fetchall()
        )
        if not segments:
            raise ExportError(f"no RFM snapshot of {snapshot} in {path}")
        if segment not in segments:
            raise ExportError(
                f"no segment {segment!r} in the RFM snapshot of {snapshot}; segments: {', '.join(segments)}"
            )
        cursor = con.execute(
            f"""
            select
                rfm.customer_key,
                rfm.snapshot_date,
                rfm.segment,
                rfm.rfm_cell,
                rfm.recency_days,
                rfm.frequency,
                rfm.monetary,
                customer.tier
            from main.mart_customer_rfm as rfm
            join main.dim_customer as customer
                on customer.customer_key = rfm.customer_key
            where rfm.snapshot_date = ?
                and rfm.segment = ?
                and customer.{consent} is true
            order by rfm.customer_key
            """,
            [snapshot, segment],
        )
        columns = [d[0] for d in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        excluded = con.execute(
            f"""
            select count(*) from main.mart_customer_rfm as rfm
            left join main.dim_customer as customer on customer.customer_key = rfm.customer_key
            where rfm.snapshot_date = ? and rfm.segment = ? and customer.{consent} is not true
            """,
            [snapshot, segment],
        ).fetchone()[0]
    log.info(
        "marketing audience %s (%s, snapshot %s): %d people, %d left out without %s consent",
        segment,
        channel,
        snapshot,
        len(rows),
        excluded,
        channel,
    )
    return rows


def campaign_audience(
    lake: Lake | None,
    name: str,
    *,
    channel: Literal["email", "sms"] = "email",
    snapshot_date: date | None = None,
    warehouse: str | Path | None = None,
) -> list[dict[str, Any]]:
    """The people of audience ``name`` (``AUDIENCES``) who consent to ``channel``, each row naming the
    audience and its purpose. A segment nobody is in at the snapshot adds nobody."""
    if name not in AUDIENCES:
        raise ExportError(f"unknown audience {name!r}: use one of {', '.join(sorted(AUDIENCES))}")
    audience = AUDIENCES[name]
    rows: list[dict[str, Any]] = []
    for segment in audience.segments:
        try:
            members = marketing_audience(
                lake, segment, channel=channel, snapshot_date=snapshot_date, warehouse=warehouse
            )
        except ExportError as exc:
            if "no segment" not in str(exc):
                raise
            continue
        rows.extend({**row, "audience": name, "purpose": audience.purpose} for row in members)
    return sorted(rows, key=lambda row: row["customer_key"])


def partner_min_customers() -> int:
    """k of the partner aggregates: the dbt var ``partner_min_customers`` of the gold project."""
    from omnilake.gold_models import DBT_PROJECT_DIR

    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return int(project["vars"]["partner_min_customers"])


def partner_aggregates(
    lake: Lake | None, *, warehouse: str | Path | None = None, k: int | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The rows of every partner mart, by mart. Raises ExportError if a row covers fewer than ``k``
    (default ``partner_min_customers()``) customers: the marts suppress such groups, so one here
    means the build and the export disagree on k, and nothing is released."""
    k = partner_min_customers() if k is None else k
    path = Path(warehouse) if warehouse is not None else Path((lake or get_lake()).warehouse_path)
    if not path.exists():
        raise ExportError(f"no warehouse at {path}: run the pipeline (omnilake run) before exporting")
    result: dict[str, list[dict[str, Any]]] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        for mart in PARTNER_MARTS:
            cursor = con.execute(f"select * from main.{mart} order by all")
            columns = [d[0] for d in cursor.description]
            rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
            small = [row for row in rows if row["customers"] is None or row["customers"] < k]
            if small:
                raise ExportError(
                    f"{mart} has {len(small)} row(s) with fewer than k = {k} customers; "
                    "rebuild gold with the same partner_min_customers before exporting"
                )
            result[mart] = rows
    log.info("partner aggregates (k = %d): %s", k, ", ".join(f"{m} {len(r)} rows" for m, r in result.items()))
    return result
