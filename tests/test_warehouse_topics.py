"""Topics in the pipeline: tagging at enrich time, the load's night swap of core.document_topics,
the topic marts, `backfill_topics`, `test_topic`, and the `pulse topics` commands' exit codes."""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from common.config import Settings
from common.context import RunContext
from common.documents import Document
from common.jsonl import read_jsonl
from pipeline import topics_cli
from transforms.enrich import EnrichResult, enrich_night
from transforms.topics import Topic, TopicQueryError
from warehouse import db
from warehouse import topics as wt
from warehouse.load import load_night
from warehouse.schema_doc import undocumented

N1, N2 = date(2026, 11, 3), date(2026, 11, 4)
ENTITIES = [
    {"entity_id": "platform/tiktok-shop", "name": "TikTok Shop", "label": "ORG", "kind": "platform",
     "aliases": [], "origin": "gazetteer"},
    {"entity_id": "platform/whatnot", "name": "Whatnot", "label": "ORG", "kind": "platform",
     "aliases": [], "origin": "gazetteer"},
]


def doc(doc_id: str, body: str, published: str = "2026-11-03T10:00:00+00:00",
        fetched: str = "2026-11-03T23:00:00+00:00", **kw: Any) -> dict[str, Any]:
    row = {"doc_id": doc_id, "source": "reddit", "kind": "post", "channel": "TikTokShop",
           "url": f"https://reddit.example/{doc_id}", "title": f"title {doc_id}", "body": body,
           "author": "someone", "published_at": published, "fetched_at": fetched,
           "logical_date": published[:10], "run_id": "r", "raw_ref": "raw:1", "score": 2, "num_comments": 1,
           "language": "en", "content_hash": "h", "is_deleted": False, "extra": {}, "sentiment": 0.0,
           "themes": []}
    row.update(kw)
    return row


def mention(doc_id: str, entity_id: str, start: int = 0) -> dict[str, Any]:
    return {"doc_id": doc_id, "entity_id": entity_id, "sentence_idx": 0, "start_char": start,
            "end_char": start + 5, "surface": "x", "sentence": "s", "sentiment": 0.0}


def write_lines(path: Path, rows: list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)
    path.write_text(text, encoding="utf-8")


def make_night(data_dir: Path, night: date, docs: list, mentions: list, tags: list | None) -> RunContext:
    ctx = RunContext.for_night(Settings(data_dir=data_dir), night, run_id=f"scheduled__{night}")
    out = ctx.work_dir / "enriched"
    write_lines(out / "documents.jsonl", docs)
    write_lines(out / "mentions.jsonl", mentions)
    write_lines(out / "entities.jsonl", ENTITIES)
    if tags is not None:
        write_lines(out / "document_topics.jsonl", [{"doc_id": d, "topic": t} for d, t in tags])
    return ctx


def rows(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = db.connect(path)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


TAGS_SQL = "SELECT doc_id, topic, night FROM core.document_topics ORDER BY ALL"


# ------------------------------------------------------------------------------ schema
def test_migration_adds_documented_table_and_views(tmp_path: Path) -> None:
    con = db.connect(tmp_path / "w.duckdb")
    try:
        names = {r[0] for r in con.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() UNION ALL "
            "SELECT schema_name || '.' || view_name FROM duckdb_views()").fetchall()}
        assert {"core.document_topics", "marts.topic_daily", "marts.topic_share_of_voice"} <= names
        assert [u for u in undocumented(con) if "topic" in u] == []
    finally:
        con.close()


# -------------------------------------------------------------------------------- load
def test_load_swaps_topics_per_night_and_is_idempotent(tmp_path: Path) -> None:
    docs = [doc("t3_a", "payout late"), doc("t3_b", "fine")]
    ctx = make_night(tmp_path, N1, docs, [], [("t3_a", "payouts"), ("t3_a", "payouts"), ("t3_b", "other")])
    counts = load_night(ctx)
    assert counts["document_topics"] == 2  # the within-batch duplicate folded
    path = ctx.settings.warehouse_path
    first = rows(path, TAGS_SQL)
    assert first == [("t3_a", "payouts", N1), ("t3_b", "other", N1)]
    load_night(ctx)
    assert rows(path, TAGS_SQL) == first

    # N2 re-fetches t3_a (newer version, no longer matching): its old tag goes, t3_b's stays.
    newer = doc("t3_a", "payout arrived", fetched="2026-11-04T23:00:00+00:00")
    load_night(make_night(tmp_path, N2, [newer], [], []))
    assert rows(path, TAGS_SQL) == [("t3_b", "other", N1)]

    # Re-running the enrich of N1 with different tags replaces N1's rows only.
    load_night(make_night(tmp_path, N1, docs, [], [("t3_b", "third")]))
    assert rows(path, TAGS_SQL) == [("t3_b", "third", N1)]


