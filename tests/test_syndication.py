"""Syndication (issue 15, item 5) on labelled synthetic articles, then in the warehouse and report.

Labels: SYNDICATED pairs are the same wire story with a different intro and outro, the same story
lightly edited, and a cut-down copy; DIFFERENT pairs are two articles on the same topic written
independently (same names, same jargon, different sentences), and two identical teasers too short
to judge. Texts come from a seeded generator over one topical vocabulary, so "same topic" is
literal: every word of a DIFFERENT pair comes from the same pool.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from test_reports_fixture import CURRENT, END_DAY, fixture_rows, make_warehouse

from reports.newsletter import build_report, render_all
from transforms import syndication as syn
from transforms.syndication import Article, clusters, shingles, similar, update_syndication
from warehouse.marts import refresh_marts

_VOCAB_TEXT = ("whatnot seller payout delays live auction stream buyers shipping label fees platform "
         "sellers complained support tickets weekend sales record collectors cards sneakers "
         "tiktok shop affiliate commission creators host viewers checkout refund policy update "
         "announced company spokesperson said statement week customers orders inventory growth "
         "market analysts expect holiday season revenue percent quarter streamers audience")
VOCAB = _VOCAB_TEXT.split()


def text(seed: int, n: int) -> str:
    rnd = random.Random(seed)
    return " ".join(rnd.choice(VOCAB) for _ in range(n)) + "."


WIRE = text(1, 220)


def edited(body: str, every: int, seed: int) -> str:
    rnd = random.Random(seed)
    words = body.split()
    for i in range(every // 2, len(words), every):
        words[i] = rnd.choice(["reportedly", "notably", "meanwhile", "nationwide", "online"])
    return " ".join(words)


SYNDICATED = {
    "intro_outro": (text(10, 35) + " " + WIRE + " " + text(11, 25),
                    text(12, 40) + " " + WIRE + " " + text(13, 20)),
    "light_edits": (WIRE, edited(WIRE, 25, 3)),
    "cut_down": (WIRE, " ".join(WIRE.split()[:130])),
}
DIFFERENT = {
    "same_topic": (text(20, 250), text(21, 250)),
    "short_teasers": (text(30, 15), text(30, 15)),
}


@pytest.mark.parametrize("case", sorted(SYNDICATED))
def test_syndicated_pairs_match(case: str) -> None:
    a, b = SYNDICATED[case]
    ok, jac, cont = similar(shingles(a), shingles(b))
    assert ok, (case, jac, cont)


@pytest.mark.parametrize("case", sorted(DIFFERENT))
def test_different_articles_do_not_match(case: str) -> None:
    a, b = DIFFERENT[case]
    ok, jac, _ = similar(shingles(a), shingles(b))
    assert not ok, (case, jac)


def test_same_topic_articles_share_almost_no_shingles() -> None:
    """Why 5-word shingles: same vocabulary, yet Jaccard far below the 0.5 threshold."""
    a, b = DIFFERENT["same_topic"]
    assert similar(shingles(a), shingles(b))[1] < 0.1


def test_minhash_estimates_jaccard() -> None:
    """The signature agrees with the exact Jaccard (what the LSH banding relies on)."""
    a, b = (shingles(t) for t in SYNDICATED["intro_outro"])
    exact = len(a & b) / len(a | b)
    est = float((syn.signature(a) == syn.signature(b)).mean())
    assert abs(est - exact) < 0.15, (est, exact)


T0 = datetime(2026, 11, 5, 8, tzinfo=UTC)


def _arts(*bodies_hours: tuple[str, str, int]) -> list[Article]:
    return [Article(d, T0 + timedelta(hours=h), body) for d, body, h in bodies_hours]


def test_clusters_pick_the_earliest_article_and_skip_singletons() -> None:
    a, b = SYNDICATED["intro_outro"]
    found = clusters(_arts(("news_b", b, 1), ("news_a", a, 5), ("news_c", edited(WIRE, 25, 9), 3),
                           ("news_other", DIFFERENT["same_topic"][0], 0)))
    assert found == {"news_a": "news_b", "news_b": "news_b", "news_c": "news_b"}


def test_clusters_tie_on_time_goes_to_the_smallest_doc_id() -> None:
    found = clusters(_arts(("news_z", WIRE, 0), ("news_m", edited(WIRE, 25, 4), 0)))
    assert set(found.values()) == {"news_m"}


def test_republished_weeks_later_is_a_new_story() -> None:
    found = clusters(_arts(("news_a", WIRE, 0), ("news_b", WIRE, 24 * (syn.WINDOW_DAYS + 3))))
    assert found == {}


# --- in the warehouse: core.syndication, the marts and the newsletter ------------------------------

SITES = ("wire-a.example", "copy-b.example", "copy-c.example")


def _warehouse(tmp_path: Path, channel_c: str = SITES[2], url_c: str | None = None) -> Path:
    """The report fixture plus one wire story about Whatnot on three sites on CURRENT[2]
    (news_w1 first), and an unrelated Whatnot article the same day (news_w_other)."""
    b = fixture_rows()
    day = CURRENT[2]
    bodies = [text(40, 30) + " " + WIRE, WIRE + " " + text(41, 20), edited(WIRE, 25, 5)]
    for i, (site, body) in enumerate(zip(SITES, bodies, strict=True)):
        b.doc(f"news_w{i + 1}", day, 6 + i, [("platform/whatnot", "Whatnot", -0.2)], source="news",
              kind="article", channel=channel_c if i == 2 else site, title=f"Whatnot payouts wire {i}",
              body=body, url=url_c if i == 2 else None, author="Wire Desk", sentiment=-0.99)
    b.doc("news_w_other", day, 11, [("platform/whatnot", "Whatnot", 0.1)], source="news", kind="article",
          channel="other.example", title="Whatnot other story", body=text(42, 200))
    return make_warehouse(tmp_path / "w.duckdb", b)


def _cluster(path: Path) -> dict:
    con = duckdb.connect(str(path))
    try:
        result = update_syndication(con, END_DAY, [CURRENT[2]])
        refresh_marts(con, None)
        rows = con.execute("SELECT doc_id, cluster_id, night FROM core.syndication "
                           "ORDER BY doc_id").fetchall()
        return {"result": result, "rows": rows}
    finally:
        con.close()


def _whatnot_docs(path: Path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT sum(documents) FROM marts.daily_entity_stats "
                           "WHERE entity_id = 'platform/whatnot' AND day = ?", [CURRENT[2]]).fetchone()[0]
    finally:
        con.close()


def test_cluster_counts_once_in_marts_and_is_idempotent(tmp_path: Path) -> None:
    path = _warehouse(tmp_path)
    before = _whatnot_docs(path)  # 4 planted posts + 3 copies + 1 other article
    first = _cluster(path)
    assert first["rows"] == [(f"news_w{i}", "news_w1", END_DAY) for i in (1, 2, 3)]
    assert first["result"]["clusters"] == 1 and first["result"]["changed_days"] == [CURRENT[2]]
    assert _whatnot_docs(path) == before - 2
    again = _cluster(path)
    assert again["rows"] == first["rows"] and again["result"]["changed_days"] == []
    assert _whatnot_docs(path) == before - 2


def test_a_deleted_copy_leaves_the_cluster(tmp_path: Path) -> None:
    path = _warehouse(tmp_path)
    _cluster(path)
    con = duckdb.connect(str(path))
    con.execute("DELETE FROM core.documents WHERE doc_id = 'news_w1'")
    con.close()
    rows = _cluster(path)["rows"]
    assert [r[:2] for r in rows] == [("news_w2", "news_w2"), ("news_w3", "news_w2")]


def test_report_counts_once_and_lists_the_other_sites(tmp_path: Path) -> None:
    path = _warehouse(tmp_path, channel_c="copy-<b>c</b>.example", url_c="javascript:alert(1)")
    con = duckdb.connect(str(path), read_only=True)
    plain = build_report(con, END_DAY)
    con.close()
    _cluster(path)
    con = duckdb.connect(str(path), read_only=True)
    report = build_report(con, END_DAY)
    con.close()
    assert report["headline"]["documents"]["current"] == plain["headline"]["documents"]["current"] - 2
    assert report["headline"]["syndicated_copies"] == 2 and plain["headline"]["syndicated_copies"] == 0
    assert report["checks"]["mart"] == "ok"
    wn = {t["entity_id"]: t for t in report["top_entities"]}["platform/whatnot"]
    wn_plain = {t["entity_id"]: t for t in plain["top_entities"]}["platform/whatnot"]
    assert wn["documents"] == wn_plain["documents"] - 2
    listed = [d for docs in report["notable"].values() for d in docs]
    assert "news_w2" not in {d["doc_id"] for d in listed} and "news_w3" not in {d["doc_id"] for d in listed}
    canon = [d for d in listed if d["doc_id"] == "news_w1"]
    assert canon, "the canonical article is the most negative document"
    also = canon[0]["also_published_by"]
    assert [m["doc_id"] for m in also] == ["news_w2", "news_w3"]
    assert also[1]["link"] is None  # a javascript: URL is never linked
    out, _ = render_all(report, ("md", "html"), "2026-11-10T00:00:00+00:00")
    md, html = out["md"].decode(), out["html"].decode()
    assert "Also published by: [copy-b.example (2026-11-05)](<https://copy-b.example/" in md
    assert "syndicated copies" in md and "syndicated copies" in html
    assert "copy-&lt;b&gt;c&lt;/b&gt;.example" in html and "<b>c</b>" not in html
    assert "javascript:" not in html and "javascript:" not in md
    assert "<b>" not in md


# --- per-topic figures (migration 010): a cluster counts once in a topic too -----------------------

TOPIC = "payout-complaints"
SYN_DAY, OWN_DAY = CURRENT[2], CURRENT[3]


def _topic_warehouse(tmp_path: Path) -> Path:
    """The report fixture (payout-complaints: 4 documents a current day, 3 of them on Whatnot) plus
    two Whatnot articles the topic tags on SYN_DAY, one wire story on two sites (news_syn_a first,
    so news_syn_b is the copy), and two independently written ones on OWN_DAY (not a cluster)."""
    b = fixture_rows()
    pairs = [("news_syn_a", SYN_DAY, 6, "wire-a.example", text(60, 30) + " " + WIRE),
             ("news_syn_b", SYN_DAY, 7, "copy-b.example", WIRE + " " + text(61, 20)),
             ("news_own_a", OWN_DAY, 6, "own-a.example", DIFFERENT["same_topic"][0]),
             ("news_own_b", OWN_DAY, 7, "own-b.example", DIFFERENT["same_topic"][1])]
    for doc_id, day, hour, site, body in pairs:
        b.doc(doc_id, day, hour, [("platform/whatnot", "Whatnot", -0.2)], source="news", kind="article",
              channel=site, title=f"Whatnot payouts {doc_id}", body=body, author="Desk",
              sentiment=-0.5, topics=(TOPIC,))
    return make_warehouse(tmp_path / "w.duckdb", b)


def _topic_figures(path: Path) -> dict:
    """Every per-topic figure of TOPIC: the topic marts, rising within the topic, the topic report
    (`pulse report --topic`), the normal report's Topics section and explain within the topic."""
    from reports.newsletter import explain_entity

    con = duckdb.connect(str(path), read_only=True)
    try:
        daily = {r[0]: r[1:] for r in con.execute(
            "SELECT day, documents, news_documents FROM marts.topic_daily WHERE topic = ? "
            "AND day IN (?, ?)", [TOPIC, SYN_DAY, OWN_DAY]).fetchall()}
        sov = {r[0]: r[1:] for r in con.execute(
            "SELECT day, mentions, documents FROM marts.topic_share_of_voice WHERE topic = ? "
            "AND entity_id = 'platform/whatnot' AND day IN (?, ?)", [TOPIC, SYN_DAY, OWN_DAY]).fetchall()}
        rising = con.execute(
            "SELECT period_documents FROM marts.rising_in(?, ?, 7, 3, 2.0, 3) "
            "WHERE entity_id = 'platform/whatnot'", [TOPIC, END_DAY]).fetchone()[0]
        topic_report = build_report(con, END_DAY, topic=TOPIC)
        topics = build_report(con, END_DAY)["topics"]
        explained = [r["doc_id"] for r in explain_entity(con, "whatnot", END_DAY, topic=TOPIC)
                     if r["period"] == "current"]
    finally:
        con.close()
    section = topic_report["topic"]
    whatnot = {t["entity_id"]: t for t in topic_report["top_entities"]}["platform/whatnot"]
    overview = {r["topic"]: r for r in topics["rows"]}[TOPIC]
    return {
        "daily": daily, "sov": sov, "rising": rising, "section": section["documents"]["current"],
        "section_ids": set(section["doc_ids"]["current"]),
        "top_ids": {d["doc_id"] for d in section["top_documents"]},
        "headline": topic_report["headline"]["documents"]["current"], "whatnot": whatnot["documents"],
        "check": topic_report["checks"]["mart"], "overview": overview["documents"],
        "overview_ids": set(overview["doc_ids"]["current"]),
        "overview_check": topics["mart_check"], "explained": explained,
    }


