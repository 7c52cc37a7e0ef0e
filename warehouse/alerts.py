"""Alert detection and bookkeeping (issue 15, items 2 and 3): which spikes and drops a night raises.

Why here, as SQL over the marts: every figure an alert quotes (value, baseline, z, support) must be
the figure an analyst gets from the warehouse, so detection reads the same marts and macros the
newsletter does instead of recomputing in Python. Four rule families, each explainable:

* **volume** (entity, topic): the period of ``period_days`` ending at the night against the same
  number of days before it, documents per day, zero-filled, sigma floored by Poisson noise. Entities
  use ``marts.rising`` (migration 004) itself; topics apply the very same formula to
  ``marts.topic_daily``. Only rises alert (a topic going quiet is not news).
* **sentiment** (entity, topic): mean document sentiment in the period against the baseline
  period; ``z = (mean - baseline mean) / (sd * sqrt(1/n + 1/n_baseline))`` with the baseline sd
  floored at :data:`SENTIMENT_SD_FLOOR`, so a handful of documents that all agree cannot look
  infinitely certain. It needs minimum support on both sides and an absolute shift of at least
  ``sentiment_min_shift``. Both directions alert (a drop is usually the one that matters). They
  pause while the two periods were scored by different sentiment models (warehouse.
  sentiment_models), so a model upgrade is not mistaken for a change of opinion.
* **source_drop** (subreddit, feed): ``marts.source_health_at`` (migration 006) says ``silent`` or
  ``dropped`` for the night.

Bookkeeping (``ops.alerts`` / ``ops.alert_deliveries``): an alert's id is night/kind/subject, so a
re-run of the night finds it and sends nothing new; the cooldown skips a subject+kind raised in the
``cooldown_nights`` nights before. Delivery itself lives in :mod:`reports.alerts_delivery`; this
module only says what to send and records what happened.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from warehouse.marts import topic_filter
from warehouse.sentiment_models import compare as compare_models

if TYPE_CHECKING:
    import duckdb

    from common.config import AlertsSettings

log = logging.getLogger(__name__)

#: Floor of the per-document sentiment sd in the sentiment z (sentiment is in -1..1).
SENTIMENT_SD_FLOOR = 0.15
_DAY = "CAST(timezone('UTC', d.published_at) AS DATE)"


@dataclass
class Alert:
    """One alert with the figures that explain it and the documents behind it."""

    night: date
    kind: str            # volume | sentiment | source_drop
    subject_type: str    # entity | topic | subreddit | feed
    subject_id: str
    name: str
    direction: str       # up | down | silent | dropped
    value: float | None
    baseline: float | None
    z_score: float | None
    support: int
    min_support: int
    reason: str
    period_days: int | None = None
    documents: list[dict[str, Any]] = field(default_factory=list)

    @property
    def alert_id(self) -> str:
        return f"{self.night.isoformat()}/{self.kind}/{self.subject_type}/{self.subject_id}"

    def payload(self) -> dict[str, Any]:
        """The generic JSON webhook body (Slack and email are rendered from it)."""
        return {
            "type": "liveshop-pulse.alert",
            "alert_id": self.alert_id,
            "night": self.night.isoformat(),
            "kind": self.kind,
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
            "name": self.name,
            "direction": self.direction,
            "value": _round(self.value),
            "baseline": _round(self.baseline),
            "z": _round(self.z_score),
            "support": self.support,
            "min_support": self.min_support,
            "period_days": self.period_days,
            "reason": self.reason,
            "documents": self.documents,
        }


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


# --- detection ---------------------------------------------------------------------------------
def detect(con: duckdb.DuckDBPyConnection, night: date, cfg: AlertsSettings,
           on_topic_only: bool = True) -> tuple[list[Alert], dict[str, str]]:
    """Every alert the night's data raises, before cooldown. Returns (alerts, errors by rule).

    Each rule family runs alone: one that fails (a mart missing on an old warehouse, a bug) is
    reported in ``errors`` and the others still run, so one bad rule never silences the rest.
    """
    rules = {
        "entity_volume": lambda: entity_volume(con, night, cfg),
        "topic_volume": lambda: topic_volume(con, night, cfg),
        "entity_sentiment": lambda: sentiment_shifts(con, night, cfg, "entity", on_topic_only),
        "topic_sentiment": lambda: sentiment_shifts(con, night, cfg, "topic", on_topic_only),
        "source_drop": lambda: source_drops(con, night, cfg),
    }
    alerts: list[Alert] = []
    errors: dict[str, str] = {}
    for name, rule in rules.items():
        try:
            alerts += rule()
        except Exception as exc:  # noqa: BLE001 - isolate the rule, report it
            errors[name] = f"{type(exc).__name__}: {exc}"[:500]
    for alert in alerts:
        alert.documents = top_documents(con, alert, cfg, on_topic_only)
    return alerts, errors


def entity_volume(con: duckdb.DuckDBPyConnection, night: date, cfg: AlertsSettings) -> list[Alert]:
    """Entities ``marts.rising`` marks as trending for the period ending at the night."""
    rows = con.execute("""
        SELECT entity_id, name, period_documents, daily_mean, baseline_daily_mean, baseline_days, z_score
        FROM marts.rising(?, ?, ?, ?, ?) WHERE is_trending ORDER BY z_score DESC, entity_id""",
                       [night, cfg.period_days, cfg.min_documents, cfg.min_z,
                        cfg.min_baseline_days]).fetchall()
    return [_volume_alert(night, cfg, "entity", *r) for r in rows]


_TOPIC_RISING = """
WITH bounds AS (SELECT CAST(? AS DATE) AS e, CAST(? AS INTEGER) AS n,
                       (SELECT min(day) FROM marts.topic_daily) AS first_day),
