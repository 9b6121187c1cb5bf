"""Classification is enforced: every field is classified, and nothing restricted reaches silver or gold.

Every field of every contract under ``schemas/`` carries one of ``public < internal < confidential <
restricted``. ``violations()`` checks the rules below and names each breach; a unit test runs it, so
a contract that breaks a rule fails the build:

``unclassified``
    a field (templates included) without a classification, or with an unknown one.
``restricted_downstream``
    a silver or gold field classified ``restricted``: restricted data (clear-text e-mails, phones,
    names, addresses, IPs, loyalty cards, raw records) stays in landing, bronze and quarantine.
``clear_identifier``
    a silver or gold field named like a direct identifier (e-mail, phone, name, address, IP,
    loyalty card) that is not a pseudonym or masked form (``_hash``, ``_masked`` suffix).
``identifier_underclassified``
    such a pseudonym or masked form classified below ``confidential``.
``restricted_lineage``
    a silver or gold field with the (snake-cased) name of a restricted landing field, not
    pseudonymised: the clear value of a restricted field carried downstream under its own name.
``gold_without_contract`` / ``gold_column_without_contract`` / ``gold_contract_column_missing``
    a dbt mart, or one of its columns (from the dbt YAML under ``dbt_project/models/marts/``, or from
    a built warehouse), that ``schemas/gold/<mart>.yaml`` does not declare, and the other way round.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from omnilake.contracts import CLASSIFICATIONS, SCHEMAS_DIR, Contract, load_contract_file
from omnilake.errors import ContractError
from omnilake.gold_models import DBT_PROJECT_DIR

DOWNSTREAM_LAYERS = ("silver", "gold")
RANK = {name: rank for rank, name in enumerate(CLASSIFICATIONS)}

# A column is a pseudonym or masked display form of an identifier when its name ends like this.
PSEUDONYM_SUFFIXES = ("_hash", "_masked")
# Direct identifiers, as the last words of a column name (``account_email``, ``shipping_address``).
DIRECT_IDENTIFIER_STEMS = (
    "email",
    "e_mail",
    "email_address",
    "phone",
    "phone_number",
    "mobile",
    "telephone",
    "ip",
    "ip_address",
    "loyalty_card",
    "loyalty_card_number",
    "card_number",
    "first_name",
    "last_name",
    "full_name",
    "given_name",
    "family_name",
    "surname",
    "customer_name",
    "person_name",
    "member_name",
    "contact_name",
    "address",
    "street",
    "street_address",
    "address_line",
    "address_line_1",
    "address_line_2",
    "address_line1",
    "address_line2",
)
_STEM = re.compile(r"(?:^|_)(?:" + "|".join(sorted(DIRECT_IDENTIFIER_STEMS, key=len, reverse=True)) + r")$")


class ClassificationError(ContractError):
    """A contract breaks a classification rule; the message names every breach."""


@dataclass(frozen=True)
class Violation:
    rule: str
    where: str  # "silver.orders.email" or "gold.dim_customer" or "schemas/bronze/_metadata.yaml: _raw"
    detail: str

    def __str__(self) -> str:
        return f"{self.where}: {self.detail} [{self.rule}]"


# --- names ---------------------------------------------------------------------------------------


def snake_case(name: str) -> str:
    """``anonymousId`` -> ``anonymous_id``; ``TXN_ID`` -> ``txn_id``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def is_pseudonymised(name: str) -> bool:
    """A pseudonym (``email_hash``) or masked display form (``phone_masked``)."""
    return name.lower().endswith(PSEUDONYM_SUFFIXES)


def identifier_stem(name: str) -> str | None:
    """The direct identifier a column name stands for (pseudonym suffix removed), or None.

    ``email_hash`` -> ``email``, ``shipping_address`` -> ``shipping_address``, ``email_opt_in`` -> None.
    """
    base = snake_case(name)
    for suffix in PSEUDONYM_SUFFIXES:
        base = base.removesuffix(suffix)
    return base if _STEM.search(base) else None


# --- contract rules ------------------------------------------------------------------------------


def contract_files(schemas_dir: Path = SCHEMAS_DIR) -> list[Path]:
    return sorted(schemas_dir.glob("*/*.yaml"))


def _load(schemas_dir: Path) -> list[Contract]:
    return [load_contract_file(path) for path in contract_files(schemas_dir)]


def _where(contract: Contract, field_name: str) -> str:
    if contract.path is not None and contract.path.name.startswith("_"):
        return f"schemas/{contract.layer}/{contract.path.name}: {field_name}"
    return f"{contract.qualified_name}.{field_name}"


