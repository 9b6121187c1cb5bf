"""The source-data generator: deterministic, realistic where later layers rely on it, and honest
about the defects it injects. Tiny scales (a few hundred people, one or two stores) keep it fast."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from omnilake.errors import ConfigError
from omnilake.generate import SOURCES, DefectRates, generate

pytestmark = pytest.mark.unit

START = date(2024, 3, 1)  # a Friday, a month where the US switches to daylight saving
ORDER_REQUIRED = (
    "id",
    "created_at",
    "updated_at",
    "currency",
    "financial_status",
    "total_price",
    "line_items",
)
EVENT_REQUIRED = ("messageId", "type", "anonymousId", "timestamp", "receivedAt")
POS_HEADER = [
    "STORE_ID",
    "REGISTER_ID",
    "TXN_ID",
    "LINE_NO",
    "TXN_DATETIME",
    "SKU",
    "EAN",
    "QTY",
    "UNIT_PRICE",
    "DISCOUNT",
    "TENDER",
    "LOYALTY_CARD",
    "VOID",
]


# --- reading the landing zone ---------------------------------------------------------------------


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def deliveries(root: Path, source: str, *, copies: bool = False) -> list[Path]:
    """Delivered files of a source, without re-delivered copies unless asked."""
    files = sorted((root / source).glob("*/*"))
    return [f for f in files if copies or not re.search(r"_2\.", f.name)]


def text_lines(path: Path) -> list[str]:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return data.decode("utf-8").splitlines()


def ndjson(root: Path, source: str) -> list[tuple[date, dict[str, Any]]]:
    """(delivery day, record) for every parseable line."""
    records = []
    for path in deliveries(root, source):
        day = date.fromisoformat(path.parent.name)
        for line in text_lines(path):
            try:
                records.append((day, json.loads(line)))
            except ValueError:
                continue
    return records


def csv_rows(path: Path, delimiter: str = ",") -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(text_lines(path), delimiter=delimiter))
    return rows[0], rows[1:]


def csv_records(root: Path, source: str, delimiter: str = ",") -> list[tuple[date, dict[str, str]]]:
    records = []
    for path in deliveries(root, source):
        header, rows = csv_rows(path, delimiter)
        day = date.fromisoformat(path.parent.name)
        records.extend((day, dict(zip(header, row, strict=False))) for row in rows if len(row) == len(header))
    return records


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def truth(root: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (root / "_truth" / "identity.ndjson").read_text().splitlines()]


def e164(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return "+" + (digits if len(digits) == 11 else "1" + digits)


# --- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("clean")
    generate(root, START, 3, scale=0.05, seed=7, defects=DefectRates.none())
    return root


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every record kind at 4% and every file-level defect on every file."""
    root = tmp_path_factory.mktemp("dirty")
    generate(root, START, 2, scale=0.03, seed=7, defects=DefectRates.uniform(0.04, file_rate=1.0))
    return root


# --- determinism ------------------------------------------------------------------------------------


def test_same_seed_writes_byte_identical_files(tmp_path: Path):
    first, second = tmp_path / "a", tmp_path / "b"
    generate(first, START, 2, scale=0.02, seed=11)
    generate(second, START, 2, scale=0.02, seed=11)

    assert tree_hashes(first) == tree_hashes(second)
    # gzip headers carry no file name and mtime 0
    events = deliveries(first, "events")[0].read_bytes()
    assert events[4:8] == b"\x00\x00\x00\x00"


def test_another_seed_writes_other_data(tmp_path: Path):
    generate(tmp_path / "a", START, 1, scale=0.02, seed=11)
    generate(tmp_path / "b", START, 1, scale=0.02, seed=12)
    a, b = tree_hashes(tmp_path / "a"), tree_hashes(tmp_path / "b")

    data_files = [name for name in a if not name.startswith("_truth/")]
    assert all(a[name] != b.get(name) for name in data_files)


def test_a_day_depends_only_on_seed_scale_and_date(tmp_path: Path):
    rates = DefectRates.uniform(0.02, file_rate=0.3)
    generate(tmp_path / "at_once", START, 3, scale=0.02, seed=5, defects=rates)
    generate(tmp_path / "daily", START, 2, scale=0.02, seed=5, defects=rates)
    generate(tmp_path / "daily", START + timedelta(days=2), 1, scale=0.02, seed=5, defects=rates)

    assert tree_hashes(tmp_path / "daily") == tree_hashes(tmp_path / "at_once")


