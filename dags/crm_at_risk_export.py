"""Example consumer DAG (Airflow 3): export CRM audiences whenever the RFM mart refreshes.

Scheduled on the gold Assets that ``omnilake_daily`` publishes, not on a clock: it runs after each
successful publication of ``mart_customer_rfm`` and ``dim_customer``. It writes the at-risk
customers (e-mail) and the campaign audiences of ``omnilake.exports.AUDIENCES`` - high value
(Champions, Cannot Lose Them: exclusive offer and priority shipping) and win-back - once per
channel. People who withdrew a channel's marketing consent are never in that channel's file.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

from omnilake.assets import gold_asset
from omnilake.ops.airflow_defaults import consumer_default_args

with DAG(
    dag_id="crm_at_risk_export",
    schedule=[gold_asset("mart_customer_rfm"), gold_asset("dim_customer")],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=consumer_default_args(),
    tags=["omnilake", "example"],
    doc_md=__doc__,
) as dag:

    @task(
        doc_md="Write `exports/crm/at_risk_<snapshot>.csv` under the lake root (consenting customers only)."
    )
    def export_at_risk_customers() -> str:
        from omnilake.crm import export_at_risk

        return str(export_at_risk())

    @task(
        doc_md="Write `exports/crm/<audience>_<channel>_<snapshot>.csv` for every campaign audience and "
        "channel (pseudonymous keys of consenting customers only)."
    )
    def export_campaign_audiences() -> list[str]:
        from omnilake.crm import export_audience
        from omnilake.exports import AUDIENCES, CONSENT_COLUMNS

        return [
            str(export_audience(name, channel=channel)) for name in AUDIENCES for channel in CONSENT_COLUMNS
        ]

    export_at_risk_customers()
    export_campaign_audiences()
