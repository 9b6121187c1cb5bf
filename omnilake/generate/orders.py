"""Web-shop orders, delivered as change events the way a Shopify-style export sends them.

Each order is written again, in full, whenever it changes: created, paid, (partially) fulfilled,
refunded or cancelled. ``updated_at`` never decreases within an order, but delivery does not follow
it: the daily export holds what changed that UTC day, and about 3% of versions arrive one to four
days late, so an older version can land after a newer one.

Orders depend only on (seed, scale, creation day): a run starting on day D first replays the orders
created in the ``LOOKBACK_DAYS`` before D without writing them, so their later versions (a refund two
weeks on) reach D's files exactly as they would in one long run. Versions waiting for a later
delivery day wait in a spool on disk, not in memory.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TextIO

from omnilake.generate.clock import (
    MS_PER_DAY,
    MS_PER_HOUR,
    MS_PER_MINUTE,
    SHOP_OPENED,
    SHOP_TIME_ZONE,
    DayProfile,
    day_number,
    iso_offset,
    utc_date,
    utc_midnight_ms,
)
from omnilake.generate.defects import (
    DefectLog,
    DefectRates,
    RecordDefects,
    bad_price_cents,
    defect_stream,
    future_shift_ms,
    truncate_line,
)
from omnilake.generate.population import Account, Device, Person, email_as_typed, phone_as_typed
from omnilake.generate.randomness import WeightedChoice, sorted_uniforms, stream, unit_hash
from omnilake.generate.vocab import CANCEL_REASONS, CITIES, DISCOUNT_CODES
from omnilake.generate.world import World
from omnilake.generate.writers import Landing, money, ndjson_line

SOURCE = "orders"
ORDERS_PER_SCALE = 1500
LOOKBACK_DAYS = 24  # created -> refund spans at most 20 days, plus up to 4 days late
FULL_REPLAY_DAYS = 11  # without a refund an order is done within 6 days, plus up to 4 days late
LATE_SHARE = 0.03
REFUND_SHARE = 0.09
CURRENCY = "USD"
TAX_BASIS_POINTS = 725
FREE_SHIPPING_FROM_CENTS = 7500
SHIPPING_CENTS = 795

WEEKDAY_FACTOR = (1.0, 0.95, 0.95, 1.0, 1.05, 0.95, 1.1)
MONTH_FACTOR = (0.85, 0.85, 0.95, 0.95, 1.0, 0.95, 0.95, 1.0, 1.0, 1.05, 1.3, 1.45)
# Shoppers' hours on US Eastern time, rotated to UTC: quiet nights, a lunch bump, an evening peak.
_EASTERN_HOURLY = (3, 2, 1.2, 0.8, 0.7, 1, 2, 3.5, 5, 6, 6.5, 7, 7.5, 7, 6.5, 6.5, 7, 8, 9, 10, 10, 9, 7, 5)
ONLINE_DAY = DayProfile([_EASTERN_HOURLY[(hour - 5) % 24] for hour in range(24)])

REQUIRED_KEYS = (
    "id",
    "created_at",
    "updated_at",
    "currency",
    "financial_status",
    "total_price",
    "line_items",
)
_EXTRA_FIELDS = (
    ("payment_gateway_names", ["shopify_payments"]),
    ("buyer_accepts_marketing", True),
    ("landing_site", "/?utm_source=newsletter&utm_medium=email"),
    ("tags", "vip, wholesale"),
)
_CANCEL_REASONS = WeightedChoice(list(CANCEL_REASONS))
_DISCOUNTS = WeightedChoice([(code, 1) for code in DISCOUNT_CODES])


def daily_order_count(seed: int, scale: float, day: date) -> int:
    if day < SHOP_OPENED:
        return 0
    u = unit_hash(seed, "orders-per-day", day.isoformat())
    volume = ORDERS_PER_SCALE * scale * WEEKDAY_FACTOR[day.weekday()] * MONTH_FACTOR[day.month - 1]
    return max(1, round(volume * (0.9 + 0.2 * u)))


@dataclass(frozen=True)
class Step:
    kind: str  # created | paid | cancelled | partially_fulfilled | fulfilled | refunded
    ms: int
    late_days: int

    @property
    def delivery_day(self) -> date:
        return utc_date(self.ms) + timedelta(days=self.late_days)


@dataclass(frozen=True)
class OrderLine:
    line_id: int
    rank: int
    sku: str
    title: str
    quantity: int
    price_cents: int
    discount_cents: int

    @property
    def net_cents(self) -> int:
        return self.price_cents * self.quantity - self.discount_cents


@dataclass
class Order:
    serial: int
    order_id: int
    number: int
    created_ms: int
    steps: list[Step]
    paid_at_checkout: bool
    cancel_reason: str | None
    person: Person | None = None
    account: Account | None = None
    device: Device | None = None
    email: str | None = None
    phone: str | None = None
    lines: tuple[OrderLine, ...] = ()
    discount_code: str | None = None
    shipping_cents: int = 0
    tax_cents: int = 0
    shipping_address: dict[str, str] | None = None
    refund_lines: tuple[OrderLine, ...] = ()

    @property
    def subtotal_cents(self) -> int:
        return sum(line.net_cents for line in self.lines)

    @property
    def discount_cents(self) -> int:
        return sum(line.discount_cents for line in self.lines)

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents + self.shipping_cents + self.tax_cents

    @property
    def source_name(self) -> str:
        return "app" if self.device is not None and self.device.is_app else "web"


class Spool:
    """Lines waiting for their delivery day, one file per day on disk, so memory stays flat."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._open: dict[date, TextIO] = {}

    def add(self, day: date, line: str) -> None:
        handle = self._open.get(day)
        if handle is None:
            path = self.directory / f"{day.isoformat()}.ndjson"
            handle = self._open[day] = open(path, "a", encoding="utf-8", newline="\n")  # noqa: SIM115
        handle.write(line)
        handle.write("\n")

    def drain(self, day: date) -> Iterator[str]:
        handle = self._open.pop(day, None)
        if handle is not None:
            handle.close()
        path = self.directory / f"{day.isoformat()}.ndjson"
        if not path.exists():
            return
        with open(path, encoding="utf-8", newline="\n") as lines:
            for line in lines:
                yield line.rstrip("\n")
        path.unlink()

    def close(self) -> None:
        for handle in self._open.values():
            handle.close()
        self._open.clear()


