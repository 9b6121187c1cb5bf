"""Snapshot feeds as changes: a daily full snapshot costs what changed in it, not its size.

A CRM, product master or store list is delivered whole every day, though few rows change. Parsing,
typing and writing every row with Spark made a 100k-member snapshot cost 43-54 s a day. Here, after
staging (pure Python and pyarrow, before Spark), each record gets a key (the landing contract's keys
but the snapshot date) and a digest of its content (every field but the snapshot date), and is
compared with the previous snapshot's key -> digest state (``ops.snapshot_state``, delta-rs):

- a key with one record whose digest is unchanged is counted (``outcome = unchanged``) and dropped
  from the staging file, so Spark never sees it;
- a new key, a changed record, and every record of a key listed twice go on to Spark as usual,
  tagged ``_change = new | changed``;
- a key of the previous snapshot absent today, and a key whose only record is quarantined today,
  become a ``gone`` row in bronze carrying the last version's values (so the bronze contract holds);
  that is what a full snapshot meant to every consumer: no valid row of the key that day.

Bronze thus holds the history of each key: a version starts at its row's ``_landing_date`` and is
present until the ``_previous_snapshot`` of its key's next change (``jobs.silver.snapshots``).
Reconciliation still balances per file: received = rows in bronze (gone rows aside) + quarantined
+ unchanged (counted in ``ops.snapshot_state``).

Bad records: a record quarantined yesterday and identical today is unchanged, counted with its
status ``quarantined`` (``SnapshotDiff.unchanged_quarantined``) rather than quarantined again each
day; a line without a key (malformed CSV) is matched by its digest the same way. Its quarantine
row, with the reason, stays from the day it first arrived.

A snapshot older than the state's (a late re-delivery), or any snapshot while diffing is off
(``OMNILAKE_SNAPSHOT_DIFF=false``), is taken whole as ``_change = full``: every row, present that
day only. Switching the diffing off and on again on one lake leaves history gaps; the switch is
for comparing the two paths on fresh lakes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable, write_deltalake
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from jobs.bronze.file_rows import rows_of_files
from omnilake import delta
from omnilake.contracts import Contract, contract
from omnilake.feeds import load_feeds
from omnilake.lake import Lake
from omnilake.landing import STAGED_SCHEMA, StagedFile
from omnilake.settings import get_settings
from omnilake.storage.transient import Staging

log = logging.getLogger(__name__)

SNAPSHOT_DATE_FIELDS = ("snapshot_date",)
KEY_SEPARATOR = "\x1f"
STATE_TABLE = "ops.snapshot_state"
CHANGE_COLUMNS = pa.schema(
    [("_change", pa.string()), ("_previous_snapshot", pa.date32()), ("_gone_if_refused", pa.bool_())]
)
DIFF_SCHEMA = pa.schema([*STAGED_SCHEMA, *CHANGE_COLUMNS])


# Snapshot feeds whose silver table keeps every day's rows (``silver.inventory_positions``): as
# changes, silver would have to expand them back to whole days, so they are taken whole.
KEPT_WHOLE = frozenset({"inventory_online", "inventory_store"})


def is_snapshot_feed(source: str) -> bool:
    """Whether ``source`` is ingested as changes: it is declared ``kind: snapshot``
    (``omnilake.feeds``), its landing contract keys records by ``snapshot_date`` plus at least one
    record key (what the diff compares across snapshots), and silver does not need every day whole
    (``KEPT_WHOLE``). A snapshot feed that fails either condition is ingested whole, every day.
    """
    feed = load_feeds().feeds.get(source)
    if feed is None or not feed.is_snapshot or source in KEPT_WHOLE:
        return False
    landing = contract("landing", source)
    return any(k in SNAPSHOT_DATE_FIELDS for k in landing.keys) and bool(record_key_fields(landing))


def diffing_enabled() -> bool:
    return get_settings().snapshot_diff


def record_key_fields(landing: Contract) -> list[str]:
    """The contract's keys without the snapshot date: what identifies a record across snapshots."""
    return [k for k in landing.keys if k not in SNAPSHOT_DATE_FIELDS]


@dataclass
class _Prior:
    """One key (or one keyless digest) of the snapshot compared with."""

    digest: str
    records: int
    origin_file_hash: str
    origin_line: int
    status: str  # bronze | quarantined | sent (parsed in this batch, classification not known yet)


@dataclass
class FileDiff:
    staged: StagedFile
    mode: str  # diff | full
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    unchanged_quarantined: int = 0
    gone: int = 0


