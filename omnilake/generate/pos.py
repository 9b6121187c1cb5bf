"""Store tills: one pipe-delimited CSV per store per business day, in the store's local time.

A row is one basket line. Timestamps are the store's wall clock without a zone (the zone comes from
the stores reference), returns carry a negative quantity, a voided line stays in the file flagged
``Y``. A minority of baskets carry a loyalty card, scanned by members who signed up before that day.
Scanned items carry the barcode, keyed-in items the sku.
"""

from __future__ import annotations

import random
from datetime import date

from omnilake.generate.catalog import Location
from omnilake.generate.clock import DayProfile, local_naive, local_wall_ms
from omnilake.generate.defects import (
    DefectLog,
    DefectRates,
    RecordDefects,
    bad_price_cents,
    defect_stream,
    future_shift_ms,
)
from omnilake.generate.randomness import WeightedChoice, ean13_complete, sorted_uniforms, stream, unit_hash
from omnilake.generate.vocab import STORE_TENDERS
from omnilake.generate.world import World
from omnilake.generate.writers import Landing, csv_line, malformed_csv_line, money

SOURCE = "pos"
DELIMITER = "|"
HEADER = (
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
)
RENAMES = (
    ("QTY", "QUANTITY"),
    ("UNIT_PRICE", "PRICE"),
    ("EAN", "BARCODE"),
    ("TXN_DATETIME", "TXN_TIMESTAMP"),
    ("TENDER", "TENDER_TYPE"),
)
REQUIRED_COLUMNS = ("STORE_ID", "TXN_ID", "LINE_NO", "TXN_DATETIME", "QTY", "UNIT_PRICE")
BASKETS_PER_STORE_DAY = 260
WEEKDAY_FACTOR = (0.85, 0.85, 0.9, 0.95, 1.15, 1.45, 1.0)
LOYALTY_TRY_SHARE = 0.45
RETURN_SHARE = 0.03
VOID_SHARE = 0.015
_OPEN = {"weekday": (9, (2, 3, 4, 5, 6, 7, 6, 6, 7, 8, 7, 4)), "sunday": (10, (3, 5, 7, 8, 8, 7, 6, 4))}
_PROFILES = {key: (start, DayProfile(weights)) for key, (start, weights) in _OPEN.items()}
_TENDERS = WeightedChoice(list(STORE_TENDERS))
_COL = {name: i for i, name in enumerate(HEADER)}


def baskets_on(seed: int, store: Location, day: date) -> int:
    u = unit_hash(seed, "baskets", store.store_id, day.isoformat())
    return max(
        1, round(BASKETS_PER_STORE_DAY * store.traffic * WEEKDAY_FACTOR[day.weekday()] * (0.9 + 0.2 * u))
    )