def test_topic_figures_count_a_cluster_once(tmp_path: Path) -> None:
    path = _topic_warehouse(tmp_path)
    plain = _topic_figures(path)  # no clusters yet: both pairs count twice
    assert plain["daily"] == {SYN_DAY: (6, 2), OWN_DAY: (6, 2)}
    assert plain["sov"] == {SYN_DAY: (5, 5), OWN_DAY: (5, 5)}
    assert plain["rising"] == 25 and plain["whatnot"] == 25 and len(plain["explained"]) == 25
    assert plain["section"] == plain["headline"] == plain["overview"] == 32
    clustered = _cluster(path)["rows"]
    assert [r[:2] for r in clustered] == [("news_syn_a", "news_syn_a"), ("news_syn_b", "news_syn_a")]
    once = _topic_figures(path)
    # the wire pair counts once (its canonical article), the independent pair still twice
    assert once["daily"] == {SYN_DAY: (5, 1), OWN_DAY: (6, 2)}
    assert once["sov"] == {SYN_DAY: (4, 4), OWN_DAY: (5, 5)}
    assert once["rising"] == 24  # marts.rising_in on the topic: Whatnot 21 posts + 3 articles
    # `pulse report --topic`: the topic section and the headline; the normal report's Topics section
    assert once["section"] == once["headline"] == once["overview"] == 31
    assert once["whatnot"] == 24 and len(once["explained"]) == 24
    for ids in (once["section_ids"], once["overview_ids"], set(once["explained"])):
        assert {"news_syn_a", "news_own_a", "news_own_b"} <= ids and "news_syn_b" not in ids
    assert "news_syn_b" not in once["top_ids"]
    # core-computed figures and the topic marts still agree
    assert once["check"] == plain["check"] == "ok"
    assert once["overview_check"] == plain["overview_check"] == "ok"


