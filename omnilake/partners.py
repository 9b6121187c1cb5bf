"""The partner hand-off: the k-anonymous weekly aggregates as CSVs, checked again on the way out."""

from __future__ import annotations

from pathlib import Path

from omnilake.crm import write_csv
from omnilake.exports import partner_aggregates
from omnilake.lake import Lake, get_lake


def export_partner_aggregates(lake: Lake | None = None, k: int | None = None) -> list[Path]:
    """Write ``<lake>/exports/partners/<mart>_<latest week>.csv`` for every partner mart and return the
    paths. ``partner_aggregates`` refuses a row below k, so a file never holds a small group."""
    lake = lake or get_lake()
    written = []
    for mart, rows in partner_aggregates(lake, k=k).items():
        week = max((str(r["week_start"]) for r in rows), default="empty")
        columns = list(rows[0]) if rows else []
        target = Path(lake.path("exports", "partners", f"{mart}_{week}.csv"))
        written.append(write_csv(target, columns, rows))
    return written
