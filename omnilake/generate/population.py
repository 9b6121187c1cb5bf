"""The people behind the data, and every identifier each of them leaves in the silos.

A person is derived from their index on demand (nothing is held per person, so memory does not grow
with scale). Index order is activity order: low indices shop and browse most. Persons come in blocks
of four; some blocks are households whose members share a landline, an IP address and sometimes a
family tablet, which is what makes an identity graph over-merge if it trusts every shared link.

What a source writes is a *variant* of the truth: e-mails in different case and with stray spaces,
phones in several national formats. ``Person.truth()`` holds the normalised identifiers
(lower-cased trimmed e-mails, E.164 phones) that identity resolution should recover.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, lru_cache
from typing import Any

from omnilake.generate.catalog import Location
from omnilake.generate.clock import SHOP_OPENED, day_number
from omnilake.generate.randomness import (
    Permutation,
    WeightedChoice,
    luhn_complete,
    skewed_index,
    stream,
    unit_hash,
    uuid4,
)
from omnilake.generate.vocab import (
    APP_DEVICES,
    APP_USER_AGENTS,
    FIRST_NAMES,
    LAST_NAMES,
    PERSONAL_EMAIL_DOMAINS,
    WEB_USER_AGENTS,
    WORK_EMAIL_DOMAINS,
    City,
)

PERSONS_PER_SCALE = 6000
MIN_PERSONS = 40
BLOCK = 4  # persons per block; a household is the first 2-4 persons of a block
HOUSEHOLD_SHARE = 0.15
MEMBER_SHARE = 0.5
ACCOUNT_SHARE = 0.65
SECOND_ACCOUNT_SHARE = 0.12
ACCOUNT_PHONE_SHARE = 0.6  # account holders who put a phone on their profile (for delivery texts)
SIGNUPS_FROM = date(2012, 1, 1)
SIGNUP_SPAN_DAYS = 20 * 365  # sign-ups keep arriving in any window a user is likely to generate

_DEVICE_KINDS = WeightedChoice([("mobile", 45), ("desktop", 30), ("tablet", 8), ("ios", 10), ("android", 7)])
_DOMAINS = WeightedChoice(list(PERSONAL_EMAIL_DOMAINS))
_TIERS = WeightedChoice([("bronze", 60), ("silver", 25), ("gold", 12), ("platinum", 3)])


@dataclass(frozen=True)
class Device:
    """A browser or app install. Cookie resets and reinstalls give it a second anonymous id."""

    kind: str  # desktop | mobile | tablet | ios | android | kiosk
    anonymous_ids: tuple[str, ...]
    reset_day: int  # day number from which the last anonymous id is in use
    user_agent: str
    ip: str
    device_id: str | None = None  # mobile advertising id, apps only
    manufacturer: str | None = None
    model: str | None = None
    os_name: str | None = None
    os_version: str | None = None

    @property
    def is_app(self) -> bool:
        return self.kind in ("ios", "android")

    def anonymous_id(self, day_no: int) -> str:
        return self.anonymous_ids[-1] if day_no >= self.reset_day else self.anonymous_ids[0]


@dataclass(frozen=True)
class Household:
    household_id: str
    members: tuple[int, ...]
    last_name: str | None
    postal_code: str
    home_ip: str
    landline: str | None  # E.164, shared by every member
    tablet: Device | None  # a family tablet several members log in on


@dataclass(frozen=True)
class Account:
    """A web-shop customer account: its profile travels with the account's orders and identify calls."""

    customer_id: int
    email_as_registered: str
    phone_as_registered: str | None = None  # as typed at registration; the phone is optional


@dataclass(frozen=True)
class Member:
    """A loyalty programme membership, as the CRM holds it."""

    member_id: str
    loyalty_card: str
    signup_date: date
    signup_channel: str  # store | web
    signup_store_id: str | None
    email_as_given: str | None
    phone_as_given: str | None
    tier: str
    email_opt_in: bool
    sms_opt_in: bool
    profiling_consent: bool