@dataclass
class SnapshotDiff:
    """The diff of one run's snapshot files of one source, from staging to the state write."""

    source: str
    landing: Contract
    previous_file: str | None
    files: list[FileDiff] = field(default_factory=list)
    gone_path: Path | None = None
    watch_refused: bool = False  # some parsed record would leave its key gone if quarantined
    _state_tables: list[pa.Table] = field(default_factory=list)  # one per diffed file, in order

    @property
    def hashes(self) -> list[str]:
        return [f.staged.file_hash for f in self.files]

    def unchanged(self) -> dict[str, int]:
        return {f.staged.file_hash: f.unchanged for f in self.files}

    # --- Spark side ------------------------------------------------------------------------------

    def with_gone_rows(
        self,
        spark: SparkSession,
        lake: Lake,
        staging: Staging,
        classified: DataFrame,
        bronze: DataFrame,
        batch_id: str,
        ingested_at: Column,
    ) -> DataFrame:
        """``bronze`` (this batch's good rows) plus a ``gone`` row per key that left the snapshot or
        whose only record was quarantined, with the values of the key's last version. Spark reads and
        writes its files in ``staging`` (under the lake on an object store)."""
        if self.gone_path is None and not self.watch_refused:
            return bronze
        keys = record_key_fields(self.landing)
        types = {k: self.landing.field(k).spark_type for k in keys}
        gone = classified.where(
            F.col("reason").isNotNull() & F.coalesce(F.col("_gone_if_refused"), F.lit(False))
        ).select(
            *[F.col(f"_typed_{k}").alias(f"_g_{k}") for k in keys],
            F.col("_file_hash").alias("_g_file_hash"),
            F.col("_source_file").alias("_g_source_file"),
            F.to_date("_landing_date").alias("_g_landing_date"),
            F.col("_line").alias("_g_line"),
            F.col("_previous_snapshot").alias("_g_previous_snapshot"),
        )
        gone = gone.where(F.coalesce(*[F.col(f"_g_{k}").isNotNull() for k in keys]))
        if self.gone_path is not None:
            absent = spark.read.parquet(staging.shared(self.gone_path)).select(
                *[F.col(k).cast(types[k]).alias(f"_g_{k}") for k in keys],
                F.col("_file_hash").alias("_g_file_hash"),
                F.col("_source_file").alias("_g_source_file"),
                F.to_date("_landing_date").alias("_g_landing_date"),
                F.col("_line").alias("_g_line"),
                F.col("_previous_snapshot").alias("_g_previous_snapshot"),
            )
            gone = gone.unionByName(absent)
        # Written out and read back: joined with rows of the same plan, Sail cannot resolve the keys.
        gone_rows = staging.for_spark("gone-rows")
        gone.write.mode("overwrite").parquet(gone_rows)
        gone = spark.read.schema(gone.schema).parquet(gone_rows)
        table = lake.table(f"bronze.{self.source}")
        versions = bronze
        if delta.exists(table):
            earlier = delta.read(spark, table).where(
                ~F.col("_file_hash").isin(self.hashes) & ~F.col("_change").eqNullSafe("gone")
            )
            versions = earlier.unionByName(versions)
        by_gone = Window.partitionBy(*[f"_g_{k}" for k in keys], "_g_landing_date").orderBy(
            F.col("_landing_date").desc(), F.col("_file_hash").desc(), F.col("_line").desc()
        )
        last = (
            gone.join(versions, [F.col(f"_g_{k}") == F.col(k) for k in keys])
            .where(F.col("_landing_date") < F.col("_g_landing_date"))
            .withColumn("_rank", F.row_number().over(by_gone))
            .where(F.col("_rank") == 1)
        )
        dated = {f for f in SNAPSHOT_DATE_FIELDS if f in self.landing.field_names}
        rows = last.select(
            *[
                F.col("_g_landing_date").alias(f.name) if f.name in dated else F.col(f.name)
                for f in self.landing.fields
            ],
            F.lit(None).cast("string").alias("_rescued"),
            F.lit("").alias("_raw"),
            F.col("_g_source_file").alias("_source_file"),
            F.col("_g_file_hash").alias("_file_hash"),
            F.col("_g_line").alias("_line"),
            F.lit(batch_id).alias("_batch_id"),
            ingested_at.alias("_ingested_at"),
            F.lit("gone").alias("_change"),
            F.col("_g_previous_snapshot").alias("_previous_snapshot"),
            F.col("_g_landing_date").alias("_landing_date"),
        )
        return bronze.unionByName(rows)

    # --- after the bronze and quarantine writes --------------------------------------------------

    def record_state(self, spark: SparkSession, lake: Lake) -> None:
        """Write the state of every snapshot file of this run, each record's status now known.

        The next run compares with the last of them; the others are kept until then so that
        reconciliation can count each file's unchanged records in the table."""
        if not self._state_tables:
            return
        quarantine = lake.table(f"quarantine.{self.source}")
        quarantined: set[tuple[str, int]] = set()
        if delta.exists(quarantine):  # records parsed in this run came from this run's files
            rows = rows_of_files(quarantine.path, [f.staged for f in self.files], ["_file_hash", "_line"])
            quarantined = set(
                zip(rows.column("_file_hash").to_pylist(), rows.column("_line").to_pylist(), strict=True)
            )
        resolved = []
        for state in self._state_tables:
            origins = zip(
                state.column("status").to_pylist(),
                state.column("origin_file_hash").to_pylist(),
                state.column("origin_line").to_pylist(),
                strict=True,
            )
            statuses = [
                ("quarantined" if (h, n) in quarantined else "bronze") if status == "sent" else status
                for status, h, n in origins
            ]
            column = state.schema.get_field_index("status")
            resolved.append(state.set_column(column, "status", pa.array(statuses, pa.string())))
        data = pa.concat_tables(resolved)
        table = lake.table(STATE_TABLE)
        keep = f" and file_hash <> '{self.previous_file}'" if self.previous_file else ""
        if DeltaTable.is_deltatable(table.path):
            write_deltalake(table.path, data, mode="overwrite", predicate=f"source = '{self.source}'{keep}")
        else:
            write_deltalake(table.path, data, mode="append")
        delta.checkpoint_if_due(table.path)  # delta-rs checkpoints only every 100 commits itself

    def counted_unchanged(self, lake: Lake) -> dict[str, int]:
        """Unchanged records per file of this run, counted in ``ops.snapshot_state`` (not assumed)."""
        table = lake.table(STATE_TABLE)
        counts = dict.fromkeys(self.hashes, 0)
        if not DeltaTable.is_deltatable(table.path) or not self._state_tables:
            return counts
        rows = DeltaTable(table.path).to_pyarrow_table(
            columns=["file_hash", "outcome"],
            filters=[("source", "=", self.source), ("outcome", "=", "unchanged")],
        )
        for file_hash, n in Counter(rows.column("file_hash").to_pylist()).items():
            if file_hash in counts:
                counts[file_hash] = n
        return counts


