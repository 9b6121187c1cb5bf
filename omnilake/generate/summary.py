"""What a generation run wrote, for the CLI's closing table and for the benchmark."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

SOURCES = (
    "orders",
    "pos",
    "events",
    "products",
    "stores",
    "crm_members",
    "inventory_online",
    "inventory_store",
)


@dataclass(frozen=True)
class SourceSummary:
    source: str
    files: int  # including re-delivered copies
    rows: int  # data records in the original deliveries (no headers, no copies)
    bytes: int


@dataclass
class GenerationSummary:
    landing_root: Path
    start_date: date
    days: int
    scale: float
    seed: int
    sources: dict[str, SourceSummary] = field(default_factory=dict)
    defects: dict[str, int] = field(default_factory=dict)  # injected, per kind, all sources and days
    persons: int = 0
    seconds: float = 0.0

    TABLE_COLUMNS = ("source", "files", "rows", "size")

    @property
    def total_rows(self) -> int:
        return sum(s.rows for s in self.sources.values())

    @property
    def total_files(self) -> int:
        return sum(s.files for s in self.sources.values())

    def rows_per_second(self) -> float:
        return self.total_rows / self.seconds if self.seconds else 0.0

    def table_rows(self) -> list[tuple[str, str, str, str]]:
        """One row per source then a total, formatted for a table with ``TABLE_COLUMNS``."""
        rows = [
            (s.source, f"{s.files:,}", f"{s.rows:,}", _size(s.bytes))
            for name in SOURCES
            if (s := self.sources.get(name)) is not None
        ]
        total_bytes = sum(s.bytes for s in self.sources.values())
        rows.append(("total", f"{self.total_files:,}", f"{self.total_rows:,}", _size(total_bytes)))
        return rows


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"
