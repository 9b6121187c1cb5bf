"""Erasure on request: remove one person from every copy the lake keeps, and prove it without keeping them.

``erase("email", "jane@example.com")`` (``omnilake erase --email …``, also ``--phone`` and
``--customer-key``), under the lake's writer lock:

1. **resolve** the person. The identifier is normalised and pseudonymised exactly as silver does it
   (``omnilake.privacy``) and looked up in ``silver.customer_identifiers``; the person's keys are that
   ``customer_key`` plus every key merged into it (``silver.customer_key_merges``), and their
   identifiers every (type, hash) of those keys. Bronze rows whose identifier columns hash to one of
   those are the person's, and give the identifiers *as they were typed* (``" Jane.Doe@Example.COM"``),
   which is what landing files, ``_raw`` and quarantine hold. A phone or device that resolves to no
   one is shared (a household landline, a kiosk) or unanchored: the request is refused rather than
   erasing other people's records; an e-mail or card that resolves to no one still has the rows
   carrying it removed.
2. **landing**: every delivered file of a source with personal fields (orders, CRM, events, POS) is
   rewritten without the person's lines: the lines bronze and quarantine took from it (by file hash
   and line number, so a line matched only by an account id goes too) and any line where one of the
   identifiers appears as text (e-mails and ids as whole words, phones in any written format, cards
   with or without spaces). gzip files are re-compressed; other bytes are kept as delivered. The
   rewrite is recorded in ``ops.erasure_receipts`` at once (path, hash before, hash after), and
   ingestion treats ``(path, hash after)`` of a file it had taken as already taken
   (``landing.taken_after_rewrites``), so the rewritten file is neither re-ingested nor seen as a
   new delivery, and a re-delivery of the old bytes is still a duplicate of what the ledger holds.
   A file delivered but not ingested yet is rewritten too and stays new: its other records are
   ingested by the next run, without the person.
3. **other files**: text files outside the Delta tables that may quote the person's identifiers,
   ``customer_key`` or pseudonyms (CRM exports under ``exports/``, validation results, Data Docs,
   logs): line-oriented ones (CSV, NDJSON, logs) lose the lines that do, the others get each
   occurrence replaced by ``[erased]``; ``_ops/scratch`` and ``_ops/staging`` (transient, never in use
   while the writer lock is held) are emptied. The audit trail is never edited: it holds no personal
   data by construction.
4. **tables**, each by a DataFrame filter that collects the matching rows' keys, then a DELETE on
   those keys (so no identifier is ever written into a Delta commit's predicate), in this order:
   quarantine (``_raw`` or ``detail`` carries an identifier); silver (``customer_key``, identifier
   hashes, the person's orders and events, their lines and status history); the gold Delta marts and
   the warehouse (``customer_key``, and the person's online orders in ``fct_sales`` and
   ``mart_oversell_incidents``);
   ``ops.quality_results`` (an observed value quoting the person is redacted); bronze (identifier
   hashes, or ``_raw`` carrying an identifier); ``ops.snapshot_state`` (rows keyed by one of the
   person's member ids); ``silver.customer_identifiers`` last, so that an
   interrupted erasure, run again, still resolves the person (every step is idempotent).
5. **the warehouse file**: rows deleted, then the database is copied into a fresh file
   (``COPY FROM DATABASE``) that replaces the old one atomically: DuckDB's free blocks keep deleted
   bytes, a fresh file has none. Staging warehouses left by an unfinished publish get the same.
   The gold build's mirrors of silver (``omnilake.gold.event_mirror``, ``silver_mirror``) are
   deleted: the next build reloads them from silver.
6. **old bytes**: every Delta table of the lake is vacuumed with zero retention (removed Parquet
   files deleted: time travel ends here), checkpointed, and its log entries older than the checkpoint
   removed: the JSON commits hold per-file min/max statistics (``"email": "jane.doe@…"``) and the
   erasure's own DELETE predicates.
7. **receipt**: ``ops.erasure_receipts`` gets the request id, the identifier type, a keyed hash of
   the request, rows removed per table, lines removed per landing file, and the timings; the audit
   trail gets an ``erasure`` entry (the receipt without the request hash). Neither holds an
   identifier or a ``customer_key``. ``dry_run`` finds and counts everything and changes nothing.

Not covered, by design: the generator's answer key (``landing/_truth/``, absent from a real lake);
aggregates that count the person among others (``mart_journey_funnel``); other people's rows that
share a household IP address or landline with the person; copies outside the lake root (backups,
the source systems, which must be asked separately). Text matching ignores identifiers shorter than
six characters, and numbers shorter than ten digits (a short account id would match unrelated
numbers): rows carrying them are found through their parsed columns and line numbers instead.
"""

from __future__ import annotations

import codecs
import getpass
import gzip
import hashlib
import logging
import os
import re
import shutil
import socket
import time
import uuid
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omnilake.errors import OmnilakeError
from omnilake.gold import event_mirror, silver_mirror
from omnilake.lake import Lake, get_lake
from omnilake.storage.filesystem import LocalFileSystem, filesystem_for
from omnilake.storage.local import local_dir
from omnilake.storage.warehouse import fetch_warehouse, publish_warehouse

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

log = logging.getLogger(__name__)

REQUEST_TYPES = ("email", "phone", "customer_key", "loyalty_card", "member_id", "web_customer_id")
# Identifiers that can be shared by several people; one that resolves to nobody is not erased blind.
WEAK_TYPES = ("phone", "device")
# Where each bronze source keeps identifiers (as identity resolution reads them).
BRONZE_IDENTIFIERS: dict[str, tuple[tuple[str, str], ...]] = {
    "orders": (
        ("email", "email"),
        ("email", "customer.email"),
        ("phone", "phone"),
        ("phone", "customer.phone"),
        ("web_customer_id", "customer.id"),
        ("loyalty_card", "loyalty_card"),
    ),
    "crm_members": (
        ("member_id", "member_id"),
        ("loyalty_card", "loyalty_card"),
        ("email", "email"),
        ("phone", "phone"),
        ("web_customer_id", "web_customer_id"),
    ),
    "events": (
        ("device", "anonymousId"),
        ("web_customer_id", "userId"),
        ("email", "traits.email"),
        ("phone", "traits.phone"),
    ),
    "pos": (("loyalty_card", "loyalty_card"),),
}
PERSON_MARTS = (
    "dim_customer",
    "dim_customer_history",
    "dim_customer_observations",
    "fct_sales",
    "fct_sales_revisions",
    "mart_customer_rfm",
    "mart_customer_rfm_revisions",
    "mart_customer_tags",
)
# Marts that name a person's online orders (not the person): their rows of the erased orders go.
ORDER_MARTS = ("mart_oversell_incidents",)
MIN_TEXT_NEEDLE = 6
MIN_NUMERIC_NEEDLE = 10
LINE_ARTEFACTS = (".csv", ".tsv", ".ndjson", ".jsonl", ".log", ".txt")
REDACTED = "[erased]"
_TEXT_ARTEFACT_MAX_BYTES = 64 * 2**20
_BATCH = 500


