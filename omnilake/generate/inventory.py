"""Daily inventory snapshots from the two systems that never quite agree.

The stores' systems count what is physically on the shelf. The online (order management) system
holds what the web shop lists per location, stores and distribution centres alike, and the open
online reservations. Its count runs ahead of the shelf: theft, damage and miscounts are only found
at the next stocktake, so until then the online system still believes in units that are gone, and a
store can be out of stock while the web shop lists it.

Stock follows a closed form per (sku, location, day): a replenishment saw-tooth with a per-item
cycle, sell-through fast enough that some items run out before the truck comes, and unrecorded
shrink that accumulates between stocktakes. No state is carried from day to day.
"""

from __future__ import annotations

from datetime import date, timedelta

from omnilake.generate.catalog import Location
from omnilake.generate.clock import MS_PER_HOUR, MS_PER_MINUTE, day_number, iso_utc, utc_midnight_ms
from omnilake.generate.defects import DefectLog, DefectRates, RecordDefects, defect_stream
from omnilake.generate.randomness import int_hash
from omnilake.generate.world import World
from omnilake.generate.writers import Landing, LandingFile, csv_line, malformed_csv_line

ONLINE_HEADER = ("snapshot_date", "location_id", "sku", "listed_qty", "reserved_qty", "synced_at")
STORE_HEADER = ("business_date", "store_id", "sku", "on_hand_qty", "last_stocktake_date")


class StockModel:
    """Physical stock, unrecorded shrink and reservations for one (location, product rank)."""

    def __init__(self, seed: int, location: Location, rank: int) -> None:
        h = int_hash(seed, "stock", location.store_id, rank)
        self.seed = seed
        self.location = location
        self.rank = rank
        is_dc = location.location_type == "dc"
        popular = 3 if rank < 50 else 2 if rank < 200 else 1
        self.cycle = (7 if is_dc else 4) + h % 9
        h //= 9
        self.phase = h % self.cycle
        h //= self.cycle
        base = 150 * popular + h % 400 if is_dc else 3 + 6 * popular + h % 10
        self.capacity = base
        h //= 400
        # Above 1.0 the shelf empties before the next delivery: a stockout for the last days of a cycle.
        self.sell_through = (0.5 if is_dc else 0.6) + (h % 100) / 100 * (0.7 if is_dc else 0.95)
        h //= 100
        self.stocktake_every = 28 + h % 63
        h //= 63
        self.stocktake_phase = h % self.stocktake_every
        h //= self.stocktake_every
        self.shrink_per_day = 0.0 if is_dc else (h % 40) / 100
        h //= 40
        self.reservation_chance = h % 100

    def days_since_stocktake(self, day: date) -> int:
        return (day_number(day) + self.stocktake_phase) % self.stocktake_every

    def physical(self, day: date) -> int:
        day_in_cycle = (day_number(day) + self.phase) % self.cycle
        sold = self.capacity * self.sell_through * day_in_cycle / max(1, self.cycle - 1)
        wobble = (
            int_hash(self.seed, "stock-noise", self.location.store_id, self.rank, day_number(day)) % 3 - 1
        )
        return max(0, round(self.capacity - sold) + (wobble if day_in_cycle else 0))

    def unrecorded_shrink(self, day: date) -> int:
        return int(self.shrink_per_day * self.days_since_stocktake(day))

    def reserved(self, day: date) -> int:
        u = int_hash(self.seed, "reserved", self.location.store_id, self.rank, day_number(day)) % 100
        if self.location.location_type == "dc":
            return u * self.capacity // 2000
        return (1 + u % 2) if u < self.reservation_chance // 8 else 0

    def listed(self, day: date) -> int:
        """What the web shop lists: the online system's belief minus open reservations."""
        return max(0, self.physical(day) + self.unrecorded_shrink(day) - self.reserved(day))


class InventoryFeed:
    def __init__(self, world: World, landing: Landing, rates: DefectRates, defects: DefectLog) -> None:
        self.world = world
        self.landing = landing
        self.rates = rates
        self.defects = defects

    def deliver(self, day: date) -> None:
        self._deliver_online(day)
        self._deliver_store(day)

    def _ranks(self, location: Location) -> list[int] | range:
        if location.location_type == "dc":
            return range(self.world.catalog.size)
        return self.world.catalog.assortment(location.index)

    def _deliver_online(self, day: date) -> None:
        source = "inventory_online"
        seed, catalog = self.world.seed, self.world.catalog
        defects = RecordDefects(self.rates, source, defect_stream(seed, source, day.isoformat()))
        midnight = utc_midnight_ms(day)
        with self.landing.deliver(source, day, f"{source}_{day.isoformat()}.csv") as out:
            out.write_header(csv_line(ONLINE_HEADER))
            for location in self.world.locations:
                synced = iso_utc(midnight + 5 * MS_PER_HOUR + (location.index * 7 % 50) * MS_PER_MINUTE)
                for rank in self._ranks(location):
                    stock = StockModel(seed, location, rank)
                    row = [
                        day.isoformat(),
                        location.store_id,
                        catalog.sku(rank),
                        str(stock.listed(day)),
                        str(stock.reserved(day)),
                        synced,
                    ]
                    self._write(out, source, day, row, defects, len(ONLINE_HEADER))

    def _deliver_store(self, day: date) -> None:
        source = "inventory_store"
        seed, catalog = self.world.seed, self.world.catalog
        defects = RecordDefects(self.rates, source, defect_stream(seed, source, day.isoformat()))
        with self.landing.deliver(source, day, f"{source}_{day.isoformat()}.csv") as out:
            out.write_header(csv_line(STORE_HEADER))
            for store in self.world.stores:
                for rank in self._ranks(store):
                    stock = StockModel(seed, store, rank)
                    counted = day - timedelta(days=stock.days_since_stocktake(day))
                    row = [
                        day.isoformat(),
                        store.store_id,
                        catalog.sku(rank),
                        str(stock.physical(day)),
                        counted.isoformat(),
                    ]
                    self._write(out, source, day, row, defects, len(STORE_HEADER))

    def _write(
        self, out: LandingFile, source: str, day: date, row: list[str], defects: RecordDefects, columns: int
    ) -> None:
        kind = defects.draw() if defects.kinds else None
        if kind is None:
            out.write(csv_line(row))
            return
        self.defects.count(source, day, kind)
        rng = defects.rng
        if kind == "missing_required":
            row[rng.choice((1, 2, 3))] = ""
        elif kind == "unknown_sku":
            row[2] = self.world.catalog.unknown_sku(rng)
        line = csv_line(row)
        if kind == "malformed_line":
            line = malformed_csv_line(line, ",", columns, rng.random())
        out.write(line)