win AS (SELECT e, n, e - n + 1 AS cur_start, e - 2 * n + 1 AS base_start, e - n AS base_end,
               greatest(0, (e - n) - greatest(e - 2 * n + 1, first_day) + 1) AS base_days FROM bounds),
per AS (
    SELECT t.topic,
           coalesce(sum(t.documents) FILTER (WHERE t.day >= w.cur_start), 0) AS period_documents,
           coalesce(sum(t.documents) FILTER (WHERE t.day <= w.base_end), 0) AS baseline_documents,
           coalesce(sum(t.documents * t.documents) FILTER (WHERE t.day <= w.base_end), 0) AS base_sq,
           any_value(w.n) AS n, any_value(w.base_days) AS base_days
    FROM marts.topic_daily t, win w WHERE t.day BETWEEN w.base_start AND w.e GROUP BY t.topic
),
stats AS (
    SELECT *, period_documents / n AS daily_mean,
           CASE WHEN base_days > 0 THEN baseline_documents / base_days END AS base_mean,
           CASE WHEN base_days > 0
                THEN sqrt(greatest(base_sq / base_days - power(baseline_documents / base_days, 2), 0))
           END AS base_sd
    FROM per
),
scored AS (SELECT *, (daily_mean - base_mean) / greatest(base_sd, sqrt(greatest(base_mean, 1))) AS z
           FROM stats)
SELECT topic, topic, period_documents, daily_mean, base_mean, base_days, z FROM scored
WHERE period_documents >= ? AND base_days >= ? AND z >= ? ORDER BY z DESC, topic
"""


def topic_volume(con: duckdb.DuckDBPyConnection, night: date, cfg: AlertsSettings) -> list[Alert]:
    """Topics whose daily volume rises by the ``marts.rising`` formula, over ``marts.topic_daily``."""
    rows = con.execute(_TOPIC_RISING, [night, cfg.period_days, cfg.min_documents,
                                       cfg.min_baseline_days, cfg.min_z]).fetchall()
    return [_volume_alert(night, cfg, "topic", *r) for r in rows]


def _volume_alert(night: date, cfg: AlertsSettings, subject_type: str, subject_id: str, name: str,
                  support: int, value: float, baseline: float, base_days: int, z: float) -> Alert:
    reason = (f"{name}: {value:.2f} documents a day over the {cfg.period_days} days ending {night} "
              f"against {baseline:.2f} a day over the {base_days} days before (z = {z:.2f}; "
              f"{int(support)} documents, at least {cfg.min_documents} needed)")
    return Alert(night, "volume", subject_type, str(subject_id), str(name or subject_id), "up", value,
                 baseline, z, int(support), cfg.min_documents, reason, cfg.period_days)


def _sentiment_docs(subject_type: str, on_topic_only: bool) -> str:
    """Per document and subject: (subject_id, name, day, doc_id, sentiment); the marts' filters."""
    if subject_type == "entity":
        topic = topic_filter(on_topic_only, "d", count_copies_once=True)  # the marts' one filter
        return f"""
            SELECT es.entity_id AS subject_id, e.name AS name, {_DAY} AS day, d.doc_id, es.sentiment
            FROM core.entity_sentiment es
            JOIN core.documents d ON d.doc_id = es.doc_id AND d.night = es.night
            LEFT JOIN core.entities e ON e.entity_id = es.entity_id
            WHERE es.sentiment IS NOT NULL AND NOT d.is_deleted AND {topic}"""
    return f"""
        SELECT t.topic AS subject_id, t.topic AS name, {_DAY} AS day, d.doc_id, d.sentiment
        FROM core.document_topics t JOIN core.documents d ON d.doc_id = t.doc_id
        WHERE d.sentiment IS NOT NULL AND NOT d.is_deleted"""


