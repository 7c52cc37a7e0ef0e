"""Alert delivery: generic JSON webhooks, Slack-compatible incoming webhooks and SMTP email.

Why stdlib only (urllib, smtplib): a handful of small POSTs and mails a night needs no client
library, and the pipeline's dependency lock stays as it is. Why bounded retries with backoff and
no exception out of :func:`deliver`: a receiver that is down must be recorded (attempts, last
error) and retried by a re-run, never fail the night whose data is already loaded and published.

Where secrets come from: never the config file. Webhook URLs come from ``[alerts]`` (a Slack URL
is a credential, so configure it as ``"${PULSE_SLACK_WEBHOOK}"``); the generic webhooks' bearer
token from ``PULSE_ALERT_WEBHOOK_TOKEN``; SMTP from ``PULSE_SMTP_HOST``, ``PULSE_SMTP_PORT``,
``PULSE_SMTP_USER``, ``PULSE_SMTP_PASSWORD``, ``PULSE_SMTP_FROM``, ``PULSE_SMTP_TO`` (comma
separated) and ``PULSE_SMTP_TLS`` (``starttls``, the default; ``ssl``; or ``none``, which never
sends a password except to a loopback host). Destinations are recorded redacted
(:func:`redact`), so no secret reaches ``ops.alert_deliveries`` or the published snapshot.
"""

from __future__ import annotations

import hashlib
import json
import logging
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from common.config import AlertsSettings

log = logging.getLogger(__name__)

USER_AGENT = "liveshop-pulse-alerts/0.1"
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


class PermanentError(Exception):
    """A refusal another try cannot fix (HTTP 4xx other than 408/429, a bad address)."""


@dataclass(frozen=True)
class Destination:
    channel: str                  # webhook | slack | email
    target: str                   # URL, or the SMTP host
    recipients: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return redact(self)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None
    password: str | None
    sender: str
    recipients: tuple[str, ...]
    tls: str                      # starttls | ssl | none


@dataclass(frozen=True)
class Outcome:
    ok: bool
    attempts: int
    error: str | None = None


def redact(dest: Destination) -> str:
    """What ops.alert_deliveries records: host plus a hash, never the URL's path or query (a Slack
    webhook's path is its secret); for email the recipients and the SMTP host."""
    if dest.channel == "email":
        return f"smtp:{','.join(dest.recipients)}@{dest.target}"
    parts = urlsplit(dest.target)
    host = parts.hostname or ""  # never the user:password@ part of the netloc
    if parts.port:
        host = f"{host}:{parts.port}"
    digest = hashlib.sha256(dest.target.encode("utf-8")).hexdigest()[:12]
    return f"{dest.channel}:{parts.scheme}://{host}/#{digest}"


def smtp_from_env(env: Mapping[str, str]) -> SmtpSettings | None:
    """SMTP settings from PULSE_SMTP_*; None when PULSE_SMTP_HOST is unset (email off)."""
    host = (env.get("PULSE_SMTP_HOST") or "").strip()
    if not host:
        return None
    tls = (env.get("PULSE_SMTP_TLS") or "starttls").strip().lower()
    if tls not in ("starttls", "ssl", "none"):
        raise ValueError(f"PULSE_SMTP_TLS={tls}: expected starttls, ssl or none")
    port_text = (env.get("PULSE_SMTP_PORT") or "").strip()
    try:
        port = int(port_text) if port_text else {"ssl": 465, "starttls": 587}.get(tls, 25)
    except ValueError:
        raise ValueError(f"PULSE_SMTP_PORT={port_text}: expected an integer") from None
    recipients = tuple(a.strip() for a in (env.get("PULSE_SMTP_TO") or "").split(",") if a.strip())
    if not recipients:
        raise ValueError("PULSE_SMTP_HOST is set but PULSE_SMTP_TO names no recipient")
    user = env.get("PULSE_SMTP_USER") or None
    sender = env.get("PULSE_SMTP_FROM") or user or f"liveshop-pulse@{host}"
    return SmtpSettings(host, port, user, env.get("PULSE_SMTP_PASSWORD") or None, sender, recipients, tls)


def destinations(cfg: AlertsSettings,
                 env: Mapping[str, str]) -> tuple[list[Destination], SmtpSettings | None]:
    """Every configured destination; email only when ``[alerts] email`` and PULSE_SMTP_HOST."""
    out = [Destination("webhook", url) for url in cfg.webhooks]
    out += [Destination("slack", url) for url in cfg.slack_webhooks]
    smtp = smtp_from_env(env) if cfg.email else None
    if smtp is not None:
        out.append(Destination("email", smtp.host, smtp.recipients))
    return out, smtp


# --- rendering ---------------------------------------------------------------------------------
def _headline(payload: dict[str, Any]) -> str:
    kind, direction = payload["kind"], payload.get("direction")
    if kind == "volume":
        what = "volume spike"
    elif kind == "sentiment":
        what = f"sentiment {'rising' if direction == 'up' else 'falling'}"
    else:
        what = f"source {direction or 'drop'}"
    return f"[liveshop-pulse] {payload['name']} ({payload['subject_type']}): {what} on {payload['night']}"