class PosFeed:
    def __init__(self, world: World, landing: Landing, rates: DefectRates, defects: DefectLog) -> None:
        self.world = world
        self.landing = landing
        self.rates = rates
        self.defects = defects

    def deliver(self, day: date) -> None:
        for store in self.world.stores:
            self._deliver_store(store, day)

    def _deliver_store(self, store: Location, day: date) -> None:
        seed = self.world.seed
        rng = stream(seed, "pos", store.store_id, day.isoformat())
        defect_rng = defect_stream(seed, SOURCE, store.store_id, day.isoformat())
        line_defects = RecordDefects(self.rates, SOURCE, defect_rng, kinds=_LINE_KINDS)
        till_defects = RecordDefects(self.rates, SOURCE, defect_rng, kinds=("wrong_timezone",))
        header = list(HEADER)
        filename = f"pos_{store.store_id}_{day.isoformat()}.csv"
        if self.rates.renamed_column > 0 and defect_rng.random() < self.rates.renamed_column:
            old, new = defect_rng.choice(RENAMES)
            header[_COL[old]] = new
            self.defects.file_defect(SOURCE, day, "renamed_column", filename, f"{old} -> {new}")

        opens_at, profile = _PROFILES["sunday" if day.weekday() == 6 else "weekday"]
        count = baskets_on(seed, store, day)
        sequence = [0] * store.registers
        stamp = day.strftime("%Y%m%d")
        with self.landing.deliver(SOURCE, day, filename) as out:
            out.write_header(csv_line(header, DELIMITER))
            for u in sorted_uniforms(rng, count):
                ms = local_wall_ms(day, opens_at * 3600 + profile.offset_ms(u) // 1000, store.time_zone)
                register = rng.randrange(store.registers)
                sequence[register] += 1
                transaction = f"{store.store_id}-{register + 1:02d}-{stamp}-{sequence[register]:04d}"
                rows = self._basket(rng, store, day, register, transaction, ms)
                if till_defects.draw() == "wrong_timezone":
                    utc_clock = local_naive(ms, "UTC")
                    for row in rows:
                        row[_COL["TXN_DATETIME"]] = utc_clock
                        out.write(csv_line(row, DELIMITER))
                    self.defects.count(SOURCE, day, "wrong_timezone", len(rows))
                    continue
                for row in rows:
                    kind = line_defects.draw()
                    if kind is None:
                        out.write(csv_line(row, DELIMITER))
                        continue
                    self.defects.count(SOURCE, day, kind)
                    line = csv_line(self._damage(row, kind, ms, store, defect_rng), DELIMITER)
                    if kind == "malformed_line":
                        line = malformed_csv_line(line, DELIMITER, len(HEADER), defect_rng.random())
                    out.write(line)
                    if kind == "duplicate_record":
                        out.write(line)

    def _basket(
        self, rng: random.Random, store: Location, day: date, register: int, transaction: str, ms: int
    ) -> list[list[str]]:
        catalog, population = self.world.catalog, self.world.population
        is_return = rng.random() < RETURN_SHARE
        n_lines = rng.choice((1, 2)) if is_return else 1 + int(rng.expovariate(0.7))
        card = ""
        if rng.random() < LOYALTY_TRY_SHARE:
            for _ in range(4):
                near = rng.random() < 0.9
                index = population.sample_near_store(rng, store.index) if near else population.sample(rng)
                member = population.member_on(index, day)
                if member is not None:
                    card = member.loyalty_card if rng.random() < 0.85 else ""
                    break
        tender = "card" if is_return and rng.random() < 0.8 else _TENDERS(rng)
        clock = local_naive(ms, store.time_zone)
        rows = []
        for line_no in range(1, min(n_lines, 12) + 1):
            rank = catalog.sample_in_store(rng, store.index)
            product = catalog.product(rank)
            quantity = 1 if rng.random() < 0.85 else rng.choice((2, 2, 3, 4))
            if is_return:
                quantity = -quantity
            price = catalog.price_cents(rank, day)
            discount = abs(quantity) * price * rng.choice((10, 20, 30)) // 100 if rng.random() < 0.12 else 0
            scanned = rng.random() < 0.85
            rows.append(
                [
                    store.store_id,
                    f"{register + 1:02d}",
                    transaction,
                    str(line_no),
                    clock,
                    "" if scanned else product.sku,
                    product.barcode if scanned else "",
                    str(quantity),
                    money(price),
                    money(discount),
                    tender,
                    card,
                    "Y" if rng.random() < VOID_SHARE else "N",
                ]
            )
        return rows

    def _damage(self, row: list[str], kind: str, ms: int, store: Location, rng: random.Random) -> list[str]:
        row = list(row)
        if kind == "missing_required":
            if rng.random() < 0.2:
                row[_COL["SKU"]] = row[_COL["EAN"]] = ""
            else:
                row[_COL[rng.choice(REQUIRED_COLUMNS)]] = ""
        elif kind == "bad_price":
            cents = int(row[_COL["UNIT_PRICE"]].replace(".", ""))
            row[_COL["UNIT_PRICE"]] = money(bad_price_cents(cents, rng))
        elif kind == "unknown_sku":
            if row[_COL["EAN"]]:
                row[_COL["EAN"]] = ean13_complete(f"29{rng.randrange(10**10):010d}")
            else:
                row[_COL["SKU"]] = self.world.catalog.unknown_sku(rng)
        elif kind == "future_timestamp":
            row[_COL["TXN_DATETIME"]] = local_naive(ms + future_shift_ms(rng), store.time_zone)
        return row


_LINE_KINDS = (
    "malformed_line",
    "missing_required",
    "bad_price",
    "unknown_sku",
    "duplicate_record",
    "future_timestamp",
)