def sentiment_shifts(con: duckdb.DuckDBPyConnection, night: date, cfg: AlertsSettings,
                     subject_type: str, on_topic_only: bool = True) -> list[Alert]:
    """Entities or topics whose mean document sentiment moved away from the baseline period.

    None while the two periods were scored by different sentiment models
    (warehouse.sentiment_models: an upgrade, or a source moved to the other model): a change of
    model is not a change of opinion. The newsletter follows the same rule."""
    n = cfg.period_days
    models = compare_models(con, (night - timedelta(days=2 * n - 1), night - timedelta(days=n)),
                            (night - timedelta(days=n - 1), night))
    if not models.comparable:
        log.info("alerts: %s sentiment alerts paused for %s: %s", subject_type, night, models.reason)
        return []
    rows = con.execute(f"""
        WITH docs AS ({_sentiment_docs(subject_type, on_topic_only)}),
        per AS (
            SELECT subject_id, any_value(name) AS name,
                   count(*) FILTER (WHERE day > ?) AS n_cur,
                   avg(sentiment) FILTER (WHERE day > ?) AS m_cur,
                   count(*) FILTER (WHERE day <= ?) AS n_base,
                   avg(sentiment) FILTER (WHERE day <= ?) AS m_base,
                   stddev_pop(sentiment) FILTER (WHERE day <= ?) AS sd_base
            FROM docs WHERE day > ? AND day <= ? GROUP BY subject_id
        ),
        scored AS (
            SELECT *, (m_cur - m_base)
                      / (greatest(coalesce(sd_base, 0), ?) * sqrt(1.0 / n_cur + 1.0 / n_base)) AS z
            FROM per WHERE n_cur >= ? AND n_base >= ?
        )
        SELECT subject_id, name, n_cur, m_cur, m_base, n_base, z FROM scored
        WHERE abs(z) >= ? AND abs(m_cur - m_base) >= ? ORDER BY abs(z) DESC, subject_id""",
                       [night - timedelta(days=n)] * 2 + [night - timedelta(days=n)] * 3
                       + [night - timedelta(days=2 * n), night, SENTIMENT_SD_FLOOR,
                          cfg.sentiment_min_documents, cfg.sentiment_min_baseline_documents,
                          cfg.sentiment_min_z, cfg.sentiment_min_shift]).fetchall()
    out = []
    for subject_id, name, n_cur, m_cur, m_base, n_base, z in rows:
        direction = "up" if m_cur > m_base else "down"
        reason = (f"{name}: mean sentiment {m_cur:+.2f} over {n_cur} documents in the {n} days ending "
                  f"{night} against {m_base:+.2f} over {n_base} documents in the {n} days before "
                  f"(z = {z:.2f}; at least {cfg.sentiment_min_documents} documents and a shift of "
                  f"{cfg.sentiment_min_shift} needed)")
        out.append(Alert(night, "sentiment", subject_type, str(subject_id), str(name or subject_id),
                         direction, m_cur, m_base, z, int(n_cur), cfg.sentiment_min_documents, reason, n))
    return out


