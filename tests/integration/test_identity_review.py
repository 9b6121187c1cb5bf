"""Identity explain and split on hand-written bronze.

The case: Jane (web account 101, jane@example.com) and Max (web account 202, max@example.com) both
type the family address family@example.com at checkout, so resolution joins all five identifiers
into one person. An operator splits Max's account and e-mail off. Jane's side holds three of the five
identifiers, so it keeps the key; Max's side gets the key derived from its smallest node, which is
``email:<pseudonym of max@example.com>`` ("email:" sorts before "web_customer_id:").
"""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from jobs.silver.customers import build_customers
from jobs.silver.identity import resolve
from jobs.silver.outputs import ensure_outputs
from omnilake import delta
from omnilake.audit import read_entries, verify
from omnilake.governance.identity_review import (
    IdentityReviewError,
    explain,
    resolve_key,
    split,
)
from omnilake.pipeline import RunContext
from omnilake.privacy import pseudonym_of
from omnilake.publish import build_gold, publish_gold, silver_sources
from tests.integration.silver_bronze import deliver, rows_of
from tests.integration.test_identity import key_of, keys, order

pytestmark = pytest.mark.integration

DAY1, DAY2, DAY3 = date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)


def _family(spark, lake) -> None:
    deliver(spark, lake, "orders", DAY1, [order(1, "jane@example.com", account=101)])
    deliver(
        spark,
        lake,
        "orders",
        DAY2,
        [
            {**order(2, "family@example.com", account=202, name=("Max", "Doe")), "customer": {
                "id": "202", "email": "max@example.com", "phone": None, "first_name": "Max", "last_name": "Doe"}},
            order(3, "family@example.com", account=101),
        ],
    )  # fmt: skip


def _expected_new_key(value: str, identifier_type: str = "email") -> str:
    label = f"{identifier_type}:{pseudonym_of(value)}"
    return "ck_" + hashlib.sha256(f"customer_key:{label}".encode()).hexdigest()[:24]


def _dim_customer_keys(spark, lake) -> list[str]:
    """Build and publish gold over this lake's silver (the other silver tables empty)."""
    import duckdb

    ensure_outputs(spark, lake, *silver_sources())
    context = RunContext("manual__split", DAY2, lake, docs=False)
    build_gold(context, docs=False)
    publish_gold(context)
    with duckdb.connect(lake.warehouse_path, read_only=True) as con:
        return sorted(k for (k,) in con.execute("select customer_key from main.dim_customer").fetchall())


def test_a_split_keeps_the_larger_part_on_the_old_key_and_holds_on_reruns_and_rebuild(spark, lake):
    _family(spark, lake)
    resolve(lake)
    merged = keys(spark, lake)
    jane = key_of(merged, "web_customer_id", "101")
    assert key_of(merged, "web_customer_id", "202") == jane == key_of(merged, "email", "max@example.com")
    build_customers(lake)
    assert [r["customer_key"] for r in rows_of(spark, lake, "silver.customers", "customer_key")] == [jane]

    # explain: every identifier, with the observation that joined it
    key, _ = resolve_key(spark, lake, email=" Max@Example.com")
    assert key == jane
    explained = explain(spark, lake, key)
    by_node = {(i.identifier_type, i.identifier_hash): i for i in explained.identifiers}
    assert len(by_node) == 5
    family = by_node[("email", pseudonym_of("family@example.com"))]
    assert (family.strength, family.decision) == ("strong", "used")
    # seen with account 101 (order 3) and account 202 (order 2), both orders
    assert sorted(len(e.links) for e in family.evidence) == [1, 1]
    assert {e.source for e in family.evidence} == {"orders"}
    assert {e.first_seen_at[:10] for e in family.evidence} == {"2024-03-01"}  # created_at of both orders

    receipt = split(
        spark,
        lake,
        jane,
        [("web_customer_id", pseudonym_of("202")), ("email", pseudonym_of("max@example.com"))],
        reason="customer complaint: two people",
        actor="steward@example",
    )
    assert (receipt.apart, receipt.stays) == (2, 3)
    resolve(lake)
    after = keys(spark, lake)
    max_key = _expected_new_key("max@example.com")
    assert {v: after[(t, pseudonym_of(v))] for t, v in [
        ("web_customer_id", "101"), ("email", "jane@example.com"), ("email", "family@example.com"),
        ("web_customer_id", "202"), ("email", "max@example.com")]} == {
        "101": jane, "jane@example.com": jane, "family@example.com": jane, "202": max_key, "max@example.com": max_key,
    }  # fmt: skip
    # silver.customers and gold dim_customer follow: one row per side
    build_customers(lake)
    assert sorted(
        r["customer_key"] for r in rows_of(spark, lake, "silver.customers", "customer_key")
    ) == sorted([jane, max_key])
    assert _dim_customer_keys(spark, lake) == sorted([jane, max_key])
    # the split is not a merge, and its audit entry holds no identifier or key
    assert rows_of(spark, lake, "silver.customer_key_merges", "merged_key") == []
    (entry,) = [e for e in read_entries(lake) if e["kind"] == "identity_split"]
    assert entry["split_by"] == "steward@example" and entry["split_id"] == receipt.split_id
    assert entry["identifiers"] == {
        "apart": {"email": 1, "web_customer_id": 1},
        "stays": {"email": 2, "web_customer_id": 1},
    }
    text = str(entry)
    assert jane not in text and pseudonym_of("202") not in text and "complaint" not in text
    assert verify(lake).ok

    # New evidence: Max types the family address again (cut again), and a new account 303 is seen
    # with the family address and Max's e-mail (a bridge: it stays on Jane's side).
    deliver(
        spark,
        lake,
        "orders",
        DAY3,
        [
            order(4, "family@example.com", account=202, name=("Max", "Doe")),
            {**order(5, "family@example.com", account=303), "customer": {
                "id": "303", "email": "max@example.com", "phone": None, "first_name": "Jane", "last_name": "Doe"}},
        ],
        name="-day3",
    )  # fmt: skip
    resolve(lake)
    incremental = keys(spark, lake)
    assert key_of(incremental, "web_customer_id", "202") == max_key
    assert key_of(incremental, "email", "max@example.com") == max_key
    assert key_of(incremental, "web_customer_id", "303") == jane
    assert key_of(incremental, "email", "family@example.com") == jane

    resolve(lake, rebuild=True)
    assert keys(spark, lake) == incremental
    build_customers(lake, rebuild=True)
    assert sorted(
        r["customer_key"] for r in rows_of(spark, lake, "silver.customers", "customer_key")
    ) == sorted([jane, max_key])


