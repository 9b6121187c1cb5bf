"""Silver tables exist even when no feed fills them.

A retailer that does not deliver a source (``omnilake.feeds``), or whose feed has not delivered a
record yet, still gets that source's silver tables, empty and with their contract schema: the silver
gate checks every declared table, dbt reads every silver table as a source, and apps read them too.
An empty table says "no data"; a missing one would be an error everywhere downstream.
"""

from __future__ import annotations

from pyspark.sql import SparkSession

from omnilake import delta
from omnilake.lake import Lake


def ensure_outputs(spark: SparkSession, lake: Lake, *tables: str) -> None:
    """Create each of ``silver.<table>`` from its contract if it does not exist yet."""
    for name in tables:
        delta.ensure_table(spark, lake.table(f"silver.{name}"))