def source_drops(con: duckdb.DuckDBPyConnection, night: date, cfg: AlertsSettings) -> list[Alert]:
    """Subreddits and feeds that went silent or fell far below their trailing baseline."""
    rows = con.execute("""
        SELECT unit_type, unit, name, health, new_documents, baseline_new_documents, silent_nights,
               baseline_nights, last_new_item
        FROM marts.source_health_at(?, ?, ?) WHERE night = ? AND health IN ('silent', 'dropped')
        ORDER BY unit_type, unit""",
                       [cfg.source_silent_nights, cfg.source_drop_ratio, cfg.source_min_baseline,
                        night]).fetchall()
    out = []
    for unit_type, unit, name, health, new, base, silent, base_nights, last_new in rows:
        if health == "silent":
            reason = (f"{name} answered but brought no new item for {silent} nights in a row "
                      f"(last new item: {last_new or 'never'}; alert after {cfg.source_silent_nights})")
            support, min_support = int(silent), cfg.source_silent_nights
        else:
            reason = (f"{name} brought {new} new items on {night} against a mean of {base:.1f} over "
                      f"its last {base_nights} ok nights (alert below {cfg.source_drop_ratio:g} x a "
                      f"baseline of at least {cfg.source_min_baseline:g})")
            support, min_support = int(base_nights), 1
        out.append(Alert(night, "source_drop", unit_type, str(unit), str(name), health, float(new),
                         None if base is None else float(base), None, support, min_support, reason))
    return out


def top_documents(con: duckdb.DuckDBPyConnection, alert: Alert, cfg: AlertsSettings,
                  on_topic_only: bool = True) -> list[dict[str, Any]]:
    """The documents behind an alert, most telling first, with their links.

    Volume: the period's most engaging documents; sentiment: the ones furthest in the direction of
    the shift; source_drop: the unit's latest documents (what it last brought).
    """
    k = cfg.top_documents
    if k <= 0:
        return []
    cols = ("d.doc_id, d.title, d.channel, coalesce(d.canonical_url, d.url) AS url, d.url AS fetched_url, "
            "d.canonical_url, d.published_at, d.sentiment, "
            "coalesce(d.score, 0) + coalesce(d.num_comments, 0)")
    if alert.kind == "source_drop":
        where = ("d.doc_id IN (SELECT doc_id FROM raw.documents r WHERE r.night <= ? AND "
                 + ("lower(r.channel) = ?)" if alert.subject_type == "subreddit"
                    else "json_extract_string(r.extra, '$.feed_url') = ?)"))
        params: list[Any] = [alert.night, alert.subject_id]
        order = "d.published_at DESC, d.doc_id"
    else:
        n = alert.period_days or cfg.period_days
        if alert.subject_type == "entity":
            topic = topic_filter(on_topic_only, "d", count_copies_once=True)  # the marts' one filter
            member, sentiment = f"es.entity_id = ? AND {topic}", "es.sentiment"
            join = "JOIN core.entity_sentiment es ON es.doc_id = d.doc_id AND es.night = d.night"
        else:
            member, sentiment = "t.topic = ?", "d.sentiment"
            join = "JOIN core.document_topics t ON t.doc_id = d.doc_id"
        cols = cols.replace("d.sentiment", f"{sentiment} AS sentiment")
        where = f"{member} AND NOT d.is_deleted AND {_DAY} > ? AND {_DAY} <= ?"
        params = [alert.subject_id, alert.night - timedelta(days=n), alert.night]
        if alert.kind == "sentiment":
            order = f"{sentiment} {'DESC' if alert.direction == 'up' else 'ASC'} NULLS LAST, d.doc_id"
        else:
            order = "coalesce(d.score, 0) + coalesce(d.num_comments, 0) DESC, d.published_at DESC, d.doc_id"
        return _docs(con, f"SELECT {cols} FROM core.documents d {join} WHERE {where} "
                          f"ORDER BY {order} LIMIT ?", params + [k])
    return _docs(con, f"SELECT {cols} FROM core.documents d WHERE {where} ORDER BY {order} LIMIT ?",
                 params + [k])