@dataclass(frozen=True)
class Person:
    index: int
    person_id: str
    household: Household | None
    first_name: str
    last_name: str
    home_store: int
    city: City
    postal_code: str
    emails: tuple[str, ...]  # normalised; the first is the main address
    mobile: str | None  # E.164
    accounts: tuple[Account, ...]
    member: Member | None
    devices: tuple[Device, ...]

    @property
    def contact_phones(self) -> tuple[str, ...]:
        """Phones this person writes on forms (E.164): their mobile, else the household landline."""
        phones = [self.mobile] if self.mobile else []
        if self.household and self.household.landline:
            phones.append(self.household.landline)
        return tuple(phones)

    def truth(self) -> dict[str, Any]:
        household = self.household
        devices = self.devices
        return {
            "person_id": self.person_id,
            "household_id": household.household_id if household else None,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "web_customer_ids": [str(a.customer_id) for a in self.accounts],
            "emails": list(self.emails),
            "phones": [self.mobile] if self.mobile else [],
            "loyalty_cards": [self.member.loyalty_card] if self.member else [],
            "member_ids": [self.member.member_id] if self.member else [],
            "member_since": self.member.signup_date.isoformat() if self.member else None,
            "anonymous_ids": [a for d in devices for a in d.anonymous_ids],
            "device_ids": [d.device_id for d in devices if d.device_id],
            "shared_phones": [household.landline] if household and household.landline else [],
            "shared_anonymous_ids": list(household.tablet.anonymous_ids)
            if household and household.tablet
            else [],
        }


@cache
def ascii_fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isascii() and c.isalnum()).lower()


def email_as_typed(email: str, rng: random.Random) -> str:
    """How a person writes their address into a form: case and stray spaces vary, the address does not."""
    local, _, domain = email.partition("@")
    u = rng.random()
    if u < 0.52:
        return email
    if u < 0.72:
        return ".".join(part[:1].upper() + part[1:] for part in local.split(".")) + "@" + domain
    if u < 0.80:
        return local + "@" + domain.upper()
    if u < 0.87:
        return email.upper()
    if u < 0.94:
        return rng.choice((" ", "", "  ")) + email + rng.choice((" ", "  ", "\t"))
    return local.capitalize() + "@" + domain.capitalize() + " "


def phone_as_typed(e164: str, rng: random.Random) -> str:
    """A US number in one of the formats people and systems write it in."""
    area, exchange, line = e164[2:5], e164[5:8], e164[8:]
    return rng.choice(
        (
            f"({area}) {exchange}-{line}",
            f"({area}) {exchange}-{line}",
            f"{area}-{exchange}-{line}",
            f"{area}.{exchange}.{line}",
            f"{area}{exchange}{line}",
            f"+1 {area} {exchange} {line}",
            f"+1{area}{exchange}{line}",
            f"1-{area}-{exchange}-{line}",
            f"+1 ({area}) {exchange}-{line}",
        )
    )


def normalise_email(text: str) -> str:
    return text.strip().lower()


