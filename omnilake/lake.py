"""The lake's layout and its table registry.

Under the lake root::

    landing/<source>/<yyyy-mm-dd>/…   files as delivered (the lake keeps them for replay)
    bronze/<table>                    raw, as received, plus ingestion metadata
    silver/<table>                    clean, deduplicated, conformed, pseudonymised
    gold/<table>                      marts published as Delta for apps
    quarantine/<source>               records and files that failed parsing or hard rules
    _ops/<table>                      ledgers, reconciliation, quality results, run state
    warehouse.duckdb                  marts for analysts

Every table's path, layer, keys and partitioning come from its contract under ``schemas/``; this
module is the one place that turns a contract into a location.
"""

from __future__ import annotations

from dataclasses import dataclass

from omnilake.contracts import Contract, all_contracts
from omnilake.errors import ContractError
from omnilake.settings import LakeRoot, get_settings

LAYER_DIRS = {
    "bronze": "bronze",
    "silver": "silver",
    "gold": "gold",
    "quarantine": "quarantine",
    "ops": "_ops",
}
TABLE_LAYERS = tuple(LAYER_DIRS)


@dataclass(frozen=True)
class Table:
    """A Delta table of the lake: where it lives and what it must look like."""

    contract: Contract
    root: LakeRoot

    @property
    def name(self) -> str:
        return self.contract.name

    @property
    def layer(self) -> str:
        return self.contract.layer

    @property
    def qualified_name(self) -> str:
        return self.contract.qualified_name

    @property
    def path(self) -> str:
        return self.root.join(LAYER_DIRS[self.layer], self.name)

    @property
    def keys(self) -> tuple[str, ...]:
        return self.contract.keys

    @property
    def partition_by(self) -> tuple[str, ...]:
        return self.contract.partition_by

    def __str__(self) -> str:
        return self.qualified_name


class Lake:
    """The lake at one root: paths and the table registry."""

    def __init__(self, root: LakeRoot | None = None) -> None:
        self.root = root or get_settings().lake

    def path(self, *parts: str) -> str:
        return self.root.join(*parts)

    @property
    def landing(self) -> str:
        return self.path("landing")

    @property
    def warehouse_path(self) -> str:
        return self.path("warehouse.duckdb")

    def table(self, qualified_name: str) -> Table:
        """A table by ``<layer>.<name>``, e.g. ``bronze.orders`` or ``ops.ingestion_ledger``."""
        contract = all_contracts().get(qualified_name)
        if contract is None or contract.layer not in TABLE_LAYERS:
            raise ContractError(
                f"no table {qualified_name!r}: add schemas/{qualified_name.replace('.', '/')}.yaml"
            )
        return Table(contract, self.root)

    def tables(self, layer: str | None = None) -> list[Table]:
        return [
            Table(c, self.root)
            for c in all_contracts().values()
            if c.layer in TABLE_LAYERS and (layer is None or c.layer == layer)
        ]

    def ensure_layout(self) -> None:
        """Create the top-level folders of a local lake (object stores need none)."""
        if self.root.is_local:
            for directory in (*LAYER_DIRS.values(), "landing"):
                (self.root.local_path / directory).mkdir(parents=True, exist_ok=True)


def get_lake() -> Lake:
    """The lake at the configured root (read afresh: tests switch roots between cases)."""
    return Lake()
