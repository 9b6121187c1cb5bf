"""Identity resolves only the region a run's new observations touch (``jobs.silver.identity_region``),
with the result of resolving the whole graph: after each incremental run, ``resolve(rebuild=True)``
(the whole graph from all of bronze) must find nothing to change."""

import shutil
from datetime import date

import pytest

from jobs.silver.identity import resolve
from omnilake.erasure import erase
from tests.integration.silver_bronze import deliver, rows_of
from tests.integration.test_identity import key_of, keys, login, member, order

pytestmark = pytest.mark.integration

DAY1, DAY2 = date(2024, 3, 1), date(2024, 3, 2)


def identifier_rows(spark, lake) -> list[dict]:
    return rows_of(spark, lake, "silver.customer_identifiers", ["identifier_type", "identifier_hash"])


def edge_rows(spark, lake) -> list[dict]:
    return rows_of(spark, lake, "silver.identity_edges", ["src", "dst", "name_hash"])


def assert_whole_graph_agrees(spark, lake) -> None:
    """A full resolve over all of bronze keeps every row the incremental runs left, and derives
    the edges they stored."""
    before, edges = identifier_rows(spark, lake), edge_rows(spark, lake)
    full = resolve(lake, rebuild=True)
    assert (full.inserted, full.rekeyed, full.removed, full.merges) == (0, 0, 0, 0)
    assert full.resolved == len(before)
    assert identifier_rows(spark, lake) == before
    assert edge_rows(spark, lake) == edges


def test_an_order_joining_two_people_merges_them_a_new_person_is_keyed_and_others_are_left_alone(spark, lake):
    deliver(spark, lake, "orders", DAY1, [
        order(1, "jane@example.com", account=101),
        order(3, "max@example.com", account=303, name=("Max", "Roe")),
        order(5, "lu@example.com", account=505, name=("Lu", "Wu")),
    ])  # fmt: skip
    deliver(spark, lake, "crm_members", DAY1, [member("M1", "6045000000000001", email="j.doe@work.example")])
    resolve(lake)
    first = keys(spark, lake)
    jane, member_key, max_key, lu = (key_of(first, t, v) for t, v in
                                     [("web_customer_id", "101"), ("member_id", "M1"), ("web_customer_id", "303"),
                                      ("web_customer_id", "505")])  # fmt: skip
    assert len({jane, member_key, max_key, lu}) == 4
    max_rows = [r for r in identifier_rows(spark, lake) if r["customer_key"] == max_key]

    # Jane's account orders with the member's address; someone new orders; Lu orders again, as
    # before (seen again: only her last sighting moves); Max does nothing.
    again = {
        **order(6, "lu@example.com", account=505, name=("Lu", "Wu")),
        "created_at": "2024-03-02T08:00:00Z",
    }
    deliver(spark, lake, "orders", DAY2, [
        order(2, "j.doe@work.example", account=101),
        order(4, "new@example.com", account=404, name=("Nia", "Lo")),
        again,
    ], name="-day2")  # fmt: skip
    result = resolve(lake)
    second = keys(spark, lake)
    # The member's key survives: the CRM listed them on DAY1 (midnight), before Jane's order at 14:00Z.
    # Jane (account, e-mail), the member (id, card, e-mail) and the newcomer (account, e-mail):
    # neither Max's nor Lu's identifiers are resolved again.
    assert result.resolved == 7
    assert result.merges == 1 and result.inserted == 2 and result.rekeyed == 2  # Jane's two
    assert {key_of(second, t, v) for t, v in [("member_id", "M1"), ("loyalty_card", "6045000000000001"),
                                              ("email", "j.doe@work.example"), ("email", "jane@example.com")]} == {member_key}  # fmt: skip
    newcomer = key_of(second, "web_customer_id", "404")
    assert newcomer not in {jane, member_key, max_key}
    assert key_of(second, "email", "new@example.com") == newcomer
    assert [r for r in identifier_rows(spark, lake) if r["customer_key"] == max_key] == max_rows
    lu_rows = [r for r in identifier_rows(spark, lake) if r["customer_key"] == lu]
    assert [str(r["last_seen_at"]) for r in lu_rows] == ["2024-03-02 08:00:00"] * 2
    assert (result.identifiers, result.customers) == (11, 4)
    merges = rows_of(spark, lake, "silver.customer_key_merges", "merged_key")
    assert [(m["merged_key"], m["surviving_key"]) for m in merges] == [(jane, member_key)]
    assert_whole_graph_agrees(spark, lake)


