"""Issue 12: lossless landing and clean text, dates outside the window, the night's record, the
published snapshot's mode, and which failures the DAG retries. No spaCy here: fast checks.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from common.config import ConfigError, Settings
from common.context import RunContext
from common.documents import Document, clean_text
from common.jsonl import read_jsonl, write_jsonl
from common.outcomes import apply_window_gate, published_bounds, window_reason
from common.source_run import SourceFailed, SourceRun
from extractors.landing import RawLanding, read_landing
from extractors.reddit.parse import parse_records
from pipeline import stages
from pipeline.airflow_support import is_deterministic
from pipeline.runner import run_all
from quality import suites as su
from quality.validate import QualityGateFailed, suite_parameters

CONFIG = Path(__file__).resolve().parents[1] / "config"
NIGHT = date(2026, 11, 14)
HOSTILE = "Sale\x00 \x1b[31mnow\x85 \u202eevil\u202c \u2066iso\u2069 \ud800 done\r\nnext"


def _ctx(tmp: Path, run_id: str = "h-1") -> RunContext:
    return RunContext.for_night(Settings(data_dir=tmp, config_dir=CONFIG), NIGHT, run_id=run_id)


def _doc(doc_id: str, published: str, **kw) -> dict:
    base = dict(doc_id=doc_id, source="news", kind="article", channel="x.example", url=f"https://x/{doc_id}",
                title="T", body="Body text here.", author="a", published_at=published,
                fetched_at="2026-11-15T01:00:00+00:00", logical_date=NIGHT.isoformat(), run_id="h-1",
                raw_ref="raw:1")
    base.update(kw)
    return Document(**base).to_dict()


# ------------------------------------------------------------------ b. lossless landing, clean text
def test_clean_text_drops_controls_bidi_and_lone_surrogates():
    out = clean_text(HOSTILE)
    assert out == "Sale [31mnow evil iso \ufffd done\nnext"
    assert clean_text("plain\ttext\nok") == "plain\ttext\nok"
    assert clean_text(None) is None


def test_document_fields_are_sanitised_at_construction():
    doc = Document(doc_id="t3_x", source="reddit", kind="post", channel="Sub\u202e", url=None,
                   title=HOSTILE, body=HOSTILE, author="bad\x07guy", published_at="2026-11-14T01:00:00+00:00",
                   fetched_at="2026-11-15T01:00:00+00:00", logical_date="2026-11-14", run_id="r",
                   raw_ref="r:1", extra={"flair": "f\x00\u2067x"})
    for value in (doc.title, doc.body, doc.author, doc.channel, doc.extra["flair"]):
        assert not any(ord(c) < 32 and c not in "\n\t" for c in value)
        assert not any(0x7F <= ord(c) <= 0x9F or 0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069
                       or 0xD800 <= ord(c) <= 0xDFFF for c in value)
    json.dumps(doc.to_dict(), ensure_ascii=False).encode("utf-8")  # writable as UTF-8


def test_raw_landing_keeps_hostile_text_without_loss(tmp_path: Path):
    settings = Settings(data_dir=tmp_path, config_dir=CONFIG)
    record = {"url": "https://oauth.reddit.com/r/x/new", "status": 200,
              "json": {"title": HOSTILE, "bytes": "\udcff\udc80"}}
    with RawLanding(settings, "reddit", NIGHT, "run-1") as landing:
        landing.write(record)  # raised UnicodeEncodeError before (lone surrogate)
        landing.write_bytes("https://x/page", 200, b"\xff\xfe invalid utf-8 \x80", "text/html")
    rows = [r for _, r in read_landing(landing.path)]
    assert rows[0]["json"] == record["json"]  # exactly what the source sent
    with gzip.open(landing.path) as fh:
        assert rows[1]["body_b64"] and fh.read().isascii()


def test_write_jsonl_survives_a_lone_surrogate(tmp_path: Path):
    path = tmp_path / "x.jsonl"
    assert write_jsonl(path, [{"a": "ok é"}, {"a": "bad \ud800"}]) == 2
    assert [r["a"] for r in read_jsonl(path)] == ["ok é", "bad \ud800"]


def _listing(*posts: dict) -> dict:
    return {"kind": "Listing", "data": {"children": [{"kind": "t3", "data": p} for p in posts]}}


def _post(pid: str, title: str, created: datetime) -> dict:
    return {"id": pid, "name": f"t3_{pid}", "subreddit": "TikTokShop", "title": title,
            "selftext": "body", "author": "u", "created_utc": created.timestamp(),
            "permalink": f"/r/TikTokShop/comments/{pid}/x/"}


def test_one_hostile_title_never_loses_its_page_and_a_future_post_is_recorded(tmp_path: Path):
    settings = Settings(data_dir=tmp_path, config_dir=CONFIG)
    ctx = _ctx(tmp_path)
    inside = ctx.window_end - timedelta(hours=3)
    page = _listing(_post("good1", "Ordinary post", inside), _post("evil", HOSTILE, inside),
                    _post("good2", "Another one", inside),
                    _post("future", "From 2099", datetime(2099, 1, 1, tzinfo=UTC)))
    with RawLanding(settings, "reddit", NIGHT, "run-1") as landing:
        landing.write({"url": "u", "status": 200, "json": page})
    records = [(f"r:{n}", r) for n, r in read_landing(landing.path)]
    result = parse_records(records, run_id="r", logical_date=NIGHT.isoformat(), window_start=ctx.window_start,
                           window_end=ctx.window_end, comment_depth=4, comment_limit=200)
    by_id = {d.doc_id: d for d in result.documents}
    assert set(by_id) == {"t3_good1", "t3_evil", "t3_good2"}
    assert by_id["t3_evil"].title == clean_text(HOSTILE)
    assert len(result.rejected) == 1 and "t3_future" in result.rejected[0][1]
    assert "in the future" in result.rejected[0][1]


# ------------------------------------------------------------------ e. dates
def test_window_gate_sets_aside_each_out_of_window_document(tmp_path: Path):
    ctx = _ctx(tmp_path)
    good = _doc("good", "2026-11-14T12:00:00+00:00")
    future = _doc("future", "2099-01-01T00:00:00+00:00")
    ancient = _doc("ancient", "1999-01-01T00:00:00+00:00")
    later = _doc("later", "2026-11-15T06:00:00+00:00")  # after the window, not after now
    write_jsonl(ctx.work_dir / "news.documents.jsonl", [good, future, ancient, later])
    now = datetime(2026, 11, 16, tzinfo=UTC)
    moved = apply_window_gate(ctx, "news", now)
    assert [r["doc_id"] for r in read_jsonl(ctx.work_dir / "news.documents.jsonl")] == ["good"]
    reasons = {r["doc_id"]: r["reason"] for r in moved}
    assert set(reasons) == {"future", "ancient", "later"}
    assert "in the future" in reasons["future"] and "long before" in reasons["ancient"]
    assert "after the night's window" in reasons["later"]
    assert all(r["stage"] == "window" and r["record"]["doc_id"] == r["doc_id"] for r in moved)
    assert list(read_jsonl(ctx.work_dir / "news.quarantine.jsonl")) == moved


def test_window_gate_and_quality_suite_apply_the_same_rule(tmp_path: Path):
    ctx = _ctx(tmp_path)
    now = datetime(2026, 11, 16, tzinfo=UTC)
    params = suite_parameters(ctx, now, [])
    lo, hi = published_bounds(ctx)
    assert (params[su.P_PUBLISHED_MIN], params[su.P_WINDOW_END]) == (lo, hi)
    assert window_reason(lo.isoformat(), ctx, now) is None
    assert window_reason((lo - timedelta(seconds=1)).isoformat(), ctx, now) is not None
    assert window_reason(hi.isoformat(), ctx, now) is not None  # the end is exclusive, as strict_max


# ------------------------------------------------------------------ d. every night leaves a record
def _fake_extract(source: str, errors: int):
    def extract(ctx: RunContext, from_raw: bool = False) -> dict:
        run = SourceRun(source)
        for i in range(errors):
            run.error(f"https://{source}.example/{i}", "fetch", f"HTTP 404 #{i}", 404)
        write_jsonl(ctx.work_dir / f"{source}.documents.jsonl",
                    [_doc(f"{source}-ok", "2026-11-14T12:00:00+00:00"),
                     _doc(f"{source}-2099", "2099-01-01T00:00:00+00:00")])
        run.n_documents = 2
        run.finish()
        run.save(ctx.work_dir)
        return stages._finish_extract(run, ctx)
    return extract


def _ops(settings: Settings, run_id: str) -> dict:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return {
            "runs": con.execute("select status, message from ops.runs where run_id = ?", [run_id]).fetchall(),
            "source_runs": dict(con.execute("select source, status from ops.source_runs where run_id = ?",
                                            [run_id]).fetchall()),
            "errors": con.execute("select source, url, stage from ops.errors where run_id = ?",
                                  [run_id]).fetchall(),
            "quarantine": dict(con.execute(
                "select doc_id, reasons from quarantine.documents where run_id = ?", [run_id]).fetchall()),
        }
    finally:
        con.close()


def test_a_night_stopped_at_enrich_still_records_sources_errors_and_the_failed_stage(tmp_path, monkeypatch):
    ctx = _ctx(tmp_path, "stop-at-enrich")
    monkeypatch.setattr(stages, "extract_reddit", _fake_extract("reddit", 1))
    monkeypatch.setattr(stages, "extract_news", _fake_extract("news", 2))

    def enrich_shard(ctx: RunContext, shard: int = 0) -> dict:
        raise ValueError("[E088] Text of length 7600000 exceeds maximum of 1000000 (simulated)")

    monkeypatch.setattr(stages, "enrich_plan", lambda ctx: {"shards": 2})
    monkeypatch.setattr(stages, "enrich_shard", enrich_shard)
    outcome = run_all(ctx, echo=lambda s: None)
    assert not outcome.ok and "enrich_shard[0]" in outcome.errors and "record" not in outcome.errors
    ops = _ops(ctx.settings, ctx.run_id)
    assert ops["runs"][0][0] == "failed"
    assert ops["runs"][0][1].startswith("enrich_shard failed: ValueError: [E088]"), ops["runs"]
    assert ops["source_runs"] == {"reddit": "partial", "news": "partial"}
    assert sorted((s, u) for s, u, _ in ops["errors"]) == [
        ("news", "https://news.example/0"), ("news", "https://news.example/1"),
        ("reddit", "https://reddit.example/0")]
    # each out-of-window document: one per-document outcome, its reason recorded
    assert set(ops["quarantine"]) == {"reddit-2099", "news-2099"}
    assert all(r.startswith("window: published_at 2099") for r in ops["quarantine"].values())


def _no_shards(monkeypatch: pytest.MonkeyPatch) -> None:
    """The NLP shards do nothing: the merge (faked below) writes the enriched batch."""
    monkeypatch.setattr(stages, "enrich_plan", lambda ctx: {"shards": 0})


def _fake_enrich(ctx: RunContext) -> dict:
    """The extract output as enriched, no NLP needed for these checks."""
    rows = [dict(r, sentiment=0.0, themes=[]) for s in ("reddit", "news")
            if (ctx.work_dir / f"{s}.documents.jsonl").exists()
            for r in read_jsonl(ctx.work_dir / f"{s}.documents.jsonl")]
    for name, data in (("documents", rows), ("mentions", []), ("entities", [])):
        write_jsonl(ctx.work_dir / "enriched" / f"{name}.jsonl", data)
    return {"documents": len(rows)}


def test_a_crashed_extract_on_a_night_that_loads_is_recorded_as_partial(tmp_path, monkeypatch):
    ctx = _ctx(tmp_path, "crash-news")
    monkeypatch.setattr(stages, "extract_reddit", _fake_extract("reddit", 0))

    def crash(ctx: RunContext, from_raw: bool = False) -> dict:
        raise KeyError("entry")  # a parser bug, not a SourceFailed

    monkeypatch.setattr(stages, "extract_news", crash)
    _no_shards(monkeypatch)
    monkeypatch.setattr(stages, "enrich_merge", _fake_enrich)
    monkeypatch.setattr(stages, "validate", lambda ctx: {"success": True})
    outcome = run_all(ctx, echo=lambda s: None)
    assert "load" in outcome.results and "extract_news" in outcome.errors
    ops = _ops(ctx.settings, ctx.run_id)
    assert ops["runs"][0][0] == "partial" and "extract_news crashed: KeyError" in ops["runs"][0][1]
    assert ops["source_runs"] == {"reddit": "ok", "news": "failed"}
    assert ("news", None, "crash") in ops["errors"]


def test_a_failure_after_the_load_is_written_into_ops_runs(tmp_path, monkeypatch):
    ctx = _ctx(tmp_path, "fail-at-marts")
    monkeypatch.setattr(stages, "extract_reddit", _fake_extract("reddit", 0))
    monkeypatch.setattr(stages, "extract_news", _fake_extract("news", 0))
    enrich = _fake_enrich

    def build_marts(ctx: RunContext) -> dict:
        raise OSError("disk full (simulated)")

    _no_shards(monkeypatch)
    monkeypatch.setattr(stages, "enrich_merge", enrich)
    monkeypatch.setattr(stages, "validate", lambda ctx: {"success": True})
    monkeypatch.setattr(stages, "build_marts", build_marts)
    outcome = run_all(ctx, echo=lambda s: None)
    assert "load" in outcome.results and "build_marts" in outcome.errors
    ops = _ops(ctx.settings, ctx.run_id)
    assert ops["runs"] == [("failed", "build_marts failed: OSError: disk full (simulated)")]
    assert ops["source_runs"] == {"reddit": "ok", "news": "ok"}


def test_a_retry_that_succeeds_clears_the_failure_note(tmp_path, monkeypatch):
    ctx = _ctx(tmp_path, "retry-1")
    calls = {"n": 0}

    def flaky(ctx: RunContext) -> dict:
        calls["n"] += 1
        if calls["n"] == 1:
            raise TimeoutError("warehouse busy")
        return {"ok": True}

    monkeypatch.setattr(stages, "load", flaky)
    with pytest.raises(TimeoutError):
        stages.run_stage("load", ctx)
    assert (ctx.work_dir / "failures" / "load.json").exists()
    assert stages.run_stage("load", ctx) == {"ok": True}
    assert not (ctx.work_dir / "failures" / "load.json").exists()


# ------------------------------------------------------------------ f. DAG retries, snapshot mode
@pytest.mark.parametrize(("exc", "deterministic"), [
    (QualityGateFailed("2026-11-14", ["x"]), True),
    (ConfigError("bad"), True),
    (SourceFailed("401", retryable=False), True),
    (SourceFailed("timeout", retryable=True), False),
    (stages.NightFailed("night failed"), True),
    (TimeoutError("slow"), False),
    (ConnectionResetError("reset"), False),
    (RuntimeError("?"), False),
])
def test_which_failures_the_dag_retries(exc, deterministic):
    assert is_deterministic(exc) is deterministic


def test_published_snapshot_is_readable_by_other_users(tmp_path: Path):
    from warehouse.db import connect, publish

    old = os.umask(0o077)  # even under a strict umask
    try:
        con = connect(tmp_path / "warehouse.duckdb")
        try:
            target = publish(tmp_path / "warehouse.duckdb", con)
        finally:
            con.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_settings_keys_have_defaults_and_are_checked():
    s = Settings(data_dir=Path("/tmp"))
    assert s.nlp.max_text_chars == 100_000 and s.news.response_deadline_s > 0
    with pytest.raises(ConfigError):
        dataclasses.replace(s.nlp, max_text_chars=2_000_000)
    with pytest.raises(ConfigError):
        dataclasses.replace(s.news, max_retries=-1)


def test_reddit_landing_keeps_invalid_utf8_bytes(tmp_path: Path):
    """requests decodes a body that is not UTF-8 with replacement characters; the landing must
    also keep the bytes as sent (body_b64), or the original is lost."""
    import base64

    from extractors.reddit.client import LandingSession

    raw = b'{"kind": "Listing", "data": {"children": [], "note": "caf\xe9 \xff"}}'
    settings = Settings(data_dir=tmp_path, config_dir=CONFIG)
    with RawLanding(settings, "reddit", NIGHT, "run-1") as landing:
        LandingSession(landing, timeout_s=1)._land("GET", "https://oauth.reddit.com/r/x/new",
                                                   _response(raw), None)
        LandingSession(landing, timeout_s=1)._land("GET", "https://oauth.reddit.com/r/y/new",
                                                   _response(b'{"kind": "Listing", "ok": "\\u00e9"}'), None)
    bad, good = [r for _, r in read_landing(landing.path)]
    assert base64.b64decode(bad["body_b64"]) == raw
    assert "body_b64" not in good and good["json"]["ok"] == "é"


def _response(body: bytes):
    import requests

    resp = requests.Response()
    resp.status_code, resp._content, resp.encoding = 200, body, None
    return resp
