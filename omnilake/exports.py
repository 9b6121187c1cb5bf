"""Exports to downstream systems that act on people, with consent applied here, not left to them.

``marketing_audience(lake, segment)`` is the RFM segment a CRM campaign targets: the customers of
one segment in the latest (or a given) RFM snapshot who consent to marketing on the channel, read
from the published warehouse read-only. Consent comes from ``dim_customer`` (the CRM's latest
opt-in flags, false when unknown), so a person who withdrew consent drops out of the next export
after the next run; an erased person is not in the warehouse at all.

Rows carry the pseudonymous ``customer_key`` and the scores, never a contact point: the CRM maps
keys to people itself.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any, Literal

import duckdb

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