def test_regenerating_a_day_replaces_its_files(tmp_path: Path):
    generate(tmp_path, START, 1, scale=0.02, seed=3, defects=DefectRates.uniform(0.0, file_rate=1.0))
    assert (tmp_path / "stores" / START.isoformat() / f"stores_{START}_2.csv").exists()

    generate(tmp_path, START, 1, scale=0.02, seed=3, defects=DefectRates.none())

    assert sorted(p.name for p in (tmp_path / "stores" / START.isoformat()).iterdir()) == [
        f"stores_{START}.csv"
    ]


# --- realism later layers rely on ---------------------------------------------------------------------


def test_orders_arrive_as_ordered_change_events_but_late_and_out_of_order(clean: Path):
    versions: dict[int, list[tuple[date, dict[str, Any]]]] = defaultdict(list)
    for day, order in ndjson(clean, "orders"):
        versions[order["id"]].append((day, order))

    assert max(len(v) for v in versions.values()) >= 3
    out_of_order = late = 0
    for history in versions.values():
        by_update = sorted(history, key=lambda item: instant(item[1]["updated_at"]))
        updated = [instant(order["updated_at"]) for _, order in by_update]
        assert len(set(updated)) == len(updated), "one version per change"
        assert all(instant(o["created_at"]) <= instant(o["updated_at"]) for _, o in by_update)
        refunds = [len(order["refunds"]) for _, order in by_update]
        assert refunds == sorted(refunds), "a later version never loses a refund"
        delivered = [day for day, _ in by_update]
        out_of_order += any(a > b for a, b in pairwise(delivered))
        late += sum(day > instant(order["updated_at"]).astimezone(UTC).date() for day, order in history)
    assert out_of_order > 0, "some older version lands after a newer one"
    assert late > 0, "some versions arrive days after they changed"
    statuses = {order["financial_status"] for history in versions.values() for _, order in history}
    assert {"pending", "paid", "refunded"} <= statuses


def test_one_person_appears_in_several_silos_under_variant_identifiers(clean: Path):
    people = truth(clean)
    owner_of_card = {card: p["person_id"] for p in people for card in p["loyalty_cards"]}
    owner_of_email = {email: p["person_id"] for p in people for email in p["emails"]}
    crm = csv_records(clean, "crm_members")
    crm_cards_by_day = defaultdict(set)
    for day, member in crm:
        crm_cards_by_day[day].add(member["loyalty_card"])

    pos = csv_records(clean, "pos", delimiter="|")
    scanned = {(day, row["LOYALTY_CARD"]) for day, row in pos if row["LOYALTY_CARD"]}
    assert 0 < len(scanned) < len(pos), "a minority of basket lines carry a card"
    assert all(card in crm_cards_by_day[day] for day, card in scanned), "a scanned card belongs to a member"
    assert all(card in owner_of_card for _, card in scanned)

    crm_email_of = {owner_of_email[m["email"].strip().lower()]: m["email"] for _, m in crm if m["email"]}
    order_emails = [o["email"] for _, o in ndjson(clean, "orders")]
    variants = [
        (email, crm_email_of[owner])
        for email in order_emails
        if (owner := owner_of_email.get(email.strip().lower())) in crm_email_of
        and email != crm_email_of[owner]
    ]
    assert variants, "the same person's e-mail is written differently in orders and in the CRM"
    assert all(a.strip().lower() == b.strip().lower() for a, b in variants)

    phones = {phone for p in people for phone in [*p["phones"], *p["shared_phones"]]}
    crm_phones = [m["phone"] for _, m in crm if m["phone"]]
    assert all(e164(phone) in phones for phone in crm_phones)
    assert len({re.sub(r"\d", "9", phone) for phone in crm_phones}) >= 3, "phones come in several formats"


