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

from common.config import NewsSettings, RedditSettings, Settings
from common.context import RunContext
from common.jsonl import write_json, write_jsonl
from pipeline import stages
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
    # A batch-level failure (fetched_at missing from the whole file: a schema break). One bad
    # row no longer fails the night (see the test below).
    bad_docs = [{k: v for k, v in _doc(bad, i).items() if k != "fetched_at"} for i in (1, 2, 3)]
    _write_night(bad, bad_docs)
    with pytest.raises(QualityGateFailed) as err:
        stages.validate(bad)

    message = str(err.value)
    assert f"quality gate failed for night {bad.night}" in message
    assert "every document field is present (schema)" in message
    assert _sha(snapshot) == before  # analysts' snapshot untouched

    con = connect(settings.warehouse_path, read_only=True)

    def one(sql: str, *params: Any) -> Any:
        return con.execute(sql, list(params)).fetchone()[0]

    try:
        kept = con.execute("SELECT run_id, doc_id, reasons LIKE 'batch failed: %schema%' "
                           "FROM quarantine.documents ORDER BY doc_id").fetchall()
        assert kept == [("bad_run", d["doc_id"], True) for d in bad_docs]
        assert one("SELECT count(*) FROM core.documents WHERE night = ?", bad.night) == 0
        assert one("SELECT count(*) FROM core.documents") == 3
        assert one("SELECT count(*) FROM raw.documents WHERE night = ?", bad.night) == 0
        days = {r[0] for r in con.execute("SELECT DISTINCT day FROM marts.daily_entity_stats").fetchall()}
        assert days and all(d <= good.night for d in days)
        status, run_message = con.execute(
            "SELECT status, message FROM ops.runs WHERE run_id = 'bad_run'").fetchone()
        assert status == "quarantined" and "3 rows quarantined" in run_message
        failed = con.execute("""
            SELECT suite, expectation, column_name FROM ops.quality_results
            WHERE run_id = 'bad_run' AND NOT success AND severity = 'critical'""").fetchall()
        assert ("enriched_documents", "expect_table_columns_to_match_set", None) in failed
        assert one("SELECT count(*) FROM ops.quality_results WHERE run_id = 'good_run'") > 20
    finally:
        con.close()

    # The quarantine is idempotent: validating the bad night again keeps one row per document.
    with pytest.raises(QualityGateFailed):
        stages.validate(bad)
    con = connect(settings.warehouse_path, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM quarantine.documents").fetchone()[0] == 3
    finally:
        con.close()
    assert not (settings.reports_dir / bad.night.isoformat()).exists()



def test_one_bad_row_is_quarantined_alone_and_the_rest_of_the_night_loads(settings: Settings) -> None:
    """Issue 12: validate sets the bad row aside with its reason, load copies that outcome to
    quarantine.documents, and every good document lands."""
    today = datetime.now(UTC).date()
    ctx = RunContext.for_night(settings, today - timedelta(days=2), run_id="mixed_run")
    docs = [_doc(ctx, 1), _doc(ctx, 2, sentiment=1.7), _doc(ctx, 3)]
    _write_night(ctx, docs)
    result = stages.validate(ctx)
    assert result["success"] is True and result["documents"] == 2
    loaded = stages.load(ctx)
    assert loaded["documents_loaded"] == 2 and loaded["quarantined_documents"] == 1
    con = connect(settings.warehouse_path, read_only=True)
    try:
        assert con.execute("SELECT doc_id, reasons FROM quarantine.documents").fetchall() == [
            (docs[1]["doc_id"], "validate: sentiment 1.7 is not a finite number within -1..1")]
        assert {r[0] for r in con.execute("SELECT doc_id FROM core.documents").fetchall()} == {
            docs[0]["doc_id"], docs[2]["doc_id"]}
        status, message = con.execute("SELECT status, message FROM ops.runs").fetchone()
        assert status == "ok" and "1 document(s) quarantined alone" in message
        assert con.execute("SELECT success FROM ops.quality_results WHERE expectation = 'rows_are_loadable'"
                           ).fetchall() == [(False,)]
    finally:
        con.close()
