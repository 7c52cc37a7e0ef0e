"""Alerts (issue 15, item 2): detection is explainable, delivery is sent once, a dead receiver is
recorded and never fails the night.

The warehouse is built here, row by row, so every expected figure follows from the story below
(end day 2026-11-09, period 7 days):
- Whatnot: 1 post a day at sentiment +0.5 in the previous period, 4 a day at -0.4 in the current
  one: volume z = (4 - 1) / sqrt(1) = 3, and a sentiment drop;
- TikTok Shop: 3 posts a day both periods, sentiment +0.2/+0.4 alternating: no alert (control);
- topic "payouts" tags every Whatnot post (1 a day, then 4 a day): a topic volume spike, and its
  document sentiment falls with Whatnot's; topic "steady" tags TikTok Shop: no alert.

Delivery runs against a threaded http.server and a minimal SMTP server, both on 127.0.0.1, both
stopped by their fixture; every network wait is bounded by [alerts] timeout_s.
"""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import pytest

from common.config import AlertsSettings, ConfigError, Settings
from pipeline.alerts import run_alerts
from reports.alerts_delivery import Destination, deliver, redact, slack_body
from warehouse import alerts as wa
from warehouse.db import migrate
from warehouse.marts import refresh_marts

END = date(2026, 11, 9)
N = 7


def _days(start: date, n: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]


CURRENT = _days(END - timedelta(days=N - 1), N)
PREVIOUS = _days(END - timedelta(days=2 * N - 1), N)


def build(path: Path, upgrade: date | None = None, before: str | None = None) -> duckdb.DuckDBPyConnection:
    """The story of the module docstring, in a migrated warehouse (marts refreshed).

    ``upgrade``: documents of that day and later were scored by sentiment model "embedding-new",
    earlier ones by ``before`` (None: loaded before migration 012); without it every document has
    no model id, as a warehouse loaded before migration 012."""
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    migrate(con)
    con.execute("INSERT INTO core.entities VALUES "
                "('platform/whatnot', 'Whatnot', 'ORG', 'platform', [], 'gazetteer'),"
                " ('platform/tiktok-shop', 'TikTok Shop', 'ORG', 'platform', [], 'gazetteer')")
    docs, sentiments, topics = [], [], []

    def doc(doc_id: str, day: date, channel: str, sentiment: float, entity: str, topic: str,
            score: int) -> None:
        published = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        model = None if upgrade is None else "embedding-new" if day >= upgrade else before
        docs.append([doc_id, "reddit", "post", channel, f"https://www.reddit.com/r/{channel}/{doc_id}",
                     None, None, f"title {doc_id}", "body", "someone", published, published, score, 0,
                     "en", doc_id, False, sentiment, [], None, "r1", day, 1.0, True, model])
        sentiments.append([doc_id, entity, 1, sentiment, day])
        topics.append([doc_id, topic, day])

    for day in PREVIOUS + CURRENT:
        current = day in CURRENT
        for i in range(4 if current else 1):
            doc(f"w_{day:%m%d}_{i}", day, "Whatnot", -0.4 if current else 0.5, "platform/whatnot",
                "payouts", 10 * i + day.day)
        for i in range(3):
            doc(f"t_{day:%m%d}_{i}", day, "TikTokShop", 0.2 if (day.day + i) % 2 else 0.4,
                "platform/tiktok-shop", "steady", i)
    con.executemany("INSERT INTO core.documents VALUES (" + ", ".join("?" * 25) + ")", docs)
    con.executemany("INSERT INTO core.entity_sentiment VALUES (?, ?, ?, ?, ?)", sentiments)
    con.executemany("INSERT INTO core.document_topics VALUES (?, ?, ?)", topics)
    refresh_marts(con, None)
    return con


@pytest.fixture()
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    c = build(tmp_path / "w.duckdb")
    yield c
    c.close()


def settings(tmp_path: Path, **alerts: Any) -> Settings:
    base = {"max_attempts": 3, "backoff_s": 0.01, "timeout_s": 3.0, "cooldown_nights": 3}
    return Settings(data_dir=tmp_path, alerts=AlertsSettings(**{**base, **alerts}))


