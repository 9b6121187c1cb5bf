"""The gold Delta copies of the marts: write only what a build changed.

``publish_gold`` gives apps every mart as a Delta table under ``gold/``. Most marts change a little
or not at all from one day to the next, and the accumulating ones (the revisions, the customer
observations) only gain the rows known at the run's landing date; overwriting every table each day
would cost all of history every day. So each release records, per mart, a digest of the rows it
published (with the Arrow schema they were written with), and the next publish picks per mart:

- ``unchanged``: the mart's digest and schema are those of the release and the Delta table is still
  at the version the release names (nothing, e.g. an erasure, wrote it since): nothing is written;
- ``append``: an accumulating mart whose rows other than the run's (``known_at`` or ``observed_on``
  equal to the landing date) are exactly the released ones, with the same schema and version: the
  run's rows are appended;
- ``partitions``: a mart partitioned by one column (its contract's ``partition_by``) whose Delta
  table is still at the released version: the partitions whose digest differs from the released
  one (new, changed or emptied) are replaced, with one predicate overwrite, and every other
  partition is left as it is. The sales facts are partitioned by business date: a day changes the
  lines of recent business dates (new orders, their status changes, the till files of the day)
  and, through an identity merge or an erasure, a few old ones, so a day rewrites the business
  dates it changed, not all of history. The latest-revision marts of RFM and inventory positions
  are partitioned by snapshot date: a day replaces the snapshots it revised (the restatement
  window), not every snapshot kept (mart_customer_tags is not: a day rebuilds the changed people at
  every snapshot, so every partition changes);
- ``overwrite``: anything else (the first publish, a full refresh, a contract change, a table
  written since the release, every partition changed): the whole table.

The digest is order-independent: the count of rows and the sum of a 64-bit hash of each row (as a
128-bit integer), so the digest of a mart is the sum of the digests of any split of its rows, its
partitions' among them. It depends on DuckDB's hash function, so the DuckDB version is part of the
schema key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import duckdb
import pyarrow as pa

from omnilake.gold.revisions import DATED_MARTS

# Marts that accumulate one landing date at a time: the column holding the run's landing date.
RUN_COLUMNS: dict[str, str] = {
    **{d.history: "known_at" for d in DATED_MARTS if d.kind == "snapshots"},
    "dim_customer_observations": "observed_on",
}

Action = Literal["unchanged", "append", "partitions", "overwrite"]

# A partition's value as text (None for the null partition), its rows and its digest.
Partition = tuple[str | None, int, str]


@dataclass(frozen=True)
class MartDigest:
    """What one mart holds: all its rows, and the part the run wrote (for accumulating marts)."""

    rows: int
    digest: str
    run_rows: int = 0
    rest_digest: str | None = None  # the digest of the rows other than the run's
    partitions: tuple[Partition, ...] | None = None  # per value of the one partition column


def schema_key(schema: pa.Schema, partition_by: tuple[str, ...]) -> str:
    """The written layout: Arrow schema, partition columns and the DuckDB version of the digest."""
    text = f"{schema}|{','.join(partition_by)}|duckdb {duckdb.__version__}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _hex(value: Any) -> str:
    return f"{int(value or 0) % (1 << 128):032x}"


def mart_digest(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    columns: list[str],
    run_column: str | None,
    landing_date: date,
    partition_column: str | None = None,
) -> MartDigest:
    """The mart's digest in one scan, and the split into the run's rows and the rest, or into the
    partitions of ``partition_column``."""
    quoted = ", ".join(f'"{c}"' for c in columns)
    row_hash = f"hash({quoted})::hugeint"
    if partition_column is not None:
        grouped = con.execute(
            f'select "{partition_column}"::varchar, count(*), sum({row_hash}) from {relation} group by 1'
        ).fetchall()
        partitions = tuple(
            sorted(((v, int(n), _hex(t)) for v, n, t in grouped), key=lambda p: _value_order(p[0]))
        )
        rows = sum(int(n) for _, n, _ in grouped)
        return MartDigest(rows, _hex(sum(int(t) for _, _, t in grouped)), partitions=partitions)
    if run_column is None:
        # fetchall: a DuckDB 2 connection refuses other work while a result is left unfetched
        rows, total = con.execute(f"select count(*), sum({row_hash}) from {relation}").fetchall()[0]
        return MartDigest(int(rows), _hex(total))
    is_run = f'"{run_column}" = $landing_date'
    rows, total, run_rows, rest = con.execute(
        f"select count(*), sum({row_hash}), count(*) filter (where {is_run}), "
        f'sum({row_hash}) filter (where not ({is_run}) or "{run_column}" is null) from {relation}',
        {"landing_date": landing_date},
    ).fetchall()[0]
    return MartDigest(int(rows), _hex(total), int(run_rows), _hex(rest))


def _value_order(value: str | None) -> tuple[bool, str]:
    """Partition values in order, the null partition last."""
    return (value is None, value or "")


def changed_partitions(digest: MartDigest, released: dict[str, Any]) -> list[str | None] | None:
    """The partition values whose rows differ between the release and ``digest`` (new ones and
    ones left empty included), in order; None when either side has no partition digests."""
    if digest.partitions is None or released.get("partitions") is None:
        return None
    before = {value: (rows, total) for value, rows, total in released["partitions"]}
    now = {value: (rows, total) for value, rows, total in digest.partitions}
    changed = [v for v in {**before, **now} if before.get(v) != now.get(v)]
    return sorted(changed, key=_value_order)


def choose_action(
    digest: MartDigest, layout: str, released: dict[str, Any] | None, current_version: int | None
) -> Action:
    """How to bring the mart's Delta copy to ``digest`` from what the last release recorded."""
    if not released or current_version is None or released.get("schema") != layout:
        return "overwrite"
    if released.get("version") != current_version:
        return "overwrite"
    if released.get("digest") == digest.digest and released.get("rows") == digest.rows:
        return "unchanged"
    if (
        digest.rest_digest is not None
        and digest.run_rows > 0
        and released.get("digest") == digest.rest_digest
        and released.get("rows") == digest.rows - digest.run_rows
    ):
        return "append"
    changed = changed_partitions(digest, released)
    if changed and {value for value, _, _ in digest.partitions or ()} - set(changed):
        return "partitions"  # some partition kept: else the whole table is new
    return "overwrite"
