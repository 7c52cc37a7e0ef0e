"""Emerging terms (issue 15, item 6): the chunker, the rising rule mirrored from marts.rising_in,
and the newsletter section on test_reports_fixture.py's warehouse.

Labelled cases in the fixture: "payout delays" (in the titles of the 28 planted Whatnot posts of
the current period, never before) is EMERGING; "seller update" (3 TikTok Shop titles a day in both
periods) is STEADY; anything containing "whatnot" or "tiktok shop" is a TRACKED entity, never a term.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from test_reports_fixture import CURRENT, END_DAY, fixture_rows, make_warehouse

from reports.newsletter import build_report, render_all
from transforms.terms import Known, candidate_phrases, emerging_terms, normalise, rising_score

XSS = "<script>alert('x')</script>"


def test_chunker_cuts_at_stop_words_numbers_and_punctuation() -> None:
    got = candidate_phrases("The new flash auction fees, announced in 2026 by the seller support team!")
    assert {"flash auction", "auction fees", "flash auction fees", "seller support", "support team",
            "seller support team"} <= got
    assert not any(p in got for p in ("the new", "fees announced", "in 2026", "2026 by"))
    assert all(2 <= len(p.split()) <= 3 for p in got)
    assert candidate_phrases(None) == set() and candidate_phrases("single") == set()


def test_known_names_and_stop_phrases_are_excluded() -> None:
    known = Known(gazetteer=frozenset({normalise("TikTok Shop"), normalise("Whatnot")}),
                  other=frozenset({normalise("Jane Doe")}))
    assert known.excludes("tiktok shop") and known.excludes("tiktok shop sellers")
    assert known.excludes("whatnot payout delays") and known.excludes("jane doe")
    assert known.excludes("read more") and known.excludes("live shopping")
    assert not known.excludes("payout delays") and not known.excludes("jane doe interview")
    assert not known.excludes("shopping tiktoks")  # a whole-token match, not a substring


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    b = fixture_rows()
    for di, day in enumerate(CURRENT):  # a planted phrase whose document titles carry markup
        for i in range(3):
            b.doc(f"t3_flash{di}x{i}", day, 7, [], channel="Flipping", score=1, num_comments=0,
                  title=f"{XSS} Flash auction fees hit resellers {di}-{i}",
                  body="Sellers compare notes on flash auction fees.")
    return make_warehouse(tmp_path_factory.mktemp("terms") / "w.duckdb", b)


@pytest.fixture(scope="module")
def con(wh: Path):
    c = duckdb.connect(str(wh), read_only=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def report(con) -> dict:
    return build_report(con, END_DAY, period_days=7, top_n=10)


@pytest.mark.parametrize("entity", ["platform/whatnot", "platform/tiktok-shop", "company/shopify",
                                    "platform/talkshoplive", "place/uk"])
def test_rising_score_mirrors_the_macro(con, entity: str) -> None:
    """An entity's daily document counts, scored in Python, give marts.rising's very figures."""
    daily = dict(con.execute(
        "SELECT day, sum(documents) FROM marts.daily_entity_stats WHERE entity_id = ? GROUP BY day",
        [entity]).fetchall())
    first = con.execute("SELECT min(day) FROM marts.daily_entity_stats").fetchone()[0]
    for period in (3, 7):
        mine = rising_score({d: int(n) for d, n in daily.items()}, END_DAY, period, first, 3, 2.0, 3)
        cur = con.execute(
            "SELECT period_documents, baseline_documents, baseline_days, daily_mean, baseline_daily_mean, "
            "baseline_daily_sd, sigma, z_score, is_trending FROM marts.rising(?, ?, 3, 2.0, 3) "
            "WHERE entity_id = ?", [END_DAY, period, entity]).fetchone()
        keys = ("period_documents", "baseline_documents", "baseline_days", "daily_mean",
                "baseline_daily_mean", "baseline_daily_sd", "sigma", "z_score", "is_trending")
        for k, v in zip(keys, cur, strict=True):
            assert mine[k] == pytest.approx(v), (entity, period, k)


def test_rising_score_respects_history_start() -> None:
    """Only baseline days on or after the first day of data count (as in the macro)."""
    counts = {END_DAY - timedelta(days=i): 3 for i in range(7)}
    late = rising_score(counts, END_DAY, 7, END_DAY - timedelta(days=8), 3, 2.0, 3)
    assert late["baseline_days"] == 2 and not late["is_trending"]  # too little history
    full = rising_score(counts, END_DAY, 7, date(2020, 1, 1), 3, 2.0, 3)
    assert full["baseline_days"] == 7 and full["z_score"] == pytest.approx(3.0) and full["is_trending"]


def test_emerging_steady_and_tracked_phrases(report: dict) -> None:
    terms = {t["phrase"]: t for t in report["emerging_terms"]}
    pd = terms["payout delays"]
    assert pd["documents"] == 28 and pd["previous_documents"] == 0 and pd["z"] == 4.0
    assert pd["doc_ids"]["current"] == sorted(f"t3_wn{p}{di}x{i}" for p, di, i in
                                              [("cur", d, k) for d in range(7) for k in range(4)])
    assert "seller update" not in terms
    assert not any("whatnot" in p or "tiktok shop" in p for p in terms)
    assert [t["z"] for t in report["emerging_terms"]] == sorted((t["z"] for t in report["emerging_terms"]),
                                                                reverse=True)


def test_sub_phrase_with_the_same_documents_is_dropped(report: dict) -> None:
    terms = {t["phrase"] for t in report["emerging_terms"]}
    assert "flash auction fees" in terms
    assert "flash auction" not in terms and "auction fees" not in terms


def test_term_documents_are_linked_and_escaped(report: dict) -> None:
    t = {t["phrase"]: t for t in report["emerging_terms"]}["flash auction fees"]
    assert t["documents"] == 21 and len(t["top_documents"]) == 3
    assert {d["doc_id"] for d in t["top_documents"]} <= set(t["doc_ids"]["current"])
    out, _ = render_all(report, ("md", "html"), "2026-11-10T00:00:00+00:00")
    md, html = out["md"].decode(), out["html"].decode()
    for doc in (md, html):
        assert "Emerging terms" in doc and "flash auction fees" in doc
        assert "<script>" not in doc
    assert "&lt;script&gt;" in html
    assert t["top_documents"][0]["doc_id"] in md


def test_off_topic_documents_do_not_make_a_term(tmp_path: Path) -> None:
    """Terms count the report's documents: the same phrase on off-topic documents is not emerging."""
    b = fixture_rows()
    for di, day in enumerate(CURRENT):
        for i in range(3):
            b.doc(f"news_off{di}x{i}", day, 7, [], source="news", kind="article", channel="example.com",
                  title=f"Garden hose sale {di}-{i}", on_topic=False)
    c = duckdb.connect(str(make_warehouse(tmp_path / "w.duckdb", b)), read_only=True)
    try:
        terms = {t["phrase"] for t in build_report(c, END_DAY)["emerging_terms"]}
        assert "garden hose sale" not in terms
        assert "garden hose sale" in {t["phrase"] for t in
                                      build_report(c, END_DAY, on_topic_only=False)["emerging_terms"]}
    finally:
        c.close()


