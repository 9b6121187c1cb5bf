"""Behaviour logs: web and app events in the Segment spec shape (page, track, identify).

A day's file holds the sessions that started that UTC day, in start order: browsing sessions and
one checkout session per web order, ending in an ``Order Completed`` whose ``order_id`` is the
order's id. Visitors are anonymous (``anonymousId``, one per browser or app install) until they log
in: an ``identify`` call then ties the anonymous id to the account (``userId``) with the account's
profile as traits (e-mail, name, the phone if the account has one). A session the login cookie
remembers is identified the same way when it starts, as Segment advises for pages a logged-in user
loads. Guests who check out are often identified by what they typed into the checkout form (e-mail,
name, the phone if given), without a ``userId``. Kiosks in stores and family tablets carry several
people's logins on one anonymous id. About 2% of app sessions reach Segment one to three days late
(the phone was offline), so their ``timestamp`` is days older than ``receivedAt``.
"""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from omnilake.generate.catalog import Location, Product, slug
from omnilake.generate.clock import (
    MS_PER_DAY,
    MS_PER_SECOND,
    day_number,
    iso_utc,
    utc_midnight_ms,
    utc_offset_ms,
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
from omnilake.generate.orders import ONLINE_DAY, Order
from omnilake.generate.population import Account, Device, Person
from omnilake.generate.randomness import sorted_uniforms, stream, unit_hash, uuid4
from omnilake.generate.vocab import KIOSK_USER_AGENT
from omnilake.generate.world import World
from omnilake.generate.writers import Landing, money, ndjson_line

SOURCE = "events"
BROWSE_SESSIONS_PER_SCALE = 2500
KIOSK_SHARE = 0.03
TABLET_SHARE = 0.3
LOGGED_IN_SHARE = 0.5  # browsing sessions of account holders that are logged in
LATE_APP_SHARE = 0.02
SITE = "https://shop.omnilake.example"
REQUIRED_KEYS = ("messageId", "type", "anonymousId", "timestamp", "receivedAt")
_REFERRERS = (
    "",
    "",
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://l.instagram.com/",
    "https://mail.example.com/",
    "https://www.pinterest.com/",
)
_EXTRA_FIELDS = (
    ("_metadata", {"bundled": ["Segment.io"], "unbundled": []}),
    ("experiment", {"id": "exp-pdp-2", "variant": "B"}),
    ("consentPreferences", {"analytics": True, "advertising": False}),
)
_WEB_LIBRARY = {"name": "analytics.js", "version": "next-1.64.0"}
_APP_LIBRARY = {
    "ios": {"name": "analytics-ios", "version": "4.1.8"},
    "android": {"name": "analytics-android", "version": "4.11.3"},
}
_APP = {"name": "Omnilake Shop", "version": "5.12.0", "build": "512"}


def daily_browse_sessions(seed: int, scale: float, day: date) -> int:
    u = unit_hash(seed, "browse-sessions", day.isoformat())
    return max(1, round(BROWSE_SESSIONS_PER_SCALE * scale * (0.9 + 0.2 * u)))


@dataclass(slots=True)
class _Action:
    """One call of a session, already encoded as JSON fragments; the envelope comes at the end."""

    t: int  # milliseconds after the session started
    user_id: str | None
    kind: str  # page | track | identify
    named: str  # ',"name":...' for a page, ',"event":...' for a track call, '' for identify
    payload: str  # properties | traits
    payload_json: str
    page_json: str | None  # the current page, in the context of web calls
    applicable: frozenset[str]  # defect kinds this call can carry


class _Session:
    """One visit: collects actions with times relative to its start, then becomes events."""

    def __init__(self, device: Device, anonymous_id: str, person: Person, rng: random.Random) -> None:
        self.device = device
        self.anonymous_id = anonymous_id
        self.person = person
        self.rng = rng
        self.user_id: str | None = None
        self.t = 0
        self.referrer = rng.choice(_REFERRERS)
        self.actions: list[_Action] = []
        self.cart: list[tuple[Product, int]] = []
        self.cart_id = f"cart-{rng.getrandbits(48):012x}"
        self.current_page_json: str | None = None

    def _advance(self, low: int, high: int) -> None:
        self.t += int((low + self.rng.random() * (high - low)) * MS_PER_SECOND)

    def page(self, name: str, path: str, title: str) -> None:
        self._advance(2, 40)
        url = SITE + path
        search = path.partition("?")[2]
        page_json = self.current_page_json = (
            f'{{"path":{_text(path)},"url":{_text(url)},"referrer":{_text(self.referrer)},'
            f'"title":{_text(title)},"search":{_text(f"?{search}" if search else "")}}}'
        )
        self.referrer = url
        self._add("page", f',"name":{_text(name)}', "properties", page_json, _PLAIN)

    def track(self, event: str, properties: dict[str, Any] | str, about_products: bool = True) -> None:
        """A track call; ``properties`` may come encoded already (the hot product events do)."""
        self._advance(1, 20)
        encoded = properties if isinstance(properties, str) else _encode(properties)
        self._add(
            "track",
            f',"event":{_text(event)}',
            "properties",
            encoded,
            _WITH_PRODUCT if about_products else _PLAIN,
        )

    def identify(self, user_id: str | None, traits: dict[str, Any]) -> None:
        self._advance(5, 60)
        self.user_id = user_id
        self._add("identify", "", "traits", _encode(traits), _PLAIN)

    def _add(
        self, kind: str, named: str, payload: str, payload_json: str, applicable: frozenset[str]
    ) -> None:
        """Record a call; analytics.js puts the current page in every call's context, apps do not."""
        page = None if self.device.is_app else self.current_page_json
        self.actions.append(
            _Action(self.t, self.user_id, kind, named, payload, payload_json, page, applicable)
        )

    def view_product(self, product: Product, price_cents: int) -> None:
        self.page("Product", product.url_path, product.name)
        self.track("Product Viewed", _product_json(product, price_cents, self.referrer))

    def add_to_cart(self, product: Product, price_cents: int, quantity: int) -> None:
        self.track(
            "Product Added", _product_json(product, price_cents, self.referrer, quantity, self.cart_id)
        )
        self.cart.append((product, price_cents * quantity))


def _product_json(
    product: Product, price_cents: int, url: str, quantity: int | None = None, cart_id: str | None = None
) -> str:
    """Product Viewed / Product Added properties as JSON text, built directly: they are most events."""
    cart = f'"cart_id":{_text(cart_id)},' if cart_id else ""
    tail = f',"quantity":{quantity}' if quantity is not None else ""
    return (
        f'{{{cart}"product_id":{_text(product.sku)},"sku":{_text(product.sku)},"name":{_text(product.name)},'
        f'"category":{_text(product.category)},"brand":{_text(product.brand)},"variant":{_text(product.color)},'
        f'"price":{price_cents / 100!r},"currency":"USD","url":{_text(url)}{tail}}}'
    )


class EventFeed:
    def __init__(self, world: World, landing: Landing, rates: DefectRates, defects: DefectLog) -> None:
        self.world = world
        self.landing = landing
        self.rates = rates
        self.defects = defects

    def deliver(self, day: date, orders: Iterable[Order]) -> None:
        """Write the day's events: browsing sessions merged in start order with checkout sessions."""
        seed = self.world.seed
        day_no = day_number(day)
        browse_rng = stream(seed, "browse", day.isoformat())
        checkout_rng = stream(seed, "checkout", day.isoformat())
        defects = RecordDefects(self.rates, SOURCE, defect_stream(seed, SOURCE, day.isoformat()))
        sessions = heapq.merge(
            self._browse_starts(day),
            ((order.created_ms, 2 * k + 1, order) for k, order in enumerate(orders)),
            key=lambda item: (item[0], item[1]),
        )
        with self.landing.deliver(SOURCE, day, f"events_{day.isoformat()}.ndjson.gz", compress=True) as out:
            for start_ms, _, order in sessions:
                if order is None:
                    events = self._browse(browse_rng, start_ms, day, day_no)
                else:
                    events = self._checkout(checkout_rng, order, day_no)
                for line, applicable in events:
                    kind = defects.draw(applicable) if defects.kinds else None
                    if kind is None:
                        out.write(line)
                        continue
                    self.defects.count(SOURCE, day, kind)
                    for damaged in self._damaged_lines(json.loads(line), kind, defects.rng):
                        out.write(damaged)

    def _browse_starts(self, day: date) -> Iterator[tuple[int, int, None]]:
        midnight = utc_midnight_ms(day)
        arrivals = stream(self.world.seed, "browse-arrivals", day.isoformat())
        count = daily_browse_sessions(self.world.seed, self.world.scale, day)
        for k, u in enumerate(sorted_uniforms(arrivals, count)):
            yield midnight + ONLINE_DAY.offset_ms(u), 2 * k, None

    # --- sessions ---------------------------------------------------------------------------------

    def _browse(self, rng: random.Random, start_ms: int, day: date, day_no: int) -> list[dict[str, Any]]:
        world = self.world
        person = world.population.person(world.population.sample(rng))
        catalog = world.catalog
        kiosk: Location | None = None
        if rng.random() < KIOSK_SHARE and person.accounts:
            kiosk = world.stores[person.home_store]
            device = Device("kiosk", (kiosk.kiosk_anonymous_id,), 1 << 30, KIOSK_USER_AGENT, kiosk.ip)
        elif person.household and person.household.tablet and rng.random() < TABLET_SHARE:
            device = person.household.tablet
        else:
            device = rng.choice(person.devices)
        session = _Session(device, device.anonymous_id(day_no), person, rng)
        account = rng.choice(person.accounts) if person.accounts else None
        if account is not None and (kiosk is not None or rng.random() < LOGGED_IN_SHARE):
            # Logging in, or remembered by the login cookie: either way the shop calls identify with the
            # account's traits when the session starts (Segment's advice for any page a logged-in user
            # loads), so the cookie, the account and its e-mail meet in one call.
            session.identify(str(account.customer_id), _account_traits(account, person))

        entry = rng.random()
        if entry < 0.5:
            session.page("Home", "/", "Omnilake - Home")
        elif entry < 0.8:
            product = catalog.product(catalog.sample(rng))
            session.page("Category", f"/collections/{slug(product.subcategory)}", product.subcategory)
        else:
            rank = catalog.sample(rng)
            session.view_product(catalog.product(rank), catalog.price_cents(rank, day))
        while rng.random() < 0.72:
            step = rng.random()
            rank = catalog.sample(rng)
            product = catalog.product(rank)
            if step < 0.6:
                session.view_product(product, catalog.price_cents(rank, day))
                if rng.random() < 0.15:
                    session.add_to_cart(product, catalog.price_cents(rank, day), 1)
            elif step < 0.85:
                session.page("Category", f"/collections/{slug(product.subcategory)}", product.subcategory)
            else:
                query = product.subcategory.lower()
                session.page("Search", f"/search?q={query.replace(' ', '+')}", f"Search: {query}")
        if session.cart and rng.random() < 0.25:
            session.page("Cart", "/cart", "Your cart")
            value = sum(cents for _, cents in session.cart)
            session.track(
                "Checkout Started",
                {
                    "checkout_id": session.cart_id,
                    "value": value / 100,
                    "revenue": value / 100,
                    "currency": "USD",
                    "products": [_line_product(p, c) for p, c in session.cart],
                },
            )
        late_ms = 0
        if device.is_app and rng.random() < LATE_APP_SHARE:
            late_ms = rng.randrange(1, 4) * MS_PER_DAY + rng.randrange(MS_PER_DAY // 2)
        return self._events(session, start_ms, late_ms, rng)

    def _checkout(self, rng: random.Random, order: Order, day_no: int) -> list[dict[str, Any]]:
        person, device = order.person, order.device
        assert person is not None and device is not None
        catalog = self.world.catalog
        session = _Session(device, device.anonymous_id(day_no), person, rng)
        remembered = order.account is not None and rng.random() < 0.5
        if remembered and order.account is not None:
            session.identify(str(order.account.customer_id), _account_traits(order.account, person))
        session.page("Home", "/", "Omnilake - Home")
        for line in order.lines:
            product = catalog.product(line.rank)
            session.view_product(product, line.price_cents)
            session.add_to_cart(product, line.price_cents, line.quantity)
        session.page("Cart", "/cart", "Your cart")
        if order.account is not None and not remembered:
            session.identify(str(order.account.customer_id), _account_traits(order.account, person))
        products = [
            _order_product(catalog.product(line.rank), line.price_cents, line.quantity)
            for line in order.lines
        ]
        total = order.total_cents / 100
        session.track(
            "Checkout Started",
            {
                "checkout_id": session.cart_id,
                "value": total,
                "revenue": total,
                "currency": "USD",
                "products": products,
            },
        )
        session.page("Checkout", "/checkout", "Checkout")
        if order.account is None and order.email and rng.random() < 0.6:
            session.identify(None, _traits(order.email, order.phone, person))
        session.track(
            "Order Completed",
            {
                "checkout_id": session.cart_id,
                "order_id": str(order.order_id),
                "total": total,
                "subtotal": order.subtotal_cents / 100,
                "revenue": order.subtotal_cents / 100,
                "shipping": order.shipping_cents / 100,
                "tax": order.tax_cents / 100,
                "discount": order.discount_cents / 100,
                "coupon": order.discount_code,
                "currency": "USD",
                "products": products,
            },
        )
        completed_at = session.t
        session.page("Order Confirmation", f"/orders/{order.order_id}", f"Order {money(order.total_cents)}")
        return self._events(session, order.created_ms - completed_at, 0, rng)

    def _events(
        self, session: _Session, start_ms: int, late_ms: int, rng: random.Random
    ) -> list[tuple[str, frozenset[str]]]:
        """Give the session's actions their Segment envelope (ids, clocks, context) and serialise
        them. The envelope is assembled as text around a context encoded once per session: this is
        the generator's hottest loop. Returns each line with the defect kinds it can carry."""
        device, person = session.device, session.person
        context: dict[str, Any] = {
            "ip": device.ip,
            "userAgent": device.user_agent,
            "locale": "en-US" if unit_hash(self.world.seed, "locale", person.index) < 0.9 else "es-US",
            "timezone": person.city.time_zone,
            "library": _APP_LIBRARY[device.kind] if device.is_app else _WEB_LIBRARY,
        }
        if device.is_app:
            context["app"] = _APP
            context["device"] = {
                "id": device.device_id,
                "type": device.kind,
                "manufacturer": device.manufacturer,
                "model": device.model,
            }
            context["os"] = {"name": device.os_name, "version": device.os_version}
        else:
            context["device"] = {"type": device.kind}
        context_json = _encode(context)
        context_open = context_json[:-1] + ',"page":'
        anonymous_id = _encode(session.anonymous_id)
        lines = []
        flush_ms = 0
        is_app = device.is_app
        for action in session.actions:
            t = action.t
            timestamp = start_ms + t - late_ms
            if is_app:  # apps batch events and flush every few seconds
                flush_ms = max(flush_ms, t + 1_000 + int(rng.random() * 29_000))
                sent = start_ms + flush_ms
                message_id = uuid4(rng)
            else:
                sent = start_ms + t + 20 + int(rng.random() * 1_480)
                message_id = f"ajs-next-{rng.getrandbits(128):032x}"
            user = "null" if action.user_id is None else f'"{action.user_id}"'
            page_context = context_json if action.page_json is None else context_open + action.page_json + "}"
            received = sent + 30 + int(rng.random() * 370)
            lines.append(
                (
                    f'{{"messageId":"{message_id}","type":"{action.kind}"{action.named},'
                    f'"anonymousId":{anonymous_id},"userId":{user},"timestamp":"{iso_utc(timestamp)}",'
                    f'"sentAt":"{iso_utc(sent)}","receivedAt":"{iso_utc(received)}","context":{page_context},'
                    f'"{action.payload}":{action.payload_json}}}',
                    action.applicable,
                )
            )
        return lines

    # --- defects ----------------------------------------------------------------------------------

    def _damaged_lines(self, event: dict[str, Any], kind: str, rng: random.Random) -> list[str]:
        event = dict(event)
        if kind == "malformed_line":
            return [truncate_line(ndjson_line(event), rng)]
        if kind == "duplicate_record":
            again = dict(event)
            again["receivedAt"] = _shift_iso(event["receivedAt"], rng.randrange(1, 60) * MS_PER_SECOND)
            return [ndjson_line(event), ndjson_line(again)]
        if kind == "missing_required":
            event.pop(rng.choice(REQUIRED_KEYS), None)
        elif kind == "extra_field":
            key, value = rng.choice(_EXTRA_FIELDS)
            event[key] = value
        elif kind in ("future_timestamp", "wrong_timezone"):
            if kind == "future_timestamp":
                shift = future_shift_ms(rng)
            else:  # the device's local wall clock, sent as if it were UTC
                shift = utc_offset_ms(_parse_iso(event["timestamp"]), event["context"]["timezone"])
            event["timestamp"] = _shift_iso(event["timestamp"], shift)
            event["sentAt"] = _shift_iso(event["sentAt"], shift)
        elif kind in ("bad_price", "unknown_sku"):
            properties = dict(event["properties"])
            target = properties
            if "products" in properties:
                products = [dict(p) for p in properties["products"]]
                properties["products"] = products
                target = rng.choice(products)
            if kind == "bad_price":
                field = "price" if "price" in target else "total"
                target[field] = bad_price_cents(round(target[field] * 100), rng) / 100
            else:
                target["sku"] = target["product_id"] = self.world.catalog.unknown_sku(rng)
            event["properties"] = properties
        return [ndjson_line(event)]


_PLAIN = frozenset(
    (
        "malformed_line",
        "missing_required",
        "duplicate_record",
        "extra_field",
        "future_timestamp",
        "wrong_timezone",
    )
)
_WITH_PRODUCT = _PLAIN | {"bad_price", "unknown_sku"}


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_text = json.encoder.encode_basestring  # one JSON string literal, as _encode writes it


def _account_traits(account: Account, person: Person) -> dict[str, Any]:
    """What the shop knows about a logged-in visitor: the account's profile."""
    return _traits(account.email_as_registered, account.phone_as_registered, person)


def _traits(email: str, phone: str | None, person: Person) -> dict[str, Any]:
    """Identify traits: e-mail and name as given (a profile or a guest's checkout form), the phone
    if one was given."""
    traits: dict[str, Any] = {"email": email, "firstName": person.first_name, "lastName": person.last_name}
    if phone:
        traits["phone"] = phone
    return traits


def _line_product(product: Product, cents: int) -> dict[str, Any]:
    return {
        "product_id": product.sku,
        "sku": product.sku,
        "name": product.name,
        "category": product.category,
        "brand": product.brand,
        "price": cents / 100,
        "quantity": 1,
    }


def _order_product(product: Product, price_cents: int, quantity: int) -> dict[str, Any]:
    return {
        "product_id": product.sku,
        "sku": product.sku,
        "name": product.name,
        "category": product.category,
        "brand": product.brand,
        "price": price_cents / 100,
        "quantity": quantity,
    }


def _parse_iso(text: str) -> int:
    return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _shift_iso(text: str, shift_ms: int) -> str:
    return iso_utc(_parse_iso(text) + shift_ms)