def _docs(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    out = []
    for doc_id, title, channel, url, fetched, canonical, published, sentiment, engagement in \
            con.execute(sql, params).fetchall():
        out.append({"doc_id": doc_id, "title": title, "channel": channel, "url": url,
                    "fetched_url": fetched, "canonical_url": canonical,
                    "published_at": published.astimezone(UTC).isoformat() if published else None,
                    "sentiment": _round(sentiment), "engagement": int(engagement or 0)})
    return out


# --- bookkeeping -------------------------------------------------------------------------------
def in_cooldown(con: duckdb.DuckDBPyConnection, alert: Alert, cooldown_nights: int) -> date | None:
    """The earlier night (within ``cooldown_nights`` before this one) that already raised this
    subject+kind, or None. Only earlier nights count, so re-running a night is deterministic."""
    if cooldown_nights <= 0:
        return None
    row = con.execute("""
        SELECT max(night) FROM ops.alerts WHERE kind = ? AND subject_type = ? AND subject_id = ?
        AND night < ? AND night >= ?""",
                      [alert.kind, alert.subject_type, alert.subject_id, alert.night,
                       alert.night - timedelta(days=cooldown_nights)]).fetchone()
    return row[0] if row else None


def record_alert(con: duckdb.DuckDBPyConnection, alert: Alert) -> dict[str, Any]:
    """Insert the alert unless the night already raised it; returns the payload stored (the first
    one wins, so a re-run sends exactly what the first run recorded)."""
    row = con.execute("SELECT payload FROM ops.alerts WHERE alert_id = ?", [alert.alert_id]).fetchone()
    if row is not None:
        return json.loads(row[0])
    payload = alert.payload()
    con.execute("INSERT INTO ops.alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [alert.alert_id, alert.night, alert.kind, alert.subject_type, alert.subject_id, alert.name,
                 alert.direction, alert.value, alert.baseline, alert.z_score, alert.support,
                 alert.min_support, alert.reason, [d["doc_id"] for d in alert.documents],
                 json.dumps(payload, ensure_ascii=False), datetime.now(UTC)])
    return payload


def night_alerts(con: duckdb.DuckDBPyConnection, night: date) -> list[dict[str, Any]]:
    """Payloads of every alert the night raised (for a re-run that retries failed deliveries)."""
    rows = con.execute("SELECT payload FROM ops.alerts WHERE night = ? ORDER BY alert_id", [night]).fetchall()
    return [json.loads(r[0]) for r in rows]


def delivery_status(con: duckdb.DuckDBPyConnection, alert_id: str,
                    destination: str) -> tuple[str, int] | None:
    row = con.execute("SELECT status, attempts FROM ops.alert_deliveries "
                      "WHERE alert_id = ? AND destination = ?", [alert_id, destination]).fetchone()
    return (row[0], row[1]) if row else None


def record_delivery(con: duckdb.DuckDBPyConnection, alert_id: str, destination: str, channel: str,
                    ok: bool, attempts: int, error: str | None) -> None:
    """Upsert the delivery row: attempts add up over re-runs, sent_at is set once."""
    now = datetime.now(UTC)
    con.execute("""
        INSERT INTO ops.alert_deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (alert_id, destination) DO UPDATE SET
            status = excluded.status, attempts = ops.alert_deliveries.attempts + excluded.attempts,
            last_error = excluded.last_error, last_attempt_at = excluded.last_attempt_at,
            sent_at = coalesce(ops.alert_deliveries.sent_at, excluded.sent_at)""",
                [alert_id, destination, channel, "sent" if ok else "failed", attempts,
                 None if ok else (error or "")[:1000], now, now, now if ok else None])


# --- source health for readers (the newsletter) ------------------------------------------------
def source_health_rows(con: duckdb.DuckDBPyConnection, night: date | str) -> list[dict[str, Any]]:
    """Every subreddit and feed's health on ``night`` (``marts.source_health``), worst first.

    For a report section: each row has night, source, unit_type, unit, name, source_status,
    documents, new_documents, errors, failed, last_success, last_new_item, error_rate_7,
    silent_nights, baseline_new_documents, baseline_nights, volume_ratio and health
    (failing | silent | dropped | ok). Works on a read-only connection (the published snapshot).
    """
    cur = con.execute("""
        SELECT * FROM marts.source_health WHERE night = CAST(? AS DATE)
        ORDER BY CASE health WHEN 'failing' THEN 0 WHEN 'silent' THEN 1 WHEN 'dropped' THEN 2 ELSE 3 END,
                 unit_type, unit""", [night])
    names = [c[0] for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
