"""Landing files: streamed line by line, published atomically, counted, sometimes delivered twice.

A file is written under a hidden name (``.name.part``; Spark and most readers skip dot-files) and
renamed when complete, so a reader scanning the landing zone never sees half a delivery. Gzip files
carry no name and mtime 0, so the bytes depend only on the content.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from omnilake.generate.defects import DefectLog, DefectRates, defect_stream

log = logging.getLogger(__name__)

_CSV_SPECIALS = frozenset('"\n\r')


def money(cents: int) -> str:
    """Cents as a decimal string with two places: ``2995`` -> ``29.95``."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def ndjson_line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def csv_line(values: Sequence[str], delimiter: str = ",") -> str:
    """One CSV row (RFC 4180 quoting, only where needed)."""
    line = delimiter.join(values)
    if line.count(delimiter) == len(values) - 1 and _CSV_SPECIALS.isdisjoint(line):
        return line
    out = []
    for value in values:
        if delimiter in value or not _CSV_SPECIALS.isdisjoint(value):
            value = '"' + value.replace('"', '""') + '"'
        out.append(value)
    return delimiter.join(out)


def malformed_csv_line(line: str, delimiter: str, columns: int, cut: float) -> str:
    """A row cut short so it has fewer columns than the header (``cut`` in [0, 1) picks where)."""
    text = line[: max(1, int(len(line) * (0.2 + 0.5 * cut)))]
    while text.count(delimiter) >= columns - 1:
        text = text.rsplit(delimiter, 1)[0]
    return text


class LandingFile:
    """One file being delivered."""

    def __init__(self, path: Path, *, compress: bool = False) -> None:
        self.path = path
        self.part = path.with_name(f".{path.name}.part")
        self.rows = 0
        self._raw = open(self.part, "wb")  # noqa: SIM115 - closed in close()
        self._gzip: gzip.GzipFile | None = None
        binary: io.RawIOBase | gzip.GzipFile = self._raw  # type: ignore[assignment]
        if compress:
            self._gzip = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, compresslevel=1, mtime=0)
            binary = self._gzip
        self._text: TextIO = io.TextIOWrapper(binary, encoding="utf-8", newline="\n", write_through=False)  # type: ignore[arg-type]

    def write(self, line: str) -> None:
        """One record (the line end is added)."""
        self._text.write(line + "\n")
        self.rows += 1

    def write_header(self, line: str) -> None:
        """A CSV header: written, not counted as a record."""
        self._text.write(line + "\n")

    def close(self) -> None:
        self._text.flush()
        self._text.detach()
        if self._gzip is not None:
            self._gzip.close()
        self._raw.close()
        os.replace(self.part, self.path)

    def abort(self) -> None:
        try:
            self._raw.close()
        finally:
            self.part.unlink(missing_ok=True)


@dataclass
class SourceTally:
    files: int = 0
    rows: int = 0
    bytes: int = 0


class Landing:
    """The landing zone of one generation run: where each delivery goes and what was written."""

    def __init__(self, root: Path, seed: int, rates: DefectRates, defects: DefectLog) -> None:
        self.root = root
        self.seed = seed
        self.rates = rates
        self.defects = defects
        self.tally: dict[str, SourceTally] = {}
        self.generated: list[tuple[str, date]] = []
        self._cleared: set[tuple[str, date]] = set()

    def day_dir(self, source: str, day: date) -> Path:
        """The delivery folder, emptied of this source's earlier files the first time it is used in a
        run: regenerating a day replaces it, including stale re-deliveries."""
        folder = self.root / source / day.isoformat()
        if (source, day) not in self._cleared:
            folder.mkdir(parents=True, exist_ok=True)
            for stale in folder.iterdir():
                if stale.is_file() and (
                    stale.name.startswith(f"{source}_") or stale.name.startswith(f".{source}_")
                ):
                    stale.unlink()
            self._cleared.add((source, day))
            self.generated.append((source, day))
            self.tally.setdefault(source, SourceTally())
        return folder

    @contextmanager
    def deliver(
        self, source: str, day: date, filename: str, *, compress: bool = False
    ) -> Iterator[LandingFile]:
        """Write one file; on success publish it, count it and maybe deliver it a second time."""
        path = self.day_dir(source, day) / filename
        landing_file = LandingFile(path, compress=compress)
        try:
            yield landing_file
        except BaseException:
            landing_file.abort()
            raise
        landing_file.close()
        tally = self.tally[source]
        tally.files += 1
        tally.rows += landing_file.rows
        tally.bytes += path.stat().st_size
        self._maybe_redeliver(source, day, path)

    def _maybe_redeliver(self, source: str, day: date, path: Path) -> None:
        rate = self.rates.duplicate_file
        if rate <= 0 or defect_stream(self.seed, source, "duplicate_file", path.name).random() >= rate:
            return
        name, _, extensions = path.name.partition(".")
        copy = path.with_name(f"{name}_2.{extensions}")
        shutil.copyfile(path, copy)
        tally = self.tally[source]
        tally.files += 1
        tally.bytes += copy.stat().st_size
        self.defects.file_defect(
            source, day, "duplicate_file", copy.name, f"byte-identical copy of {path.name}"
        )
        log.debug("re-delivered %s as %s", path.name, copy.name)
