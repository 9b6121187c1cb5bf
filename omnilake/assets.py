"""Airflow Assets for the gold tables, named once for the producing DAG and every consumer."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.sdk import Asset


def gold_asset(table: str) -> Asset:
    """The Asset ``omnilake_daily`` updates when it publishes ``gold.<table>``."""
    from airflow.sdk import Asset

    return Asset(name=f"omnilake.gold.{table}", uri=f"omnilake://gold/{table}", group="omnilake")