def contract_violations(contracts: Iterable[Contract]) -> list[Violation]:
    """Breaches of the per-field rules (everything but the dbt comparison)."""
    contracts = list(contracts)
    found: list[Violation] = []
    restricted_landing: dict[str, str] = {}
    for c in sorted(contracts, key=lambda c: ("landing", "bronze", "quarantine", c.layer).index(c.layer)):
        if c.layer in ("landing", "bronze", "quarantine"):
            for f in c.fields:
                if f.classification == "restricted":
                    restricted_landing.setdefault(snake_case(f.name), f"{c.qualified_name}.{f.name}")
    for c in contracts:
        for f in c.fields:
            where = _where(c, f.name)
            if f.classification not in CLASSIFICATIONS:
                found.append(
                    Violation(
                        "unclassified",
                        where,
                        f"classification {f.classification!r}; give it one of {', '.join(CLASSIFICATIONS)}",
                    )
                )
                continue
            if c.layer not in DOWNSTREAM_LAYERS:
                continue
            if f.classification == "restricted":
                found.append(
                    Violation(
                        "restricted_downstream",
                        where,
                        "restricted data must not reach silver or gold; pseudonymise it "
                        "(omnilake.privacy) into a confidential _hash or _masked column",
                    )
                )
            stem = identifier_stem(f.name)
            if stem and not is_pseudonymised(f.name):
                found.append(
                    Violation(
                        "clear_identifier",
                        where,
                        f"a direct identifier ({stem}) in clear text; keep only {stem}_hash "
                        f"(omnilake.privacy.identifier_hash) or {stem}_masked",
                    )
                )
            elif stem and RANK[f.classification] < RANK["confidential"]:
                found.append(
                    Violation(
                        "identifier_underclassified",
                        where,
                        f"a pseudonym or masked form of {stem} is {f.classification}; classify it confidential",
                    )
                )
            origin = restricted_landing.get(snake_case(f.name))
            if origin and not is_pseudonymised(f.name) and not stem:
                found.append(
                    Violation(
                        "restricted_lineage",
                        where,
                        f"carries the restricted {origin} in clear under its own name; pseudonymise it "
                        f"({f.name}_hash), or classify {origin} lower if it is not restricted data",
                    )
                )
    return found


# --- gold columns against dbt --------------------------------------------------------------------


def dbt_mart_columns(dbt_project_dir: Path = DBT_PROJECT_DIR) -> dict[str, list[str]]:
    """Columns of every mart documented under ``models/marts/`` (the dbt YAML, which dbt enforces as
    the model's contract)."""
    marts: dict[str, list[str]] = {}
    for path in sorted((dbt_project_dir / "models" / "marts").rglob("*.yml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for model in raw.get("models", []) or []:
            marts[model["name"]] = [column["name"] for column in model.get("columns", []) or []]
    return marts


def warehouse_mart_columns(warehouse: str | Path, schema: str = "main") -> dict[str, list[str]]:
    """Columns of every table in ``schema`` of a built DuckDB warehouse (opened read-only)."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select table_name, column_name from duckdb_columns() "
            "where database_name = current_database() and schema_name = ? order by table_name, column_index",
            [schema],
        ).fetchall()
    marts: dict[str, list[str]] = {}
    for table, column in rows:
        marts.setdefault(table, []).append(column)
    return marts


def gold_violations(
    mart_columns: Mapping[str, Sequence[str]], contracts: Iterable[Contract], source: str = "dbt"
) -> list[Violation]:
    """Every mart column must be declared by ``schemas/gold/<mart>.yaml``, and every declared column built."""
    gold = {c.name: c for c in contracts if c.layer == "gold"}
    found: list[Violation] = []
    for mart, columns in sorted(mart_columns.items()):
        declared = gold.get(mart)
        if declared is None:
            found.append(
                Violation(
                    "gold_without_contract",
                    f"gold.{mart}",
                    f"the {source} mart has no contract; add schemas/gold/{mart}.yaml classifying its columns",
                )
            )
            continue
        names = set(declared.field_names)
        for column in columns:
            if column not in names:
                found.append(
                    Violation(
                        "gold_column_without_contract",
                        f"gold.{mart}.{column}",
                        f"the {source} mart has a column its contract lacks; declare and classify it in "
                        f"schemas/gold/{mart}.yaml",
                    )
                )
        for name in declared.field_names:
            if name not in columns:
                found.append(
                    Violation(
                        "gold_contract_column_missing",
                        f"gold.{mart}.{name}",
                        f"schemas/gold/{mart}.yaml declares a column the {source} mart does not have",
                    )
                )
    return found


# --- the check -----------------------------------------------------------------------------------


def violations(
    schemas_dir: Path = SCHEMAS_DIR,
    dbt_project_dir: Path | None = DBT_PROJECT_DIR,
    warehouse: str | Path | None = None,
) -> list[Violation]:
    """Every classification rule breached by the contracts (and the dbt marts, and a built warehouse)."""
    contracts = _load(schemas_dir)
    found = contract_violations(contracts)
    if dbt_project_dir is not None and (dbt_project_dir / "models" / "marts").is_dir():
        found.extend(gold_violations(dbt_mart_columns(dbt_project_dir), contracts, "dbt"))
    if warehouse is not None:
        found.extend(gold_violations(warehouse_mart_columns(warehouse), contracts, "warehouse"))
    return found


def enforce(
    schemas_dir: Path = SCHEMAS_DIR,
    dbt_project_dir: Path | None = DBT_PROJECT_DIR,
    warehouse: str | Path | None = None,
) -> None:
    """Raise ClassificationError naming every breach (nothing when the contracts comply)."""
    found = violations(schemas_dir, dbt_project_dir, warehouse)
    if found:
        raise ClassificationError(
            f"{len(found)} classification breach(es): " + "; ".join(str(v) for v in found)
        )
