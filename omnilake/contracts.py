"""Data contracts: the one place a dataset's shape is declared.

Every landing dataset and every curated table has a YAML file under ``schemas/<layer>/``. Ingestion,
the Delta write helpers, quality suites and docs read these files; nothing restates a schema by hand.

A contract looks like::

    name: orders
    layer: bronze              # landing | bronze | silver | gold | quarantine | ops
    description: ...
    format: ndjson             # landing only: ndjson | csv
    keys: [order_id]           # unique key(s), may be empty
    partition_by: [ingest_date]
    fields:
      - name: order_id
        type: string           # Spark SQL DDL type: string, long, int, double, boolean, date,
                               # timestamp, decimal(12,2), array<...>, struct<a:int,...>, map<k,v>
        required: true
        classification: internal   # public | internal | confidential | restricted
        description: ...
        allowed_values: [a, b]     # optional
        min: 0                     # optional, numbers
        max: 100000                # optional
        source_name: Qty           # optional: the name in the landing file, when it differs
        formats: ["yyyy-MM-dd HH:mm:ss", "dd/MM/yyyy HH:mm"]   # optional: accepted datetime patterns
        aliases: [QUANTITY]        # optional: other header names exports use for it (mapped, reported)
        may_be_absent: true        # optional: a CSV export may leave the column out (no drift note)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pyspark.sql import types as T

from omnilake.errors import ContractError

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"
LAYERS = ("landing", "bronze", "silver", "gold", "quarantine", "ops")
CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    required: bool = False
    classification: str | None = None
    description: str = ""
    allowed_values: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    source_name: str | None = None  # landing CSV header / JSON key when it differs from name
    formats: tuple[str, ...] | None = None  # accepted datetime patterns, tried in order
    aliases: tuple[str, ...] = ()  # other names exports are known to use for this field
    # An optional column most exports do not have (a CRM that does not know web accounts): a CSV
    # header without it is not schema drift.
    may_be_absent: bool = False
    # Records which run wrote the row or when (a batch id, a load time): two correct runs of the same
    # data differ here, so content fingerprints leave it out.
    lineage: bool = False

    @property
    def raw_name(self) -> str:
        """The name the field has in the landing file."""
        return self.source_name or self.name

    @property
    def spark_type(self) -> T.DataType:
        return parse_type(self.type)


@dataclass(frozen=True)
class Contract:
    name: str
    layer: str
    fields: tuple[Field, ...]
    description: str = ""
    format: str | None = None
    keys: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise ContractError(f"{self.qualified_name} has no field {name!r}")

    @property
    def required_fields(self) -> list[Field]:
        return [f for f in self.fields if f.required]

    def spark_schema(self, *, enforce_required: bool = False) -> T.StructType:
        """The schema as Spark sees it. Columns stay nullable unless asked: 'required' is checked by
        ingestion and the quality gates, where a violation gets a reason instead of a failed write."""
        return T.StructType(
            [T.StructField(f.name, f.spark_type, not (enforce_required and f.required)) for f in self.fields]
        )

    def ddl(self) -> str:
        return ", ".join(f"`{f.name}` {f.type}" for f in self.fields)


def _field_from_dict(contract_name: str, raw: dict[str, Any]) -> Field:
    if "name" not in raw or "type" not in raw:
        raise ContractError(f"{contract_name}: every field needs a name and a type, got {raw!r}")
    allowed = raw.get("allowed_values")
    parse_type(raw["type"])  # fail early on a typo
    if raw.get("may_be_absent") and raw.get("required"):
        raise ContractError(f"{contract_name}.{raw['name']}: a required field cannot be may_be_absent")
    return Field(
        name=raw["name"],
        type=raw["type"],
        required=bool(raw.get("required", False)),
        classification=raw.get("classification"),
        description=raw.get("description", ""),
        allowed_values=tuple(allowed) if allowed is not None else None,
        min=raw.get("min"),
        max=raw.get("max"),
        source_name=raw.get("source_name"),
        formats=tuple(raw["formats"]) if raw.get("formats") else None,
        aliases=tuple(raw.get("aliases", ())),
        lineage=bool(raw.get("lineage", False)),
        may_be_absent=bool(raw.get("may_be_absent", False)),
    )


# libyaml's safe loader when PyYAML has it: the same documents, a ninth of the CPU (loading every
# contract took 0.18 CPU-s of each pipeline process's start with the pure-Python loader).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_contract_file(path: Path) -> Contract:
    raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    if not isinstance(raw, dict) or "name" not in raw or "fields" not in raw:
        raise ContractError(f"{path}: a contract needs at least 'name' and 'fields'")
    layer = raw.get("layer") or path.parent.name
    if layer not in LAYERS:
        raise ContractError(f"{path}: unknown layer {layer!r}, expected one of {LAYERS}")
    fields = tuple(_field_from_dict(raw["name"], f) for f in raw["fields"])
    names = [f.name for f in fields]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ContractError(f"{path}: duplicated field(s) {sorted(duplicates)}")
    for column in [*raw.get("keys", []), *raw.get("partition_by", [])]:
        if column not in names:
            raise ContractError(f"{path}: key or partition column {column!r} is not a field")
    return Contract(
        name=raw["name"],
        layer=layer,
        fields=fields,
        description=raw.get("description", ""),
        format=raw.get("format"),
        keys=tuple(raw.get("keys", [])),
        partition_by=tuple(raw.get("partition_by", [])),
        options=dict(raw.get("options", {})),
        path=path,
    )


@cache
def all_contracts(schemas_dir: Path = SCHEMAS_DIR) -> dict[str, Contract]:
    """Every contract under ``schemas/``, keyed by ``<layer>.<name>``.

    Files whose name starts with ``_`` are templates, not tables: ``bronze/_metadata.yaml`` holds the
    ingestion columns appended to every landing contract to make its bronze table, and
    ``quarantine/_records.yaml`` the columns of every source's quarantine table. Bronze thus never
    restates a landing schema.
    """
    contracts: dict[str, Contract] = {}
    templates: dict[str, Contract] = {}
    for path in sorted(schemas_dir.glob("*/*.yaml")):
        contract = load_contract_file(path)
        if path.name.startswith("_"):
            templates[f"{contract.layer}.{path.stem}"] = contract
        else:
            contracts[contract.qualified_name] = contract
    metadata, records = templates.get("bronze._metadata"), templates.get("quarantine._records")
    for landing in [c for c in contracts.values() if c.layer == "landing"]:
        if metadata and f"bronze.{landing.name}" not in contracts:
            contracts[f"bronze.{landing.name}"] = Contract(
                name=landing.name,
                layer="bronze",
                fields=landing.fields + metadata.fields,
                description=f"{landing.description.strip()} As received, with ingestion metadata.",
                keys=metadata.keys,
                partition_by=metadata.partition_by,
                path=landing.path,
            )
        if records and f"quarantine.{landing.name}" not in contracts:
            contracts[f"quarantine.{landing.name}"] = Contract(
                name=landing.name,
                layer="quarantine",
                fields=records.fields,
                description=f"Records of {landing.name} that failed parsing or the contract's hard rules.",
                keys=records.keys,
                partition_by=records.partition_by,
                path=records.path,
            )
    return contracts


def landing_sources() -> list[str]:
    """Every source with a landing contract, in a stable order."""
    return sorted(c.name for c in all_contracts().values() if c.layer == "landing")


def contract(layer: str, name: str) -> Contract:
    try:
        return all_contracts()[f"{layer}.{name}"]
    except KeyError:
        raise ContractError(f"no contract schemas/{layer}/{name}.yaml") from None


# --- Spark SQL DDL types -------------------------------------------------------------------------

_SIMPLE_TYPES: dict[str, T.DataType] = {
    "string": T.StringType(),
    "long": T.LongType(),
    "bigint": T.LongType(),
    "int": T.IntegerType(),
    "integer": T.IntegerType(),
    "short": T.ShortType(),
    "smallint": T.ShortType(),
    "double": T.DoubleType(),
    "float": T.FloatType(),
    "boolean": T.BooleanType(),
    "date": T.DateType(),
    "timestamp": T.TimestampType(),
    "timestamp_ntz": T.TimestampNTZType(),
    "binary": T.BinaryType(),
}
_DECIMAL = re.compile(r"decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)")


def _split_top_level(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


@cache
def parse_type(ddl: str) -> T.DataType:
    """Parse a Spark SQL DDL type without a session (Spark Connect parses DDL only server-side)."""
    text = ddl.strip()
    lower = text.lower()
    if lower in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[lower]
    if m := _DECIMAL.fullmatch(lower):
        return T.DecimalType(int(m.group(1)), int(m.group(2)))
    if lower.startswith("array<") and lower.endswith(">"):
        return T.ArrayType(parse_type(text[6:-1]), True)
    if lower.startswith("map<") and lower.endswith(">"):
        key, value = _split_top_level(text[4:-1])
        return T.MapType(parse_type(key), parse_type(value), True)
    if lower.startswith("struct<") and lower.endswith(">"):
        members = []
        for member in _split_top_level(text[7:-1]):
            name, _, member_type = member.partition(":")
            if not member_type:
                raise ContractError(f"struct member {member!r} in {ddl!r} needs 'name:type'")
            members.append(T.StructField(name.strip().strip("`"), parse_type(member_type), True))
        return T.StructType(members)
    raise ContractError(f"unknown type {ddl!r}")


def same_type(left: T.DataType, right: T.DataType) -> bool:
    """Types equal up to nullability (Delta and Spark disagree on nullability too often to compare it)."""
    if isinstance(left, T.StructType) and isinstance(right, T.StructType):
        return len(left.fields) == len(right.fields) and all(
            a.name == b.name and same_type(a.dataType, b.dataType)
            for a, b in zip(left.fields, right.fields, strict=True)
        )
    if isinstance(left, T.ArrayType) and isinstance(right, T.ArrayType):
        return same_type(left.elementType, right.elementType)
    if isinstance(left, T.MapType) and isinstance(right, T.MapType):
        return same_type(left.keyType, right.keyType) and same_type(left.valueType, right.valueType)
    return left == right