def _arrow_schema(state: Contract) -> pa.Schema:
    types = {"string": pa.string(), "date": pa.date32(), "long": pa.int64()}
    return pa.schema([pa.field(f.name, types[f.type], nullable=not f.required) for f in state.fields])


STATE_SCHEMA = _arrow_schema(contract("ops", "snapshot_state"))


# --- staging side --------------------------------------------------------------------------------


def _digest(parts: object) -> str:
    text = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def _records(path: Path, landing: Contract) -> tuple[pa.Table, list[str | None], list[str]]:
    """The staged table, and per record its key (None if it has none) and content digest."""
    table = pq.read_table(path)
    keys = [landing.field(k).raw_name for k in record_key_fields(landing)]
    dated = {landing.field(f).raw_name for f in SNAPSHOT_DATE_FIELDS if f in landing.field_names}
    raws = table.column("_raw").to_pylist()
    errors = table.column("_stage_error").to_pylist()
    if landing.format == "csv":
        fields = table.column("_fields").to_pylist()
    else:
        fields = []
        for raw in raws:
            try:
                value = json.loads(raw)
            except ValueError:
                value = None
            fields.append(
                [
                    (k, v if isinstance(v, str) or v is None else json.dumps(v, sort_keys=True))
                    for k, v in value.items()
                ]
                if isinstance(value, dict)
                else None
            )
    record_keys: list[str | None] = []
    digests: list[str] = []
    for raw, pairs, error in zip(raws, fields, errors, strict=True):
        if error is not None or pairs is None:
            record_keys.append(None)
            digests.append(_digest(["raw", raw]))
            continue
        values = dict(pairs)
        key_values = [(values.get(k) or "").strip(" ") for k in keys]
        record_keys.append(KEY_SEPARATOR.join(key_values) if all(key_values) else None)
        digests.append(_digest(sorted((k, v) for k, v in pairs if k not in dated)))
    return table, record_keys, digests