def test_load_without_topics_file_loads_untagged(tmp_path: Path) -> None:
    ctx = make_night(tmp_path, N1, [doc("t3_a", "x")], [], None)
    assert load_night(ctx)["document_topics"] == 0


def test_load_drops_topics_of_unknown_documents_and_records_them(tmp_path: Path) -> None:
    """Issue 12: one bad topic row costs only itself (an ops.errors row), the night loads."""
    ctx = make_night(tmp_path, N1, [doc("t3_a", "x")], [], [("t3_zz", "payouts"), ("t3_a", "payouts")])
    assert load_night(ctx)["document_topics"] == 1
    path = ctx.settings.warehouse_path
    assert rows(path, "SELECT doc_id FROM core.documents") == [("t3_a",)]
    assert rows(path, "SELECT doc_id, topic FROM core.document_topics") == [("t3_a", "payouts")]
    assert rows(path, "SELECT reason FROM ops.errors WHERE stage = 'load'") == [
        ("document topic t3_zz/payouts: its document is not in this batch; not loaded",)]


# ------------------------------------------------------------------------------- enrich
class _FakeEnricher:
    """Stands in for spaCy: these tests are about the topic file enrich writes, not the NLP."""

    def enrich_documents(self, docs: list[Document]) -> EnrichResult:
        out = EnrichResult()
        for d in docs:
            out.documents.append({**d.to_dict(), "language": "en", "sentiment": 0.1, "themes": ["trust"],
                                  "relevance": 1.0, "on_topic": True})
            if "TikTok Shop" in d.text:
                out.mentions.append(mention(d.doc_id, "platform/tiktok-shop", d.text.index("TikTok Shop")))
        out.entities = [ENTITIES[0]] if out.mentions else []
        return out


def _night_input(tmp_path: Path, topics_toml: str | None) -> RunContext:
    config = tmp_path / "config"
    config.mkdir()
    if topics_toml is not None:
        (config / "topics.toml").write_text(topics_toml, encoding="utf-8")
    ctx = RunContext.for_night(Settings(data_dir=tmp_path / "data", config_dir=config), N1, run_id="r1")
    base = dict(source="reddit", kind="post", channel="TikTokShop", url=None, author="u",
                published_at="2026-11-03T10:00:00+00:00", fetched_at="2026-11-04T01:00:00+00:00",
                logical_date="2026-11-03", run_id="r1", raw_ref="raw:1")
    docs = [Document(doc_id="t3_a", title="TikTok Shop affiliates", body="Commission rates cut", **base),
            Document(doc_id="t3_b", title="Whatnot", body="Payout late", **base)]
    write_lines(ctx.work_dir / "reddit.documents.jsonl", [d.to_dict() for d in docs])
    return ctx


def test_enrich_night_writes_document_topics(tmp_path: Path) -> None:
    ctx = _night_input(tmp_path,
                       '[[topic]]\nname = "affiliates"\nquery = \'entity:"TikTok Shop" commission*\'\n'
                       '[[topic]]\nname = "payouts"\nquery = "payout NEAR/1 late theme:trust"\n')
    summary = enrich_night(ctx, _FakeEnricher())  # type: ignore[arg-type]
    tags = list(read_jsonl(ctx.work_dir / "enriched" / "document_topics.jsonl"))
    assert sorted((t["doc_id"], t["topic"]) for t in tags) == [("t3_a", "affiliates"), ("t3_b", "payouts")]
    assert summary["document_topics"] == 2
    assert load_night(ctx)["document_topics"] == 2  # and the load takes the file as written


def test_enrich_night_without_topics_file_writes_an_empty_one(tmp_path: Path) -> None:
    ctx = _night_input(tmp_path, None)
    enrich_night(ctx, _FakeEnricher())  # type: ignore[arg-type]
    assert list(read_jsonl(ctx.work_dir / "enriched" / "document_topics.jsonl")) == []


