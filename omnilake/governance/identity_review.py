"""Why identity resolution put identifiers together (``omnilake identity explain``), and how an
operator undoes a wrong link (``omnilake identity split``).

**explain** takes a ``customer_key`` (a retired key is followed to its survivor through
``silver.customer_key_merges``) or an e-mail or phone, normalised and pseudonymised as silver does
it, and lists every identifier of the person with:

- its strength (strong identifiers are always used; weak ones, phone and device, pass the over-merge
  guard of ``jobs.silver.identity`` or are left out as shared);
- the guard's decision for it, and a split's side when an operator split the person;
- the evidence: each observation it was seen in with other identifiers of the person, by source
  (orders, crm_members, events, checkouts), its kind, when it was first and last seen, the
  identifiers it links to and whether a name was written with it.

The compacted evidence of ``silver.identity_observations`` does not keep the source, so explain
re-observes bronze per source and keeps the observations touching the person (a full scan of the
identity sources: an operator's question, not a pipeline step). Weak identifiers seen with the
person but not theirs are listed too: that is where a wrong merge was refused.

**split** records a rule in ``ops.identity_splits`` (``jobs.silver.identity_splits``) and an entry
in the audit trail (split id, actor, counts, and the SHA-256 of the rule's rows; no identifier);
the next run applies it.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import socket
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.silver.identity import (
    _OBSERVED,
    STRONG_TYPES,
    WEAK_TYPES,
    observations_by_source,
)
from jobs.silver.identity_splits import SPLITS_TABLE
from omnilake import delta
from omnilake.errors import OmnilakeError
from omnilake.lake import Lake
from omnilake.privacy import identifier_hash

log = logging.getLogger(__name__)

OBSERVATION_KINDS = {
    "orders": "order",  # account, e-mails and phone typed, loyalty card given
    "crm_members": "membership",
    "events": "login/identify",  # an event with a userId, or identify traits, on a device
    "checkouts": "checkout",  # the device an Order Completed event names the order of
    "pos": "basket",  # a store basket: its loyalty card only
}
# the guard's decision for an identifier, and what it means
DECISIONS = {
    "used": "a strong identifier: always evidence",
    "passed_guard": "a weak identifier that passed the over-merge guard (one person, or the names agree)",
    "another_person": "a weak identifier the guard gave to another person",
    "shared": "a weak identifier the guard refused as shared (it would join people whose names differ)",
}
IDENTIFIER_TYPES = (*STRONG_TYPES, *WEAK_TYPES)


class IdentityReviewError(OmnilakeError):
    """The person or identifiers named cannot be explained or split as asked."""


@dataclass
class Evidence:
    source: str
    kind: str
    first_seen_at: str | None
    last_seen_at: str | None
    links: list[str]  # the person's other identifiers observed with it (type:hash prefix)
    named: bool


@dataclass
class IdentifierExplanation:
    identifier_type: str
    identifier_hash: str
    strength: str
    decision: str  # a key of DECISIONS
    reason: str
    customer_key: str | None
    first_seen_at: str | None
    last_seen_at: str | None
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def node(self) -> str:
        return f"{self.identifier_type}:{self.identifier_hash}"


@dataclass
class Explanation:
    customer_key: str
    merged_keys: list[str]
    identifiers: list[IdentifierExplanation]
    splits: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def short(node: str) -> str:
    """``email:3f2a…`` for a terminal: the type and the pseudonym's first 8 characters."""
    identifier_type, _, hashed = node.partition(":")
    return f"{identifier_type}:{hashed[:8]}"


def _iso(value: Any) -> str | None:
    return value.isoformat(sep=" ") if isinstance(value, datetime) else None


def hash_of(spark: SparkSession, identifier_type: str, value: str) -> str:
    """The pseudonym silver gives ``value``; IdentityReviewError when it does not normalise."""
    row = spark.range(1).select(identifier_hash(identifier_type, F.lit(value)).alias("h")).first()
    if row["h"] is None:
        raise IdentityReviewError(f"{value!r} is not a valid {identifier_type}")
    return row["h"]


def _identifiers(spark: SparkSession, lake: Lake) -> DataFrame:
    table = lake.table("silver.customer_identifiers")
    if not delta.exists(table):
        raise IdentityReviewError("no silver.customer_identifiers yet: run the pipeline first")
    return delta.read(spark, table)


