"""The nightly alerts step: detect (warehouse.alerts), record once, deliver (reports.alerts_delivery).

Why it lives in pipeline/: it ties the warehouse (what to send, what was sent) to delivery (how to
send), and packages import downward only, so neither of those may import the other.

Order matters for "sent once": an alert is recorded in ``ops.alerts`` before any delivery, and each
delivery outcome is committed as soon as it is known, so a crash midway leaves a record a re-run
completes instead of repeating. A re-run sends only deliveries not yet ``sent`` (a failed one is
retried); a receiver that stays down is recorded as failed and the step still returns normally.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

    from common.config import Settings

log = logging.getLogger(__name__)


def run_alerts(con: duckdb.DuckDBPyConnection, settings: Settings, night: date,
               env: Mapping[str, str] | None = None,
               sleep: Callable[[float], None] | None = None) -> dict[str, Any]:
    """Detect, record and deliver the night's alerts; returns a JSON-able summary.

    ``env`` defaults to ``os.environ`` (SMTP settings and tokens come only from there); ``sleep``
    is the backoff wait, injectable so tests need not wait.
    """
    import time

    from reports import alerts_delivery as delivery
    from warehouse import alerts as detect

    cfg = settings.alerts
    env = os.environ if env is None else env
    summary: dict[str, Any] = {"enabled": cfg.enabled, "raised": 0, "already_raised": 0,
                               "cooldown": 0, "sent": 0, "failed": 0, "skipped_sent": 0}
    if not cfg.enabled:
        return summary
    found, errors = detect.detect(con, night, cfg, on_topic_only=settings.relevance.exclude_off_topic)
    for alert in found:
        if con.execute("SELECT 1 FROM ops.alerts WHERE alert_id = ?", [alert.alert_id]).fetchone():
            summary["already_raised"] += 1
            continue
        earlier = detect.in_cooldown(con, alert, cfg.cooldown_nights)
        if earlier is not None:
            summary["cooldown"] += 1
            log.info("alert %s held back: same alert raised on %s (cooldown %d nights)",
                     alert.alert_id, earlier, cfg.cooldown_nights)
            continue
        detect.record_alert(con, alert)
        summary["raised"] += 1
        log.info("alert raised: %s", alert.reason)
    try:
        dests, smtp = delivery.destinations(cfg, env)
    except ValueError as exc:  # a bad PULSE_SMTP_* value: the webhooks still go out
        errors["email"] = str(exc)
        log.error("alert email disabled: %s", exc)
        dests, smtp = delivery.destinations(replace(cfg, email=False), env)
    summary["destinations"] = [d.label for d in dests]
    # A destination that failed every try is not tried again this run: with many alerts, a dead
    # receiver would otherwise cost max_attempts x (timeout + backoff) per alert. Its remaining
    # deliveries are recorded as failed (0 attempts) and a re-run of the night tries them.
    down: dict[str, str] = {}
    for payload in detect.night_alerts(con, night):
        for dest in dests:
            previous = detect.delivery_status(con, payload["alert_id"], dest.label)
            if previous is not None and previous[0] == "sent":
                summary["skipped_sent"] += 1
                continue
            if dest.label in down:
                outcome = delivery.Outcome(False, 0, f"not tried: the receiver failed earlier in this "
                                                     f"run ({down[dest.label]})"[:1000])
            else:
                outcome = delivery.deliver(payload, dest, cfg, env, smtp, sleep=sleep or time.sleep)
                if not outcome.ok and outcome.attempts >= cfg.max_attempts:
                    down[dest.label] = outcome.error or "failed"
            detect.record_delivery(con, payload["alert_id"], dest.label, dest.channel, outcome.ok,
                                   outcome.attempts, outcome.error)
            summary["sent" if outcome.ok else "failed"] += 1
    if errors:
        summary["errors"] = errors
        for rule, error in errors.items():
            log.error("alert rule %s failed: %s", rule, error)
    return summary