def test_web_behaviour_links_to_accounts_and_orders(clean: Path):
    customer_ids = {cid for p in truth(clean) for cid in p["web_customer_ids"]}
    anonymous_ids = {a for p in truth(clean) for a in [*p["anonymous_ids"], *p["shared_anonymous_ids"]]}
    events = [event for _, event in ndjson(clean, "events")]
    order_ids = {str(order["id"]) for _, order in ndjson(clean, "orders")}

    user_ids = {e["userId"] for e in events if e["userId"]}
    assert user_ids and user_ids <= customer_ids
    completed = [e for e in events if e.get("event") == "Order Completed"]
    exported = [e["properties"]["order_id"] in order_ids for e in completed]
    # an order placed late on the last day may not be exported yet (its first version arrives late)
    assert completed and sum(exported) >= 0.95 * len(exported)
    assert {e["type"] for e in events} == {"page", "track", "identify"}
    assert {"Product Viewed", "Product Added", "Checkout Started", "Order Completed"} <= {
        e.get("event") for e in events
    }
    shared = {
        json.loads(line)["value"]
        for line in (clean / "_truth" / "shared_identifiers.ndjson").read_text().splitlines()
    }
    personal = {e["anonymousId"] for e in events} - shared
    assert personal <= anonymous_ids


def test_a_logged_in_visitor_is_identified_with_the_accounts_profile(clean: Path):
    emails_of_account = {cid: set(p["emails"]) for p in truth(clean) for cid in p["web_customer_ids"]}
    events = [event for _, event in ndjson(clean, "events")]
    identified = defaultdict(set)  # (anonymousId, userId) -> e-mails the identify traits gave
    for e in events:
        if e["type"] == "identify" and e["userId"]:
            identified[(e["anonymousId"], e["userId"])].add(e["traits"]["email"].strip().lower())
    logged_in = {(e["anonymousId"], e["userId"]) for e in events if e["userId"]}
    assert logged_in and logged_in <= identified.keys(), "no login goes without an identify call"
    assert all(emails <= emails_of_account[user] for (_, user), emails in identified.items())

    phones_of_account = defaultdict(set)
    for _, order in ndjson(clean, "orders"):
        if customer := order["customer"]:
            phones_of_account[customer["id"]].add(e164(customer["phone"]) if customer["phone"] else None)
    assert all(len(phones) == 1 for phones in phones_of_account.values()), "an account has one profile phone"
    on_profile = [phones for phones in phones_of_account.values() if None not in phones]
    assert 0 < len(on_profile) < len(phones_of_account), "the phone on an account is optional"


def test_every_member_can_be_reached_and_web_signups_gave_an_email(clean: Path):
    members = [m for _, m in csv_records(clean, "crm_members")]
    assert all(m["email"] or m["phone"] for m in members), "the programme needs a way to reach a member"
    assert all(m["email"] for m in members if m["signup_channel"] == "web")
    assert any(not m["email"] for m in members), "some members at a till give a phone only"


def test_shared_phones_and_devices_carry_several_people(clean: Path):
    shared = [
        json.loads(line) for line in (clean / "_truth" / "shared_identifiers.ndjson").read_text().splitlines()
    ]
    assert any(s["kind"] == "phone" and len(s["person_ids"]) >= 2 for s in shared)
    shared_devices = {s["value"] for s in shared if s["kind"] == "anonymous_id"}

    person_of_account = {cid: p["person_id"] for p in truth(clean) for cid in p["web_customer_ids"]}
    people_per_device = defaultdict(set)
    for _, event in ndjson(clean, "events"):
        if event["userId"]:
            people_per_device[event["anonymousId"]].add(person_of_account[event["userId"]])
    crowded = {device for device, people in people_per_device.items() if len(people) >= 2}
    assert crowded and crowded <= shared_devices, "only kiosks and family tablets carry several people"


def test_online_inventory_runs_ahead_of_the_shelf_and_shelves_run_empty(clean: Path):
    shelf = {
        (d, r["store_id"], r["sku"]): int(r["on_hand_qty"]) for d, r in csv_records(clean, "inventory_store")
    }
    online = {
        (d, r["location_id"], r["sku"]): int(r["listed_qty"])
        for d, r in csv_records(clean, "inventory_online")
    }

    both = shelf.keys() & online.keys()
    assert both == shelf.keys(), "the online system lists every item a store carries"
    assert any(online[key] > shelf[key] for key in both)
    assert any(shelf[key] == 0 for key in both)
    assert any(shelf[key] == 0 and online[key] > 0 for key in both), (
        "the web shop lists stock the shelf lacks"
    )
    assert any(location.startswith("DC") for _, location, _ in online.keys() - both)


