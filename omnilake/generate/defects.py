"""The defects real exports carry, injected on purpose and recorded so later layers can be checked.

Each kind has a rate. Record kinds are drawn once per record (at most one defect per record, so the
counts in ``_truth/defects.json`` are exact); file kinds once per delivered file. Defects use their
own random streams, so switching them off leaves every clean record exactly as it was.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import asdict, dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any

from omnilake.errors import ConfigError
from omnilake.generate.randomness import stream

RECORD_KINDS = (
    "malformed_line",
    "missing_required",
    "bad_price",
    "unknown_sku",
    "duplicate_record",
    "extra_field",
    "future_timestamp",
    "wrong_timezone",
)
FILE_KINDS = ("duplicate_file", "renamed_column", "extra_column")

# Which kinds each landing source can carry. extra_field is per record in NDJSON; its CSV
# counterpart is extra_column, a whole day's export gaining a column.
SOURCE_DEFECTS: dict[str, tuple[str, ...]] = {
    "orders": (*RECORD_KINDS, "duplicate_file"),
    "events": (*RECORD_KINDS, "duplicate_file"),
    "pos": (
        "malformed_line",
        "missing_required",
        "bad_price",
        "unknown_sku",
        "duplicate_record",
        "future_timestamp",
        "wrong_timezone",
        "duplicate_file",
        "renamed_column",
    ),
    "products": ("malformed_line", "missing_required", "bad_price", "duplicate_file", "extra_column"),
    "stores": ("duplicate_file",),
    "crm_members": ("malformed_line", "missing_required", "duplicate_file", "extra_column"),
    "inventory_online": ("malformed_line", "missing_required", "unknown_sku", "duplicate_file"),
    "inventory_store": ("malformed_line", "missing_required", "unknown_sku", "duplicate_file"),
}


@dataclass(frozen=True)
class DefectRates:
    """Probability of each defect kind; the defaults are low, as in a healthy production feed.

    Record kinds apply per record (per basket for a POS ``wrong_timezone``: a till on UTC). File
    kinds apply per delivered file: ``duplicate_file`` to any file, ``renamed_column`` to POS files,
    ``extra_column`` to the product and CRM exports (a column appears in that day's export).
    """

    malformed_line: float = 0.0005
    missing_required: float = 0.001
    bad_price: float = 0.0005
    unknown_sku: float = 0.001
    duplicate_record: float = 0.002
    extra_field: float = 0.001
    future_timestamp: float = 0.0005
    wrong_timezone: float = 0.001
    duplicate_file: float = 0.01
    renamed_column: float = 0.01
    extra_column: float = 0.01

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ConfigError(f"defect rate {item.name}={value!r} must be a number between 0 and 1")

    @classmethod
    def none(cls) -> DefectRates:
        """Clean data: every rate zero."""
        return cls(**{item.name: 0.0 for item in fields(cls)})

    @classmethod
    def uniform(cls, record_rate: float, file_rate: float | None = None) -> DefectRates:
        """Every record kind at ``record_rate`` and every file kind at ``file_rate`` (default: the same)."""
        per_file = record_rate if file_rate is None else file_rate
        return cls(**{f.name: per_file if f.name in FILE_KINDS else record_rate for f in fields(cls)})

    def rate(self, kind: str) -> float:
        return getattr(self, kind)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


class RecordDefects:
    """Draws at most one record defect per call, among the kinds a source can carry."""

    def __init__(
        self, rates: DefectRates, source: str, rng: random.Random, kinds: tuple[str, ...] = ()
    ) -> None:
        allowed = kinds or SOURCE_DEFECTS[source]
        self.kinds = [k for k in RECORD_KINDS if k in allowed and rates.rate(k) > 0]
        self.weights = [rates.rate(k) for k in self.kinds]
        self.total = min(1.0, sum(self.weights))
        self.rng = rng

    def draw(self, applicable: frozenset[str] | None = None) -> str | None:
        """A defect kind or None. ``applicable`` narrows the choice for a record that cannot carry
        every kind (no price to corrupt, no sku to replace)."""
        if not self.kinds or self.rng.random() >= self.total:
            return None
        if applicable is None:
            return self.rng.choices(self.kinds, weights=self.weights)[0]
        pairs = [(k, w) for k, w in zip(self.kinds, self.weights, strict=True) if k in applicable]
        if not pairs:
            return None
        return self.rng.choices([k for k, _ in pairs], weights=[w for _, w in pairs])[0]


class DefectLog:
    """Counts per source, day and kind, plus the file-level defects by name."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
        self.files: list[dict[str, str]] = []

    def count(self, source: str, day: date, kind: str, n: int = 1) -> None:
        per_day = self.counts[source][day.isoformat()]
        per_day[kind] = per_day.get(kind, 0) + n

    def file_defect(self, source: str, day: date, kind: str, file: str, detail: str = "") -> None:
        self.count(source, day, kind)
        self.files.append(
            {"source": source, "day": day.isoformat(), "kind": kind, "file": file, "detail": detail}
        )

    def totals(self) -> dict[str, int]:
        totals: dict[str, int] = defaultdict(int)
        for per_source in self.counts.values():
            for per_day in per_source.values():
                for kind, n in per_day.items():
                    totals[kind] += n
        return dict(sorted(totals.items()))

    def write(self, path: Path, rates: DefectRates, generated: list[tuple[str, date]]) -> None:
        """Merge into an existing defects.json: the (source, day) pairs generated now replace what an
        earlier run recorded for them, other days are kept (days can be generated incrementally)."""
        previous: dict[str, Any] = {}
        if path.exists():
            try:
                previous = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                previous = {}
        replaced = {(source, day.isoformat()) for source, day in generated}
        counts: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
        for source, per_day in previous.get("counts", {}).items():
            for day, kinds in per_day.items():
                if (source, day) not in replaced:
                    counts[source][day] = kinds
        for source, day in generated:
            counts[source][day.isoformat()] = dict(
                sorted(self.counts[source].get(day.isoformat(), {}).items())
            )
        files = [f for f in previous.get("files", []) if (f["source"], f["day"]) not in replaced]
        files.extend(self.files)
        document = {
            "rates": rates.as_dict(),
            "counts": {s: dict(sorted(days.items())) for s, days in sorted(counts.items())},
            "files": sorted(files, key=lambda f: (f["source"], f["day"], f["kind"], f["file"])),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def defect_stream(seed: int, source: str, *key: object) -> random.Random:
    return stream(seed, "defects", source, *key)


def bad_price_cents(cents: int, rng: random.Random) -> int:
    """A negative or absurd price, the two ways a price field goes wrong upstream."""
    if rng.random() < 0.5:
        return -max(1, cents)
    return rng.choice((cents * 1000, 9_999_999, 99_999_999))


def truncate_line(line: str, rng: random.Random) -> str:
    """A line cut short, as when an exporter dies mid-write or a copy is interrupted."""
    if len(line) < 4:
        return line + "\x00"
    return line[: rng.randrange(1, len(line) * 2 // 3)]


def future_shift_ms(rng: random.Random) -> int:
    """How far a wrong clock runs ahead: weeks to more than a year."""
    return rng.randrange(20, 500) * 86_400_000 + rng.randrange(86_400_000)
