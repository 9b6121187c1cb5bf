"""The task defaults the consumer DAGs share: retries, a timeout, and the failure webhook.

A consumer DAG (an export scheduled on gold Assets) fails as quietly as any other unless its tasks
carry the same ``on_failure_callback`` as ``omnilake_daily``; one function keeps them alike.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from omnilake.ops.airflow_notifier import WebhookNotifier


def consumer_default_args(*, timeout: timedelta = timedelta(minutes=15)) -> dict[str, Any]:
    """``default_args`` for a consumer DAG: two retries five minutes apart, then one alert."""
    return {
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "execution_timeout": timeout,
        # a task that fails for good alerts once (OMNILAKE_ALERT_WEBHOOK), like omnilake_daily's
        "on_failure_callback": [WebhookNotifier()],
    }