def test_store_tills_write_local_time_and_returns_as_negative_quantities(clean: Path):
    stores = {r["store_id"]: r for _, r in csv_records(clean, "stores")}
    pos = csv_records(clean, "pos", delimiter="|")

    hours = Counter(int(row["TXN_DATETIME"][11:13]) for _, row in pos)
    assert min(hours) >= 9 and max(hours) <= 20, "baskets fall in local opening hours"
    assert all(row["TXN_DATETIME"].startswith(day.isoformat()) for day, row in pos)
    assert any(int(row["QTY"]) < 0 for _, row in pos)
    assert {row["VOID"] for _, row in pos} == {"Y", "N"}
    assert all(bool(row["SKU"]) != bool(row["EAN"]) for _, row in pos), "sku or barcode, never both"
    assert all(row["STORE_ID"] in stores for _, row in pos)


# --- defects ------------------------------------------------------------------------------------------


def test_clean_data_has_no_defects(clean: Path):
    recorded = json.loads((clean / "_truth" / "defects.json").read_text())
    assert all(kinds == {} for days in recorded["counts"].values() for kinds in days.values())
    assert recorded["files"] == []
    skus = {r["sku"] for _, r in csv_records(clean, "products")}

    for source in SOURCES:
        files = deliveries(clean, source, copies=True)
        assert files and files == deliveries(clean, source), f"{source} has no re-delivered copies"
        assert len({hashlib.sha256(f.read_bytes()).digest() for f in files}) == len(files)
    for path in deliveries(clean, "orders") + deliveries(clean, "events"):
        for line in text_lines(path):
            json.loads(line)
    orders = [o for _, o in ndjson(clean, "orders")]
    assert all(key in o and o[key] is not None for o in orders for key in ORDER_REQUIRED)
    assert all(item["sku"] in skus and float(item["price"]) > 0 for o in orders for item in o["line_items"])
    assert all(set(o) == set(orders[0]) for o in orders)
    events = [e for _, e in ndjson(clean, "events")]
    assert all(key in e for e in events for key in EVENT_REQUIRED)
    assert len({e["messageId"] for e in events}) == len(events)
    assert all(instant(e["timestamp"]) <= instant(e["sentAt"]) <= instant(e["receivedAt"]) for e in events)
    assert all(instant(e["receivedAt"]) - instant(e["sentAt"]) < timedelta(seconds=1) for e in events)
    for path in deliveries(clean, "pos"):
        header, rows = csv_rows(path, "|")
        assert header == POS_HEADER
        assert all(len(row) == len(header) and row[2] and 0 < float(row[8]) < 10_000 for row in rows)
        assert all(row[5] in skus or row[5] == "" for row in rows)


def test_every_defect_kind_is_injected_and_recorded(dirty: Path):
    recorded = json.loads((dirty / "_truth" / "defects.json").read_text())
    totals: Counter[str] = Counter()
    for days in recorded["counts"].values():
        for kinds in days.values():
            totals.update(kinds)
    expected = {
        "malformed_line",
        "missing_required",
        "bad_price",
        "unknown_sku",
        "duplicate_record",
        "extra_field",
        "future_timestamp",
        "wrong_timezone",
        "duplicate_file",
        "renamed_column",
        "extra_column",
    }
    assert set(totals) == expected

    def recorded_count(source: str, kind: str) -> int:
        return sum(kinds.get(kind, 0) for kinds in recorded["counts"][source].values())

    for source in ("orders", "events"):
        broken = 0
        for path in deliveries(dirty, source):
            for line in text_lines(path):
                try:
                    json.loads(line)
                except ValueError:
                    broken += 1
        assert broken == recorded_count(source, "malformed_line") > 0

    for entry in recorded["files"]:
        if entry["kind"] == "duplicate_file":
            copy = dirty / entry["source"] / entry["day"] / entry["file"]
            original = copy.with_name(copy.name.replace("_2.", "."))
            assert copy.read_bytes() == original.read_bytes()
    assert len(recorded["files"]) >= len(SOURCES) * 2

    renamed = [f for f in recorded["files"] if f["kind"] == "renamed_column"]
    for entry in renamed:
        header, _ = csv_rows(dirty / "pos" / entry["day"] / entry["file"], "|")
        old, new = entry["detail"].split(" -> ")
        assert new in header and old not in header
    header, _ = csv_rows(deliveries(dirty, "products")[0])
    assert header[-1] == "season"

    events = [e for _, e in ndjson(dirty, "events")]
    assert max(Counter(e.get("messageId") for e in events if "messageId" in e).values()) == 2
    assert any(
        instant(e["timestamp"]) > instant(e["receivedAt"]) + timedelta(days=1) for e in events if _has(e)
    )
    assert any(
        instant(e["receivedAt"]) - instant(e["sentAt"]) >= timedelta(hours=1) for e in events if _has(e)
    )
    orders = [o for _, o in ndjson(dirty, "orders")]
    assert any(not all(key in o for key in ORDER_REQUIRED) for o in orders)
    assert any(
        {"payment_gateway_names", "buyer_accepts_marketing", "landing_site", "tags"} & set(o) for o in orders
    )
    skus = {r["sku"] for _, r in csv_records(dirty, "products") if r.get("sku")}
    assert any(item["sku"] not in skus for o in orders if "line_items" in o for item in o["line_items"])
    prices = [float(item["price"]) for o in orders if "line_items" in o for item in o["line_items"]]
    assert any(p < 0 or p > 10_000 for p in prices)


