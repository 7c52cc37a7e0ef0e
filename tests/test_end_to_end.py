"""The whole pipeline, every stage for real, through the local replay server (no network).

PRAW talks HTTP to the replay server's Reddit API, the news extractor fetches feeds and article
pages from it and parses them with bs4, spaCy enriches, GX validates, DuckDB loads, the report is
written. Then the same night runs again, and nothing may be duplicated.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from common.config import load_settings
from common.context import RunContext
from demo.replay.server import ReplayServer, default_handlers
from pipeline.runner import run_all

NIGHT = date(2026, 11, 14)  # the synthetic corpus covers 2026-11-01..14 (config/demo.toml: 14-day window)
# The corpus's second planted story (demo/corpus/README.md): shill bidding in live auctions, Nov 10-14,
# spread over channels and carried by no platform, so only its saved topic and its alert find it.
SHILL = "shill-bidding"
SHILL_FIRST_DAY = date(2026, 11, 10)
pytestmark = pytest.mark.slow


def _counts(path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = ["core.documents", "core.mentions", "core.entities", "core.entity_sentiment",
                  "marts.daily_entity_stats", "raw.documents", "ops.source_runs", "ops.runs"]
        return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in tables}
    finally:
        con.close()


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    data = tmp_path_factory.mktemp("e2e")
    mp = pytest.MonkeyPatch()
    with ReplayServer(default_handlers()) as server:
        mp.setenv("PULSE_REPLAY_URL", server.base_url)
        mp.setenv("PULSE_DATA_DIR", str(data))
        mp.setenv("PULSE_REDDIT_CLIENT_ID", "demo-client")
        mp.setenv("PULSE_REDDIT_CLIENT_SECRET", "demo-secret")
        settings = load_settings("config/demo.toml")
        first = run_all(RunContext.for_night(settings, NIGHT, run_id="e2e-1"), echo=lambda s: None)
        after_first = _counts(settings.warehouse_path)
        second = run_all(RunContext.for_night(settings, NIGHT, run_id="e2e-2"), echo=lambda s: None)
        after_second = _counts(settings.warehouse_path)
    mp.undo()
    return settings, first, second, after_first, after_second


def test_every_stage_succeeds(demo_run):
    _, first, second, _, _ = demo_run
    assert first.ok, first.errors
    assert second.ok, second.errors
    assert set(first.results) == {"extract_reddit", "extract_news", "enrich_plan", "enrich_shard[0]",
                                  "enrich_merge", "validate", "load",
                                  "build_marts", "alerts", "report"}


def test_warehouse_contents(demo_run):
    settings, *_ = demo_run
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        by_kind = dict(con.execute("select kind, count(*) from core.documents group by 1").fetchall())
        channels = {r[0] for r in con.execute(
            "select distinct channel from core.documents where source = 'news'").fetchall()}
        subs = {r[0] for r in con.execute(
            "select distinct channel from core.documents where source = 'reddit'").fetchall()}
        tombstones = con.execute(
            "select count(*), count(body) from core.documents where is_deleted").fetchone()
        placeholder = con.execute(
            "select count(*) from core.documents where body in ('[deleted]', '[removed]')").fetchone()[0]
        top = con.execute(
            "select name, sum(mentions) m from marts.daily_entity_stats group by 1 order by m desc limit 8"
        ).fetchall()
        canon = con.execute(
            "select count(*) from core.entities where name ilike '%''s' or name ilike 'the %'").fetchone()[0]
        statuses = dict(con.execute("select source, status from ops.source_runs where run_id = 'e2e-2'")
                        .fetchall())
    finally:
        con.close()
    assert by_kind["post"] >= 50 and by_kind["comment"] >= 150 and by_kind["article"] >= 25
    assert len(channels) == 3 and len(subs) >= 4
    assert tombstones[0] >= 3 and tombstones[1] == 0  # tombstones kept, with no text
    assert placeholder == 0
    names = [n for n, _ in top]
    assert "Whatnot" in names and "TikTok Shop" in names, top
    assert canon == 0  # possessives and leading "the" are folded
    assert statuses == {"reddit": "ok", "news": "ok"}


def test_rerun_is_idempotent(demo_run):
    _, _, _, after_first, after_second = demo_run
    for table in ("core.documents", "core.mentions", "core.entities", "core.entity_sentiment",
                  "marts.daily_entity_stats", "raw.documents"):
        assert after_second[table] == after_first[table], table
    assert after_second["ops.runs"] == after_first["ops.runs"] + 1  # each run is recorded once


def test_report_surfaces_the_planted_story(demo_run):
    settings, first, *_ = demo_run
    paths = first.results["report"]
    md = Path(paths["md"]).read_text(encoding="utf-8")
    html = Path(paths["html"]).read_text(encoding="utf-8")
    report = json.loads(Path(paths["json"]).read_text(encoding="utf-8"))
    assert "Whatnot" in report["summary"], report["summary"]
    rising = [r["entity_id"] for r in report["rising"]]
    movers = [m["entity_id"] for m in report["sentiment_movers"]]
    # The planted story: Whatnot's mentions rise while its sentiment falls.
    assert "platform/whatnot" in rising, rising
    assert movers[0] == "platform/whatnot", movers
    assert report["sentiment_movers"][0]["change"] < 0
    assert report["entities"]["platform/whatnot"]["name"] == "Whatnot"
    assert report["provenance"]["platform/whatnot"]["current"], "figures must carry their doc ids"
    assert "<script" not in html.lower()
    assert "Whatnot" in md


def test_newsletter_rising_and_trending_view_agree_on_the_demo(demo_run):
    """Issue 11: one definition of "rising" -- the newsletter's list is the view's trending set."""
    settings, first, *_ = demo_run
    report = json.loads(Path(first.results["report"]["json"]).read_text(encoding="utf-8"))
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        end_day = con.execute("select max(day) from marts.daily_entity_stats").fetchone()[0]
        view = {eid: z for eid, z in con.execute(
            "select entity_id, round(z_score, 2) from marts.trending_entities where is_trending").fetchall()}
        off_topic = con.execute("select count(*) from core.documents where not on_topic").fetchone()[0]
    finally:
        con.close()
    assert end_day.isoformat() == report["period"]["end"]
    assert {r["entity_id"]: r["z"] for r in report["rising"]} == view
    assert "platform/whatnot" in view
    # Ranked by documents: the top entity has at least as many documents as every other one.
    docs = [t["documents"] for t in report["top_entities"]]
    assert docs == sorted(docs, reverse=True)
    assert report["headline"]["off_topic_documents"] is not None and off_topic >= 0


# --- the second planted story: a theme only a topic query and its alert surface (issue 15, item 7)


def test_second_story_is_tagged_by_its_topic_across_channels(demo_run):
    """The saved topic tags the story's documents at enrich: a quiet history, then a rise from Nov 10
    in all four subreddits and on all three news sites, while the platforms it names are named in
    at most one or two of its documents (so no entity can rise on it)."""
    settings, *_ = demo_run
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        daily = dict(con.execute("select day, documents from marts.topic_daily where topic = ?",
                                 [SHILL]).fetchall())
        tagged = con.execute("select count(*) from core.document_topics where topic = ?",
                             [SHILL]).fetchone()[0]
        channels = con.execute("""
            select d.source, d.channel, count(*) from core.document_topics t join core.documents d
            using (doc_id) where t.topic = ? group by all""", [SHILL]).fetchall()
        platforms = dict(con.execute("""
            select m.entity_id, count(distinct m.doc_id) from core.mentions m
            join core.document_topics t using (doc_id)
            where t.topic = ? and m.entity_id like 'platform/%' group by 1""", [SHILL]).fetchall())
    finally:
        con.close()
    assert tagged == sum(daily.values()) >= 25
    assert 1 <= sum(n for day, n in daily.items() if day < SHILL_FIRST_DAY) <= 3, daily
    assert all(daily.get(date(2026, 11, d), 0) >= 3 for d in range(10, 15)), daily
    assert {ch for src, ch, _ in channels if src == "reddit"} == set(settings.reddit.subreddits)
    assert len({ch for src, ch, _ in channels if src == "news"}) == 3
    assert max(n for *_, n in channels) <= 0.4 * tagged, channels
    assert platforms and max(platforms.values()) <= 2, platforms


def test_second_story_raises_a_topic_volume_alert(demo_run):
    """The topic's volume alert fires for the demo night with its explanation (value against
    baseline, z, support), links only documents the topic tagged, and is raised once: the re-run
    of the night finds it instead of raising it again."""
    settings, first, second, *_ = demo_run
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        rows = con.execute("""
            select kind, direction, value, baseline, z_score, support, doc_ids, payload from ops.alerts
            where night = ? and subject_type = 'topic' and subject_id = ?""", [NIGHT, SHILL]).fetchall()
        tagged = {r[0] for r in con.execute("select doc_id from core.document_topics where topic = ?",
                                            [SHILL]).fetchall()}
        entity_alerts = {r[0] for r in con.execute(
            "select subject_id from ops.alerts where night = ? and subject_type = 'entity' "
            "and kind = 'volume'", [NIGHT]).fetchall()}
        named = {r[0] for r in con.execute(
            "select distinct m.entity_id from core.mentions m join core.document_topics t using (doc_id) "
            "where t.topic = ?", [SHILL]).fetchall()}
    finally:
        con.close()
    volume = [r for r in rows if r[0] == "volume"]
    assert len(volume) == 1, rows
    _, direction, value, baseline, z, support, doc_ids, payload = volume[0]
    assert direction == "up" and value > 3 * baseline and z >= 2 and support >= 20
    assert doc_ids and set(doc_ids) <= tagged
    body = json.loads(payload)
    assert body["name"] == SHILL and body["kind"] == "volume" and body["night"] == NIGHT.isoformat()
    assert all(d["url"] for d in body["documents"])
    assert first.results["alerts"]["raised"] >= 1
    assert second.results["alerts"]["raised"] == 0 and second.results["alerts"]["already_raised"] >= 1
    # Not an entity story: nothing it names gets a volume alert, Whatnot's being the first story's.
    assert named and not (entity_alerts & named) - {"platform/whatnot"}, (entity_alerts, named)


def test_report_surfaces_the_second_story_without_a_rising_entity(demo_run, tmp_path):
    """The newsletter finds the story only through topics: its Topics row and summary show the rise
    with the doc ids behind it, while the top rising entity is still Whatnot and no rising entity
    owes its rise to the story; the topic's own report (pulse report --topic) has no rising entity."""
    from reports.newsletter import write_report

    settings, first, *_ = demo_run
    report = json.loads(Path(first.results["report"]["json"]).read_text(encoding="utf-8"))
    md = Path(first.results["report"]["md"]).read_text(encoding="utf-8")
    rows = {r["topic"]: r for r in report["topics"]["rows"]}
    row = rows[SHILL]
    assert row["documents"] >= 20 and row["previous_documents"] >= 1
    assert row["change_pct"] >= 50 and row["mean_sentiment"] < 0
    assert len(row["doc_ids"]["current"]) == row["documents"]
    assert report["topics"]["mart_check"] == "ok"
    assert SHILL in report["summary"], report["summary"]
    topics_section = md.split("## Topics", 1)[1].split("\n## ", 1)[0]
    assert f"| {SHILL} | {row['documents']} |" in topics_section
    # Not the top rising entity, and no rising entity is carried by the story's documents.
    assert report["rising"][0]["entity_id"] == "platform/whatnot"
    story_docs = set(row["doc_ids"]["current"])
    for r in report["rising"]:
        current = set(report["provenance"][r["entity_id"]]["current"])
        assert len(current & story_docs) <= 0.1 * len(current), r["entity_id"]
    paths = write_report(settings, NIGHT, out_dir=tmp_path, formats=("json",), topic=SHILL)
    topic_report = json.loads(Path(paths["json"]).read_text(encoding="utf-8"))
    assert topic_report["topic"]["documents"]["current"] == row["documents"]
    assert topic_report["topic"]["doc_ids"]["current"] == row["doc_ids"]["current"]
    assert topic_report["rising"] == []