class ErasureError(OmnilakeError):
    """The erasure request cannot be served as asked; nothing was changed."""


# --- the plan ------------------------------------------------------------------------------------


@dataclass
class Person:
    """Who is erased: keys, identifier hashes, and the identifiers in clear as bronze holds them.

    Lives in memory only; nothing of it is written anywhere.
    """

    request_type: str
    request_hash: str
    keys: set[str] = field(default_factory=set)
    hashes: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # type -> hashes
    clear: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # type -> values

    @property
    def found(self) -> bool:
        return bool(self.keys)

    def all_hashes(self) -> set[str]:
        return {h for hashes in self.hashes.values() for h in hashes}

    def identifier_count(self) -> int:
        return sum(len(h) for h in self.hashes.values())


@dataclass
class LandingRewrite:
    path: str
    original_sha256: str
    rewritten_sha256: str
    lines_removed: int


@dataclass
class ErasureReceipt:
    """What an erasure did, without personal data (a row of ``ops.erasure_receipts``)."""

    request_id: str
    identifier_type: str
    request_hash: str
    status: str
    person_found: bool
    customer_keys: int
    identifiers: int
    tables: dict[str, int] = field(default_factory=dict)
    landing_files: list[LandingRewrite] = field(default_factory=list)
    artefacts_redacted: list[str] = field(default_factory=list)
    delta_tables_maintained: int = 0
    requested_by: str = ""
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))
    completed_at: datetime | None = None
    seconds: float | None = None

    @property
    def rows_removed(self) -> int:
        return sum(self.tables.values())

    def row(self) -> tuple:
        return (
            self.request_id,
            self.identifier_type,
            self.request_hash,
            self.status,
            self.person_found,
            self.customer_keys,
            self.identifiers,
            [(t, n) for t, n in sorted(self.tables.items())],
            [(r.path, r.original_sha256, r.rewritten_sha256, r.lines_removed) for r in self.landing_files],
            sorted(self.artefacts_redacted),
            self.delta_tables_maintained,
            self.requested_by,
            self.started_at,
            self.completed_at,
            self.seconds,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- identifiers as text -------------------------------------------------------------------------

_SEP = r"[\s().\-]{0,2}"


def _digits_pattern(digits: str, separators: str = _SEP) -> str:
    return separators.join(re.escape(d) for d in digits)


def distinctive(text: str) -> bool:
    """Long enough to be searched for in free text without hitting something else: six characters,
    or ten digits for a number (a seven-digit account id also reads as an order number or a price)."""
    compact = re.sub(r"\W", "", text)
    return len(compact) >= (MIN_NUMERIC_NEEDLE if compact.isdigit() else MIN_TEXT_NEEDLE)


def text_patterns(clear: dict[str, set[str]]) -> list[str]:
    """Regular expressions (case-insensitive) that find the identifiers written anywhere in text."""
    patterns: set[str] = set()
    for identifier_type, values in clear.items():
        for value in values:
            text = value.strip()
            if not distinctive(text):
                continue
            if identifier_type == "email":
                patterns.add(r"(?<![\w.%+\-])" + re.escape(text.lower()) + r"(?![\w\-]|\.\w)")
            elif identifier_type == "phone":
                digits = re.sub(r"\D", "", text)
                if len(digits) == 11 and digits.startswith("1"):
                    digits = digits[1:]
                if len(digits) == 10:
                    patterns.add(r"(?<![\d])(?:\+?1[\s.\-]{0,2})?\(?" + _digits_pattern(digits) + r"(?!\d)")
                elif digits:
                    patterns.add(r"(?<![\d])(?:\+|00)?" + _digits_pattern(digits) + r"(?!\d)")
            elif identifier_type == "loyalty_card":
                digits = re.sub(r"[\s\-]", "", text)
                patterns.add(r"(?<![0-9A-Za-z])" + _digits_pattern(digits, r"[\s\-]?") + r"(?![0-9A-Za-z])")
            else:  # member_id, web_customer_id, device, customer_key, pseudonym: whole words
                patterns.add(r"(?<![0-9A-Za-z\-])" + re.escape(text) + r"(?![0-9A-Za-z\-])")
    return sorted(patterns)


class TextMatcher:
    """Finds the person's identifiers in text; ``coarse`` is a Spark pre-filter for the same."""

    def __init__(self, clear: dict[str, set[str]]) -> None:
        self.patterns = text_patterns(clear)
        self.regex = re.compile("|".join(self.patterns), re.IGNORECASE) if self.patterns else None
        self.words = sorted(
            {
                v.strip().lower()
                for t, values in clear.items()
                if t not in ("phone", "loyalty_card")
                for v in values
                if distinctive(v.strip())
            }
        )
        digits = set()
        for t in ("phone", "loyalty_card"):
            for v in clear.get(t, ()):
                d = re.sub(r"\D", "", v)
                d = d[1:] if t == "phone" and len(d) == 11 and d.startswith("1") else d
                if distinctive(d):
                    digits.add(d)
        self.digits = sorted(digits)

    def __bool__(self) -> bool:
        return self.regex is not None

    def search(self, text: str | None) -> bool:
        return bool(text) and self.regex is not None and self.regex.search(text) is not None

    def redact(self, text: str) -> tuple[str, int]:
        if self.regex is None:
            return text, 0
        return self.regex.subn(REDACTED, text)

    def coarse(self, column: Column) -> Column:
        """A Spark condition true for every value ``search`` could match (and some it would not)."""
        from pyspark.sql import functions as F

        lowered = F.lower(column)
        condition = F.lit(False)
        for word in self.words:
            condition = condition | lowered.contains(word)
        if self.digits:
            only_digits = F.regexp_replace(column, "[^0-9]", "")
            for d in self.digits:
                condition = condition | only_digits.contains(d)
        return F.coalesce(condition, F.lit(False))


# --- resolving the person ------------------------------------------------------------------------


def request_hash(identifier_type: str, normalised: str) -> str:
    """The receipt's keyed hash of a request (domain-separated: it equals no silver pseudonym)."""
    from omnilake.privacy import pseudonym_of

    return pseudonym_of(f"erasure-request:{identifier_type}:{normalised}")


def _normalised(spark: SparkSession, identifier_type: str, value: str) -> str | None:
    from pyspark.sql import functions as F

    from omnilake.privacy import normalise_identifier

    frame = spark.createDataFrame([(value,)], "v string")
    return frame.select(normalise_identifier(identifier_type, F.col("v")).alias("n")).first()["n"]


def _table_frame(spark: SparkSession, lake: Lake, name: str) -> DataFrame | None:
    from omnilake import delta

    table = lake.table(name)
    return spark.read.format("delta").load(table.path) if delta.exists(table) else None


def _isin(column: Column, values: Iterable[str]) -> Column:
    from pyspark.sql import functions as F

    values = sorted(set(values))
    return column.isin(values) if values else F.lit(False)


def resolve(spark: SparkSession, lake: Lake, identifier_type: str, value: str) -> Person:
    """The person an identifier names, with every key, identifier hash and clear identifier."""
    from pyspark.sql import functions as F

    from omnilake.privacy import pseudonym_of

    if identifier_type not in REQUEST_TYPES:
        raise ErasureError(f"cannot erase by {identifier_type!r}; use one of {', '.join(REQUEST_TYPES)}")
    identifiers = _table_frame(spark, lake, "silver.customer_identifiers")
    merges = _table_frame(spark, lake, "silver.customer_key_merges")
    if identifier_type == "customer_key":
        normalised = value.strip()
        person = Person(identifier_type, request_hash(identifier_type, normalised), {normalised})
        if merges is not None:  # a retired key names the person its survivor stands for
            person.keys |= {
                r["surviving_key"]
                for r in merges.where(F.col("merged_key") == normalised).select("surviving_key").collect()
            }
        known = (
            identifiers is not None and identifiers.where(_isin(F.col("customer_key"), person.keys)).count()
        )
        if not known:
            raise ErasureError(f"no person with customer_key {normalised!r} in silver.customer_identifiers")
    else:
        normalised = _normalised(spark, identifier_type, value)
        if not normalised:
            raise ErasureError(
                f"{value!r} is not a valid {identifier_type.replace('_', ' ')}; check the request"
            )
        person = Person(identifier_type, request_hash(identifier_type, normalised))
        own_hash = pseudonym_of(normalised)
        person.hashes[identifier_type].add(own_hash)
        if identifiers is not None:
            person.keys = {
                r["customer_key"]
                for r in identifiers.where(
                    (F.col("identifier_type") == identifier_type) & (F.col("identifier_hash") == own_hash)
                )
                .select("customer_key")
                .collect()
            }
        if not person.keys and identifier_type in WEAK_TYPES:
            raise ErasureError(
                f"this {identifier_type} belongs to no single person (shared by a household or a kiosk, "
                "or never seen with an account): erase by e-mail or --customer-key instead"
            )
    if merges is not None and person.keys:
        person.keys |= {
            r["merged_key"]
            for r in merges.where(_isin(F.col("surviving_key"), person.keys)).select("merged_key").collect()
        }
    if identifiers is not None and person.keys:
        for r in (
            identifiers.where(_isin(F.col("customer_key"), person.keys))
            .select("identifier_type", "identifier_hash")
            .collect()
        ):
            person.hashes[r["identifier_type"]].add(r["identifier_hash"])
    _collect_clear_identifiers(spark, lake, person)
    log.info(
        "erasure: resolved the request to %d key(s) and %d identifier(s)",
        len(person.keys),
        person.identifier_count(),
    )
    return person


def _bronze_hashes(source: str) -> list[tuple[str, str, Column]]:
    """(identifier type, column, hash column) for each identifier column of a bronze source."""
    from pyspark.sql import functions as F

    from omnilake.privacy import identifier_hash

    return [
        (identifier_type, column, identifier_hash(identifier_type, F.col(column).cast("string")))
        for identifier_type, column in BRONZE_IDENTIFIERS[source]
    ]


def _collect_clear_identifiers(spark: SparkSession, lake: Lake, person: Person) -> None:
    """The person's identifiers as bronze holds them (as typed, and normalised)."""
    from pyspark.sql import functions as F

    from omnilake.privacy import normalise_identifier

    for source in BRONZE_IDENTIFIERS:
        bronze = _table_frame(spark, lake, f"bronze.{source}")
        if bronze is None:
            continue
        found = [
            bronze.where(_isin(hashed, person.hashes.get(identifier_type, ()))).select(
                F.lit(identifier_type).alias("identifier_type"),
                F.col(column).cast("string").alias("typed"),
                normalise_identifier(identifier_type, F.col(column).cast("string")).alias("normalised"),
            )
            for identifier_type, column, hashed in _bronze_hashes(source)
            if person.hashes.get(identifier_type)
        ]
        if not found:
            continue
        union = found[0]
        for more in found[1:]:
            union = union.unionByName(more)
        for r in union.distinct().collect():
            for text in (r["typed"], r["normalised"]):
                if text and text.strip():
                    person.clear[r["identifier_type"]].add(text.strip())


# --- deleting rows from Delta tables by key ------------------------------------------------------


def _key_predicate(columns: tuple[str, ...], rows: list[tuple]) -> str:
    """A SQL predicate selecting exactly ``rows`` (key values only: no identifiers end up in the log)."""
    from omnilake.delta import sql_literal

    if len(columns) == 1:
        return f"`{columns[0]}` in ({', '.join(sql_literal(r[0]) for r in rows)})"
    *outer, last = columns
    groups: dict[tuple, list] = defaultdict(list)
    for r in rows:
        groups[tuple(r[:-1])].append(r[-1])
    parts = []
    for prefix, lasts in groups.items():
        equal = " and ".join(
            f"`{c}` is null" if v is None else f"`{c}` = {sql_literal(v)}"
            for c, v in zip(outer, prefix, strict=True)
        )
        parts.append(f"({equal} and `{last}` in ({', '.join(sql_literal(v) for v in lasts)}))")
    return " or ".join(parts)


def _chunks(rows: list[tuple], size: int = _BATCH) -> Iterator[list[tuple]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def delete_matching(
    spark: SparkSession, path: str, condition: Column, key_columns: tuple[str, ...], *, dry_run: bool = False
) -> tuple[int, list[Any]]:
    """Delete the rows of the Delta table at ``path`` where ``condition`` holds; returns (rows, keys)."""
    from deltalake import DeltaTable

    if not DeltaTable.is_deltatable(path):
        return 0, []
    frame = spark.read.format("delta").load(path)
    rows = [tuple(r) for r in frame.where(condition).select(*key_columns).distinct().collect()]
    if rows and not dry_run:
        for chunk in _chunks(rows):
            predicate = _key_predicate(key_columns, chunk)
            spark.sql(f"delete from delta.`{path}` where {predicate}").collect()
    log.debug("erasure: %d row(s) of %s%s", len(rows), path, " (dry run)" if dry_run else "")
    return len(rows), rows


# --- the steps -----------------------------------------------------------------------------------


def _person_sources() -> list[str]:
    """Landing sources with a confidential or restricted field: the only ones that can hold a person."""
    from omnilake.contracts import all_contracts

    return sorted(
        c.name
        for c in all_contracts().values()
        if c.layer == "landing" and any(f.classification in ("confidential", "restricted") for f in c.fields)
    )


@dataclass
class _RecordLines:
    """Landing lines (by file hash) that bronze or quarantine took from the person's records."""

    lines: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))

    def add(self, file_hash: str, line: int, raw: str | None) -> None:
        span = (raw or "").count("\n") + 1
        self.lines[file_hash].update(range(line, line + span))


