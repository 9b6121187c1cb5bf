"""dbt-duckdb plugin ``delta``: the stock plugin, with table paths relative to the lake root.

dbt re-parses a file whose environment variables change, and the sources' ``delta_table_path``
used to read ``OMNILAKE_HOME`` at parse time, so each lake had a parse of its own. Here a relative
``delta_table_path`` (``silver/<table>``) is taken from the lake root when the source loads, while
dbt runs, and nothing in the parsed project names the lake (see ``omnilake.gold.parse_cache``).

The table is then read as dbt-duckdb's stock plugin reads it: a pyarrow dataset from delta-rs,
scanned lazily by DuckDB (projection and partition filters pushed into the scanner). DuckDB's own
``read_parquet`` over the table's files costs about half the CPU per full scan, but as a source it
is bound again on every cursor dbt opens and in every query naming it (dbt-duckdb re-registers its
sources on each cursor; with ``union_by_name`` each bind reads every file's footer: 26 ms for 186
files), which cost a 30-date build far more than it saved.
"""

from __future__ import annotations

import os
from typing import Any

from dbt.adapters.duckdb.plugins import delta as stock_delta


def table_location(path: str) -> str:
    """A source's table location: a relative ``delta_table_path`` is under the lake root."""
    if "://" in path or os.path.isabs(path):
        return path
    return os.path.join(os.environ.get("OMNILAKE_HOME", ".omnilake"), path)


class Plugin(stock_delta.Plugin):
    """The stock ``delta`` plugin, resolving a relative table path against the lake root."""

    def load(self, source_config: Any) -> Any:
        if "delta_table_path" not in source_config:
            raise ValueError(f"source {source_config.table_name()} has no delta_table_path")
        source_config.meta["delta_table_path"] = table_location(source_config["delta_table_path"])
        return super().load(source_config)