def test_emerging_terms_pure_function_limit_and_order() -> None:
    docs = [{"doc_id": f"d{k}{i}", "day": END_DAY - timedelta(days=k), "title": title, "body": None}
            for k in range(7) for i, title in enumerate(["quantum widget recall", "quantum widget recall",
                                                        "solar kettle launch"])]
    got = emerging_terms(docs, Known(), END_DAY, 7, END_DAY - timedelta(days=30), 3, 2.0, 3, limit=1)
    assert [t["phrase"] for t in got] == ["quantum widget recall"]


def test_nothing_rising_keeps_the_closest_call() -> None:
    """One document a day for a phrase new this period: z = 1 with the Poisson floor, so it does not
    rise, and it is the closest call the section names."""
    docs = [{"doc_id": f"g{k}", "day": END_DAY - timedelta(days=k), "title": "glow sticks restock",
             "body": None} for k in range(3)]
    near: list = []
    assert emerging_terms(docs, Known(), END_DAY, 3, END_DAY - timedelta(days=30), 3, 2.0, 3, 5, near) == []
    assert near[0]["phrase"] == "glow sticks restock" and near[0]["z_score"] == pytest.approx(1.0)
    assert near[0]["doc_ids"] == ["g0", "g1", "g2"]


def test_empty_section_renders_the_closest_call_escaped(report: dict) -> None:
    assert report["emerging_terms_near_miss"] is None  # terms rose in the fixture: no closest call
    empty = {**report, "emerging_terms": [],
             "emerging_terms_near_miss": {"phrase": "<b>glow</b> sticks", "documents": 3, "z": 1.0,
                                          "doc_ids": ["g0"]}}
    out, _ = render_all(empty, ("md", "html"), "x")
    md, html = out["md"].decode(), out["html"].decode()
    assert "The closest was" in md and "The closest was" in html
    assert "&lt;b&gt;glow&lt;/b&gt; sticks" in html and "<b>glow</b>" not in html
    assert "<b>" not in md