def _record_matches(
    spark: SparkSession, lake: Lake, person: Person, matcher: TextMatcher
) -> tuple[dict[str, list[tuple]], _RecordLines, set[str], set[str]]:
    """Bronze and quarantine rows of the person: keys per table, landing lines, order ids, message ids."""
    from pyspark.sql import functions as F

    keys: dict[str, list[tuple]] = {}
    record_lines = _RecordLines()
    order_ids: set[str] = set()
    message_ids: set[str] = set()
    for source in _person_sources():
        for layer in ("bronze", "quarantine"):
            frame = _table_frame(spark, lake, f"{layer}.{source}")
            if frame is None:
                continue
            by_hash = F.lit(False)
            if layer == "bronze" and source in BRONZE_IDENTIFIERS:
                for identifier_type, _, hashed in _bronze_hashes(source):
                    if person.hashes.get(identifier_type):
                        by_hash = by_hash | F.coalesce(
                            _isin(hashed, person.hashes[identifier_type]), F.lit(False)
                        )
            text_columns = ["_raw", "_rescued"] if layer == "bronze" else ["_raw", "detail"]
            coarse = F.lit(False)
            if matcher:
                for column in text_columns:
                    coarse = coarse | matcher.coarse(F.col(column))
            extra = []
            if layer == "bronze" and source == "orders":
                extra = [F.col("id").cast("string").alias("_record_id")]
            elif layer == "bronze" and source == "events":
                extra = [F.col("messageId").alias("_record_id")]
            else:
                extra = [F.lit(None).cast("string").alias("_record_id")]
            candidates = frame.where(by_hash | coarse).select(
                by_hash.alias("_by_hash"),
                "_landing_date",
                "_file_hash",
                "_line",
                "_raw",
                *[F.col(c).alias(f"_text_{i}") for i, c in enumerate(text_columns)],
                *extra,
            )
            matched = []
            for r in candidates.collect():
                texts = [r[f"_text_{i}"] for i in range(len(text_columns))]
                if r["_by_hash"] or any(matcher.search(t) for t in texts):
                    matched.append((r["_landing_date"], r["_file_hash"], r["_line"]))
                    record_lines.add(r["_file_hash"], r["_line"], r["_raw"])
                    if r["_record_id"] and source == "orders":
                        order_ids.add(r["_record_id"])
                    if r["_record_id"] and source == "events":
                        message_ids.add(r["_record_id"])
            keys[f"{layer}.{source}"] = sorted(set(matched))
    return keys, record_lines, order_ids, message_ids