def test_enrich_night_fails_fast_on_a_broken_query(tmp_path: Path) -> None:
    class Boom(_FakeEnricher):
        def enrich_documents(self, docs):  # type: ignore[no-untyped-def]
            raise AssertionError("the NLP must not run when a topic does not parse")

    ctx = _night_input(tmp_path, '[[topic]]\nname = "bad"\nquery = "payout OR"\n')
    with pytest.raises(TopicQueryError, match='topic "bad": line 1, column 10'):
        enrich_night(ctx, Boom())  # type: ignore[arg-type]


# ------------------------------------------------------------------ backfill, test, marts
@pytest.fixture
def loaded(tmp_path: Path) -> Path:
    n1 = [doc("t3_a", "TikTok Shop payout is late", published="2026-11-02T10:00:00+00:00", sentiment=-0.6),
          doc("t3_b", "Whatnot payout late again, TikTok Shop too", sentiment=-0.2, score=10),
          doc("t3_c", "Loving the live-shopping streams", sentiment=0.7, source="news", kind="article",
              channel="modernretail.co", canonical_url="https://news.example/c"),
          doc("t3_d", "payout late", is_deleted=True)]
    ments = [mention("t3_a", "platform/tiktok-shop"), mention("t3_b", "platform/whatnot"),
             mention("t3_b", "platform/tiktok-shop", 30), mention("t3_b", "platform/tiktok-shop", 35)]
    ctx = make_night(tmp_path, N1, n1, ments, [("t3_c", "stale-topic")])
    load_night(ctx)
    return ctx.settings.warehouse_path


def test_backfill_replaces_all_tags_in_one_go(loaded: Path) -> None:
    topics = [Topic.compile("payouts", "payout* NEAR/2 late"), Topic.compile("live", '"live shopping"'),
              Topic.compile("whatnot", "entity:whatnot"), Topic.compile("nothing", "zzz")]
    con = db.connect(loaded)
    try:
        counts = wt.backfill_topics(con, topics)
        tags = con.execute(TAGS_SQL).fetchall()
    finally:
        con.close()
    assert counts == {"payouts": 3, "live": 1, "whatnot": 1, "nothing": 0}
    assert tags == [("t3_a", "payouts", N1), ("t3_b", "payouts", N1), ("t3_b", "whatnot", N1),
                    ("t3_c", "live", N1), ("t3_d", "payouts", N1)]