# --- issue 14: every task on its own disk, state only through the store -----------------------
WRITER_STAGES = ("validate", "load", "build_marts", "alerts", "report", "record_night")


def test_tasks_on_private_disks_land_the_same_night_through_the_store(demo_run, tmp_path, monkeypatch):
    """Each task gets a fresh private data_dir (the warehouse writer keeps one, as its queue's
    worker would) and a shared file:// store: no task can read another's local files, and the
    warehouse holds exactly the documents and mentions of the one-disk run."""
    import dataclasses

    from pipeline import stages

    local_settings, *_ = demo_run
    store = (tmp_path / "store").as_uri()
    with ReplayServer(default_handlers()) as server:
        monkeypatch.setenv("PULSE_REPLAY_URL", server.base_url)
        monkeypatch.setenv("PULSE_REDDIT_CLIENT_ID", "demo-client")
        monkeypatch.setenv("PULSE_REDDIT_CLIENT_SECRET", "demo-secret")
        base = load_settings("config/demo.toml")

        def ctx_on(disk: str) -> RunContext:
            settings = dataclasses.replace(base, data_dir=tmp_path / disk,
                                           storage=dataclasses.replace(base.storage, url=store))
            return RunContext.for_night(settings, NIGHT, run_id="private-disks")

        for name in stages.STAGES:
            disk = "writer" if name in WRITER_STAGES else f"task-{name}"
            stages.run_stage(name, ctx_on(disk))
        stages.run_stage("record_night", ctx_on("writer"))
    assert not (tmp_path / "task-enrich" / "warehouse.duckdb").exists()
    assert (tmp_path / "store" / "work" / NIGHT.isoformat() / "enriched" / "documents.jsonl").is_file()
    assert (tmp_path / "store" / "state" / "watermarks.json").is_file()
    # the accepted batch as Parquet partitions and the marts as Parquet files, in the store
    assert (tmp_path / "store" / "lake" / "_manifest" / f"night={NIGHT.isoformat()}.json").is_file()
    assert (tmp_path / "store" / "marts" / "daily_entity_stats.parquet").is_file()

    def figures(path) -> tuple[list[str], int]:
        con = duckdb.connect(str(path), read_only=True)
        try:
            ids = [r[0] for r in con.execute("select doc_id from core.documents order by 1").fetchall()]
            return ids, con.execute("select count(*) from core.mentions").fetchone()[0]
        finally:
            con.close()

    assert figures(tmp_path / "writer" / "warehouse.duckdb") == figures(local_settings.warehouse_path)