def _silver_conditions(
    person: Person, order_ids: set[str], message_ids: set[str]
) -> dict[str, tuple[Column, tuple]]:
    """Per silver table: the person's rows (as a condition) and the columns to delete them by."""
    from pyspark.sql import functions as F

    from omnilake.privacy import identifier_hash

    keys = _isin(F.col("customer_key"), person.keys)
    hashes = person.all_hashes()

    def hashed(identifier_type: str, column: str) -> Column:
        return F.coalesce(
            _isin(identifier_hash(identifier_type, F.col(column)), person.hashes.get(identifier_type, ())),
            F.lit(False),
        )

    return {
        "silver.customers": (keys, ("customer_key",)),
        "silver.customer_key_merges": (
            _isin(F.col("merged_key"), person.keys) | _isin(F.col("surviving_key"), person.keys),
            ("merged_key",),
        ),
        "silver.orders": (
            keys
            | _isin(F.col("email_hash"), hashes)
            | _isin(F.col("phone_hash"), hashes)
            | hashed("web_customer_id", "web_customer_id")
            | _isin(F.col("order_id"), order_ids),
            ("order_id",),
        ),
        "silver.pos_lines": (
            keys | _isin(F.col("loyalty_card_hash"), hashes),
            ("store_id", "register_id", "transaction_id", "line_no"),
        ),
        # Their events: by device, account or message, and those attributed to one of their keys
        # (``message_ids`` holds those too, see ``_attributed_messages``).
        "silver.events": (
            hashed("device", "anonymous_id")
            | hashed("web_customer_id", "user_id")
            | _isin(F.col("message_id"), message_ids),
            ("message_id",),
        ),
    }


def _attributed_messages(spark: SparkSession, lake: Lake, person: Person) -> set[str]:
    """The events ``silver.event_attribution`` attributes to one of the person's keys."""
    from deltalake import DeltaTable
    from pyspark.sql import functions as F

    from jobs.silver.events import current_attribution, upgrade_layout

    upgrade_layout(spark, lake)  # a lake written with an older layout of the attribution
    path = lake.table("silver.event_attribution").path
    if not DeltaTable.is_deltatable(path):
        return set()
    # their events are those whose latest revision names them (earlier revisions that name them
    # are deleted with the rest of the person's rows)
    frame = current_attribution(spark.read.format("delta").load(path))
    return {r["message_id"] for r in frame.where(_isin(F.col("customer_key"), person.keys)).collect()}


def _count(tables: dict[str, int], name: str, rows: int) -> None:
    if rows:
        tables[name] = tables.get(name, 0) + rows


def _erase_silver(
    spark: SparkSession,
    lake: Lake,
    person: Person,
    order_ids: set[str],
    message_ids: set[str],
    receipt,
    dry_run: bool,
) -> set[str]:
    """Silver rows of the person (but ``customer_identifiers``); returns the online order ids removed."""
    from pyspark.sql import functions as F

    removed_orders = set(order_ids)
    message_ids = message_ids | _attributed_messages(spark, lake, person)
    for name, (condition, key_columns) in _silver_conditions(person, order_ids, message_ids).items():
        rows, keys = delete_matching(spark, lake.table(name).path, condition, key_columns, dry_run=dry_run)
        _count(receipt.tables, name, rows)
        if name == "silver.orders":
            removed_orders |= {k[0] for k in keys}
        if name == "silver.events":
            message_ids |= {k[0] for k in keys}
    # the attribution of every event removed, and whatever else names one of their keys
    name = "silver.event_attribution"
    condition = _isin(F.col("customer_key"), person.keys) | _isin(F.col("message_id"), message_ids)
    rows, _ = delete_matching(spark, lake.table(name).path, condition, ("message_id",), dry_run=dry_run)
    _count(receipt.tables, name, rows)
    for name in ("silver.order_lines", "silver.order_status_history"):
        rows, _ = delete_matching(
            spark,
            lake.table(name).path,
            _isin(F.col("order_id"), removed_orders),
            ("order_id",),
            dry_run=dry_run,
        )
        _count(receipt.tables, name, rows)
    return removed_orders