def _doc_lines(payload: dict[str, Any]) -> list[str]:
    lines = []
    for doc in payload.get("documents") or []:
        title = (doc.get("title") or doc.get("doc_id") or "").replace("\n", " ")[:120]
        lines.append(f"- {title} <{doc.get('url') or ''}> ({doc.get('doc_id')})")
    return lines


def slack_body(payload: dict[str, Any]) -> dict[str, Any]:
    """Slack's incoming-webhook format: ``text`` (the notification fallback) plus ``blocks``."""
    headline = _headline(payload)
    figures = (f"value {payload.get('value')} vs baseline {payload.get('baseline')}, "
               f"z {payload.get('z')}, support {payload.get('support')} (min {payload.get('min_support')})")
    docs = "\n".join(
        f"• <{d.get('url')}|{_slack_escape((d.get('title') or d.get('doc_id') or '')[:120])}>"
        for d in payload.get("documents") or [] if d.get("url"))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}},
        {"type": "section",
         "text": {"type": "mrkdwn", "text": _slack_escape(payload.get("reason") or "")[:2900]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _slack_escape(figures)}]},
    ]
    if docs:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": docs[:2900]}})
    return {"text": f"{headline}: {payload.get('reason') or ''}"[:3000], "blocks": blocks}


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def email_message(payload: dict[str, Any], smtp: SmtpSettings) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = _headline(payload)
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(smtp.recipients)
    msg["X-Pulse-Alert-Id"] = payload["alert_id"]
    body = [payload.get("reason") or "", "",
            f"value: {payload.get('value')}", f"baseline: {payload.get('baseline')}",
            f"z: {payload.get('z')}",
            f"support: {payload.get('support')} (minimum {payload.get('min_support')})",
            "", "Documents:", *(_doc_lines(payload) or ["(none)"]), "",
            "Alert JSON:", json.dumps(payload, ensure_ascii=False, indent=2)]
    msg.set_content("\n".join(body))
    return msg


# --- sending -----------------------------------------------------------------------------------
def _post_json(url: str, body: dict[str, Any], timeout: float, token: str | None) -> None:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:  # noqa: S310 - http(s) checked in config
            res.read(65536)
    except urllib.error.HTTPError as exc:
        if 400 <= exc.code < 500 and exc.code not in (408, 429):
            raise PermanentError(f"HTTP {exc.code} {exc.reason}") from None
        raise OSError(f"HTTP {exc.code} {exc.reason}") from None


def _send_mail(msg: EmailMessage, smtp: SmtpSettings, timeout: float) -> None:
    if smtp.password and smtp.tls == "none" and smtp.host not in _LOOPBACK:
        raise PermanentError("refusing to send the SMTP password without TLS (PULSE_SMTP_TLS=none) "
                             "to a non-loopback host")
    cls = smtplib.SMTP_SSL if smtp.tls == "ssl" else smtplib.SMTP
    try:
        with cls(smtp.host, smtp.port, timeout=timeout) as client:
            if smtp.tls == "starttls":
                client.starttls()
            if smtp.user and smtp.password:
                client.login(smtp.user, smtp.password)
            client.send_message(msg, from_addr=smtp.sender, to_addrs=list(smtp.recipients))
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
            smtplib.SMTPAuthenticationError) as exc:
        raise PermanentError(f"{type(exc).__name__}: {exc}") from None


def deliver(payload: dict[str, Any], dest: Destination, cfg: AlertsSettings,
            env: Mapping[str, str], smtp: SmtpSettings | None = None,
            sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """Send one alert to one destination: up to ``max_attempts`` tries, ``backoff_s * 2**n``
    apart, stopping early on a permanent refusal. Never raises; the outcome says what happened."""
    error = None
    for attempt in range(1, cfg.max_attempts + 1):
        try:
            if dest.channel == "email":
                if smtp is None:
                    raise PermanentError("email destination without SMTP settings")
                _send_mail(email_message(payload, smtp), smtp, cfg.timeout_s)
            elif dest.channel == "slack":
                _post_json(dest.target, slack_body(payload), cfg.timeout_s, None)
            else:
                _post_json(dest.target, payload, cfg.timeout_s, env.get("PULSE_ALERT_WEBHOOK_TOKEN") or None)
            return Outcome(True, attempt)
        except PermanentError as exc:
            error = str(exc)
            log.warning("alert %s to %s refused: %s", payload.get("alert_id"), dest.label, error)
            return Outcome(False, attempt, error)
        except Exception as exc:  # noqa: BLE001 - any transport failure is retried, then recorded
            error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("alert %s to %s, try %d of %d failed: %s", payload.get("alert_id"), dest.label,
                        attempt, cfg.max_attempts, error)
            if attempt < cfg.max_attempts:
                sleep(cfg.backoff_s * 2 ** (attempt - 1))
    return Outcome(False, cfg.max_attempts, error)
