"""Example consumer DAG (Airflow 3): export the k-anonymous partner aggregates when they refresh.

Scheduled on the gold Assets of ``mart_partner_sales_weekly`` and ``mart_partner_segments_weekly``
that ``omnilake_daily`` publishes. Every row of those marts covers at least k distinct customers
(dbt var ``partner_min_customers``); the export checks each row again and writes nothing if one
does not.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

from omnilake.assets import gold_asset
from omnilake.ops.airflow_defaults import consumer_default_args

with DAG(
    dag_id="partner_aggregates_export",
    schedule=[gold_asset("mart_partner_sales_weekly"), gold_asset("mart_partner_segments_weekly")],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=consumer_default_args(),
    tags=["omnilake", "example"],
    doc_md=__doc__,
) as dag:

    @task(doc_md="Write `exports/partners/<mart>_<week>.csv` under the lake root (no group below k).")
    def export_partner_aggregates() -> list[str]:
        from omnilake.partners import export_partner_aggregates

        return [str(path) for path in export_partner_aggregates()]

    export_partner_aggregates()
