"""Everything the sources share for one (seed, scale): stores, catalogue, population."""

from __future__ import annotations

from dataclasses import dataclass, field

from omnilake.generate.catalog import Catalog, Location, build_locations
from omnilake.generate.population import Population


@dataclass
class World:
    seed: int
    scale: float
    stores: tuple[Location, ...] = field(init=False)
    dcs: tuple[Location, ...] = field(init=False)
    catalog: Catalog = field(init=False)
    population: Population = field(init=False)

    def __post_init__(self) -> None:
        self.stores, self.dcs = build_locations(self.seed, self.scale)
        self.catalog = Catalog(self.seed, self.scale, len(self.stores))
        self.population = Population(self.seed, self.scale, self.stores)

    @property
    def locations(self) -> tuple[Location, ...]:
        return self.stores + self.dcs