def _has(event: dict[str, Any]) -> bool:
    return all(key in event for key in ("timestamp", "sentAt", "receivedAt"))


def test_defect_counts_are_exact_per_source_and_day(dirty: Path):
    recorded = json.loads((dirty / "_truth" / "defects.json").read_text())
    for path in deliveries(dirty, "inventory_store"):
        header, rows = csv_rows(path)
        short = sum(len(row) < len(header) for row in rows)
        assert short == recorded["counts"]["inventory_store"][path.parent.name].get("malformed_line", 0)


def test_defects_damage_records_without_changing_the_others(tmp_path: Path):
    generate(tmp_path / "clean", START, 1, scale=0.02, seed=9, defects=DefectRates.none())
    generate(
        tmp_path / "dirty", START, 1, scale=0.02, seed=9, defects=DefectRates.uniform(0.05, file_rate=0.0)
    )
    recorded = json.loads((tmp_path / "dirty" / "_truth" / "defects.json").read_text())

    for source in ("orders", "events"):
        clean_lines = [line for path in deliveries(tmp_path / "clean", source) for line in text_lines(path)]
        dirty_lines = {line for path in deliveries(tmp_path / "dirty", source) for line in text_lines(path)}
        damaged = sum(recorded["counts"][source][START.isoformat()].values())
        changed = [line for line in clean_lines if line not in dirty_lines]
        assert 0 < len(changed) <= damaged


def test_defect_rates_are_checked_and_can_be_switched_off():
    assert all(rate == 0 for rate in DefectRates.none().as_dict().values())
    assert all(0 < rate < 0.05 for rate in DefectRates().as_dict().values())
    with pytest.raises(ConfigError, match="between 0 and 1"):
        DefectRates(malformed_line=1.5)


@pytest.mark.parametrize(
    ("days", "scale", "start", "message"),
    [(0, 1.0, START, "--days"), (1, 0.0, START, "--scale"), (1, 1.0, date(2014, 12, 31), "--start-date")],
)
def test_impossible_requests_are_refused_with_a_hint(tmp_path: Path, days, scale, start, message):
    with pytest.raises(ConfigError, match=message):
        generate(tmp_path, start, days, scale=scale)


# --- volumes and summary ------------------------------------------------------------------------------


def test_volumes_grow_linearly_with_scale(tmp_path: Path):
    small = generate(tmp_path / "small", START, 1, scale=0.05, seed=1, defects=DefectRates.none())
    large = generate(tmp_path / "large", START, 1, scale=0.1, seed=1, defects=DefectRates.none())

    # Store counts are whole numbers and assortments cap at 300 items, so at these tiny scales only
    # the population-driven volumes are compared.
    for source in ("orders", "events", "products", "crm_members"):
        ratio = large.sources[source].rows / small.sources[source].rows
        assert 1.6 < ratio < 2.5, f"{source} grew {ratio:.2f}x for 2x scale"


def test_summary_renders_one_row_per_source_and_a_total(tmp_path: Path):
    summary = generate(tmp_path, START, 1, scale=0.02, defects=DefectRates.none())

    rows = summary.table_rows()
    assert [row[0] for row in rows] == [*SOURCES, "total"]
    assert all(len(row) == len(summary.TABLE_COLUMNS) for row in rows)
    assert rows[-1][2] == f"{summary.total_rows:,}"
    assert summary.sources["stores"].rows == 2, "one store and one distribution centre at the smallest scale"
