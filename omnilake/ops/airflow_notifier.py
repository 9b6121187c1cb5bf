"""The alerts of ``omnilake.ops.alerts`` as an Airflow notifier (``airflow.sdk.BaseNotifier``).

The DAG gives every task ``on_failure_callback=[WebhookNotifier()]``: a task that fails for good (its
retries spent) sends one message; tasks that never ran because an upstream failed send none, so a
breached ``fail`` check sends exactly one message, from its gate's task, naming the check. Airflow
runs a task's callback in the task's own process, where the gate's exception and its report are.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseNotifier

from omnilake.ops.alerts import failure_alert, send


class WebhookNotifier(BaseNotifier):
    """POST a failed task's alert to ``url`` (default ``OMNILAKE_ALERT_WEBHOOK``, read when it fires)."""

    template_fields = ("url",)

    def __init__(self, url: str | None = None) -> None:
        super().__init__()
        self.url = url

    def notify(self, context: Any) -> None:
        ti = context.get("ti") or context.get("task_instance")
        interval_start = context.get("data_interval_start")
        alert = failure_alert(
            context.get("exception"),
            run_id=context.get("run_id"),
            step=getattr(ti, "task_id", None),
            landing_date=interval_start.date() if interval_start is not None else None,
        )
        send(alert, self.url or None)