def previous_state(lake: Lake, source: str) -> tuple[str | None, date | None, dict[str | None, list]]:
    """The state of the last snapshot file the ledger confirms: (file hash, landing date, state)."""
    ledger = lake.table("ops.ingestion_ledger")
    if not DeltaTable.is_deltatable(ledger.path):
        return None, None, {}
    files = (
        DeltaTable(ledger.path)
        .to_pyarrow_table(
            columns=["file_hash", "landing_date", "ingested_at", "path"],
            filters=[("source", "=", source), ("status", "=", "ingested")],
        )
        .to_pylist()
    )
    if not files:
        return None, None, {}
    latest = max(files, key=lambda r: (r["landing_date"], r["ingested_at"], r["path"]))
    state_table = lake.table(STATE_TABLE)
    if not DeltaTable.is_deltatable(state_table.path):
        return None, latest["landing_date"], {}
    rows = DeltaTable(state_table.path).to_pyarrow_table(
        filters=[("source", "=", source), ("file_hash", "=", latest["file_hash"])]
    )
    if rows.num_rows == 0:
        return None, latest["landing_date"], {}
    state: dict[str | None, list] = defaultdict(list)
    for r in rows.to_pylist():
        state[r["record_key"]].append(r)
    return latest["file_hash"], latest["landing_date"], state


def _priors(rows_by_key: dict[str | None, list]) -> tuple[dict[str, _Prior], Counter]:
    """Keyed priors, and keyless digests (with their status) as a multiset."""
    keyed: dict[str, _Prior] = {}
    keyless: Counter = Counter()
    for key, rows in rows_by_key.items():
        if key is None:
            for r in rows:
                keyless[(r["digest"], r["status"], r["origin_file_hash"], r["origin_line"])] += 1
            continue
        first = rows[0]
        keyed[key] = _Prior(
            first["digest"], len(rows), first["origin_file_hash"], first["origin_line"], first["status"]
        )
    return keyed, keyless


