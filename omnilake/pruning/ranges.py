"""Which data files of a Delta table can hold a key, from the min/max statistics in its log.

A lookup of a few keys in a growing table (is this order already in silver? does this key repeat
one written before?) reads the key columns of every file, though most files cannot hold any of
the keys: ids that follow creation time (shop order ids, till transaction ids) cluster by day, and
each file's ``min``/``max`` of a column, which the log records for every file written, rules the
file out when no key looked for falls inside. Reading only the other files gives the same answer
as reading all of them, with no scan and no engine call to decide (delta-rs reads the log).

Only bounds that are exact are trusted: strings shorter than the 32 characters writers may
truncate statistics to, integers and dates. A file with any other or no statistics for a column
is kept (it may hold anything); so is every file when the log cannot be read. Random ids (event
message ids) span every file's range, and nothing is pruned: the caller reads the whole table.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from deltalake import DeltaTable

if TYPE_CHECKING:
    from omnilake.lake import Table

# Writers may cut string statistics to this many characters (Delta's default prefix length); a
# cut minimum is still a lower bound, a cut maximum is not an upper one.
STRING_STATS_PREFIX = 32

Bounds = tuple[Any, Any]  # (lowest, highest); None for either: unbounded on that side


@dataclass(frozen=True)
class FileRanges:
    """One live data file: its URI, partition values, row count and per column its value bounds
    (a column missing from ``bounds``: unknown, the file may hold any value)."""

    uri: str
    partition_values: tuple[tuple[str, object], ...]
    num_records: int | None
    bounds: Mapping[str, Bounds]

    def may_hold_values(self, values: Mapping[str, Sequence[Any]]) -> bool:
        """Whether some value of every column's sorted ``values`` falls inside this file's bounds
        (a row holding one of the keys must have each of its columns in range)."""
        for column, wanted in values.items():
            bounds = self.bounds.get(column)
            if bounds is None or not wanted or not _alike(bounds, wanted[0]):
                continue
            low, high = bounds
            at = 0 if low is None else bisect.bisect_left(wanted, low)
            if at == len(wanted) or (high is not None and wanted[at] > high):
                return False
        return True

    def overlaps(self, other: FileRanges, columns: Mapping[str, str]) -> bool:
        """Whether a row of this file and a row of ``other`` can agree on every column pair
        (this file's column -> ``other``'s): their bounds overlap on each."""
        for mine, theirs in columns.items():
            a, b = self.bounds.get(mine), other.bounds.get(theirs)
            if a is None or b is None or not _alike(a, b[0] if b[0] is not None else b[1]):
                continue
            if (a[1] is not None and b[0] is not None and a[1] < b[0]) or (
                b[1] is not None and a[0] is not None and b[1] < a[0]
            ):
                return False
        return True


def _alike(bounds: Bounds, value: Any) -> bool:
    """Whether ``value`` compares with the bounds (of the same type): else they do not narrow."""
    known = bounds[0] if bounds[0] is not None else bounds[1]
    return known is not None and value is not None and type(known) is type(value)


def _exact(value: Any) -> bool:
    if isinstance(value, str):
        return True
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, dt.date) and not isinstance(value, dt.datetime))


def file_ranges(table: Table, columns: Iterable[str]) -> dict[str, FileRanges] | None:
    """Every live data file of ``table`` by URI, with the bounds of ``columns`` its statistics
    give exactly (a partition column's bounds are its value); None if the log cannot be read."""
    from urllib.parse import unquote, urlsplit

    columns = list(dict.fromkeys(columns))
    try:
        delta = DeltaTable(table.path)
        actions = pa.table(delta.get_add_actions(flatten=True))
    except Exception:  # no table, or a log delta-rs cannot read: nothing is ruled out
        return None
    names = set(actions.column_names)
    partitions = [n for n in actions.column_names if n.startswith("partition.")]
    wanted = ["path", "num_records", *partitions]
    for column in columns:
        wanted += [n for n in (f"min.{column}", f"max.{column}", f"null_count.{column}") if n in names]
    root = delta.table_uri.rstrip("/")
    files: dict[str, FileRanges] = {}
    for row in actions.select(list(dict.fromkeys(wanted))).to_pylist():
        relative = row["path"]
        uri = relative if urlsplit(relative).scheme else f"{root}/{unquote(relative)}"
        values = tuple((n.removeprefix("partition."), row[n]) for n in partitions)
        given = dict(values)
        bounds: dict[str, Bounds] = {}
        for column in columns:
            if column in given:
                if given[column] is not None:
                    bounds[column] = (given[column], given[column])
                continue
            low, high = row.get(f"min.{column}"), row.get(f"max.{column}")
            if low is None or high is None or not (_exact(low) and _exact(high)):
                continue  # no statistics, only nulls, or inexact ones (timestamps, floats)
            if type(low) is not type(high):
                continue
            if isinstance(high, str) and len(high) >= STRING_STATS_PREFIX:
                high = None  # may be cut: no upper bound
            bounds[column] = (low, high)
        files[uri] = FileRanges(uri, values, row["num_records"], bounds)
    return files


def files_holding(
    table: Table, values: Mapping[str, Iterable[Any]]
) -> tuple[list[FileRanges], list[FileRanges]] | None:
    """(the files that may hold a row with these values in every column, every live file); None
    if the log cannot be read. A column whose values include a null (or a type the bounds cannot
    be compared with) does not narrow."""
    files = file_ranges(table, values)
    if files is None:
        return None
    comparable: dict[str, list[Any]] = {}
    for column, given in values.items():
        given = set(given)
        if not given or None in given or not all(_exact(v) for v in given):
            continue
        if len({type(v) for v in given}) > 1:
            continue
        comparable[column] = sorted(given)
    kept = [f for f in files.values() if f.may_hold_values(comparable)]
    return kept, list(files.values())
