"""The validate *stage* as the DAG runs it: a critical failure quarantines, records and stops.

Issue 6: "A critical failure quarantines the batch, keeps its failing rows in quarantine.*, fails
the task with a clear message, and publishes nothing downstream." One good night is loaded and
published first; then a bad night must leave core, the marts and the analysts' snapshot untouched.
Nights are relative to today because the stage validates against the real clock ("not in the future").
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline import stages
from pipeline.config import NewsSettings, RedditSettings, Settings
from pipeline.context import RunContext
from pipeline.jsonl import write_json, write_jsonl
from quality.validate import QualityGateFailed
from warehouse.db import connect, published_path

ENTITY = {"entity_id": "platform/tiktok-shop", "name": "TikTok Shop", "label": "ORG", "kind": "platform",
          "aliases": ["TikTok Shop"], "origin": "gazetteer"}


def _doc(ctx: RunContext, i: int, **over: Any) -> dict[str, Any]:
    row = {
        "doc_id": f"t3_{ctx.night:%m%d}_{i}", "source": "reddit", "kind": "post", "channel": "TikTokShop",
        "url": f"https://www.reddit.com/r/TikTokShop/comments/{i}/", "title": f"Post {i}",
        "body": "TikTok Shop is great", "author": "someone",
        "published_at": (ctx.window_end - timedelta(hours=3 + i)).isoformat(),
        "fetched_at": (ctx.window_end + timedelta(hours=1)).isoformat(),
        "logical_date": ctx.night.isoformat(), "run_id": ctx.run_id, "raw_ref": f"raw.jsonl.gz:{i}",
        "canonical_url": None, "parent_id": None, "score": 3, "num_comments": 1, "language": "en",
        "content_hash": f"h{i}", "is_deleted": False, "extra": {}, "sentiment": 0.4,
        "themes": ["pricing-deals"],
    }
    row.update(over)
    return row


def _write_night(ctx: RunContext, docs: list[dict[str, Any]]) -> None:
    enriched = ctx.work_dir / "enriched"
    write_jsonl(enriched / "documents.jsonl", docs)
    write_jsonl(enriched / "mentions.jsonl", [
        {"doc_id": d["doc_id"], "entity_id": ENTITY["entity_id"], "sentence_idx": 0, "start_char": 0,
         "end_char": 11, "surface": "TikTok Shop", "sentence": "TikTok Shop is great", "sentiment": 0.6}
        for d in docs])
    write_jsonl(enriched / "entities.jsonl", [ENTITY])
    write_json(ctx.work_dir / "reddit.source_run.json", {
        "source": "reddit", "status": "ok", "message": "", "n_documents": len(docs), "n_requests": 1,
        "started_at": datetime.now(UTC).isoformat(), "finished_at": datetime.now(UTC).isoformat(),
        "raw_path": None, "errors": []})


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # The repo's config (themes, gazetteer); extractors are not run here.
    return Settings(data_dir=tmp_path / "data", reddit=RedditSettings(enabled=False),
                    news=NewsSettings(enabled=False))


def test_critical_failure_quarantines_fails_clearly_and_publishes_nothing(settings: Settings) -> None:
    today = datetime.now(UTC).date()
    good = RunContext.for_night(settings, today - timedelta(days=3), run_id="good_run")
    _write_night(good, [_doc(good, i) for i in (1, 2, 3)])
    assert stages.validate(good)["success"] is True
    stages.load(good)
    stages.build_marts(good)
    snapshot = published_path(settings.warehouse_path)
    before = _sha(snapshot)

    bad = RunContext.for_night(settings, today - timedelta(days=2), run_id="bad_run")
    bad_docs = [_doc(bad, 1), _doc(bad, 2, sentiment=1.7), _doc(bad, 3)]
    _write_night(bad, bad_docs)
    with pytest.raises(QualityGateFailed) as err:
        stages.validate(bad)

    message = str(err.value)
    assert f"quality gate failed for night {bad.night}" in message
    assert "sentiment is within -1..1" in message and bad_docs[1]["doc_id"] in message
    assert _sha(snapshot) == before  # analysts' snapshot untouched

    con = connect(settings.warehouse_path, read_only=True)

    def one(sql: str, *params: Any) -> Any:
        return con.execute(sql, list(params)).fetchone()[0]

    try:
        kept = con.execute("SELECT run_id, doc_id, reasons LIKE '%sentiment is within -1..1%' "
                           "FROM quarantine.documents").fetchall()
        assert kept == [("bad_run", bad_docs[1]["doc_id"], True)]
        assert one("SELECT count(*) FROM core.documents WHERE night = ?", bad.night) == 0
        assert one("SELECT count(*) FROM core.documents") == 3
        assert one("SELECT count(*) FROM raw.documents WHERE night = ?", bad.night) == 0
        days = {r[0] for r in con.execute("SELECT DISTINCT day FROM marts.daily_entity_stats").fetchall()}
        assert days and all(d <= good.night for d in days)
        status, run_message = con.execute(
            "SELECT status, message FROM ops.runs WHERE run_id = 'bad_run'").fetchone()
        assert status == "quarantined" and "1 rows quarantined" in run_message
        failed = con.execute("""
            SELECT suite, expectation, column_name FROM ops.quality_results
            WHERE run_id = 'bad_run' AND NOT success AND severity = 'critical'""").fetchall()
        assert ("enriched_documents", "expect_column_values_to_be_between", "sentiment") in failed
        assert one("SELECT count(*) FROM ops.quality_results WHERE run_id = 'good_run'") > 20
    finally:
        con.close()

    # The quarantine is idempotent: validating the bad night again keeps one row per document.
    with pytest.raises(QualityGateFailed):
        stages.validate(bad)
    con = connect(settings.warehouse_path, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM quarantine.documents").fetchone()[0] == 1
    finally:
        con.close()
    assert not (settings.reports_dir / bad.night.isoformat()).exists()