def _erase_gold(
    spark: SparkSession, lake: Lake, person: Person, order_ids: set[str], receipt, dry_run: bool
) -> None:
    from pyspark.sql import functions as F

    keys = _isin(F.col("customer_key"), person.keys)
    online = F.col("channel") == "online"
    conditions = {
        "gold.dim_customer": (keys, ("customer_key",)),
        "gold.dim_customer_history": (keys, ("customer_key",)),
        "gold.dim_customer_observations": (keys, ("customer_key",)),
        "gold.mart_customer_rfm": (keys, ("customer_key",)),
        "gold.mart_customer_rfm_revisions": (keys, ("customer_key",)),
        "gold.fct_sales": (keys | (online & _isin(F.col("order_id"), order_ids)), ("sales_line_id",)),
        "gold.fct_sales_revisions": (
            keys | (online & _isin(F.col("order_id"), order_ids)),
            ("sales_line_id", "known_from"),
        ),
        "gold.mart_customer_tags": (keys, ("customer_key",)),
        "gold.mart_oversell_incidents": (_isin(F.col("order_id"), order_ids), ("sales_line_id",)),
    }
    for name, (condition, key_columns) in conditions.items():
        rows, _ = delete_matching(spark, lake.table(name).path, condition, key_columns, dry_run=dry_run)
        _count(receipt.tables, name, rows)


def _erase_record_tables(
    spark: SparkSession, lake: Lake, keys: dict[str, list[tuple]], receipt, dry_run: bool
) -> None:
    """Bronze or quarantine rows by (landing date, file hash, line)."""
    for name, rows in keys.items():
        if not rows:
            continue
        if not dry_run:
            path = lake.table(name).path
            for chunk in _chunks(rows):
                predicate = _key_predicate(("_landing_date", "_file_hash", "_line"), chunk)
                spark.sql(f"delete from delta.`{path}` where {predicate}").collect()
        _count(receipt.tables, name, len(rows))


def _erase_identifiers(spark: SparkSession, lake: Lake, person: Person, receipt, dry_run: bool) -> None:
    from pyspark.sql import functions as F

    condition = _isin(F.col("customer_key"), person.keys) | _isin(
        F.col("identifier_hash"), person.all_hashes()
    )
    name = "silver.customer_identifiers"
    rows, _ = delete_matching(
        spark, lake.table(name).path, condition, ("identifier_type", "identifier_hash"), dry_run=dry_run
    )
    _count(receipt.tables, name, rows)
    # operators' splits name the person's pseudonyms too (the other side's rows stay: not theirs)
    name = "ops.identity_splits"
    keys = ("split_id", "identifier_type", "identifier_hash")
    own = _isin(F.col("identifier_hash"), person.all_hashes())
    rows, _ = delete_matching(spark, lake.table(name).path, own, keys, dry_run=dry_run)
    _count(receipt.tables, name, rows)


# Incremental state compacted from rows that may be the person's (silver identity, customers and
# events keep it so a run reads only new bronze batches); emptied whole, so the next run rebuilds it from bronze
# without the erased rows, exactly as a full recompute would.
DERIVED_STATE = (
    "silver.identity_observations",
    "silver.identity_checkouts",
    "silver.identity_edges",
    "silver.events_identity_basis",
    "silver.customer_members",
    "silver.customer_contacts",
    "silver.customer_web_accounts",
)


def _reset_derived_state(spark: SparkSession, lake: Lake, dry_run: bool) -> None:
    from deltalake import DeltaTable

    for name in DERIVED_STATE:
        path = lake.table(name).path
        if not dry_run and DeltaTable.is_deltatable(path):
            spark.sql(f"delete from delta.`{path}`").collect()
            log.info("erasure: emptied %s (rebuilt from bronze by the next run)", name)


def _erase_snapshot_state(spark: SparkSession, lake: Lake, person: Person, receipt, dry_run: bool) -> None:
    """``ops.snapshot_state`` rows keyed by one of the person's identifiers (a CRM member id): the
    state of a snapshot feed holds record keys, and a key may be personal."""
    from pyspark.sql import functions as F

    from omnilake.contracts import contract
    from omnilake.privacy import identifier_hash

    condition = F.lit(False)
    for source, columns in BRONZE_IDENTIFIERS.items():
        keys = [k for k in contract("landing", source).keys if k != "snapshot_date"]
        for identifier_type, column in columns:
            if keys == [column] and person.hashes.get(identifier_type):
                hashed = identifier_hash(identifier_type, F.col("record_key"))
                condition = condition | (
                    (F.col("source") == source)
                    & F.coalesce(_isin(hashed, person.hashes[identifier_type]), F.lit(False))
                )
    name = "ops.snapshot_state"
    table = lake.table(name)
    rows, _ = delete_matching(spark, table.path, condition, tuple(table.keys), dry_run=dry_run)
    _count(receipt.tables, name, rows)


def _redact_quality_results(
    spark: SparkSession, lake: Lake, matcher: TextMatcher, receipt, dry_run: bool
) -> None:
    """Observed values and details of checks that quote one of the person's identifiers become [erased]."""
    from deltalake import DeltaTable
    from pyspark.sql import functions as F

    from omnilake.delta import sql_literal

    table = lake.table("ops.quality_results")
    if not matcher or not DeltaTable.is_deltatable(table.path):
        return
    frame = spark.read.format("delta").load(table.path)
    candidates = frame.where(matcher.coarse(F.col("observed_value")) | matcher.coarse(F.col("details")))
    keys = [
        tuple(r[k] for k in table.keys)
        for r in candidates.collect()
        if matcher.search(r["observed_value"]) or matcher.search(r["details"])
    ]
    if keys and not dry_run:
        for chunk in _chunks(keys):
            DeltaTable(table.path).update(
                updates={"observed_value": sql_literal(REDACTED), "details": sql_literal(REDACTED)},
                predicate=_key_predicate(table.keys, chunk).replace("`", '"'),
            )
    _count(receipt.tables, "ops.quality_results (redacted)", len(keys))


# --- landing files -------------------------------------------------------------------------------


