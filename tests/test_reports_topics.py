"""Topic reports, the Topics overview and the Voices section (issue 15) on the fixture warehouse.

The fixture (tests/test_reports_fixture.py) plants "payout-complaints": 21 Whatnot posts and 7
TikTok Shop posts this period against 3 Whatnot articles before; "tiktok-shop-affiliates" is
steady at 7 a period. Authors: payout_pete writes the Whatnot posts x0/x1; AutoModerator,
"[deleted]" and RemindMeBot write others and must never appear as voices.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from test_reports_fixture import CURRENT, END_DAY, fixture_rows, make_warehouse

from reports.newsletter import build_report, explain_entity
from reports.queries import ReportError

CONFIGURED = [
    {"name": "payout-complaints", "description": "Payouts late or held.", "query": "payout* NEAR/6 late"},
    {"name": "tiktok-shop-affiliates", "description": None, "query": "affiliate*"},
    {"name": "whatnot-shipping", "description": None, "query": "\"shipping label*\""},
]


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory):
    path = make_warehouse(tmp_path_factory.mktemp("wh") / "w.duckdb")
    c = duckdb.connect(str(path), read_only=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def topic_report(con) -> dict:
    return build_report(con, END_DAY, topic="payout-complaints", topics=CONFIGURED)


@pytest.fixture(scope="module")
def report(con) -> dict:
    return build_report(con, END_DAY, topics=CONFIGURED)


def _topic_docs(con, topic: str, start, end) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT t.doc_id FROM core.document_topics t JOIN core.documents d USING (doc_id) "
        "WHERE t.topic = ? AND CAST(timezone('UTC', d.published_at) AS DATE) BETWEEN ? AND ?",
        [topic, start, end]).fetchall()}


def test_topic_report_restricts_every_figure(con, topic_report: dict) -> None:
    period = topic_report["period"]
    cur = _topic_docs(con, "payout-complaints", period["start"], period["end"])
    prev_p = topic_report["previous_period"]
    prev = _topic_docs(con, "payout-complaints", prev_p["start"], prev_p["end"])
    head = topic_report["headline"]
    assert head["documents"]["current"] == len(cur) == 28
    assert head["documents"]["previous"] == len(prev) == 3
    assert head["off_topic_documents"] is None  # the topic query is the relevance rule
    top = {t["entity_id"]: t for t in topic_report["top_entities"]}
    assert top["platform/whatnot"]["documents"] == 21 and top["platform/tiktok-shop"]["documents"] == 7
    assert "company/shopify" not in top  # Shopify posts are in no topic
    for eid, ids in topic_report["provenance"].items():
        assert set(ids["current"]) <= cur and set(ids["previous"]) <= prev, eid
    for docs in topic_report["notable"].values():
        assert {d["doc_id"] for d in docs} <= cur
    for voice in topic_report["voices"]:
        assert set(voice["doc_ids"]) <= cur
    assert topic_report["topics"] is None and topic_report["title"].endswith("topic payout-complaints")
    assert "the topic payout-complaints matched 28 documents" in topic_report["summary"]


def test_topic_section_figures_trace_to_documents_and_marts(con, topic_report: dict) -> None:
    t = topic_report["topic"]
    assert t["description"] == "Payouts late or held." and t["configured"]
    assert t["documents"] == {"current": 28, "previous": 3, "change_pct": 833.3}
    assert len(t["doc_ids"]["current"]) == 28 and len(t["doc_ids"]["previous"]) == 3
    # the daily series (marts.topic_daily) adds up to the core totals, day by day zero-filled
    assert sum(d["documents"] for d in t["daily"]["current"]) == 28
    assert [d["documents"] for d in t["daily"]["previous"]] == [0, 1, 0, 1, 0, 1, 0]
    # Whatnot x0 (-0.4 and UK -0.3: -0.35), x1 and x2 (-0.4), TikTok Shop x1 (+0.35), 7 days each
    assert t["mean_sentiment"]["current"] == pytest.approx((7 * -0.35 + 14 * -0.4 + 7 * 0.35) / 28)
    assert t["negative"]["current"] == 21 and t["positive"]["current"] == 7
    # share of voice from marts.topic_share_of_voice equals the core-computed share of voice
    mart = {p["entity_id"]: (p["mentions"], p["share"]) for p in t["share_of_voice"]["platforms"]}
    core = {p["entity_id"]: (p["mentions"], p["share"]) for p in topic_report["share_of_voice"]["platforms"]}
    assert mart == core == {"platform/whatnot": (21, 0.75), "platform/tiktok-shop": (7, 0.25)}
    assert topic_report["checks"] == {"mart": "ok", "against": "marts.topic_daily",
                                      "mismatched_entities": [], "n_mismatched": 0}
    tops = t["top_documents"]
    assert tops and {d["doc_id"] for d in tops} <= set(t["doc_ids"]["current"])
    assert all(d["link"].startswith("https://") for d in tops)
    assert [d["engagement"] for d in tops] == sorted((d["engagement"] for d in tops), reverse=True)


def test_rising_within_a_topic_uses_the_one_rule(con, topic_report: dict) -> None:
    rising = {r["entity_id"]: r for r in topic_report["rising"]}
    assert list(rising) == ["platform/whatnot"]  # TikTok Shop: 1 a day from 0 is z = 1 only
    assert rising["platform/whatnot"]["documents"] == 21
    assert rising["platform/whatnot"]["z"] == pytest.approx(3 - 3 / 7, abs=0.01)
    # marts.rising is marts.rising_in(NULL, ...): the same rows, not a second definition
    args = [END_DAY, 7, 3, 2.0, 3]
    whole = con.execute("SELECT * FROM marts.rising(?, ?, ?, ?, ?) ORDER BY entity_id", args).fetchall()
    via = con.execute("SELECT * FROM marts.rising_in(NULL, ?, ?, ?, ?, ?) ORDER BY entity_id",
                      args).fetchall()
    assert whole == via and len(whole) >= 4
    steady = con.execute("SELECT count(*) FROM marts.rising_in('tiktok-shop-affiliates', ?, ?, ?, ?, ?) "
                         "WHERE is_trending", args).fetchone()[0]
    assert steady == 0


def test_unknown_topic_lists_the_known_ones(con) -> None:
    with pytest.raises(ReportError, match="unknown topic 'nope'; known topics: payout-complaints, "
                                          "tiktok-shop-affiliates, whatnot-shipping"):
        build_report(con, END_DAY, topic="nope", topics=CONFIGURED)
    # a topic tagged in the warehouse but no longer configured is still reportable
    assert build_report(con, END_DAY, topic="tiktok-shop-affiliates")["topic"]["configured"] is False


def test_topics_overview_surfaces_the_topic_story(report: dict) -> None:
    rows = report["topics"]["rows"]
    assert [r["topic"] for r in rows] == ["payout-complaints", "tiktok-shop-affiliates", "whatnot-shipping"]
    pay = rows[0]
    assert (pay["documents"], pay["previous_documents"]) == (28, 3)
    assert len(pay["doc_ids"]["current"]) == 28 and pay["description"] == "Payouts late or held."
    assert rows[2]["documents"] == 0 and rows[2]["mean_sentiment"] is None  # configured, never matched
    assert report["topics"]["mart_check"] == "ok"
    assert "Among saved topics, payout-complaints grew most: 28 documents against 3" in report["summary"]
    assert report["topic"] is None


def test_voices_exclude_bots_and_deleted_authors(report: dict) -> None:
    voices = report["voices"]
    authors = {v["author"] for v in voices}
    assert authors.isdisjoint({"AutoModerator", "[deleted]", "RemindMeBot", None})
    pete = next(v for v in voices if v["author"] == "payout_pete")
    assert pete["channel"] == "Whatnot" and pete["documents"] == 14
    assert pete["engagement"] == 2 * sum(20 + di + 4 for di in range(7))
    assert pete["main_topics"] == [{"topic": "payout-complaints", "documents": 14}]
    assert len(pete["doc_ids"]) == 14 and all(d.startswith("t3_wncur") for d in pete["doc_ids"])
    for v in voices:
        assert len(v["doc_ids"]) == v["documents"]
    ranked = [(v["documents"], v["engagement"]) for v in voices]
    assert ranked == sorted(ranked, reverse=True)
    # the off-topic article's author (example.com) is left out with the article
    assert "example.com" not in {v["channel"] for v in voices}


def test_top_authors_view_rule(tmp_path: Path) -> None:
    b = fixture_rows()
    day = CURRENT[0]
    for i, author in enumerate(["talbot", "sneakpeek_bot", "WikiSummarizerBot", "automoderator", "[removed]",
                                "  ", "Talbot"]):
        b.doc(f"t3_rule{i}", day, 10, [], channel="RuleTest", author=author, score=1, num_comments=1,
              topics=("whatnot-shipping",))
    path = make_warehouse(tmp_path / "w.duckdb", b)
    c = duckdb.connect(str(path), read_only=True)
    try:
        rows = c.execute("SELECT author, documents, main_topics FROM marts.top_authors "
                         "WHERE channel = 'RuleTest' ORDER BY author").fetchall()
        assert rows == [("Talbot", 1, ["whatnot-shipping"]), ("talbot", 1, ["whatnot-shipping"])]
        all_authors = {r[0] for r in c.execute("SELECT author FROM marts.top_authors").fetchall()}
        assert all_authors.isdisjoint({"AutoModerator", "[deleted]", "RemindMeBot"})
        pete = c.execute("SELECT documents, engagement, doc_ids FROM marts.top_authors "
                         "WHERE author = 'payout_pete'").fetchone()
        assert pete[0] == 14 and pete[1] == 378 and len(pete[2]) == 14
        # the view is the macro over all history: the period call for the whole range agrees
        span = c.execute("SELECT documents FROM marts.author_stats(DATE '2000-01-01', DATE '2100-01-01', "
                         "true, NULL) WHERE author = 'payout_pete'").fetchone()
        assert span == (14,)
    finally:
        c.close()


def test_explain_within_a_topic(con) -> None:
    rows = explain_entity(con, "whatnot", END_DAY, topic="payout-complaints", topics=CONFIGURED)
    assert sum(r["period"] == "current" for r in rows) == 21
    assert sum(r["period"] == "previous" for r in rows) == 3
    with pytest.raises(ReportError, match="unknown topic"):
        explain_entity(con, "whatnot", END_DAY, topic="nope", topics=CONFIGURED)


def test_renderers_show_topic_topics_and_voices(topic_report: dict, report: dict) -> None:
    from reports.render_html import render_html
    from reports.render_md import render_markdown

    md = render_markdown(topic_report, "2026-11-10T06:00:00+00:00")
    assert "## Topic: payout-complaints" in md and "### Platform share of voice within the topic" in md
    assert "## Topics" not in md and "| payout\\_pete | r/Whatnot | 14 |" in md
    md_full = render_markdown(report, "2026-11-10T06:00:00+00:00")
    assert "## Topics" in md_full and "| payout-complaints | 28 | 3 | +833% |" in md_full
    assert "## Voices" in md_full and "## Topic:" not in md_full
    html_topic = render_html(topic_report, "2026-11-10T06:00:00+00:00")
    assert ">Topic: payout-complaints</h2>" in html_topic and "payout_pete" in html_topic
    assert ">Topics</h2>" not in html_topic and ">Topics</h2>" in render_html(report, "now")
    evil = {**report, "voices": [{**report["voices"][0], "author": "<script>x</script>|a"}]}
    html = render_html(evil, "2026-11-10T06:00:00+00:00")
    assert "<script>x" not in html and "&lt;script&gt;" in html and ">Voices</h2>" in html
    assert "<script>x" not in render_markdown(evil, "now")
