"""Alerts: a failed gate, a failed task, a missed freshness deadline or flagged access, POSTed as JSON.

The notifier is an HTTP webhook, ``OMNILAKE_ALERT_WEBHOOK`` (a chat incoming-webhook, an incident
tool's events endpoint, a relay to e-mail); without it alerts are only logged. ``omnilake run`` calls
``alert_failure`` when a run stops and ``alert_flagged_access`` after it; the Airflow DAG calls
the same through ``omnilake.ops.airflow_notifier.WebhookNotifier`` (each task's
``on_failure_callback``), so both send the same message for the same event.

A message (``Alert.payload``) names the event's kind, the check (a gate's failed check, the failed
task, the access rule), the observed value and the run::

    {"source": "omnilake", "kind": "gate_failed", "check": "bronze.deliveries: freshness",
     "observed": "1 of 8 sources: source=pos", "run_id": "…", "landing_date": "2026-01-01",
     "checks": [{"check": …, "observed": …}], "text": "bronze gate failed …"}

A gate alert quotes what the gate observed (as ``ops.quality_results`` does), so the webhook must be
inside the same trust boundary as the lake's operators. Sending never raises: an unreachable webhook
is logged and must not hide the run's own outcome.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

log = logging.getLogger(__name__)

MESSAGE_MAX_CHARS = 300


@dataclass(frozen=True)
class Alert:
    kind: str  # gate_failed, freshness_missed, task_failed, access_flagged
    check: str
    observed: str
    run_id: str | None
    text: str
    landing_date: str | None = None
    checks: list[dict[str, str]] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {"source": "omnilake", **asdict(self)}


def _short(text: str) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= MESSAGE_MAX_CHARS else line[: MESSAGE_MAX_CHARS - 1] + "…"


def gate_alert(report: Any, run_id: str | None = None) -> Alert:
    """The alert of a gate whose ``fail`` checks broke (``report``: ``quality.results.GateReport``)."""
    failed = [{"check": r.label, "observed": _short(r.observed)} for r in report.failed]
    freshness = bool(failed) and all(r.expectation == "freshness" for r in report.failed)
    first = failed[0] if failed else {"check": f"{report.layer} gate", "observed": "failed"}
    named = "; ".join(f"{c['check']} (observed: {c['observed']})" for c in failed)
    when = f" for {report.landing_date}" if report.landing_date else ""
    return Alert(
        kind="freshness_missed" if freshness else "gate_failed",
        check=first["check"],
        observed=first["observed"],
        run_id=run_id or report.run_id,
        text=f"{report.layer} gate failed{when}, run {run_id or report.run_id}: {named}",
        landing_date=report.landing_date.isoformat() if report.landing_date else None,
        checks=failed,
    )


def failure_alert(
    error: BaseException | None, *, run_id: str | None, step: str | None, landing_date: date | None = None
) -> Alert:
    """The alert of a run or task that stopped with ``error``: a gate's own alert when a gate stopped it."""
    report = getattr(error, "report", None)
    if report is not None and getattr(report, "failed", None):
        return gate_alert(report, run_id)
    observed = f"{type(error).__name__}: {_short(str(error))}" if error is not None else "failed"
    return Alert(
        kind="task_failed",
        check=f"task {step or '?'}",
        observed=observed,
        run_id=run_id,
        text=f"task {step or '?'} failed, run {run_id}: {observed}",
        landing_date=landing_date.isoformat() if landing_date else None,
    )


def access_alerts(flags: list[Any], run_id: str | None) -> list[Alert]:
    """One alert per flagged reader-day (``omnilake.governance.access_audit.AccessFlag``)."""
    return [
        Alert(
            kind="access_flagged",
            check=f"access: {flag.check}",
            observed=f"{flag.personal_rows} personal rows by {flag.reader} on {flag.day} (threshold {flag.threshold})",
            run_id=run_id,
            text=f"unusual access: {flag.describe()}",
        )
        for flag in flags
    ]


def webhook_url() -> str | None:
    from omnilake.settings import get_settings

    return get_settings().alert_webhook


def send(alert: Alert, url: str | None = None) -> bool:
    """POST ``alert`` to ``url`` (default ``OMNILAKE_ALERT_WEBHOOK``); True when it was accepted."""
    from omnilake.settings import get_settings

    url = url or webhook_url()
    log.warning("alert %s: %s", alert.kind, alert.text)
    if not url:
        return False
    body = json.dumps(alert.payload(), ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=get_settings().alert_timeout_seconds) as response:
            accepted = 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError) as exc:
        log.error("alert %s not delivered to the webhook: %s", alert.kind, exc)
        return False
    if not accepted:
        log.error("alert %s: the webhook answered %s", alert.kind, response.status)
    return accepted


def alert_failure(
    error: BaseException | None, *, run_id: str | None, step: str | None, landing_date: date | None = None
) -> Alert:
    alert = failure_alert(error, run_id=run_id, step=step, landing_date=landing_date)
    send(alert)
    return alert


def alert_flagged_access(lake: Any, run_id: str | None) -> list[Any]:
    """Send an alert per reader-day over the access threshold; return the flags."""
    from omnilake.governance.access_audit import flagged_access

    flags = flagged_access(lake)
    for alert in access_alerts(flags, run_id):
        send(alert)
    return flags