class OrderFeed:
    """Orders for the days ``first_day..last_day``: created, routed to their delivery day, written."""

    def __init__(
        self,
        world: World,
        landing: Landing,
        rates: DefectRates,
        defects: DefectLog,
        first_day: date,
        last_day: date,
        spool_dir: Path,
    ) -> None:
        self.world = world
        self.landing = landing
        self.rates = rates
        self.defects = defects
        self.first_day = first_day
        self.last_day = last_day
        self.spool = Spool(spool_dir)
        self._check_defects = bool(RecordDefects(rates, SOURCE, random.Random(0)).kinds)
        self._next_day = first_day - timedelta(days=LOOKBACK_DAYS)
        self._next_number = 1001 + sum(
            daily_order_count(world.seed, world.scale, SHOP_OPENED + timedelta(days=n))
            for n in range(max(0, day_number(self._next_day)))
        )

    def warm_up(self) -> None:
        """Replay the orders created before the first day, keeping only their versions due later."""
        while self._next_day < self.first_day:
            for _ in self.orders_created(self._next_day):
                pass

    def orders_created(self, day: date) -> Iterator[Order]:
        """Create ``day``'s orders in time order, spool their versions, and yield each order built
        for a day inside the window (the behaviour feed turns it into a checkout session)."""
        if day != self._next_day:
            raise ValueError(f"orders must be created day after day: expected {self._next_day}, got {day}")
        self._next_day = day + timedelta(days=1)
        seed, world = self.world.seed, self.world
        count = daily_order_count(seed, world.scale, day)
        midnight = utc_midnight_ms(day)
        arrivals = stream(seed, "order-arrivals", day.isoformat())
        in_window = day >= self.first_day
        only_refunds_matter = day < self.first_day - timedelta(days=FULL_REPLAY_DAYS)
        for j, u in enumerate(sorted_uniforms(arrivals, count)):
            serial = day_number(day) * 10_000_000 + j
            refund_draw = unit_hash(seed, "order-refund", serial)
            if only_refunds_matter and refund_draw >= REFUND_SHARE:
                continue
            rng = stream(seed, "order", serial)
            order = _plan(serial, self._next_number + j, midnight + ONLINE_DAY.offset_ms(u), rng, refund_draw)
            if not in_window and not any(
                self.first_day <= s.delivery_day <= self.last_day for s in order.steps
            ):
                continue
            self._fill(order, rng, day)
            self._route(order)
            if in_window:
                yield order
        self._next_number += count

    def deliver(self, day: date) -> None:
        """Write the day's export: every version whose delivery day it is."""
        with self.landing.deliver(SOURCE, day, f"orders_{day.isoformat()}.ndjson") as out:
            for line in self.spool.drain(day):
                out.write(line)

    def close(self) -> None:
        self.spool.close()

    # --- building ---------------------------------------------------------------------------------

    def _fill(self, order: Order, rng: random.Random, day: date) -> None:
        world = self.world
        person = world.population.person(world.population.sample(rng))
        order.person = person
        if person.accounts and rng.random() < 0.85:
            order.account = person.accounts[0] if rng.random() < 0.8 else person.accounts[-1]
            order.email = order.account.email_as_registered
        else:
            order.email = email_as_typed(person.emails[0], rng)
        order.device = rng.choice(person.devices)
        phones = person.contact_phones
        if phones and rng.random() < 0.45:
            order.phone = phone_as_typed(rng.choice(phones), rng)

        n_lines = 1 + (rng.random() < 0.45) + (rng.random() < 0.2) + (rng.random() < 0.08)
        ranks: list[int] = []
        while len(ranks) < min(n_lines, world.catalog.size):
            rank = world.catalog.sample(rng)
            if rank not in ranks:
                ranks.append(rank)
        code = _DISCOUNTS(rng)[0] if rng.random() < 0.18 else None
        percent = dict(DISCOUNT_CODES).get(code, 0) if code else 0
        lines = []
        for k, rank in enumerate(ranks):
            product = world.catalog.product(rank)
            quantity = 1 if rng.random() < 0.8 else rng.choice((2, 2, 3))
            price = world.catalog.price_cents(rank, day)
            lines.append(
                OrderLine(
                    line_id=12_000_000_000_000 + order.serial * 8 + k,
                    rank=rank,
                    sku=product.sku,
                    title=product.name,
                    quantity=quantity,
                    price_cents=price,
                    discount_cents=price * quantity * percent // 100,
                )
            )
        order.lines = tuple(lines)
        order.discount_code = code
        subtotal = order.subtotal_cents
        order.shipping_cents = (
            0 if code == "FREESHIP" or subtotal >= FREE_SHIPPING_FROM_CENTS else SHIPPING_CENTS
        )
        order.tax_cents = subtotal * TAX_BASIS_POINTS // 10_000
        city = person.city if rng.random() < 0.9 else rng.choice(CITIES)
        order.shipping_address = {
            "city": city.name,
            "province_code": city.state,
            "zip": person.postal_code
            if city == person.city
            else f"{city.zip_prefix}{rng.randrange(100):02d}",
            "country_code": "US",
        }
        if any(s.kind == "refunded" for s in order.steps):
            order.refund_lines = order.lines if rng.random() < 0.4 else (rng.choice(order.lines),)

    def _route(self, order: Order) -> None:
        for number, (step, record) in enumerate(_versions(order)):
            day = step.delivery_day
            if not self.first_day <= day <= self.last_day:
                continue
            kind = None
            if self._check_defects:
                # Keyed by version, so a version's defect does not depend on which days a run covers.
                rng = defect_stream(self.world.seed, SOURCE, order.serial, number)
                kind = RecordDefects(self.rates, SOURCE, rng).draw()
            if kind is None:
                self.spool.add(day, ndjson_line(record))
                continue
            self.defects.count(SOURCE, day, kind)
            line = ndjson_line(self._damage(record, kind, order, step, rng))
            if kind == "malformed_line":
                line = truncate_line(line, rng)
            self.spool.add(day, line)
            if kind == "duplicate_record":
                self.spool.add(day, line)

    def _damage(
        self, record: dict[str, Any], kind: str, order: Order, step: Step, rng: random.Random
    ) -> dict[str, Any]:
        record = dict(record)
        if kind == "missing_required":
            del record[rng.choice(REQUIRED_KEYS)]
        elif kind in ("bad_price", "unknown_sku"):
            items = [dict(item) for item in record["line_items"]]
            item = rng.choice(items)
            if kind == "bad_price":
                item["price"] = money(bad_price_cents(int(item["price"].replace(".", "")), rng))
            else:
                item["sku"] = self.world.catalog.unknown_sku(rng)
            record["line_items"] = items
        elif kind == "extra_field":
            key, value = rng.choice(_EXTRA_FIELDS)
            record[key] = value
        elif kind == "future_timestamp":
            record["updated_at"] = iso_offset(step.ms + future_shift_ms(rng), SHOP_TIME_ZONE)
        elif kind == "wrong_timezone":
            for key in ("created_at", "updated_at", "processed_at", "cancelled_at", "closed_at"):
                if record.get(key):
                    record[key] = _relabel_utc(record[key])
        return record