def test_a_split_must_name_identifiers_of_that_person_and_leave_some_behind(spark, lake):
    _family(spark, lake)
    deliver(spark, lake, "orders", DAY3, [order(9, "ann@example.com", account=909)], name="-ann")
    resolve(lake)
    found = keys(spark, lake)
    jane = key_of(found, "web_customer_id", "101")
    everything = [(t, h) for (t, h), k in found.items() if k == jane]
    with pytest.raises(IdentityReviewError, match="both sides"):
        split(spark, lake, jane, everything, reason="x")
    with pytest.raises(IdentityReviewError, match="do not belong"):
        split(spark, lake, jane, [("email", pseudonym_of("ann@example.com"))], reason="x")
    with pytest.raises(IdentityReviewError, match="say why"):
        split(spark, lake, jane, everything[:1], reason=" ")
    assert not delta.exists(lake.table("ops.identity_splits"))


def test_the_cli_explains_by_e_mail_as_json_and_records_a_split_named_by_e_mail(spark, lake):
    import json

    from typer.testing import CliRunner

    from omnilake.cli import app

    _family(spark, lake)
    resolve(lake)
    jane = key_of(keys(spark, lake), "web_customer_id", "101")
    shown = CliRunner().invoke(app, ["identity", "explain", "--email", "family@example.com", "--json"])
    assert shown.exit_code == 0, shown.output
    explained = json.loads(shown.output)
    assert explained["customer_key"] == jane
    assert sorted(i["identifier_type"] for i in explained["identifiers"]) == [
        "email", "email", "email", "web_customer_id", "web_customer_id"
    ]  # fmt: skip

    max_account = f"web_customer_id:{pseudonym_of('202')}"
    done = CliRunner().invoke(app, [
        "identity", "split", "--customer-key", jane, "--email", "MAX@example.com", "--identifier", max_account,
        "--reason", "two people", "--actor", "steward",
    ])  # fmt: skip
    assert done.exit_code == 0, done.output
    rows = rows_of(spark, lake, "ops.identity_splits", ["side", "identifier_type", "identifier_hash"])
    assert [(r["side"], r["identifier_type"]) for r in rows if r["side"] == "apart"] == [
        ("apart", "email"),
        ("apart", "web_customer_id"),
    ]
    assert {r["actor"] for r in rows} == {"steward"} and {r["customer_key"] for r in rows} == {jane}
    refused = CliRunner().invoke(
        app, ["identity", "split", "--customer-key", jane, "--email", "x@y.z", "--reason", "r"]
    )
    assert refused.exit_code == 1 and "do not belong" in refused.output
