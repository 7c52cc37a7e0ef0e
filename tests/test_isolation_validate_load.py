"""Issue 12, item 1 at validate and load: one malformed row costs only itself.

A night's enriched batch holds good documents and one row of each bad kind (a naive
``published_at``, sentiment 1.5 and NaN, a missing doc_id, a kind outside the set, a duplicate
doc_id, a mention of an unknown document, a mention with ``end_char <= start_char``, a mention
without a doc_id, an entity with a label outside the allowed set). Through the stages the DAG runs
(validate, load, record_night) the good documents must load and each bad row must have exactly
one recorded outcome in ``quarantine.documents``, also after re-runs. The load is checked on its
own too (a batch that skipped validate), since it must isolate rows by its own contract.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from common.config import NewsSettings, RedditSettings, Settings
from common.context import RunContext
from common.jsonl import write_json, write_jsonl
from pipeline import stages
from warehouse.db import connect
from warehouse.load import load_night

ENTITY = {"entity_id": "platform/tiktok-shop", "name": "TikTok Shop", "label": "ORG", "kind": "platform",
          "aliases": ["TikTok Shop"], "origin": "gazetteer"}
ODD_ENTITY = {"entity_id": "ner/blob/acme", "name": "Acme", "label": "BLOB", "kind": "organization",
              "aliases": [], "origin": "ner"}
NAMELESS = {"entity_id": "ner/org/nameless", "name": None, "label": "ORG", "kind": "organization",
            "aliases": [], "origin": "ner"}
GOOD = ("g1", "g2", "g3")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", reddit=RedditSettings(enabled=False),
                    news=NewsSettings(enabled=False))


def _doc(ctx: RunContext, doc_id: Any, i: int, **over: Any) -> dict[str, Any]:
    row = {
        "doc_id": doc_id, "source": "reddit", "kind": "post", "channel": "TikTokShop",
        "url": f"https://www.reddit.com/r/TikTokShop/comments/{i}/", "title": f"Post {i}",
        "body": "TikTok Shop is great", "author": "someone",
        "published_at": (ctx.window_end - timedelta(hours=3 + i)).isoformat(),
        "fetched_at": (ctx.window_end + timedelta(hours=1)).isoformat(),
        "logical_date": ctx.night.isoformat(), "run_id": ctx.run_id, "raw_ref": f"raw.jsonl.gz:{i}",
        "canonical_url": None, "parent_id": None, "score": 3, "num_comments": 1, "language": "en",
        "content_hash": f"h{i}", "is_deleted": False, "extra": {}, "sentiment": 0.4, "themes": [],
    }
    row.update(over)
    return row


def _mention(doc_id: Any, start: int = 0, **over: Any) -> dict[str, Any]:
    row = {"doc_id": doc_id, "entity_id": ENTITY["entity_id"], "sentence_idx": 0, "start_char": start,
           "end_char": start + 11, "surface": "TikTok Shop", "sentence": "TikTok Shop is great",
           "sentiment": 0.6}
    row.update(over)
    return row


def _write(ctx: RunContext, docs: list[Any], mentions: list[Any], entities: list[Any],
           topics: list[Any]) -> None:
    enriched = ctx.work_dir / "enriched"
    write_jsonl(enriched / "documents.jsonl", docs)
    write_jsonl(enriched / "mentions.jsonl", mentions)
    write_jsonl(enriched / "entities.jsonl", entities)
    write_jsonl(enriched / "document_topics.jsonl", topics)
    now = datetime.now(UTC).isoformat()
    write_json(ctx.work_dir / "reddit.source_run.json", {
        "source": "reddit", "status": "ok", "message": "", "n_documents": len(docs), "n_requests": 1,
        "started_at": now, "finished_at": now, "raw_path": None, "errors": []})


def _hostile_batch(ctx: RunContext) -> dict[str, str]:
    """Writes the batch; returns the expected quarantine key prefix -> a reason fragment."""
    docs = [_doc(ctx, d, i) for i, d in enumerate(GOOD, start=1)] + [
        _doc(ctx, "naive", 4, published_at=(ctx.window_end - timedelta(hours=5)).isoformat()[:19]),
        _doc(ctx, "sent", 5, sentiment=1.5),
        _doc(ctx, "nan", 6, sentiment=float("nan")),
        _doc(ctx, None, 7, title="no id"),
        _doc(ctx, "kind", 8, kind="tweet"),
        _doc(ctx, "dup", 9), _doc(ctx, "dup", 10, title="other copy"),
        _doc(ctx, "offs", 11), _doc(ctx, "ent", 12),
    ]
    mentions = [_mention(d) for d in GOOD] + [
        _mention("ghost"), _mention("offs", 30, end_char=4), _mention(None, 50),
        _mention("ent", entity_id=ODD_ENTITY["entity_id"]), _mention("dup"),
    ]
    topics = [{"doc_id": d, "topic": "live-auctions"} for d in (*GOOD, "offs", "sent")]
    _write(ctx, docs, mentions, [ENTITY, ODD_ENTITY], topics)
    return {"naive": "published_at", "sent": "sentiment 1.5", "nan": "sentiment nan",
            "missing-id:a": "doc_id None",
            "kind": "kind 'tweet'", "dup": "doc_id is not unique", "offs": "not below end_char 4",
            "ghost": "not in the night's batch", "missing-id:b": "mention without a doc_id",
            "ent": "rejected entity 'ner/blob/acme'", "entity:ner/blob/acme": "label 'BLOB'"}


def _quarantine(settings: Settings) -> list[tuple[str, str, str]]:
    con = connect(settings.warehouse_path, read_only=True)
    try:
        return con.execute("SELECT doc_id, reasons, run_id FROM quarantine.documents "
                           "ORDER BY doc_id").fetchall()
    finally:
        con.close()


def _matches(rows: list[tuple[str, str, str]], expected: dict[str, str], stage: str) -> None:
    """Each expected outcome matches exactly one row, and no row is left unmatched."""
    left = list(rows)
    for key, fragment in expected.items():
        prefix = key.split(":")[0] + ":" if key.startswith("missing-id:") else key
        hits = [r for r in left if (r[0].startswith(prefix) if key.startswith("missing-id:") else r[0] == key)
                and fragment in r[1]]
        assert len(hits) == 1, (key, fragment, rows)
        assert hits[0][1].startswith(f"{stage}: ")
        left.remove(hits[0])
    assert left == []


def test_a_night_with_one_bad_row_of_each_kind_loads_the_good_rows(settings: Settings) -> None:
    ctx = RunContext.for_night(settings, datetime.now(UTC).date() - timedelta(days=2), run_id="hostile_run")
    expected = _hostile_batch(ctx)

    assert stages.run_stage("validate", ctx)["documents"] == len(GOOD)
    loaded = stages.run_stage("load", ctx)
    assert stages.record_night(ctx)["status"] == "ok"

    assert loaded["documents_loaded"] == len(GOOD)
    assert loaded["quarantined_documents"] == len(expected) and loaded["quarantined_at_load"] == 0
    rows = _quarantine(settings)
    _matches(rows, expected, "validate")
    con = connect(settings.warehouse_path, read_only=True)
    try:
        for table in ("core.documents", "core.mentions", "core.document_topics"):
            assert {r[0] for r in con.execute(f"SELECT doc_id FROM {table}").fetchall()} == set(GOOD)
        assert con.execute("SELECT count(*) FROM core.entities WHERE entity_id = 'ner/blob/acme'"
                           ).fetchone() == (0,)
        status, message = con.execute("SELECT status, message FROM ops.runs").fetchone()
        assert status == "ok" and f"{len(expected)} document(s) quarantined alone" in message
        dup = con.execute("SELECT json_array_length(record) FROM quarantine.documents WHERE doc_id = 'dup'")
        assert dup.fetchone() == (2,)  # both copies kept, one outcome
    finally:
        con.close()

    # Re-runs (the same run, then a new run of the night) replace outcomes, never add to them.
    stages.run_stage("validate", ctx)
    stages.run_stage("load", ctx)
    again = RunContext.for_night(settings, ctx.night, run_id="hostile_rerun")
    stages.run_stage("validate", again)
    assert stages.run_stage("load", again)["documents_loaded"] == len(GOOD)
    rows = _quarantine(settings)
    _matches(rows, expected, "validate")
    assert {r[2] for r in rows} == {"hostile_rerun"}


def test_the_load_isolates_rows_by_its_own_contract(settings: Settings) -> None:
    """A batch that never went through validate: the load sets each bad row aside (stage load)."""
    ctx = RunContext.for_night(settings, datetime.now(UTC).date() - timedelta(days=2), run_id="load_run")
    docs = [_doc(ctx, d, i) for i, d in enumerate(GOOD, start=1)] + [
        _doc(ctx, "naive", 4, published_at=(ctx.window_end - timedelta(hours=5)).isoformat()[:19]),
        _doc(ctx, "sent", 5, sentiment=1.5), _doc(ctx, "nan", 6, sentiment=float("nan")),
        _doc(ctx, None, 7, title="no id"), _doc(ctx, "kind", 8, kind="tweet"),
        _doc(ctx, "offs", 11), _doc(ctx, "unknown", 12), _doc(ctx, "nameless", 13),
    ]
    mentions = [_mention(d) for d in GOOD] + [
        _mention("ghost"), _mention("offs", 30, end_char=4), _mention(None, 50),
        _mention("unknown", entity_id="ner/org/nobody"),
        _mention("nameless", entity_id=NAMELESS["entity_id"]),
    ]
    topics = [{"doc_id": d, "topic": "live-auctions"} for d in (*GOOD, "offs", "elsewhere")]
    _write(ctx, docs, mentions, [ENTITY, NAMELESS], topics)

    loaded = load_night(ctx)
    expected = {"naive": "naive or unparseable published_at", "sent": "sentiment outside -1..1",
                "nan": "sentiment outside -1..1", "missing-id:a": "document without doc_id",
                "kind": "unknown source/kind", "offs": "end_char <= start_char", "ghost": "not in this batch",
                "missing-id:b": "mention without doc_id", "unknown": "mention of an unknown entity",
                "entity:ner/org/nameless": "entity without entity_id or name",
                "nameless": "mention of an unknown entity"}
    assert loaded["documents_loaded"] == len(GOOD) and loaded["quarantined_at_load"] == len(expected)
    _matches(_quarantine(settings), expected, "load")
    con = connect(settings.warehouse_path, read_only=True)
    try:
        assert {r[0] for r in con.execute("SELECT doc_id FROM core.documents").fetchall()} == set(GOOD)
        assert {r[0] for r in con.execute("SELECT doc_id FROM core.document_topics").fetchall()} == set(GOOD)
        # The topic of a document that is nowhere in the batch is an ops.errors row, once.
        assert con.execute("SELECT count(*) FROM ops.errors WHERE reason LIKE 'document topic elsewhere/%'"
                           ).fetchone() == (1,)
    finally:
        con.close()
    load_night(ctx)
    assert len(_quarantine(settings)) == len(expected)