def _read_landing(path: Path | str) -> tuple[bytes, bool]:
    """The file's (decompressed) bytes, and whether it was gzip. A damaged gzip gives what it can."""
    raw = filesystem_for(path).read_bytes(str(path))
    if not str(path).endswith(".gz"):
        return raw, False
    inflater = zlib.decompressobj(wbits=31)
    try:
        return inflater.decompress(raw) + inflater.flush(), True
    except zlib.error:
        return inflater.flush(), True


def _physical_lines(data: bytes) -> list[bytes]:
    """Lines as ``omnilake.landing`` numbers them (split on LF, endings kept)."""
    return re.split(b"(?<=\n)", data)


def rewrite_landing_file(
    path: Path | str, file_hash: str, record_lines: set[int], matcher: TextMatcher, *, dry_run: bool = False
) -> tuple[str, int] | None:
    """Rewrite ``path`` without ``record_lines`` and lines where an identifier appears as text.

    Returns (new SHA-256, lines removed), or None when no line is the person's. The new file replaces
    the old atomically; gzip is written with a zero timestamp (the same content, the same bytes).
    """
    data, compressed = _read_landing(path)
    # An ASCII-compatible encoding (UTF-8, or the Latin-1 or GBK of a refused file) keeps an
    # identifier's bytes intact; a UTF-16 export (refused, never ingested) is matched decoded.
    utf16 = data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    text_lines = re.split("(?<=\n)", data.decode("utf-16", errors="replace")) if utf16 else None
    lines = [line for line in (text_lines or _physical_lines(data)) if line]
    kept: list = []
    removed = 0
    for number, line in enumerate(lines, start=1):
        text = line if isinstance(line, str) else line.decode("utf-8", errors="replace")
        if number in record_lines or matcher.search(text):
            removed += 1
        else:
            kept.append(line)
    if not removed:
        return None
    content = "".join(kept).encode("utf-16") if utf16 else b"".join(kept)
    if compressed:
        content = gzip.compress(content, mtime=0)
    new_hash = hashlib.sha256(content).hexdigest()
    if not dry_run and not isinstance(filesystem_for(path), LocalFileSystem):
        filesystem_for(path).write_bytes(str(path), content)  # one PUT: the new object whole, or none
    elif not dry_run:
        path = Path(path)
        temporary = path.with_name(f".{path.name}.erasure-{uuid.uuid4().hex[:8]}")
        with temporary.open("wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    log.debug(
        "erasure: %s without %d line(s) (was %s)", str(path).rsplit("/", 1)[-1], removed, file_hash[:12]
    )
    return new_hash, removed


def _rewrite_landing(
    lake: Lake, record_lines: _RecordLines, matcher: TextMatcher, receipt, dry_run: bool
) -> None:
    from omnilake.landing import discover

    landing = lake.landing
    if not filesystem_for(landing).is_dir(landing):
        return
    for source in _person_sources():
        for delivered in discover(landing, source):
            original = delivered.sha256()
            rewritten = rewrite_landing_file(
                delivered.path, original, record_lines.lines.get(original, set()), matcher, dry_run=dry_run
            )
            if rewritten:
                receipt.landing_files.append(LandingRewrite(delivered.relative_path, original, *rewritten))


# --- other files under the lake root -------------------------------------------------------------


def _delta_dirs(root: Path | str) -> list[Path] | list[str]:
    if not isinstance(root, Path):  # an object store: a table is a prefix holding a _delta_log/
        tables = {
            info.path.split("/_delta_log/", 1)[0]
            for info in filesystem_for(root).walk(root)
            if "/_delta_log/" in info.path
        }
        return sorted(t for t in tables if not t[len(root) :].lstrip("/").startswith("landing/"))
    return sorted(
        p.parent
        for p in root.rglob("_delta_log")
        if p.is_dir() and "landing" not in p.relative_to(root).parts[:1]
    )


def _text_artefacts(root: Path, skip: set[Path]) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d not in skip and not (here / d / "_delta_log").is_dir()]
        for name in filenames:
            path = here / name
            if path.suffix in (".duckdb", ".wal", ".parquet", ".lock") or not path.is_file():
                continue
            if path.stat().st_size <= _TEXT_ARTEFACT_MAX_BYTES:
                yield path


def _redact_artefacts(lake: Lake, matcher: TextMatcher, receipt, dry_run: bool) -> None:
    """Text files outside the tables (exports, validation results, Data Docs, logs): the person's lines
    removed from line-oriented files, their identifiers replaced elsewhere; transient folders emptied.
    On an object-store lake, the objects under the lake and the lake's local folder (copies of the
    Data Docs, dbt's artifacts, staging) both."""
    if not lake.root.is_local:
        _redact_objects(lake, matcher, receipt, dry_run)
        local = local_dir(lake.root)
        if local.is_dir():
            _redact_folder(local, matcher, receipt, dry_run, shown="local folder")
        return
    _redact_folder(lake.root.local_path, matcher, receipt, dry_run)


def _redact_objects(lake: Lake, matcher: TextMatcher, receipt, dry_run: bool) -> None:
    fs = filesystem_for(lake.root.uri)
    root = lake.root.uri
    transient = tuple(lake.path("_ops", name) + "/" for name in ("scratch", "staging"))
    skip = (lake.path("landing") + "/", lake.path("_ops", "audit") + "/")
    tables = tuple(t + "/" for t in _delta_dirs(root))
    emptied: set[str] = set()
    for info in list(fs.walk(root)):
        if info.path.startswith(transient):
            folder = next(t for t in transient if info.path.startswith(t))
            emptied.add(folder)
            if not dry_run:
                fs.delete(info.path)
            continue
        if info.path.startswith((*skip, *tables)) or info.size > _TEXT_ARTEFACT_MAX_BYTES:
            continue
        if info.path.endswith((".duckdb", ".wal", ".parquet", ".lock")) or not matcher:
            continue
        try:
            text = fs.read_bytes(info.path).decode("utf-8")
        except UnicodeDecodeError:
            continue
        redacted, count = _redacted(text, Path(info.name).suffix, matcher)
        if count:
            receipt.artefacts_redacted.append(info.path[len(root) :].lstrip("/"))
            if not dry_run:
                fs.write_bytes(info.path, redacted.encode("utf-8"))
    for folder in sorted(emptied):
        receipt.artefacts_redacted.append(f"{folder[len(root) :].lstrip('/')} (emptied)")
    audit = lake.path("_ops", "audit", "audit.jsonl")
    if matcher and fs.stat(audit) is not None and matcher.search(fs.read_bytes(audit).decode("utf-8")):
        log.error("the audit trail quotes one of the identifiers; it is never edited: review %s", audit)