# --- through the nightly stage: build_marts clusters, then refreshes the marts ---------------------

def _night(tmp_path: Path, night, articles: list[tuple[str, str, str]]):
    """A loaded night: one Reddit post and the given (doc_id, published, body) news articles, each
    mentioning TikTok Shop once."""
    from test_warehouse_load import doc, make_night, mention

    from warehouse.load import load_night

    docs = [doc("t3_post", "2026-11-05T09:00:00Z", "2026-11-05T23:00:00Z")]
    docs += [doc(d, pub, "2026-11-06T01:00:00Z", source="news", kind="article", channel=f"{d}.example",
                 body=body) for d, pub, body in articles]
    ctx = make_night(tmp_path, night, docs, [mention(d["doc_id"], "platform/tiktok-shop", 0) for d in docs])
    load_night(ctx)
    return ctx


def _state(ctx) -> tuple[list, int]:
    from warehouse.db import connect

    con = connect(ctx.settings.warehouse_path)
    try:
        rows = con.execute("SELECT doc_id, cluster_id, night FROM core.syndication "
                           "ORDER BY doc_id").fetchall()
        docs = con.execute("SELECT sum(documents) FROM marts.daily_entity_stats "
                           "WHERE entity_id = 'platform/tiktok-shop'").fetchone()[0]
        return rows, docs
    finally:
        con.close()


