"""Write models/staging/_silver__sources.yml from the silver contracts (schemas/silver/*.yaml).

The contracts are the one place a silver table's columns are declared; this script copies their
names, types and descriptions into dbt's source definitions so that `dbt docs` documents every
column. A silver table is a source when it has a staging model (models/staging/stg_silver__<table>.sql):
sources nobody reads would still have to exist for `dbt docs generate`. Run it after adding a
staging model or changing a silver contract (a test fails until you do):

    uv run python dbt_project/scripts/sync_silver_sources.py
"""

from __future__ import annotations

from pathlib import Path

import yaml

from omnilake.contracts import all_contracts
from omnilake.publish import silver_sources

SOURCES_FILE = Path(__file__).resolve().parent.parent / "models" / "staging" / "_silver__sources.yml"

HEADER = """\
# Generated from schemas/silver/*.yaml by dbt_project/scripts/sync_silver_sources.py: edit the
# contracts, then rerun the script.
#
# The silver Delta tables the Spark jobs write under <lake>/silver/<table>; the silver quality gate
# checks them before dbt runs. delta_table_path is relative to the lake root (OMNILAKE_HOME when dbt
# runs). On DuckDB each table is read with delta-rs into Arrow by the project's delta plugin
# (omnilake.gold.delta_source, dbt-duckdb's own with lake-relative paths; no DuckDB extension
# download); on Spark it is the table silver.<table> (see the register_silver_tables macro).
"""


def sources_document() -> dict:
    """The sources document for every staged silver table."""
    tables = []
    for name in silver_sources():
        contract = all_contracts()[f"silver.{name}"]
        tables.append(
            {
                "name": contract.name,
                "description": " ".join(contract.description.split())
                + f" Contract: schemas/silver/{contract.name}.yaml.",
                "config": {
                    "meta": {
                        # relative to the lake root, resolved when dbt runs (the delta plugin,
                        # omnilake.gold.delta_source; register_silver_tables on Spark): nothing
                        # in the parsed project names the lake, so one parse serves every lake
                        "delta_table_path": f"silver/{contract.name}"
                    }
                },
                "columns": [
                    {"name": f.name, "data_type": f.type, "description": f.description}
                    for f in contract.fields
                ],
            }
        )
    return {
        "version": 2,
        "sources": [
            {
                "name": "silver",
                "description": "Clean, deduplicated, conformed and pseudonymised silver layer (Delta Lake).",
                "schema": "silver",
                # save_mode ignore: each table is loaded once per build, by the on-run-start hook
                # (macros/load_silver_sources.sql), not again when a staging model compiles.
                "config": {"meta": {"plugin": "delta", "save_mode": "ignore"}},
                "tables": tables,
            }
        ],
    }


def render() -> str:
    return HEADER + yaml.safe_dump(sources_document(), sort_keys=False, width=120, allow_unicode=True)


if __name__ == "__main__":
    SOURCES_FILE.write_text(render(), encoding="utf-8")
    print(f"wrote {SOURCES_FILE}")
