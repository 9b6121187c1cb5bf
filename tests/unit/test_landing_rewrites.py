"""Which landing files an erasure's rewrites leave taken, and which stay new deliveries."""

from omnilake.landing import taken_after_rewrites

INGESTED = ("landing/orders/2026-03-01/orders_1.ndjson", "a1")
WAITING = ("landing/orders/2026-03-02/orders_2.ndjson", "b1")


def test_a_rewrite_of_an_ingested_file_is_the_same_delivery():
    taken = taken_after_rewrites({INGESTED}, [(INGESTED[0], "a1", "a2")])
    assert taken == {INGESTED, (INGESTED[0], "a2")}


def test_a_file_rewritten_before_it_was_ingested_stays_a_new_delivery():
    taken = taken_after_rewrites({INGESTED}, [(WAITING[0], "b1", "b2")])
    assert taken == {INGESTED}


def test_a_rewrite_of_a_rewrite_is_followed_in_any_receipt_order():
    rewrites = [(INGESTED[0], "a2", "a3"), (INGESTED[0], "a1", "a2")]
    assert taken_after_rewrites({INGESTED}, rewrites) == {INGESTED, (INGESTED[0], "a2"), (INGESTED[0], "a3")}


def test_a_waiting_file_ingested_after_its_rewrite_then_rewritten_again_is_taken_from_its_new_hash():
    # Erasure 1 rewrote the waiting file (b1 -> b2), the next run ingested b2, erasure 2 rewrote it.
    rewrites = [(WAITING[0], "b1", "b2"), (WAITING[0], "b2", "b3")]
    assert taken_after_rewrites({(WAITING[0], "b2")}, rewrites) == {(WAITING[0], "b2"), (WAITING[0], "b3")}