def _relabel_utc(iso: str) -> str:
    """Keep the wall clock, claim it is UTC (what an exporter with the wrong zone setting writes)."""
    return iso[:19] + "+00:00"


def _plan(serial: int, number: int, created_ms: int, rng: random.Random, refund_draw: float) -> Order:
    """The lifecycle of an order, drawn before its content so that orders whose versions all fall
    outside the window can be skipped without building them. Whether a fulfilled order is refunded
    comes from its own hash, so replaying old orders can skip those that cannot matter any more."""
    steps = [("created", created_ms)]
    paid_at_checkout = rng.random() < 0.7
    cancel_reason = None
    t = created_ms
    paid = paid_at_checkout
    if not paid:
        if rng.random() < 0.9:
            t += rng.randrange(MS_PER_MINUTE, 6 * MS_PER_HOUR)
            steps.append(("paid", t))
            paid = True
        else:
            t += rng.randrange(MS_PER_DAY, 3 * MS_PER_DAY)
            cancel_reason = "declined"
            steps.append(("cancelled", t))
    if cancel_reason is None and rng.random() < 0.04:
        t += rng.randrange(10 * MS_PER_MINUTE, 36 * MS_PER_HOUR)
        cancel_reason = _CANCEL_REASONS(rng)
        steps.append(("cancelled", t))
    if cancel_reason is None and rng.random() < 0.95:
        if rng.random() < 0.08:
            t += rng.randrange(4 * MS_PER_HOUR, 3 * MS_PER_DAY)
            steps.append(("partially_fulfilled", t))
            t += rng.randrange(12 * MS_PER_HOUR, 2 * MS_PER_DAY)
        else:
            t += rng.randrange(4 * MS_PER_HOUR, 3 * MS_PER_DAY)
        steps.append(("fulfilled", t))
        if refund_draw < REFUND_SHARE:
            t += rng.randrange(3 * MS_PER_DAY, 14 * MS_PER_DAY)
            steps.append(("refunded", t))
    late = [rng.choice((1, 1, 1, 2, 2, 3, 4)) if rng.random() < LATE_SHARE else 0 for _ in steps]
    return Order(
        serial=serial,
        order_id=5_000_000_000_000 + serial,
        number=number,
        created_ms=created_ms,
        steps=[Step(kind, ms, days) for (kind, ms), days in zip(steps, late, strict=True)],
        paid_at_checkout=paid_at_checkout,
        cancel_reason=cancel_reason,
    )


