"""Field tables of docs/landing_formats.md, rendered from the landing contracts.

The prose of that page is written by hand; each dataset's field table sits between
``<!-- fields:<name> -->`` and ``<!-- /fields:<name> -->`` and is generated, so the page never
restates a schema by hand. ``python -m omnilake.generate.docs`` rewrites the tables; a unit test
fails when they are stale.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from pyspark.sql import types as T

from omnilake.contracts import SCHEMAS_DIR, Contract, load_contract_file

DOC_PATH = SCHEMAS_DIR.parent / "docs" / "landing_formats.md"
_REGION = re.compile(r"(<!-- fields:(?P<name>\w+) -->\n)(?P<body>.*?)(<!-- /fields:(?P=name) -->)", re.DOTALL)


def field_table(contract: Contract) -> str:
    """A markdown table of a contract's fields; members of nested JSON objects get a row each
    (``customer.email``, ``line_items[].sku``) so an export can be mapped leaf by leaf."""
    csv = contract.format == "csv"
    head = ["field", *(["header"] if csv else []), "type", "required", "class", "meaning"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for f in contract.fields:
        meaning = " ".join(f.description.split())
        if f.allowed_values is not None:
            meaning += " One of: " + ", ".join(f"`{v}`" for v in f.allowed_values) + "."
        if f.min is not None or f.max is not None:
            low = "" if f.min is None else f"{f.min:g} ≤ "
            high = "" if f.max is None else f" ≤ {f.max:g}"
            meaning += f" Range: {low}value{high}."
        cells = [
            f"`{f.name}`",
            *([f"`{f.source_name or f.name}`"] if csv else []),
            f"`{_short(f.spark_type)}`",
            "yes" if f.required else "",
            f.classification or "",
            meaning.replace("|", "\\|"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
        for path, member in _members(f.name, f.spark_type):
            lines.append(f"| `{path}` | `{_short(member)}` |  | {f.classification} |  |")
    return "\n".join(lines) + "\n"


def _short(data_type: T.DataType) -> str:
    if isinstance(data_type, T.StructType):
        return "struct"
    if isinstance(data_type, T.ArrayType):
        return f"array<{_short(data_type.elementType)}>"
    if isinstance(data_type, T.LongType):
        return "long"
    return data_type.simpleString()


def _members(prefix: str, data_type: T.DataType) -> list[tuple[str, T.DataType]]:
    if isinstance(data_type, T.ArrayType):
        return _members(prefix + "[]", data_type.elementType)
    if not isinstance(data_type, T.StructType):
        return []
    rows = []
    for member in data_type.fields:
        path = f"{prefix}.{member.name}"
        rows.append((path, member.dataType))
        rows.extend(_members(path, member.dataType))
    return rows


def render(text: str, schemas_dir: Path = SCHEMAS_DIR) -> str:
    """``text`` with every field-table region regenerated from ``schemas/landing``."""

    def replace(match: re.Match[str]) -> str:
        contract = load_contract_file(schemas_dir / "landing" / f"{match['name']}.yaml")
        return match.group(1) + field_table(contract) + match.group(4)

    return _REGION.sub(replace, text)


def main() -> int:
    current = DOC_PATH.read_text(encoding="utf-8")
    updated = render(current)
    if updated != current:
        DOC_PATH.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