def _redacted(text: str, suffix: str, matcher: TextMatcher) -> tuple[str, int]:
    if suffix in LINE_ARTEFACTS:  # exports and logs: the person's lines go
        lines = text.splitlines(keepends=True)
        kept = [line for line in lines if not matcher.search(line)]
        return "".join(kept), len(lines) - len(kept)
    return matcher.redact(text)


def _redact_folder(
    root: Path, matcher: TextMatcher, receipt, dry_run: bool, shown: str | None = None
) -> None:
    transient = [root / "_ops" / "scratch", root / "_ops" / "staging"]
    for folder in transient:
        if folder.is_dir() and any(folder.iterdir()):
            where = f"{folder.relative_to(root)}/ (emptied)"
            receipt.artefacts_redacted.append(f"{shown}: {where}" if shown else where)
            if not dry_run:
                for child in folder.iterdir():
                    if child.is_dir():
                        shutil.rmtree(child)
                    else:
                        child.unlink()
    if not matcher:
        return
    skip = {root / "landing", root / "_ops" / "audit", *transient}
    for path in _text_artefacts(root, skip):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        redacted, count = _redacted(text, path.suffix, matcher)
        if count:
            where = path.relative_to(root)
            receipt.artefacts_redacted.append(f"{shown}: {where}" if shown else str(where))
            if not dry_run:
                temporary = path.with_name(f".{path.name}.erasure")
                temporary.write_text(redacted, encoding="utf-8")
                os.replace(temporary, path)
    audit = root / "_ops" / "audit" / "audit.jsonl"
    if audit.exists() and matcher.search(audit.read_text(encoding="utf-8")):
        log.error("the audit trail quotes one of the identifiers; it is never edited: review %s", audit)


# --- the warehouse -------------------------------------------------------------------------------


def _warehouses(lake: Lake) -> list[Path]:
    """The lake's DuckDB files; on an object-store lake, the local copy of the published version
    (fetched first) and any builds in the lake's local folder."""
    if not lake.root.is_local:
        fetch_warehouse(lake.root, local_dir(lake.root, "warehouse.duckdb"))
    root = local_dir(lake.root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("warehouse*.duckdb") if p.is_file())


def erase_from_warehouse(
    path: Path, keys: set[str], order_ids: set[str], *, dry_run: bool = False
) -> dict[str, int]:
    """Delete the person's rows from a DuckDB warehouse, then replace the file by a fresh copy."""
    import duckdb

    removed: dict[str, int] = {}
    if not keys and not order_ids:
        return removed
    with duckdb.connect(str(path), read_only=dry_run) as con:
        con.execute("create temp table erased_keys (customer_key varchar)")
        if keys:  # executemany refuses an empty list
            con.executemany("insert into erased_keys values (?)", [(k,) for k in sorted(keys)])
        con.execute("create temp table erased_orders (order_id varchar)")
        if order_ids:
            con.executemany("insert into erased_orders values (?)", [(o,) for o in sorted(order_ids)])
        present = {
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where database_name = current_database() and schema_name = 'main'"
            ).fetchall()
        }
        for mart in (*PERSON_MARTS, *ORDER_MARTS):
            if mart not in present:
                continue
            condition = "customer_key in (select customer_key from erased_keys)"
            if mart in ORDER_MARTS:
                condition = "order_id in (select order_id from erased_orders)"
            if mart in ("fct_sales", "fct_sales_revisions"):
                condition += " or (channel = 'online' and order_id in (select order_id from erased_orders))"
            count = con.execute(f"select count(*) from main.{mart} where {condition}").fetchone()[0]
            if count and not dry_run:
                con.execute(f"delete from main.{mart} where {condition}")
            if count:
                removed[f"warehouse.{mart}"] = count
        # The change capture records a digest per online order (sales) and per person (customer
        # tags): the erased ones go too, where the table exists.
        captures = {
            "sales_source_digests": "channel = 'online' and order_id in (select order_id from erased_orders)",
            "customer_tag_day_digests": "customer_key in (select customer_key from erased_keys)",
        }
        for table, condition in captures.items():
            exists = con.execute(
                "select count(*) from duckdb_tables() where database_name = current_database() "
                "and schema_name = 'change_capture' and table_name = ?",
                [table],
            ).fetchone()[0]
            if not exists:
                continue
            found = con.execute(f"select count(*) from change_capture.{table} where {condition}")
            count = found.fetchone()[0]
            if count and not dry_run:
                con.execute(f"delete from change_capture.{table} where {condition}")
            if count:
                removed[f"warehouse.change_capture.{table}"] = count
        if removed and not dry_run:
            con.execute("checkpoint")
    if removed and not dry_run:
        compact_warehouse(path)
    return removed