def _versions(order: Order) -> Iterator[tuple[Step, dict[str, Any]]]:
    """Every full snapshot of the order, one per lifecycle step."""
    person = order.person
    assert person is not None
    customer = None
    if order.account is not None:
        customer = {
            "id": order.account.customer_id,
            "email": order.account.email_as_registered,
            "phone": order.account.phone_as_registered,
            "first_name": person.first_name,
            "last_name": person.last_name,
        }
    line_items = [
        {
            "id": line.line_id,
            "sku": line.sku,
            "title": line.title,
            "quantity": line.quantity,
            "price": money(line.price_cents),
            "total_discount": money(line.discount_cents),
        }
        for line in order.lines
    ]
    discount_codes = []
    if order.discount_code:
        discount_codes.append(
            {"code": order.discount_code, "amount": money(order.discount_cents), "type": "percentage"}
        )
    created = iso_offset(order.created_ms, SHOP_TIME_ZONE)
    totals = {
        "subtotal_price": money(order.subtotal_cents),
        "total_discounts": money(order.discount_cents),
        "total_shipping": money(order.shipping_cents),
        "total_tax": money(order.tax_cents),
        "total_price": money(order.total_cents),
    }
    financial = "pending"
    fulfillment = None
    cancelled_at = closed_at = None
    cancel_reason = None
    refunds: list[dict[str, Any]] = []
    for step in order.steps:
        at = iso_offset(step.ms, SHOP_TIME_ZONE)
        if step.kind == "created":
            financial = "paid" if order.paid_at_checkout else "pending"
        elif step.kind == "paid":
            financial = "paid"
        elif step.kind == "cancelled":
            cancelled_at = closed_at = at
            cancel_reason = order.cancel_reason
            if financial == "paid":
                refunds = [*refunds, _refund(order, order.lines, step.ms, len(refunds), "Order cancelled")]
                financial = "refunded"
            else:
                financial = "voided"
        elif step.kind == "partially_fulfilled":
            fulfillment = "partial"
        elif step.kind == "fulfilled":
            fulfillment = "fulfilled"
            closed_at = at
        elif step.kind == "refunded":
            refunds = [*refunds, _refund(order, order.refund_lines, step.ms, len(refunds), "Customer return")]
            financial = "refunded" if len(order.refund_lines) == len(order.lines) else "partially_refunded"
        yield (
            step,
            {
                "id": order.order_id,
                "name": f"#{order.number}",
                "order_number": order.number,
                "email": order.email,
                "phone": order.phone,
                "created_at": created,
                "updated_at": at,
                "processed_at": created,
                "cancelled_at": cancelled_at,
                "cancel_reason": cancel_reason,
                "closed_at": closed_at,
                "currency": CURRENCY,
                "financial_status": financial,
                "fulfillment_status": fulfillment,
                "source_name": order.source_name,
                **totals,
                "discount_codes": discount_codes,
                "customer": customer,
                "line_items": line_items,
                "shipping_address": order.shipping_address,
                "refunds": refunds,
            },
        )


def _refund(order: Order, lines: tuple[OrderLine, ...], ms: int, number: int, note: str) -> dict[str, Any]:
    return {
        "id": 8_000_000_000_000 + order.serial * 4 + number,
        "created_at": iso_offset(ms, SHOP_TIME_ZONE),
        "note": note,
        "refund_line_items": [
            {"line_item_id": line.line_id, "quantity": line.quantity, "subtotal": money(line.net_cents)}
            for line in lines
        ],
    }