def resolve_key(
    spark: SparkSession,
    lake: Lake,
    customer_key: str | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> tuple[str, list[str]]:
    """(current customer_key, keys merged into it) for exactly one of the three ways to name a person."""
    given = [v for v in (customer_key, email, phone) if v]
    if len(given) != 1:
        raise IdentityReviewError("name the person by exactly one of --customer-key, --email or --phone")
    identifiers = _identifiers(spark, lake)
    if customer_key is None:
        identifier_type, value = ("email", email) if email else ("phone", phone)
        hashed = hash_of(spark, identifier_type, value)  # type: ignore[arg-type]
        found = identifiers.where(
            (F.col("identifier_type") == identifier_type) & (F.col("identifier_hash") == hashed)
        ).first()
        if found is None:
            raise IdentityReviewError(
                f"no customer holds that {identifier_type} (a shared {identifier_type} belongs to nobody)"
            )
        customer_key = found["customer_key"]
    merges_table = lake.table("silver.customer_key_merges")
    merges = delta.read(spark, merges_table) if delta.exists(merges_table) else None
    if merges is not None:
        survivor = merges.where(F.col("merged_key") == customer_key).first()
        if survivor is not None:
            customer_key = survivor["surviving_key"]
    if identifiers.where(F.col("customer_key") == customer_key).isEmpty():
        raise IdentityReviewError(f"no customer {customer_key} in silver.customer_identifiers")
    merged = (
        sorted(r["merged_key"] for r in merges.where(F.col("surviving_key") == customer_key).collect())
        if merges is not None
        else []
    )
    return customer_key, merged


def source_observations(spark: SparkSession, lake: Lake) -> DataFrame:
    """Every compacted observation in bronze with the source it came from (as ``observe`` reads them)."""
    parts = [
        rows.withColumn("source", F.lit(source))
        for source, rows in observations_by_source(spark, lake).items()
    ]
    if not parts:
        raise IdentityReviewError("no bronze orders, crm_members, events or pos yet")
    union = parts[0]
    for more in parts[1:]:
        union = union.unionByName(more)
    return union


def explain(
    spark: SparkSession, lake: Lake, customer_key: str, merged_keys: Iterable[str] = ()
) -> Explanation:
    """Every identifier of ``customer_key`` and the evidence that joined it (see the module docstring)."""
    identifiers = _identifiers(spark, lake)
    own = {
        f"{r['identifier_type']}:{r['identifier_hash']}": r
        for r in identifiers.where(F.col("customer_key") == customer_key).collect()
    }
    hashes = defaultdict(set)
    for node in own:
        identifier_type, _, hashed = node.partition(":")
        hashes[identifier_type].add(hashed)
    touching = F.lit(False)
    for identifier_type in _OBSERVED:
        if hashes[identifier_type]:
            touching = touching | F.col(identifier_type).isin(*sorted(hashes[identifier_type]))
    seen = source_observations(spark, lake).where(touching).collect()

    # weak identifiers observed with the person: theirs, another customer's, or shared (no key)
    nodes_seen = {f"{t}:{r[t]}" for r in seen for t in _OBSERVED if r[t] is not None}
    others = {}
    strangers = sorted(nodes_seen - set(own))
    if strangers:
        keyed = identifiers.where(
            F.concat("identifier_type", F.lit(":"), "identifier_hash").isin(*strangers)
        ).collect()
        others = {f"{r['identifier_type']}:{r['identifier_hash']}": r["customer_key"] for r in keyed}

    splits = _splits_of(spark, lake, nodes_seen)
    sides = {s["node"]: s for s in splits}
    explained = {}
    for node in sorted(nodes_seen | set(own)):
        identifier_type, _, hashed = node.partition(":")
        if node not in own and identifier_type not in WEAK_TYPES:
            continue  # a strong identifier of someone else reached only through a refused weak one
        row = own.get(node)
        strength = "strong" if identifier_type in STRONG_TYPES else "weak"
        if row is not None:
            decision = "used" if strength == "strong" else "passed_guard"
        elif node in others:
            decision = "another_person"
        else:
            decision = "shared"
        reason = DECISIONS[decision]
        if decision == "another_person":
            reason += f" ({others[node]})"
        if node in sides:
            split = sides[node]
            reason += f"; split {split['split_id']} by {split['actor']}: side {split['side']}"
        explained[node] = IdentifierExplanation(
            identifier_type,
            hashed,
            strength,
            decision,
            reason,
            customer_key if row is not None else others.get(node),
            _iso(row["first_seen_at"]) if row is not None else None,
            _iso(row["last_seen_at"]) if row is not None else None,
        )
    for r in sorted(seen, key=lambda r: (r["source"], r["first_seen_at"] or datetime.min)):
        present = [f"{t}:{r[t]}" for t in _OBSERVED if r[t] is not None]
        for node in present:
            if node not in explained:
                continue
            links = [short(n) for n in present if n != node and n in explained]
            if not links and r["source"] != "pos":
                continue
            explained[node].evidence.append(
                Evidence(
                    r["source"],
                    OBSERVATION_KINDS[r["source"]],
                    _iso(r["first_seen_at"]),
                    _iso(r["last_seen_at"]),
                    links,
                    r["name_hash"] is not None,
                )
            )
    public_splits = sorted({(s["split_id"], s["actor"], s["split_at"]) for s in splits}, key=lambda s: s[0])
    return Explanation(
        customer_key,
        list(merged_keys),
        list(explained.values()),
        [{"split_id": i, "actor": a, "split_at": _iso(t)} for i, a, t in public_splits],
    )


def _splits_of(spark: SparkSession, lake: Lake, nodes: set[str]) -> list[dict[str, Any]]:
    table = lake.table(SPLITS_TABLE)
    if not nodes or not delta.exists(table):
        return []
    rows = (
        delta.read(spark, table)
        .withColumn("node", F.concat("identifier_type", F.lit(":"), "identifier_hash"))
        .where(F.col("node").isin(*sorted(nodes)))
        .orderBy("split_at")
        .collect()
    )
    return [r.asDict() for r in rows]


# --- split ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SplitReceipt:
    split_id: str
    customer_key: str
    apart: int
    stays: int
    actor: str
    rule_sha256: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def parse_identifier(text: str) -> tuple[str, str]:
    """``type:hash`` as ``explain --json`` prints it (the full 64-character pseudonym)."""
    identifier_type, _, hashed = text.partition(":")
    if identifier_type not in IDENTIFIER_TYPES or len(hashed) != 64:
        raise IdentityReviewError(
            f"--identifier {text!r}: give <type>:<64-hex pseudonym> as `omnilake identity explain --json` "
            f"prints it, type one of {', '.join(IDENTIFIER_TYPES)}"
        )
    return identifier_type, hashed.lower()


def split(
    spark: SparkSession,
    lake: Lake,
    customer_key: str,
    apart: Iterable[tuple[str, str]],
    *,
    reason: str,
    actor: str | None = None,
    now: datetime | None = None,
) -> SplitReceipt:
    """Record that the identifiers ``apart`` ((type, hash) pairs) of ``customer_key`` do not belong
    with its other identifiers; the next run gives them their own key. Audited."""
    from omnilake.audit import actor as run_actor
    from omnilake.audit import append_entry

    if not reason.strip():
        raise IdentityReviewError("say why (--reason): the rule outlives the run that applies it")
    actor = actor or default_actor()
    apart_nodes = set(apart)
    if not apart_nodes:
        raise IdentityReviewError("name the identifiers to split off (--email, --phone or --identifier)")
    held = {
        (r["identifier_type"], r["identifier_hash"])
        for r in _identifiers(spark, lake).where(F.col("customer_key") == customer_key).collect()
    }
    if not held:
        raise IdentityReviewError(f"no customer {customer_key} in silver.customer_identifiers")
    foreign = apart_nodes - held
    if foreign:
        kinds = ", ".join(sorted({t for t, _ in foreign}))
        raise IdentityReviewError(
            f"{len(foreign)} of the identifiers named ({kinds}) do not belong to {customer_key}: "
            f"see `omnilake identity explain --customer-key {customer_key}`"
        )
    stays = held - apart_nodes
    if not stays:
        raise IdentityReviewError(
            f"every identifier of {customer_key} was named: a split needs identifiers on both sides"
        )
    split_at = (now or datetime.now(UTC)).replace(tzinfo=None, microsecond=0)
    split_id = f"split-{split_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    rows = [
        (split_id, side, t, h, customer_key, actor, reason, split_at)
        for side, nodes in (("apart", apart_nodes), ("stays", stays))
        for t, h in sorted(nodes)
    ]
    digest = hashlib.sha256(
        json.dumps([[str(v) for v in r] for r in rows], separators=(",", ":")).encode("utf-8")
    ).hexdigest()
    table = lake.table(SPLITS_TABLE)
    delta.append(spark.createDataFrame(rows, table.contract.spark_schema()), table)
    by_type: dict[str, dict[str, int]] = {"apart": defaultdict(int), "stays": defaultdict(int)}
    for _, side, t, *_ in rows:
        by_type[side][t] += 1
    append_entry(
        lake,
        "identity_split",
        {
            "split_id": split_id,
            "split_by": actor,
            "actor": run_actor(),
            "identifiers": {side: dict(sorted(counts.items())) for side, counts in by_type.items()},
            "rule_sha256": digest,
        },
    )
    log.info("split %s of %s recorded by %s", split_id, customer_key, actor)
    return SplitReceipt(split_id, customer_key, len(apart_nodes), len(stays), actor, digest)