class Population:
    """Everyone who may appear in the data at a given scale: 6000 persons per unit of scale."""

    def __init__(self, seed: int, scale: float, stores: tuple[Location, ...]) -> None:
        self.seed = seed
        self.size = max(MIN_PERSONS, round(PERSONS_PER_SCALE * scale))
        self.stores = stores
        self.n_blocks = -(-self.size // BLOCK)
        digits = max(4, len(str(self.size * 10)))
        self._email_number = Permutation(seed, "email-number", 10**digits)
        self._work_number = Permutation(seed, "work-email-number", 10**digits)
        self._mobile = Permutation(seed, "mobile", 4_000_000)
        self._landline = Permutation(seed, "landline", 4_000_000)
        self._customer = Permutation(seed, "customer", 10**12)
        self._member = Permutation(seed, "member", 10**8)
        self._card = Permutation(seed, "loyalty-card", 10**11)
        self.person = lru_cache(maxsize=16384)(self.build)
        self.household = lru_cache(maxsize=4096)(self._build_household)
        self._signed_up = lru_cache(maxsize=65536)(self._membership)

    # --- sampling ---------------------------------------------------------------------------------

    def sample(self, rng: random.Random) -> int:
        """Anyone, the most active most often."""
        return skewed_index(rng, self.size, 1.7)

    def sample_near_store(self, rng: random.Random, store: int) -> int:
        """Someone whose home store this is."""
        n_stores = len(self.stores)
        blocks_here = -(-(self.n_blocks - store) // n_stores)
        if blocks_here <= 0:
            return self.sample(rng)
        block = store + n_stores * skewed_index(rng, blocks_here, 1.5)
        index = block * BLOCK + rng.randrange(BLOCK)
        return index if index < self.size else block * BLOCK

    # --- membership without building the person (the CRM snapshot scans everyone daily) ----------

    def is_member(self, index: int) -> bool:
        return self._signed_up(index) is not None

    def signup_date(self, index: int) -> date:
        signed_up = self._signed_up(index)
        if signed_up is None:
            raise ValueError(f"person {index} is not a loyalty member")
        return signed_up

    def member_on(self, index: int, day: date) -> Member | None:
        """The membership if this person had joined by ``day``."""
        signed_up = self._signed_up(index)
        if signed_up is None or signed_up > day:
            return None
        return self.person(index).member

    def _membership(self, index: int) -> date | None:
        if unit_hash(self.seed, "member", index) >= MEMBER_SHARE:
            return None
        return SIGNUPS_FROM + timedelta(days=int(unit_hash(self.seed, "signup", index) * SIGNUP_SPAN_DAYS))

    # --- derivation -------------------------------------------------------------------------------

    def _build_household(self, block: int) -> Household | None:
        if unit_hash(self.seed, "household", block) >= HOUSEHOLD_SHARE:
            return None
        rng = stream(self.seed, "household", block)
        size = min(rng.choice((2, 2, 2, 3, 3, 4)), self.size - block * BLOCK)
        if size < 2:
            return None
        city = self.stores[block % len(self.stores)].city
        landline = None
        if rng.random() < 0.7:
            p = self._landline(block)
            landline = f"+1{rng.choice(city.area_codes)}{600 + p // 10_000}{p % 10_000:04d}"
        home_ip = _home_ip(rng)
        tablet = None
        if rng.random() < 0.45:
            tablet = Device(
                kind="tablet",
                anonymous_ids=(uuid4(rng),),
                reset_day=1 << 30,
                user_agent=rng.choice(WEB_USER_AGENTS["tablet"]),
                ip=home_ip,
            )
        return Household(
            household_id=f"H{block:07d}",
            members=tuple(range(block * BLOCK, block * BLOCK + size)),
            last_name=rng.choice(LAST_NAMES) if rng.random() < 0.8 else None,
            postal_code=f"{city.zip_prefix}{rng.randrange(100):02d}",
            home_ip=home_ip,
            landline=landline,
            tablet=tablet,
        )

    def build(self, index: int) -> Person:
        """Derive one person (uncached; use ``person`` for the cached accessor)."""
        rng = stream(self.seed, "person", index)
        block = index // BLOCK
        household = self.household(block)
        if household is not None and index not in household.members:
            household = None
        store = block % len(self.stores)
        city = self.stores[store].city

        first_name = rng.choice(FIRST_NAMES)
        last_name = rng.choice(LAST_NAMES)
        if household is not None and household.last_name:
            last_name = household.last_name
        postal_code = household.postal_code if household else f"{city.zip_prefix}{rng.randrange(100):02d}"

        first, last = ascii_fold(first_name), ascii_fold(last_name)
        number = self._email_number(index)
        local = rng.choice(
            (
                f"{first}.{last}{number}",
                f"{first}{last}{number}",
                f"{first[0]}{last}{number}",
                f"{first}_{last}{number}",
                f"{last}.{first}{number}",
            )
        )
        emails = [f"{local}@{_DOMAINS(rng)}"]
        if rng.random() < 0.25:
            emails.append(f"{first[0]}.{last}{self._work_number(index)}@{rng.choice(WORK_EMAIL_DOMAINS)}")

        mobile = None
        if rng.random() < (0.7 if household and household.landline else 0.88):
            p = self._mobile(index)
            mobile = f"+1{rng.choice(city.area_codes)}{200 + p // 10_000}{p % 10_000:04d}"

        accounts: list[Account] = []
        phones = [p for p in (mobile, household.landline if household else None) if p]
        if rng.random() < ACCOUNT_SHARE:
            accounts.append(
                Account(
                    self._customer_id(index, 0),
                    email_as_typed(emails[0], rng),
                    self._account_phone(index, 0, phones),
                )
            )
            if rng.random() < SECOND_ACCOUNT_SHARE:
                if len(emails) > 1:
                    second = emails[1]
                else:
                    user, _, domain = emails[0].partition("@")
                    second = f"{user}+shop@{domain}"
                    emails.append(second)
                accounts.append(
                    Account(
                        self._customer_id(index, 1),
                        email_as_typed(second, rng),
                        self._account_phone(index, 1, phones),
                    )
                )

        member = self._build_member(index, rng, store, emails[0], mobile, household)

        devices = []
        home_ip = household.home_ip if household else _home_ip(rng)
        for _ in range(1 + (rng.random() < 0.55) + (rng.random() < 0.2)):
            devices.append(_device(rng, _DEVICE_KINDS(rng), home_ip))

        return Person(
            index=index,
            person_id=f"P{index:07d}",
            household=household,
            first_name=first_name,
            last_name=last_name,
            home_store=store,
            city=city,
            postal_code=postal_code,
            emails=tuple(emails),
            mobile=mobile,
            accounts=tuple(accounts),
            member=member,
            devices=tuple(devices),
        )

    def _customer_id(self, index: int, account: int) -> int:
        return 6_000_000_000_000 + self._customer(index * 2 + account)

    def _account_phone(self, index: int, account: int, phones: list[str]) -> str | None:
        """The phone on an account's profile: the person's first contact phone, if they give phones to
        shops at all (a habit, and the browser's autofill, so a second account gets it too). Drawn
        from its own stream, so the rest of the person does not depend on it."""
        if not phones or unit_hash(self.seed, "account-phone", index) >= ACCOUNT_PHONE_SHARE:
            return None
        return phone_as_typed(phones[0], stream(self.seed, "account-phone", index, account))

    def _build_member(
        self,
        index: int,
        rng: random.Random,
        store: int,
        email: str,
        mobile: str | None,
        household: Household | None,
    ) -> Member | None:
        # Always draw, so a person's other attributes do not depend on membership.
        channel_web = rng.random() < 0.3
        email_given = email_as_typed(email, rng) if rng.random() < 0.92 else None
        phones = [p for p in (mobile, household.landline if household else None) if p]
        phone_given = None
        if phones and rng.random() < 0.9:
            phone_given = phone_as_typed(phones[0] if rng.random() < 0.75 else phones[-1], rng)
        # The web sign-up form requires an e-mail; at a till the programme needs one way to reach
        # the member (to send the card and the rewards): the e-mail or, failing that, a phone.
        if email_given is None and (channel_web or not phones):
            email_given = email_as_typed(email, rng)
        elif email_given is None and phone_given is None:
            phone_given = phone_as_typed(phones[0], rng)
        tier = _TIERS(rng)
        consents = (rng.random() < 0.6, rng.random() < 0.35, rng.random() < 0.5)
        if not self.is_member(index):
            return None
        return Member(
            member_id=f"M{self._member(index):08d}",
            loyalty_card=luhn_complete(f"6045{self._card(index):011d}"),
            signup_date=self.signup_date(index),
            signup_channel="web" if channel_web else "store",
            signup_store_id=None if channel_web else self.stores[store].store_id,
            email_as_given=email_given,
            phone_as_given=phone_given,
            tier=tier,
            email_opt_in=consents[0],
            sms_opt_in=consents[1],
            profiling_consent=consents[2],
        )


def _home_ip(rng: random.Random) -> str:
    # Documentation ranges (RFC 5737): unrelated households collide, as behind carrier NAT.
    return f"{rng.choice(('192.0.2', '203.0.113'))}.{rng.randrange(1, 255)}"


def _device(rng: random.Random, kind: str, home_ip: str) -> Device:
    ids = (uuid4(rng), uuid4(rng)) if rng.random() < 0.25 else (uuid4(rng),)
    reset_day = day_number(SHOP_OPENED) + rng.randrange(12 * 365)
    if kind in APP_DEVICES:
        manufacturer, models, os_name, versions = APP_DEVICES[kind]
        device_id = uuid4(rng)
        return Device(
            kind=kind,
            anonymous_ids=ids,
            reset_day=reset_day,
            user_agent=APP_USER_AGENTS[kind],
            ip=_mobile_ip(rng),
            device_id=device_id.upper() if kind == "ios" else device_id,
            manufacturer=manufacturer,
            model=rng.choice(models),
            os_name=os_name,
            os_version=rng.choice(versions),
        )
    ip = _mobile_ip(rng) if kind == "mobile" else home_ip
    return Device(
        kind=kind, anonymous_ids=ids, reset_day=reset_day, user_agent=rng.choice(WEB_USER_AGENTS[kind]), ip=ip
    )


def _mobile_ip(rng: random.Random) -> str:
    # Documentation prefix 2001:db8::/32 (RFC 3849).
    return f"2001:db8:{rng.getrandbits(16):x}:{rng.getrandbits(16):x}::{rng.getrandbits(16):x}"