def compact_warehouse(path: Path) -> None:
    """Copy the database into a fresh file and swap it in: deleted rows leave no bytes behind."""
    import duckdb

    fresh = path.with_name(f".{path.stem}.erasure-{uuid.uuid4().hex[:8]}.duckdb")
    with duckdb.connect() as con:
        con.execute(f"attach '{path}' as erasure_source (read_only)")
        con.execute(f"attach '{fresh}' as erasure_copy")
        con.execute("copy from database erasure_source to erasure_copy")
        con.execute("detach erasure_copy")
        con.execute("detach erasure_source")
    with fresh.open("rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(fresh, path)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)


# --- Delta maintenance ---------------------------------------------------------------------------


def purge_history(path: Path) -> None:
    """Vacuum with zero retention, checkpoint, and remove every log entry older than the checkpoint."""
    from deltalake import DeltaTable

    table = DeltaTable(str(path))
    table.vacuum(retention_hours=0, dry_run=False, enforce_retention_duration=False)
    table = DeltaTable(str(path))
    table.create_checkpoint()
    checkpoint = table.version()
    fs = filesystem_for(path)
    _, entries = fs.list_dir(fs.join(str(path), "_delta_log"))
    for entry in entries:
        version = entry.name.split(".", 1)[0]
        if version.isdigit() and int(version) < checkpoint:
            fs.delete(entry.path)


# --- the request ---------------------------------------------------------------------------------


def new_request_id() -> str:
    return f"erasure-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def _write_receipt(spark: SparkSession, lake: Lake, receipt: ErasureReceipt) -> None:
    from omnilake import delta

    table = lake.table("ops.erasure_receipts")
    frame = spark.createDataFrame([receipt.row()], table.contract.spark_schema())
    delta.merge(frame, table)


def rewritten_landing_files(lake: Lake | None = None, source: str | None = None) -> set[tuple[str, str]]:
    """(path, SHA-256) of every landing file as an erasure rewrote it (ingestion takes those whose
    original was already taken as the same delivery: ``landing.taken_after_rewrites``)."""
    from omnilake.landing import erasure_rewrites

    lake = lake or get_lake()
    return {
        (path, after) for path, _, after in erasure_rewrites(lake.table("ops.erasure_receipts").path, source)
    }


def erase(
    identifier_type: str,
    value: str,
    lake: Lake | None = None,
    *,
    request_id: str | None = None,
    dry_run: bool = False,
    wait_seconds: float = 0.0,
) -> ErasureReceipt:
    """Erase the person ``value`` (an identifier of ``identifier_type``) names from the whole lake.

    Holds the writer lock throughout. ``dry_run`` finds and counts everything and changes nothing.
    Returns the receipt (also written to ``ops.erasure_receipts`` and the audit trail).
    """
    from omnilake.engine import get_spark
    from omnilake.lock import writer_lock

    lake = lake or get_lake()
    started = time.perf_counter()
    spark = get_spark()
    with writer_lock(lake, wait_seconds=wait_seconds):
        person = resolve(spark, lake, identifier_type, value)
        matcher = TextMatcher(person.clear)
        # Derived files and gate samples may also quote the person's key or pseudonyms.
        derived = TextMatcher({**person.clear, "customer_key": person.keys, "pseudonym": person.all_hashes()})
        receipt = ErasureReceipt(
            request_id=request_id or new_request_id(),
            identifier_type=identifier_type,
            request_hash=person.request_hash,
            status="dry_run" if dry_run else "started",
            person_found=person.found,
            customer_keys=len(person.keys),
            identifiers=person.identifier_count(),
            requested_by=f"{_user()}@{socket.gethostname()}",
        )
        record_keys, record_lines, order_ids, message_ids = _record_matches(spark, lake, person, matcher)

        _rewrite_landing(lake, record_lines, matcher, receipt, dry_run)
        if not dry_run:
            _write_receipt(spark, lake, receipt)  # ingestion must know the rewritten files at once
        _redact_artefacts(lake, derived, receipt, dry_run)
        quarantined = {k: v for k, v in record_keys.items() if k.startswith("quarantine.")}
        _erase_record_tables(spark, lake, quarantined, receipt, dry_run)
        removed_orders = _erase_silver(spark, lake, person, order_ids, message_ids, receipt, dry_run)
        _erase_gold(spark, lake, person, removed_orders, receipt, dry_run)
        for warehouse in _warehouses(lake):
            for name, rows in erase_from_warehouse(
                warehouse, person.keys, removed_orders, dry_run=dry_run
            ).items():
                _count(
                    receipt.tables,
                    name if warehouse.name == "warehouse.duckdb" else f"{warehouse.stem}:{name}",
                    rows,
                )
        # The build's mirrors of silver (the attributed events, the plain tables) hold the person's
        # rows: deleted, the next build reloads them (omnilake.gold.event_mirror, silver_mirror).
        for mirror in (event_mirror, silver_mirror):
            if mirror.mirror_path(lake).exists():
                receipt.artefacts_redacted.append(f"_ops/gold/{mirror.mirror_path(lake).name} (removed)")
                if not dry_run:
                    mirror.remove(lake)
        if not lake.root.is_local and not dry_run and _warehouses(lake):
            # A new version without the person; every older version (which still holds them) goes.
            publish_warehouse(
                lake.root, local_dir(lake.root, "warehouse.duckdb"), receipt.request_id, keep_previous=False
            )
        _redact_quality_results(spark, lake, derived, receipt, dry_run)
        bronze = {k: v for k, v in record_keys.items() if k.startswith("bronze.")}
        _erase_record_tables(spark, lake, bronze, receipt, dry_run)
        _erase_snapshot_state(spark, lake, person, receipt, dry_run)
        _erase_identifiers(spark, lake, person, receipt, dry_run)
        _reset_derived_state(spark, lake, dry_run)
        if not dry_run:
            delta_dirs = _delta_dirs(lake.root.local_path if lake.root.is_local else lake.root.uri)
            for path in delta_dirs:
                purge_history(path)
            receipt.delta_tables_maintained = len(delta_dirs)
            receipt.status = "completed"
        receipt.completed_at = datetime.now(UTC).replace(tzinfo=None)
        receipt.seconds = round(time.perf_counter() - started, 2)
        if not dry_run:
            _write_receipt(spark, lake, receipt)
            from omnilake.audit import record_erasure

            record_erasure(lake, {k: v for k, v in receipt.as_dict().items() if k != "request_hash"})
    log.info(
        "erasure %s %s: %d rows from %d tables, %d landing file(s) rewritten in %.1fs",
        receipt.request_id,
        receipt.status,
        receipt.rows_removed,
        len(receipt.tables),
        len(receipt.landing_files),
        receipt.seconds,
    )
    return receipt


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


# --- command body (the CLI wires it; it prints) --------------------------------------------------


def erase_command(
    email: str | None = None,
    phone: str | None = None,
    customer_key: str | None = None,
    *,
    request_id: str | None = None,
    dry_run: bool = False,
    wait: float = 0.0,
) -> ErasureReceipt:
    """``omnilake erase --email X | --phone X | --customer-key X [--request-id ID] [--dry-run]``."""
    from rich.console import Console
    from rich.table import Table as RichTable

    given = {k: v for k, v in (("email", email), ("phone", phone), ("customer_key", customer_key)) if v}
    if len(given) != 1:
        raise ErasureError("name the person by exactly one of --email, --phone or --customer-key")
    ((identifier_type, value),) = given.items()
    console = Console()
    with console.status("erasing…" if not dry_run else "finding the person's data…"):
        receipt = erase(identifier_type, value, request_id=request_id, dry_run=dry_run, wait_seconds=wait)
    table = RichTable("table", "rows removed", title=f"erasure {receipt.request_id} ({receipt.status})")
    for name, rows in sorted(receipt.tables.items()):
        table.add_row(name, f"{rows:,}")
    console.print(table)
    for rewrite in receipt.landing_files:
        console.print(f"landing {rewrite.path}: {rewrite.lines_removed} line(s) removed", highlight=False)
    for artefact in receipt.artefacts_redacted:
        console.print(f"redacted {artefact}", highlight=False)
    if dry_run:
        console.print(
            f"dry run: would remove {receipt.rows_removed:,} rows; nothing changed", highlight=False
        )
    else:
        console.print(
            f"removed {receipt.rows_removed:,} rows; {receipt.delta_tables_maintained} Delta tables vacuumed "
            f"and their history cut; {receipt.seconds:.1f}s; receipt {receipt.request_id} in "
            "ops.erasure_receipts",
            highlight=False,
        )
    if not receipt.person_found:
        console.print("[yellow]the identifier resolved to no person: only rows carrying it were removed[/]")
    return receipt