def test_backfill_rolls_back_on_failure(loaded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken(Topic):
        def matches(self, doc):  # type: ignore[no-untyped-def]
            raise RuntimeError("boom")

    good = Topic.compile("x", "payout")
    con = db.connect(loaded)
    try:
        with pytest.raises(RuntimeError, match="boom"):
            wt.backfill_topics(con, [Broken(good.name, good.query, good.node)])
        assert con.execute(TAGS_SQL).fetchall() == [("t3_c", "stale-topic", N1)]
    finally:
        con.close()


def test_topic_marts(loaded: Path) -> None:
    con = db.connect(loaded)
    try:
        wt.backfill_topics(con, [Topic.compile("payouts", "payout NEAR/2 late")])
        daily = con.execute("SELECT day, topic, documents, reddit_documents, news_documents, mean_sentiment, "
                            "positive, negative, engagement FROM marts.topic_daily ORDER BY day").fetchall()
        sov = con.execute("SELECT day, entity_id, mentions, documents, share, document_share "
                          "FROM marts.topic_share_of_voice ORDER BY day, entity_id").fetchall()
    finally:
        con.close()
    # t3_d matches too but is deleted: left out of the marts.
    assert daily[0][:5] == (date(2026, 11, 2), "payouts", 1, 1, 0)
    assert daily[1][:5] == (date(2026, 11, 3), "payouts", 1, 1, 0)
    assert daily[0][5] == pytest.approx(-0.6) and daily[0][6:8] == (0, 1) and daily[1][8] == 11
    # Nov 3: t3_b mentions TikTok Shop twice and Whatnot once.
    assert sov == [(date(2026, 11, 2), "platform/tiktok-shop", 1, 1, 1.0, 1.0),
                   (date(2026, 11, 3), "platform/tiktok-shop", 2, 1, pytest.approx(2 / 3), 0.5),
                   (date(2026, 11, 3), "platform/whatnot", 1, 1, pytest.approx(1 / 3), 0.5)]


def test_test_topic_counts_and_samples_newest_first(loaded: Path) -> None:
    con = db.connect(loaded, read_only=True)
    try:
        result = wt.test_topic(con, 'payout late OR "live shopping"', limit=2)
        sources = wt.test_topic(con, "source:news OR channel:tiktokshop")
        with pytest.raises(TopicQueryError):
            wt.test_topic(con, "payout (")
    finally:
        con.close()
    assert (result.matched, result.scanned) == (4, 4)
    assert [s["doc_id"] for s in result.samples] == ["t3_b", "t3_c"]  # Nov 3 before Nov 2, then by id
    assert result.samples[0] == {"doc_id": "t3_b", "title": "title t3_b", "link": "https://reddit.example/t3_b",
                                 "day": "2026-11-03"}
    assert result.samples[1]["link"] == "https://news.example/c"  # canonical URL first
    assert result.canonical == 'payout AND late OR "live shopping"'
    assert sources.matched == 4 and len(sources.samples) == 4


# --------------------------------------------------------------------------------- CLI
def _args(**kw: Any) -> argparse.Namespace:
    return argparse.Namespace(**{"config": None, "topics": None, "limit": 5, "query": None, "topic": None,
                                 **kw})


@pytest.fixture
def cli_settings(loaded: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    settings = Settings(data_dir=loaded.parent)
    monkeypatch.setattr(topics_cli, "_settings", lambda args: settings)
    return settings


def test_cli_test_bad_query_is_one_line_plus_caret(cli_settings: Settings,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert topics_cli.topics_test(_args(query="payout AND (late OR")) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["pulse: error: topics: line 1, column 20: expected a word, phrase, field or '(' "
                   "after 'OR', found the end of the query",
                   "  payout AND (late OR",
                   "                     ^"]


def test_cli_test_prints_count_and_links(cli_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert topics_cli.topics_test(_args(query='"live shopping"')) == 0
    out = capsys.readouterr().out
    assert "matches: 1 of 4 documents" in out and "https://news.example/c" in out and "t3_c" in out


def test_cli_test_a_saved_topic(cli_settings: Settings, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[[topic]]\nname = "live"\nquery = "live-shopping"\n')
    assert topics_cli.topics_test(_args(topic="live", topics=str(path))) == 0
    assert 'query:   "live shopping"\nmatches: 1 of 4 documents' in capsys.readouterr().out
    assert topics_cli.topics_test(_args(topic="nope", topics=str(path))) == 2
    assert "no topic named 'nope'" in capsys.readouterr().err
    assert topics_cli.topics_test(_args(topic="live", query="x", topics=str(path))) == 2
    assert topics_cli.topics_test(_args()) == 2
    assert "either a QUERY or --topic" in capsys.readouterr().err


def test_cli_test_without_warehouse_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(topics_cli, "_settings", lambda args: Settings(data_dir=tmp_path / "none"))
    assert topics_cli.topics_test(_args(query="payout")) == 2
    assert "warehouse not found" in capsys.readouterr().err
    assert topics_cli.topics_backfill(_args()) == 2


def test_cli_backfill_and_list(cli_settings: Settings, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[[topic]]\nname = "payouts"\ndescription = "late money"\nquery = "payout late"\n')
    assert topics_cli.topics_list(_args(topics=str(path))) == 0
    assert "payouts  - late money\n    payout AND late\n1 topic(s)" in capsys.readouterr().out
    assert topics_cli.topics_backfill(_args(topics=str(path))) == 0
    assert "payouts  3 documents" in capsys.readouterr().out
    assert rows(cli_settings.warehouse_path, "SELECT count(*) FROM core.document_topics") == [(3,)]

    path.write_text('[[topic]]\nname = "payouts"\nquery = "payout (late"\n')
    assert topics_cli.topics_backfill(_args(topics=str(path))) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f'pulse: error: topics: {path}: topic "payouts": line 1, column 13: missing')
    assert err[2].endswith("^")
    assert rows(cli_settings.warehouse_path, "SELECT count(*) FROM core.document_topics") == [(3,)]


def test_add_topics_parser_wires_every_command() -> None:
    parser = argparse.ArgumentParser(prog="pulse")
    topics_cli.add_topics_parser(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["topics", "test", "a b", "--limit", "3"]).func is topics_cli.topics_test
    assert parser.parse_args(["topics", "backfill"]).func is topics_cli.topics_backfill
    assert parser.parse_args(["topics", "list", "--topics", "x.toml"]).func is topics_cli.topics_list
