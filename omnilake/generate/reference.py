"""Reference feeds, delivered every day as full snapshots: stores, product master, CRM members.

The CRM snapshot grows as members sign up; names typed at a till are sometimes in capitals, e-mails
and phones are written as the member gave them. The product master changes a few list prices at
month boundaries.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from omnilake.generate.defects import DefectLog, DefectRates, RecordDefects, bad_price_cents, defect_stream
from omnilake.generate.randomness import unit_hash
from omnilake.generate.world import World
from omnilake.generate.writers import Landing, LandingFile, csv_line, malformed_csv_line, money

PRODUCTS_HEADER = (
    "snapshot_date",
    "sku",
    "barcode",
    "product_name",
    "category",
    "subcategory",
    "brand",
    "color",
    "list_price",
    "currency",
    "launch_date",
    "is_active",
)
PRODUCTS_REQUIRED = (1, 2, 4, 8)  # sku, barcode, category, list_price
STORES_HEADER = (
    "snapshot_date",
    "store_id",
    "location_type",
    "store_name",
    "store_format",
    "city",
    "state",
    "postal_code",
    "country_code",
    "latitude",
    "longitude",
    "time_zone",
    "opened_date",
    "registers",
)
CRM_HEADER = (
    "snapshot_date",
    "member_id",
    "loyalty_card",
    "first_name",
    "last_name",
    "email",
    "phone",
    "postal_code",
    "signup_date",
    "signup_channel",
    "signup_store_id",
    "tier",
    "email_opt_in",
    "sms_opt_in",
    "profiling_consent",
)
CRM_REQUIRED = (1, 2)  # member_id, loyalty_card (signup_date is optional)
# The column a reference export gains on the day its schema drifts (defect "extra_column").
EXTRA_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "products": ("season", ("SS24", "AW24", "core")),
    "crm_members": ("preferred_language", ("en", "es")),
}


_Open = tuple[LandingFile, RecordDefects, tuple[str, tuple[str, ...]] | None]


class ReferenceFeed:
    def __init__(self, world: World, landing: Landing, rates: DefectRates, defects: DefectLog) -> None:
        self.world = world
        self.landing = landing
        self.rates = rates
        self.defects = defects

    def deliver(self, day: date) -> None:
        self._stores(day)
        self._products(day)
        self._crm_members(day)

    def _stores(self, day: date) -> None:
        with self.landing.deliver("stores", day, f"stores_{day.isoformat()}.csv") as out:
            out.write_header(csv_line(STORES_HEADER))
            for location in self.world.locations:
                out.write(
                    csv_line(
                        [
                            day.isoformat(),
                            location.store_id,
                            location.location_type,
                            location.name,
                            location.store_format,
                            location.city.name,
                            location.city.state,
                            location.postal_code,
                            "US",
                            f"{location.latitude:.5f}",
                            f"{location.longitude:.5f}",
                            location.time_zone,
                            location.opened_date.isoformat(),
                            str(location.registers),
                        ]
                    )
                )

    def _products(self, day: date) -> None:
        source = "products"
        catalog = self.world.catalog
        rows = sorted((catalog.sku(rank), rank) for rank in range(catalog.size))
        with self._snapshot(source, day, PRODUCTS_HEADER) as (out, defects, extra):
            for _, rank in rows:
                product = catalog.product(rank)
                row = [
                    day.isoformat(),
                    product.sku,
                    product.barcode,
                    product.name,
                    product.category,
                    product.subcategory,
                    product.brand,
                    product.color,
                    money(catalog.price_cents(rank, day)),
                    "USD",
                    product.launch_date.isoformat(),
                    "true" if product.is_active else "false",
                ]
                self._write(out, source, day, row, defects, extra, PRODUCTS_REQUIRED, price_column=8)

    def _crm_members(self, day: date) -> None:
        source = "crm_members"
        population = self.world.population
        seed = self.world.seed
        with self._snapshot(source, day, CRM_HEADER) as (out, defects, extra):
            for index in range(population.size):
                member = population.member_on(index, day)
                if member is None:
                    continue
                person = population.person(index)
                first, last = person.first_name, person.last_name
                if member.signup_channel == "store" and unit_hash(seed, "crm-caps", index) < 0.12:
                    first, last = first.upper(), last.upper()
                row = [
                    day.isoformat(),
                    member.member_id,
                    member.loyalty_card,
                    first,
                    last,
                    member.email_as_given or "",
                    member.phone_as_given or "",
                    person.postal_code,
                    member.signup_date.isoformat(),
                    member.signup_channel,
                    member.signup_store_id or "",
                    member.tier,
                    _flag(member.email_opt_in),
                    _flag(member.sms_opt_in),
                    _flag(member.profiling_consent),
                ]
                self._write(out, source, day, row, defects, extra, CRM_REQUIRED)

    @contextmanager
    def _snapshot(self, source: str, day: date, header: tuple[str, ...]) -> Iterator[_Open]:
        """Open a reference file; decide whether today's export gains an extra column."""
        rng = defect_stream(self.world.seed, source, day.isoformat())
        defects = RecordDefects(self.rates, source, rng)
        extra = None
        filename = f"{source}_{day.isoformat()}.csv"
        if self.rates.extra_column > 0 and rng.random() < self.rates.extra_column:
            extra = EXTRA_COLUMNS[source]
            self.defects.file_defect(source, day, "extra_column", filename, f"column {extra[0]} appended")
        with self.landing.deliver(source, day, filename) as out:
            out.write_header(csv_line([*header, extra[0]] if extra else header))
            yield out, defects, extra

    def _write(
        self,
        out: LandingFile,
        source: str,
        day: date,
        row: list[str],
        defects: RecordDefects,
        extra: tuple[str, tuple[str, ...]] | None,
        required: tuple[int, ...],
        price_column: int | None = None,
    ) -> None:
        if extra is not None:
            row.append(extra[1][sum(map(ord, row[1])) % len(extra[1])])
        kind = defects.draw(_PRICED if price_column is not None else _UNPRICED) if defects.kinds else None
        if kind is None:
            out.write(csv_line(row))
            return
        self.defects.count(source, day, kind)
        rng: random.Random = defects.rng
        if kind == "missing_required":
            row[rng.choice(required)] = ""
        elif kind == "bad_price" and price_column is not None:
            row[price_column] = money(bad_price_cents(int(row[price_column].replace(".", "")), rng))
        line = csv_line(row)
        if kind == "malformed_line":
            line = malformed_csv_line(line, ",", len(row), rng.random())
        out.write(line)


def _flag(value: bool) -> str:
    return "true" if value else "false"


_PRICED = frozenset(("malformed_line", "missing_required", "bad_price"))
_UNPRICED = frozenset(("malformed_line", "missing_required"))