def test_a_device_turning_shared_leaves_its_person_and_a_kiosk_used_again_stays_out(spark, lake):
    people = [("Ann", "Lee"), ("Bob", "Ray"), ("Cy", "Fox"), ("Di", "Ng")]
    day1 = [login("t1", "tablet-1", "101", ("Tess", "Moe"), "tess@example.com")]
    day1 += [login(f"k{n}", "kiosk-1", str(300 + n), name, f"{name[0].lower()}@example.com")
             for n, name in enumerate(people)]  # fmt: skip
    deliver(spark, lake, "events", DAY1, day1)
    resolve(lake)
    first = keys(spark, lake)
    tess = key_of(first, "web_customer_id", "101")
    assert key_of(first, "device", "tablet-1") == tess and key_of(first, "device", "kiosk-1") is None

    # Bob logs in on Tess's tablet (another name: a family tablet), Eve on the kiosk.
    deliver(spark, lake, "events", DAY2, [
        login("t2", "tablet-1", "202", ("Bob", "Ray"), "bob.ray@example.com"),
        login("k5", "kiosk-1", "305", ("Eve", "Oz"), "eve@example.com"),
    ], name="-day2")  # fmt: skip
    result = resolve(lake)
    second = keys(spark, lake)
    assert key_of(second, "device", "tablet-1") is None and key_of(second, "device", "kiosk-1") is None
    assert key_of(second, "web_customer_id", "101") == tess == key_of(second, "email", "tess@example.com")
    assert len({key_of(second, "web_customer_id", str(n)) for n in (101, 202, 300, 301, 302, 303, 305)}) == 7
    # Tess's account, e-mail and tablet, Bob's and Eve's accounts and e-mails; the kiosk touches four
    # other people, so it is shared whatever they do and none of them is resolved again.
    assert result.resolved == 7
    assert (result.removed, result.inserted, result.shared_identifiers) == (1, 4, 1)
    assert_whole_graph_agrees(spark, lake)


def test_after_an_erasure_the_graph_is_resolved_whole_without_the_person(spark, lake):
    deliver(spark, lake, "orders", DAY1, [
        order(1, "jane@example.com", account=101),
        order(3, "max@example.com", account=303, name=("Max", "Roe")),
    ])  # fmt: skip
    resolve(lake)
    max_key = key_of(keys(spark, lake), "web_customer_id", "303")
    receipt = erase("email", "jane@example.com", lake)
    assert receipt.status == "completed"

    deliver(spark, lake, "orders", DAY2, [order(5, "max@example.com", account=303, name=("Max", "Roe"))],
            name="-day2")  # fmt: skip
    result = resolve(lake)
    after = keys(spark, lake)
    assert set(after.values()) == {max_key} and len(after) == 2
    assert result.resolved == 2  # the emptied evidence is rebuilt from bronze: the whole graph
    assert_whole_graph_agrees(spark, lake)


def test_stored_edges_grow_by_the_new_observations_and_a_lake_without_them_derives_them(spark, lake):
    deliver(spark, lake, "orders", DAY1, [order(1, "jane@example.com", account=101)])
    resolve(lake)
    day1_edges = edge_rows(spark, lake)
    # the order and its account give one pair, the account and the e-mail, with Jane's name
    assert [(e["src_type"], e["dst_type"]) for e in day1_edges] == [("email", "web_customer_id")]
    assert day1_edges[0]["name_hash"] is not None
    resolve(lake)  # nothing new: no edge added twice
    assert edge_rows(spark, lake) == day1_edges

    deliver(spark, lake, "orders", DAY2, [order(2, "j.doe@work.example", account=101)], name="-day2")
    resolve(lake)
    day2_edges = edge_rows(spark, lake)
    added = [e for e in day2_edges if e not in day1_edges]
    # one pair more, the account and its new e-mail; day 1's pair is kept
    assert len(day2_edges) == 2 and day1_edges[0] in day2_edges
    assert [(e["src_type"], e["dst_type"]) for e in added] == [("email", "web_customer_id")]

    # a lake written before the edges were stored: the next run derives them from the evidence
    shutil.rmtree(lake.table("silver.identity_edges").path)
    deliver(spark, lake, "orders", date(2024, 3, 3), [order(3, "max@example.com", account=303)], name="-day3")
    resolve(lake)
    day3_edges = edge_rows(spark, lake)
    assert len(day3_edges) == 3 and all(e in day3_edges for e in day2_edges)
    assert_whole_graph_agrees(spark, lake)