def test_build_marts_stage_clusters_then_counts_once(tmp_path: Path) -> None:
    from datetime import date

    from pipeline import stages

    n1 = date(2026, 11, 6)
    wire = [("news_a", "2026-11-05T10:00:00Z", text(50, 30) + " " + WIRE),
            ("news_b", "2026-11-05T12:00:00Z", WIRE + " " + text(51, 20)),
            ("news_x", "2026-11-05T13:00:00Z", DIFFERENT["same_topic"][0])]
    ctx = _night(tmp_path, n1, wire)
    result = stages.build_marts(ctx)
    assert result["syndication"] == {"articles": 3, "clustered": 2, "clusters": 1}
    rows, docs = _state(ctx)
    assert rows == [("news_a", "news_a", n1), ("news_b", "news_a", n1)]
    assert docs == 3  # the post, news_a (for itself and news_b) and news_x
    stages.build_marts(ctx)  # a re-run of the night changes nothing
    assert _state(ctx) == (rows, docs)
    # a later night brings an earlier copy: it becomes the canonical article of the whole cluster
    n2 = date(2026, 11, 7)
    ctx2 = _night(tmp_path, n2, [("news_early", "2026-11-05T08:00:00Z", edited(WIRE, 25, 7))])
    stages.build_marts(ctx2)
    rows2, docs2 = _state(ctx2)
    assert rows2 == [(d, "news_early", n2) for d in ("news_a", "news_b", "news_early")]
    assert docs2 == 3  # the post, news_early (for the three copies) and news_x