# --- detection -----------------------------------------------------------------------------------
def _kinds(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> set[tuple[str, str, str]]:
    found, errors = wa.detect(con, END, settings(tmp_path).alerts)
    assert errors == {}
    return {(a.kind, a.subject_type, a.subject_id) for a in found}


@pytest.mark.parametrize("before", [None, "embedding-old"])
def test_a_sentiment_model_upgrade_is_not_a_swing_in_opinion(tmp_path, before):
    """The same story, but the sentiment model changed on the first day of the current period
    (from one without an id, loaded before migration 012, or from another model): the volume alerts
    stand, the sentiment ones wait until the new model has scored a baseline."""
    con = build(tmp_path / "w.duckdb", upgrade=CURRENT[0], before=before)
    try:
        assert _kinds(con, tmp_path) == {("volume", "entity", "platform/whatnot"),
                                         ("volume", "topic", "payouts")}
    finally:
        con.close()


def test_an_upgrade_before_both_periods_changes_nothing(tmp_path, con):
    """Both periods scored by the new model (upgrade before the baseline): the same four alerts as
    a warehouse whose documents carry no model id."""
    upgraded = build(tmp_path / "u.duckdb", upgrade=PREVIOUS[0], before="embedding-old")
    try:
        assert _kinds(upgraded, tmp_path) == _kinds(con, tmp_path)
        assert len(_kinds(con, tmp_path)) == 4
    finally:
        upgraded.close()


def test_alerts_pause_until_both_periods_were_scored_alike(tmp_path):
    """Upgrade in the middle of the baseline period: the baseline mixes two models, so no sentiment
    alert yet (the newsletter shows no comparison either); a week later both periods are new."""
    con = build(tmp_path / "w.duckdb", upgrade=PREVIOUS[3], before="embedding-old")
    try:
        kinds = _kinds(con, tmp_path)
        assert not any(k[0] == "sentiment" for k in kinds)
        assert ("volume", "entity", "platform/whatnot") in kinds
    finally:
        con.close()


def test_a_source_moved_to_the_other_model_pauses_sentiment_alerts(tmp_path):
    """Same ids throughout, but the source went from the embedding model to the lexicon one when
    the current period began (``[nlp] sentiment_embed_sources``): not like for like either."""
    con = build(tmp_path / "w.duckdb", upgrade=CURRENT[0], before="embedding-x")
    con.execute("UPDATE core.documents SET sentiment_model = 'lexicon-y' "
                "WHERE sentiment_model = 'embedding-new'")
    try:
        assert not any(k[0] == "sentiment" for k in _kinds(con, tmp_path))
    finally:
        con.close()


def test_detection_is_explainable(con, tmp_path):
    cfg = settings(tmp_path).alerts
    found, errors = wa.detect(con, END, cfg)
    assert errors == {}
    by = {(a.kind, a.subject_type, a.subject_id): a for a in found}
    assert set(by) == {("volume", "entity", "platform/whatnot"), ("sentiment", "entity", "platform/whatnot"),
                       ("volume", "topic", "payouts"), ("sentiment", "topic", "payouts")}

    vol = by[("volume", "entity", "platform/whatnot")]
    assert (vol.value, vol.baseline, vol.support, vol.min_support) == (4.0, 1.0, 28, 3)
    assert vol.z_score == pytest.approx(3.0)
    # the same figures marts.rising (the newsletter's rule) gives
    rising = con.execute("SELECT daily_mean, baseline_daily_mean, z_score FROM marts.rising(?, 7, 3, 2.0, 3) "
                         "WHERE entity_id = 'platform/whatnot'", [END]).fetchone()
    assert (vol.value, vol.baseline, vol.z_score) == pytest.approx(rising)
    assert "4.00 documents a day" in vol.reason and "z = 3.00" in vol.reason

    sent = by[("sentiment", "entity", "platform/whatnot")]
    assert sent.direction == "down"
    assert (sent.value, sent.baseline) == pytest.approx((-0.4, 0.5))
    expected_z = -0.9 / (wa.SENTIMENT_SD_FLOOR * (1 / 28 + 1 / 7) ** 0.5)
    assert sent.z_score == pytest.approx(expected_z) and sent.support == 28

    topic = by[("volume", "topic", "payouts")]
    assert (topic.value, topic.baseline, topic.z_score) == pytest.approx((4.0, 1.0, 3.0))

    # the documents behind each alert are the subject's, in the period, with links
    current_ids = {f"w_{d:%m%d}_{i}" for d in CURRENT for i in range(4)}
    for alert in found:
        assert 0 < len(alert.documents) <= cfg.top_documents
        assert {d["doc_id"] for d in alert.documents} <= current_ids
        assert all(d["url"].startswith("https://www.reddit.com/r/Whatnot/") for d in alert.documents)
    # volume: the most engaging first (score 30 + day)
    assert vol.documents[0]["doc_id"] == f"w_{END:%m%d}_3"


def test_thresholds_hold_alerts_back(con, tmp_path):
    strict = settings(tmp_path, min_z=3.5, sentiment_min_baseline_documents=8).alerts
    found, _ = wa.detect(con, END, strict)
    assert found == []  # z 3 < 3.5; only 7 baseline documents for sentiment


def test_a_broken_rule_does_not_silence_the_others(con, tmp_path):
    con.execute("DROP VIEW marts.topic_share_of_voice; DROP VIEW marts.topic_daily")
    found, errors = wa.detect(con, END, settings(tmp_path).alerts)
    assert set(errors) == {"topic_volume"}
    assert {(a.kind, a.subject_type) for a in found} == {("volume", "entity"), ("sentiment", "entity"),
                                                           ("sentiment", "topic")}


# --- local receivers -----------------------------------------------------------------------------
class Receiver:
    """A threaded HTTP receiver on 127.0.0.1: records JSON bodies per path, answers ``status``."""

    def __init__(self) -> None:
        self.bodies: dict[str, list[Any]] = {}
        self.headers: list[dict[str, str]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                receiver.bodies.setdefault(self.path, []).append(body)
                receiver.headers.append(dict(self.headers))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"


class SmtpSink:
    """Just enough SMTP (RFC 5321, no extensions) to receive what smtplib sends, on 127.0.0.1."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 5

            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self) -> None:
                self.reply("220 localhost test SMTP")
                sender, rcpts = "", []
                while line := self.rfile.readline():
                    cmd = line.decode("ascii", "replace").strip()
                    verb = cmd.split(" ", 1)[0].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250 localhost")
                    elif verb == "MAIL":
                        sender, rcpts = cmd.split(":", 1)[1].strip(" <>"), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        rcpts.append(cmd.split(":", 1)[1].strip(" <>"))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 end with <CRLF>.<CRLF>")
                        data = []
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                        sink.messages.append((sender, rcpts, b"".join(data)))
                        self.reply("250 OK queued")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("250 OK")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()
    r.thread.join(timeout=5)


@pytest.fixture()
def smtp() -> Iterator[SmtpSink]:
    s = SmtpSink()
    s.thread.start()
    yield s
    s.server.shutdown()
    s.server.server_close()
    s.thread.join(timeout=5)


def smtp_env(sink: SmtpSink) -> dict[str, str]:
    return {"PULSE_SMTP_HOST": "127.0.0.1", "PULSE_SMTP_PORT": str(sink.port), "PULSE_SMTP_TLS": "none",
            "PULSE_SMTP_FROM": "pulse@example.test",
            "PULSE_SMTP_TO": "analyst@example.test, desk@example.test",
            "PULSE_ALERT_WEBHOOK_TOKEN": "tok-123"}


# --- delivery ------------------------------------------------------------------------------------
def test_delivered_once_to_webhook_slack_and_email(con, tmp_path, receiver, smtp):
    s = settings(tmp_path, webhooks=(receiver.url("/hook"),),
                 slack_webhooks=(receiver.url("/slack/T0/B0/secret"),))
    env = smtp_env(smtp)
    first = run_alerts(con, s, END, env=env, sleep=lambda _: None)
    assert (first["raised"], first["sent"], first["failed"]) == (4, 12, 0), first

    hooks = receiver.bodies["/hook"]
    assert len(hooks) == 4
    whatnot = next(p for p in hooks if p["kind"] == "volume" and p["subject_type"] == "entity")
    assert whatnot["name"] == "Whatnot" and whatnot["night"] == END.isoformat()
    assert (whatnot["value"], whatnot["baseline"], whatnot["z"], whatnot["min_support"]) == (4.0, 1.0, 3.0, 3)
    assert whatnot["documents"] and all(d["url"] and d["doc_id"] for d in whatnot["documents"])
    assert {"Bearer tok-123"} == {h.get("Authorization") for h in receiver.headers if h.get("Authorization")}

    slack = receiver.bodies["/slack/T0/B0/secret"]
    assert len(slack) == 4 and all(set(b) == {"text", "blocks"} for b in slack)
    assert all(("Whatnot" in b["text"]) != ("payouts" in b["text"]) for b in slack)
    assert all(b["blocks"][0]["type"] == "header" for b in slack)

    assert len(smtp.messages) == 4
    sender, rcpts, raw = smtp.messages[0]
    assert sender == "pulse@example.test" and rcpts == ["analyst@example.test", "desk@example.test"]
    mail = message_from_bytes(raw)
    assert "[liveshop-pulse]" in mail["Subject"] and mail["X-Pulse-Alert-Id"].startswith(END.isoformat())

    rows = con.execute("SELECT channel, status, attempts, sent_at IS NOT NULL "
                       "FROM ops.alert_deliveries").fetchall()
    assert len(rows) == 12 and {r[1:] for r in rows} == {("sent", 1, True)}
    # the Slack URL's path is its secret: it never reaches the warehouse
    stored = " ".join(r[0] for r in con.execute("SELECT destination FROM ops.alert_deliveries").fetchall())
    assert "secret" not in stored and "/slack/" not in stored

    again = run_alerts(con, s, END, env=env, sleep=lambda _: None)  # a re-run of the same night
    assert (again["raised"], again["already_raised"], again["sent"], again["skipped_sent"]) == (0, 4, 0, 12)
    assert len(receiver.bodies["/hook"]) == 4 and len(smtp.messages) == 4
    assert con.execute("SELECT count(*) FROM ops.alerts").fetchone()[0] == 4


def test_a_receiver_that_is_down_is_retried_recorded_and_resent_later(con, tmp_path, receiver):
    receiver.status = 503
    waits: list[float] = []
    s = settings(tmp_path, webhooks=(receiver.url("/hook"),), max_attempts=3, backoff_s=0.5)
    summary = run_alerts(con, s, END, env={}, sleep=waits.append)  # returns: never fails the night
    assert (summary["raised"], summary["sent"], summary["failed"]) == (4, 0, 4)
    # the first alert spends the tries, with bounded exponential backoff; the receiver is then
    # known to be down for this run, so the other three are recorded without waiting again
    assert len(receiver.bodies["/hook"]) == 3 and waits == [0.5, 1.0]
    rows = con.execute("SELECT status, attempts, last_error FROM ops.alert_deliveries "
                       "ORDER BY attempts DESC").fetchall()
    assert [(r[0], r[1]) for r in rows] == [("failed", 3)] + [("failed", 0)] * 3
    assert "503" in rows[0][2] and all(r[2].startswith("not tried") and "503" in r[2] for r in rows[1:])

    receiver.status = 200  # back up: the re-run sends what failed, and only that
    summary = run_alerts(con, s, END, env={}, sleep=waits.append)
    assert (summary["sent"], summary["failed"]) == (4, 0)
    rows = con.execute("SELECT status, attempts, last_error FROM ops.alert_deliveries "
                       "ORDER BY attempts DESC").fetchall()
    assert rows == [("sent", 4, None)] + [("sent", 1, None)] * 3
    assert len(receiver.bodies["/hook"]) == 3 + 4


def test_the_stages_run_in_dag_order(tmp_path, monkeypatch):
    """`pulse run` calls alerts after build_marts and before report, as the DAG does."""
    from common.context import RunContext
    from pipeline import runner, stages

    called: list[str] = []
    for name in (*stages.STAGES, "record_night"):
        monkeypatch.setattr(stages, name, lambda ctx, _n=name, **kw: called.append(_n) or {})
    outcome = runner.run_all(RunContext.for_night(settings(tmp_path), END, run_id="t"), echo=lambda _: None)
    assert outcome.ok, outcome.errors
    assert called[-4:] == ["build_marts", "alerts", "report", "record_night"]


def test_no_password_in_clear_to_a_remote_host():
    from reports.alerts_delivery import PermanentError, SmtpSettings, _send_mail

    remote = SmtpSettings("mail.example.test", 25, "u", "pw", "a@b.test", ("c@d.test",), "none")
    with pytest.raises(PermanentError, match="without TLS"):
        _send_mail(None, remote, 1.0)  # refused before any connection is opened


def test_a_refusal_is_not_retried_and_a_dead_port_is_bounded(con, tmp_path, receiver):
    receiver.status = 404
    payload = wa.detect(con, END, settings(tmp_path).alerts)[0][0].payload()
    cfg = settings(tmp_path, max_attempts=4).alerts
    out = deliver(payload, Destination("webhook", receiver.url("/gone")), cfg, {}, sleep=lambda _: None)
    assert (out.ok, out.attempts) == (False, 1) and "404" in out.error

    free = receiver.server.server_address[1]
    receiver.server.shutdown()
    receiver.server.server_close()  # nothing listens there any more: connection refused
    dead = Destination("webhook", f"http://127.0.0.1:{free}/x")
    out = deliver(payload, dead, cfg, {}, sleep=lambda _: None)
    assert (out.ok, out.attempts) == (False, 4) and out.error


def test_cooldown_holds_a_repeat_back_for_n_nights(con, tmp_path):
    s = settings(tmp_path, cooldown_nights=1)
    assert run_alerts(con, s, END, env={})["raised"] == 4
    # the sentiment drop is still in the 7-day window on the next nights: held back the next night
    # (the cooldown), raised again the night after
    for k in (1, 2):
        night = END + timedelta(days=k)
        detected = {(a.kind, a.subject_type, a.subject_id) for a in wa.detect(con, night, s.alerts)[0]}
        assert ("sentiment", "entity", "platform/whatnot") in detected
        summary = run_alerts(con, s, night, env={})
        if k == 1:
            assert (summary["raised"], summary["cooldown"]) == (0, len(detected))
        else:
            assert (summary["raised"], summary["cooldown"]) == (len(detected), 0)
    nights = [r[0] for r in con.execute("SELECT night FROM ops.alerts WHERE kind = 'sentiment' AND "
                                        "subject_id = 'platform/whatnot' ORDER BY night").fetchall()]
    assert nights == [END, END + timedelta(days=2)]


def test_disabled_alerts_do_nothing(con, tmp_path):
    summary = run_alerts(con, settings(tmp_path, enabled=False), END, env={})
    assert summary["raised"] == 0 and con.execute("SELECT count(*) FROM ops.alerts").fetchone()[0] == 0


def test_a_bad_smtp_setting_still_sends_the_webhooks(con, tmp_path, receiver):
    s = settings(tmp_path, webhooks=(receiver.url("/hook"),))
    summary = run_alerts(con, s, END, env={"PULSE_SMTP_HOST": "127.0.0.1"}, sleep=lambda _: None)  # no _TO
    assert "PULSE_SMTP_TO" in summary["errors"]["email"] and summary["sent"] == 4


def test_slack_body_and_redaction():
    payload = {"alert_id": "x", "night": "2026-11-09", "kind": "sentiment", "direction": "down",
               "subject_type": "entity", "name": "A <b> & c", "reason": "why", "value": -0.4, "baseline": 0.5,
               "z": -3.1, "support": 9, "min_support": 5,
               "documents": [{"doc_id": "d1", "title": "T", "url": "https://e.test/1"}]}
    body = slack_body(payload)
    assert "sentiment falling" in body["text"] and body["blocks"][1]["text"]["text"] == "why"
    assert "<https://e.test/1|T>" in body["blocks"][-1]["text"]["text"]
    label = redact(Destination("slack", "https://hooks.slack.com/services/T0/B0/XYZSECRET"))
    assert label.startswith("slack:https://hooks.slack.com/#") and "XYZSECRET" not in label
    label = redact(Destination("webhook", "https://bob:hunter2@hooks.example.test:8443/in?key=K"))
    assert label.startswith("webhook:https://hooks.example.test:8443/#")
    assert all(secret not in label for secret in ("bob", "hunter2", "key=K"))


def test_config_refuses_bad_alert_settings():
    with pytest.raises(ConfigError, match="source_drop_ratio"):
        AlertsSettings(source_drop_ratio=1.5)
    with pytest.raises(ConfigError, match="http"):
        AlertsSettings(webhooks=("ftp://x",))
    assert replace(AlertsSettings(), cooldown_nights=0).cooldown_nights == 0


def test_the_stage_records_and_publishes(tmp_path, monkeypatch):
    """pipeline.stages.alerts: the DAG task's entry point, on a warehouse file."""
    from common.context import RunContext
    from pipeline import stages
    from warehouse.db import published_path

    s = settings(tmp_path)
    build(s.warehouse_path).close()
    for var in ("PULSE_SMTP_HOST", "PULSE_ALERT_WEBHOOK_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    result = stages.alerts(RunContext.for_night(s, END, run_id="test"))
    assert result["raised"] == 4 and result["destinations"] == []
    snap = duckdb.connect(str(published_path(s.warehouse_path)), read_only=True)
    try:
        assert snap.execute("SELECT count(*) FROM ops.alerts").fetchone()[0] == 4
    finally:
        snap.close()
