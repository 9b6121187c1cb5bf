"""Identity resolution on hand-written bronze: merges, stable keys and the over-merge guard."""

from datetime import date

import pytest

from jobs.silver.identity import resolve
from omnilake.privacy import pseudonym_of
from tests.integration.silver_bronze import deliver, rows_of

pytestmark = pytest.mark.integration

DAY1, DAY2, DAY3 = date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)


def order(order_id: int, email: str, *, account: int | None = None, name=("Jane", "Doe"), phone=None) -> dict:
    customer = None
    if account is not None:
        customer = {
            "id": str(account),  # bronze holds the account id as text, however the export typed it
            "email": email,
            "phone": phone,
            "first_name": name[0],
            "last_name": name[1],
        }
    return {
        "id": order_id,
        "email": email,
        "phone": phone,
        "created_at": "2024-03-01T09:00:00-05:00",
        "updated_at": "2024-03-01T09:00:00-05:00",
        "customer": customer,
    }


def member(member_id: str, card: str, email=None, phone=None, name=("Jane", "Doe")) -> dict:
    return {
        "member_id": member_id,
        "loyalty_card": card,
        "first_name": name[0],
        "last_name": name[1],
        "email": email,
        "phone": phone,
        "signup_date": date(2020, 1, 1),
    }


def login(message_id: str, device: str, user_id: str, name: tuple[str, str], email: str) -> dict:
    return {
        "messageId": message_id,
        "type": "identify",
        "anonymousId": device,
        "userId": user_id,
        "timestamp": "2024-03-01T10:00:00.000Z",
        "sentAt": "2024-03-01T10:00:00.100Z",
        "receivedAt": "2024-03-01T10:00:00.300Z",
        "traits": {"email": email, "phone": None, "firstName": name[0], "lastName": name[1]},
    }


def keys(spark, lake) -> dict[tuple[str, str], str]:
    rows = rows_of(spark, lake, "silver.customer_identifiers", ["identifier_type", "identifier_hash"])
    return {(r["identifier_type"], r["identifier_hash"]): r["customer_key"] for r in rows}


def key_of(found: dict, identifier_type: str, value: str) -> str | None:
    return found.get((identifier_type, pseudonym_of(value)))


def test_two_people_found_to_be_one_keep_the_older_key_and_record_the_merge(spark, lake):
    deliver(spark, lake, "orders", DAY1, [order(1, "jane@example.com", account=101)])
    deliver(spark, lake, "crm_members", DAY2, [member("M1", "6045000000000001", email="j.doe@work.example")])
    resolve(lake)
    first = keys(spark, lake)
    web_key = key_of(first, "web_customer_id", "101")
    member_key = key_of(first, "member_id", "M1")
    assert web_key != member_key

    # The account's owner writes her work address at checkout: the two components are one person.
    deliver(spark, lake, "orders", DAY3, [order(2, " J.Doe@Work.example", account=101)], name="-day3")
    result = resolve(lake)
    second = keys(spark, lake)
    assert set(second.values()) == {web_key}  # the order was seen first (DAY1 < DAY2): its key survives
    assert result.merges == 1
    merges = rows_of(spark, lake, "silver.customer_key_merges", "merged_key")
    assert [(m["merged_key"], m["surviving_key"]) for m in merges] == [(member_key, web_key)]
    assert "email" in merges[0]["evidence"]
    assert merges[0]["merged_on"] == DAY3  # known as of the latest delivery identity read

    resolve(lake)  # nothing new: the survivor stays, no merge is recorded twice
    assert set(keys(spark, lake).values()) == {web_key}
    assert len(rows_of(spark, lake, "silver.customer_key_merges", "merged_key")) == 1


def test_unrelated_data_does_not_change_existing_keys(spark, lake):
    deliver(spark, lake, "orders", DAY1, [order(1, "jane@example.com", account=101, phone="(312) 555-0101")])
    resolve(lake)
    before = keys(spark, lake)

    deliver(spark, lake, "orders", DAY2, [order(2, "max@example.com", account=202, name=("Max", "Roe"))])
    deliver(spark, lake, "crm_members", DAY2, [member("M9", "6045000000000009", name=("Ann", "Lee"))])
    result = resolve(lake)
    after = keys(spark, lake)
    assert {k: after[k] for k in before} == before
    assert len(set(after.values())) == 3
    assert result.merges == 0
    assert key_of(after, "phone", "+13125550101") == key_of(after, "email", "jane@example.com")


def test_a_kiosk_device_shared_by_many_does_not_merge_strangers(spark, lake):
    people = [("Ann", "Lee"), ("Bob", "Ray"), ("Cy", "Fox"), ("Di", "Ng")]
    logins = [
        login(f"m{n}", "kiosk-1", str(300 + n), name, f"{name[0].lower()}@example.com")
        for n, name in enumerate(people)
    ]
    deliver(spark, lake, "events", DAY1, logins)
    result = resolve(lake)
    found = keys(spark, lake)
    assert len({key_of(found, "web_customer_id", str(300 + n)) for n in range(4)}) == 4
    assert key_of(found, "device", "kiosk-1") is None  # shared: no key, no edge
    assert result.shared_identifiers == 1


def test_a_household_landline_does_not_merge_its_members(spark, lake):
    landline = "212-555-0199"
    deliver(
        spark,
        lake,
        "crm_members",
        DAY1,
        [
            member("M1", "6045000000000001", email="ann@example.com", phone=landline, name=("Ann", "Lee")),
            member("M2", "6045000000000002", email="bo@example.com", phone=landline, name=("Bo", "Lee")),
        ],
    )
    resolve(lake)
    found = keys(spark, lake)
    assert key_of(found, "member_id", "M1") != key_of(found, "member_id", "M2")
    assert key_of(found, "phone", "+12125550199") is None


def test_one_persons_two_accounts_are_joined_by_her_own_mobile(spark, lake):
    mobile = "+1 312 555 0101"
    deliver(
        spark,
        lake,
        "orders",
        DAY1,
        [
            order(1, "jane@example.com", account=101, phone=mobile),
            order(2, "jane+shop@example.com", account=102, phone="(312) 555-0101"),
        ],
    )
    resolve(lake)
    found = keys(spark, lake)
    assert key_of(found, "web_customer_id", "101") == key_of(found, "web_customer_id", "102")
    assert key_of(found, "phone", "+13125550101") == key_of(found, "web_customer_id", "101")
