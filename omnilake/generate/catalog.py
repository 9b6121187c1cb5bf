"""What the retailer sells and where: stores, warehouses and the product catalogue.

Products are derived from their popularity rank on demand (rank 0 sells most), so the catalogue is
never held in memory; an LRU cache keeps the best sellers at hand.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from omnilake.generate.randomness import (
    Permutation,
    WeightedChoice,
    ean13_complete,
    int_hash,
    skewed_index,
    stream,
    unit_hash,
    uuid4,
)
from omnilake.generate.vocab import (
    ADJECTIVES,
    BRANDS,
    CATEGORIES,
    CITIES,
    COLORS,
    STORE_AREAS,
    STORE_FORMATS,
    City,
)

STORES_PER_SCALE = 10
PRODUCTS_PER_SCALE = 1200
MIN_PRODUCTS = 30
STORES_PER_DC = 20
CORE_ASSORTMENT = 120  # best sellers every store carries
LOCAL_ASSORTMENT = 180  # plus a store-specific slice of the long tail
SKU_SPACE = 1_000_000
UNKNOWN_SKU_FLOOR = 900_000  # skus drawn from here are never in the catalogue


@dataclass(frozen=True)
class Location:
    """A store or a distribution centre (``location_type`` dc) shipping web orders."""

    index: int
    store_id: str
    location_type: str
    name: str
    city: City
    latitude: float
    longitude: float
    postal_code: str
    opened_date: date
    store_format: str
    registers: int
    traffic: float  # relative footfall, 1.0 = average
    kiosk_anonymous_id: str  # the in-store kiosk's browser, shared by every shopper who logs in there
    ip: str

    @property
    def time_zone(self) -> str:
        return self.city.time_zone


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "-".join("".join(c if c.isalnum() else " " for c in ascii_text.lower()).split())


def build_locations(seed: int, scale: float) -> tuple[tuple[Location, ...], tuple[Location, ...]]:
    """(stores, distribution centres) for a scale: ten stores per unit of scale, at least one."""
    n_stores = max(1, round(STORES_PER_SCALE * scale))
    n_dcs = max(1, round(n_stores / STORES_PER_DC))
    formats = WeightedChoice(STORE_FORMATS)
    stores = []
    for index in range(n_stores):
        rng = stream(seed, "store", index)
        city = CITIES[index % len(CITIES)]
        round_no = index // len(CITIES)
        area = STORE_AREAS[(index + round_no) % len(STORE_AREAS)]
        store_format = formats(rng)
        stores.append(
            Location(
                index=index,
                store_id=f"S{index + 1:03d}",
                location_type="store",
                name=f"Omnilake {city.name} {area}",
                city=city,
                latitude=round(city.latitude + rng.uniform(-0.08, 0.08), 5),
                longitude=round(city.longitude + rng.uniform(-0.08, 0.08), 5),
                postal_code=f"{city.zip_prefix}{rng.randrange(100):02d}",
                opened_date=date(1998, 1, 1) + timedelta(days=rng.randrange(17 * 365)),
                store_format=store_format,
                registers={"flagship": 8, "mall": 4, "high_street": 3, "outlet": 3}[store_format],
                traffic={"flagship": 2.2, "mall": 1.1, "high_street": 0.8, "outlet": 0.9}[store_format]
                * rng.uniform(0.8, 1.2),
                kiosk_anonymous_id=uuid4(rng),
                ip=f"198.51.100.{(index % 250) + 1}",
            )
        )
    dcs = []
    for index in range(n_dcs):
        rng = stream(seed, "dc", index)
        city = CITIES[(index * 7 + 4) % len(CITIES)]
        dcs.append(
            Location(
                index=n_stores + index,
                store_id=f"DC{index + 1:02d}",
                location_type="dc",
                name=f"Omnilake Fulfilment Center {city.name}",
                city=city,
                latitude=round(city.latitude + rng.uniform(-0.2, 0.2), 5),
                longitude=round(city.longitude + rng.uniform(-0.2, 0.2), 5),
                postal_code=f"{city.zip_prefix}{rng.randrange(100):02d}",
                opened_date=date(2014, 6, 1),
                store_format="dc",
                registers=0,
                traffic=0.0,
                kiosk_anonymous_id="",
                ip="",
            )
        )
    return tuple(stores), tuple(dcs)


@dataclass(frozen=True)
class Product:
    rank: int
    sku: str
    barcode: str
    name: str
    category: str
    subcategory: str
    brand: str
    color: str
    base_price_cents: int
    launch_date: date
    is_active: bool
    url_path: str


class Catalog:
    """The product master for a scale: 1200 products per unit of scale, at least 30."""

    def __init__(self, seed: int, scale: float, n_stores: int) -> None:
        self.seed = seed
        self.size = max(MIN_PRODUCTS, round(PRODUCTS_PER_SCALE * scale))
        if self.size >= UNKNOWN_SKU_FLOOR:
            raise ValueError(f"scale {scale} asks for more products than the sku space holds")
        self._sku = Permutation(seed, "sku", SKU_SPACE)
        self._barcode = Permutation(seed, "barcode", 10**10)
        self._category = WeightedChoice([(c, 3 if c[0] == "Apparel" else 1) for c in CATEGORIES])
        self.product = lru_cache(maxsize=8192)(self._build)
        self._monthly_price = lru_cache(maxsize=16384)(self._price_in_month)
        self._assortments = [self._assortment(store) for store in range(n_stores)]

    def sku(self, rank: int) -> str:
        return f"SKU-{self._sku(rank):06d}"

    def unknown_sku(self, rng: random.Random) -> str:
        """A well-formed sku that is not in the catalogue (a new item the master has not caught up with)."""
        return self.sku(rng.randrange(UNKNOWN_SKU_FLOOR, SKU_SPACE))

    def _build(self, rank: int) -> Product:
        rng = stream(self.seed, "product", rank)
        category, subcategory, low, high, nouns = self._category(rng)
        brand = rng.choice(BRANDS)
        color = rng.choice(COLORS)
        cents = int(low * (high / low) ** rng.random())
        price = max(199, (cents // 100) * 100 + rng.choice((99, 95, 0, 50)))
        name = f"{brand} {rng.choice(ADJECTIVES)} {rng.choice(nouns)} - {color}"
        sku = self.sku(rank)
        return Product(
            rank=rank,
            sku=sku,
            barcode=ean13_complete(f"20{self._barcode(rank):010d}"),
            name=name,
            category=category,
            subcategory=subcategory,
            brand=brand,
            color=color,
            base_price_cents=price,
            launch_date=date(2014, 1, 1) + timedelta(days=rng.randrange(10 * 365)),
            is_active=rng.random() > 0.04,
            url_path=f"/products/{slug(name)}-{sku.lower()}",
        )

    def price_cents(self, rank: int, day: date) -> int:
        """The list price on a day: stable, but a few products are marked down or up in a given month."""
        return self._monthly_price(rank, day.year, day.month)

    def _price_in_month(self, rank: int, year: int, month: int) -> int:
        base = self.product(rank).base_price_cents
        u = unit_hash(self.seed, "price", rank, year, month)
        if u < 0.05:
            return max(199, (base * 85 // 100 // 100) * 100 + 99)
        if u < 0.08:
            return (base * 110 // 100 // 100) * 100 + 99
        return base

    def sample(self, rng: random.Random) -> int:
        """A product rank, best sellers more likely."""
        return skewed_index(rng, self.size, 2.2)

    def assortment(self, store: int) -> list[int]:
        return self._assortments[store]

    def sample_in_store(self, rng: random.Random, store: int) -> int:
        ranks = self._assortments[store]
        return ranks[skewed_index(rng, len(ranks), 1.8)]

    def _assortment(self, store: int) -> list[int]:
        """Ranks a store carries: the core best sellers plus a store-specific slice of the tail."""
        core = min(self.size, CORE_ASSORTMENT)
        tail = self.size - core
        count = min(tail, LOCAL_ASSORTMENT)
        if count == 0:
            return list(range(core))
        start = int_hash(self.seed, "assortment", store) % tail
        stride = 1 + int_hash(self.seed, "assortment-stride", store) % max(1, tail - 1)
        while _shares_factor(stride, tail):
            stride += 1
        local = sorted(core + (start + k * stride) % tail for k in range(count))
        return list(range(core)) + local


def _shares_factor(stride: int, modulus: int) -> bool:
    a, b = stride, modulus
    while b:
        a, b = b, a % b
    return a != 1