def prepare(
    lake: Lake, source: str, landing: Contract, readable: list[StagedFile], staging_dir: Path, batch_id: str
) -> SnapshotDiff | None:
    """Diff this run's staged snapshot files of ``source`` (None if it is not a snapshot feed).

    Rewrites each staging file to the records Spark must parse, tagged with ``_change``; writes the
    absent keys to ``staging_dir/gone-keys.parquet``; keeps the state rows for ``record_state``.
    """
    if not readable or not is_snapshot_feed(source):
        return None
    enabled = diffing_enabled()
    previous_file, previous_date, rows_by_key = previous_state(lake, source) if enabled else (None, None, {})
    keyed, keyless = _priors(rows_by_key)
    chain_date = previous_date
    diff = SnapshotDiff(source, landing, previous_file)
    gone_rows: list[dict] = []
    key_fields = record_key_fields(landing)
    # Oldest first: each snapshot is compared with the one delivered before it.
    for staged in sorted(readable, key=lambda s: (s.file.landing_date, s.file.relative_path)):
        path = staging_dir / f"{staged.file_hash}.parquet"
        day = staged.file.landing_date
        table = pq.read_table(path) if path.exists() else STAGED_SCHEMA.empty_table()
        if not enabled or (chain_date is not None and day < chain_date):
            diff.files.append(FileDiff(staged, "full"))
            _write_staging(path, table, ["full"] * table.num_rows, chain_date, [False] * table.num_rows)
            if enabled:
                log.warning(
                    "%s: %s is older than the snapshot of %s; taken whole",
                    source,
                    staged.file.relative_path,
                    chain_date,
                )
            else:
                chain_date = max(chain_date or day, day)
            continue
        result = FileDiff(staged, "diff")
        table, record_keys, digests = _records(path, landing) if path.exists() else (table, [], [])
        lines = table.column("_line").to_pylist()
        per_key: dict[str, list[int]] = defaultdict(list)
        for i, key in enumerate(record_keys):
            if key is not None:
                per_key[key].append(i)
        changes: list[str | None] = [None] * len(lines)
        gone_if_refused = [False] * len(lines)
        state_rows: list[dict] = []
        new_keyed: dict[str, _Prior] = {}
        new_keyless: Counter = Counter()

        def state_row(i: int, key: str | None, digest: str, outcome: str, prior: _Prior | None) -> dict:
            return _state_row(source, staged, lines[i], key, digest, outcome, prior, batch_id)  # noqa: B023

        for key, positions in per_key.items():
            prior = keyed.get(key)
            if len(positions) == 1:
                i = positions[0]
                digest = digests[i]
                if prior is not None and prior.records == 1 and prior.digest == digest:
                    result.unchanged += 1
                    result.unchanged_quarantined += prior.status == "quarantined"
                    row = state_row(i, key, digest, "unchanged", prior)
                else:
                    kind = "new" if prior is None else "changed"
                    changes[i] = kind
                    gone_if_refused[i] = prior is not None and prior.status != "quarantined"
                    row = state_row(i, key, digest, kind, None)
                state_rows.append(row)
            else:
                # A key listed twice: every record is parsed, every day (silver keeps the last line).
                digest = _digest(sorted(digests[i] for i in positions))
                kind = "new" if prior is None else "changed"
                for i in positions:
                    changes[i] = kind
                    state_rows.append(state_row(i, key, digest, kind, None))
            last = state_rows[-1]
            new_keyed[key] = _Prior(
                digest, len(positions), last["origin_file_hash"], last["origin_line"], last["status"]
            )
        for i, key in enumerate(record_keys):
            if key is not None:
                continue
            match = next((k for k in keyless if k[0] == digests[i] and keyless[k] > 0), None)
            if match is not None:
                keyless[match] -= 1
                prior = _Prior(match[0], 1, match[2], match[3], match[1])
                result.unchanged += 1
                result.unchanged_quarantined += prior.status == "quarantined"
                row = state_row(i, None, digests[i], "unchanged", prior)
            else:
                changes[i] = "changed" if previous_file or chain_date else "new"
                row = state_row(i, None, digests[i], changes[i], None)
            state_rows.append(row)
            new_keyless[(row["digest"], row["status"], row["origin_file_hash"], row["origin_line"])] += 1
        for key, prior in keyed.items():
            if key not in per_key and prior.status != "quarantined":
                result.gone += 1
                gone_rows.append(
                    {
                        **dict(zip(key_fields, key.split(KEY_SEPARATOR), strict=True)),
                        "_file_hash": staged.file_hash,
                        "_source_file": staged.file.relative_path,
                        "_landing_date": day.isoformat(),
                        "_line": -result.gone,
                        "_previous_snapshot": chain_date,
                    }
                )
        diff.watch_refused = diff.watch_refused or any(gone_if_refused)
        result.new = changes.count("new")
        result.changed = changes.count("changed")
        sent = [c is not None for c in changes]
        _write_staging(
            path,
            table.filter(pa.array(sent, pa.bool_())),
            [c for c in changes if c is not None],
            chain_date,
            [g for g, s in zip(gone_if_refused, sent, strict=True) if s],
        )
        diff.files.append(result)
        diff._state_tables.append(pa.Table.from_pylist(state_rows, schema=STATE_SCHEMA))
        keyed, keyless, chain_date = new_keyed, new_keyless, day
        log.info(
            "%s %s: %d new, %d changed, %d unchanged (%d of them quarantined before), %d gone",
            source,
            staged.file.relative_path,
            result.new,
            result.changed,
            result.unchanged,
            result.unchanged_quarantined,
            result.gone,
        )
    if gone_rows:
        diff.gone_path = staging_dir / "gone-keys.parquet"
        schema = pa.schema(
            [
                *[(k, pa.string()) for k in key_fields],
                ("_file_hash", pa.string()),
                ("_source_file", pa.string()),
                ("_landing_date", pa.string()),
                ("_line", pa.int64()),
                ("_previous_snapshot", pa.date32()),
            ]
        )
        pq.write_table(pa.Table.from_pylist(gone_rows, schema=schema), diff.gone_path)
    return diff


def _state_row(
    source: str,
    staged: StagedFile,
    line: int,
    key: str | None,
    digest: str,
    outcome: str,
    prior: _Prior | None,
    batch_id: str,
) -> dict:
    """A row of ``ops.snapshot_state``; an unchanged record keeps its prior's origin and status."""
    if prior is not None:
        origin = (prior.origin_file_hash, prior.origin_line, prior.status)
    else:
        origin = (staged.file_hash, line, "sent")
    return {
        "source": source,
        "file_hash": staged.file_hash,
        "landing_date": staged.file.landing_date,
        "line": line,
        "record_key": key,
        "digest": digest,
        "outcome": outcome,
        "origin_file_hash": origin[0],
        "origin_line": origin[1],
        "status": origin[2],
        "batch_id": batch_id,
    }


def _write_staging(
    path: Path, table: pa.Table, changes: list[str], previous: date | None, gone_if_refused: list[bool]
) -> None:
    """The staging file Spark reads: the records to parse, with their change columns."""
    n = table.num_rows
    extended = table.cast(STAGED_SCHEMA).append_column("_change", pa.array(changes, pa.string()))
    extended = extended.append_column("_previous_snapshot", pa.array([previous] * n, pa.date32()))
    extended = extended.append_column("_gone_if_refused", pa.array(gone_if_refused, pa.bool_()))
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(extended, path, compression="zstd")
