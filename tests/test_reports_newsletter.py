"""build_report / explain_entity on the hand-made warehouse of test_reports_fixture.py."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from test_reports_fixture import END_DAY, make_warehouse

from reports.newsletter import build_report, explain_entity
from reports.queries import ReportError


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory):
    path = make_warehouse(tmp_path_factory.mktemp("wh") / "w.duckdb")
    c = duckdb.connect(str(path), read_only=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def report(con) -> dict:
    return build_report(con, END_DAY, period_days=7, top_n=10)


def test_periods(report: dict) -> None:
    assert report["period"] == {"start": "2026-11-03", "end": "2026-11-09", "days": 7}
    assert report["previous_period"] == {"start": "2026-10-27", "end": "2026-11-02", "days": 7}


def test_headline_counts(report: dict) -> None:
    head = report["headline"]
    # current: 21 TikTok Shop + 7 Shopify + 4 TalkShopLive + 28 Whatnot
    # + 2 extra (comment, tombstone); the off-topic article is left out and counted apart
    assert head["documents"] == {"current": 62, "previous": 42, "change_pct": 47.6}
    assert head["off_topic_documents"] == 1
    assert head["deleted_documents"] == 1
    assert head["mentions"]["current"] == 28 + 22 + 7 + 4 + 7 + 7
    assert head["mean_sentiment"]["change"] < 0


def test_top_entities_and_counts(report: dict) -> None:
    top = {t["entity_id"]: t for t in report["top_entities"]}
    ranked = [t["entity_id"] for t in report["top_entities"][:2]]
    assert ranked == ["platform/whatnot", "platform/tiktok-shop"]
    assert top["platform/whatnot"]["mentions"] == 28 and top["platform/whatnot"]["previous_mentions"] == 3
    assert top["platform/tiktok-shop"]["documents"] == 22  # 21 posts + the comment
    assert top["platform/tiktok-shop"]["previous_documents"] == 21
    assert top["company/shopify"]["mean_sentiment"] == 0.4
    assert top["company/shopify"]["previous_mean_sentiment"] == -0.2
    assert report["entities"]["platform/whatnot"]["name"] == "Whatnot"


def test_top_n_limits(con) -> None:
    assert len(build_report(con, END_DAY, top_n=2)["top_entities"]) == 2


def test_rising_entity_has_explainable_score(report: dict) -> None:
    rising = report["rising"]
    assert [r["entity_id"] for r in rising] == ["platform/whatnot"]  # TikTok Shop is stable
    r = rising[0]
    assert r["documents"] == 28 and r["previous_documents"] == 3 and r["mentions"] == 28
    # baseline days [0,1,0,1,0,1,0]: mean 3/7, sd 0.495 -> sigma floored at 1; now 4/day
    assert r["baseline_daily_mean"] == pytest.approx(0.43, abs=0.01)
    assert r["baseline_days"] == 7
    assert r["sigma"] == 1.0
    assert r["z"] == pytest.approx(4 - 3 / 7, abs=0.01)
    rule = report["parameters"]["rising"]
    assert r["documents"] >= rule["min_documents"] and r["z"] >= rule["min_z"]


def test_minimum_support_blocks_small_spikes(tmp_path: Path) -> None:
    """Over a one-day period, 0 -> 2 documents scores z = 2 but lacks support (3 documents): not rising."""
    from test_reports_fixture import CURRENT, fixture_rows

    b = fixture_rows()
    for i in range(2):
        b.doc(f"t3_spike{i}", CURRENT[-1], 10 + i, [("company/spike", "Spike", 0.0)], title="Spike")
    path = tmp_path / "w.duckdb"
    make_warehouse(path, b)
    c = duckdb.connect(str(path))
    c.execute("INSERT INTO core.entities VALUES ('company/spike', 'Spike', 'ORG', 'company', [], 'ner')")
    rep = build_report(c, END_DAY, period_days=1)
    spike = c.execute("SELECT z_score, is_trending FROM marts.rising(?, 1, 3, 2.0, 1) "
                      "WHERE entity_id = 'company/spike'", [END_DAY]).fetchone()
    assert spike == (pytest.approx(2.0), False)
    assert "company/spike" not in [r["entity_id"] for r in rep["rising"]]
    assert "company/spike" in [t["entity_id"] for t in rep["top_entities"]]


def test_entities_ranked_by_documents_not_mentions(tmp_path: Path) -> None:
    """One article naming an entity 47 times counts once: it does not outrank a 3-document entity."""
    from test_reports_fixture import CURRENT, fixture_rows

    b = fixture_rows()
    b.doc("news_ford", CURRENT[-1], 10, [("company/ford", "Ford", 0.0)], source="news", kind="article",
          channel="autos.example", title="Ford recall")
    b.es[-1] = (*b.es[-1][:2], 47, *b.es[-1][3:])  # the article repeats the name 47 times
    path = make_warehouse(tmp_path / "w.duckdb", b)
    c = duckdb.connect(str(path))
    c.execute("INSERT INTO core.entities VALUES ('company/ford', 'Ford', 'ORG', 'company', [], 'ner')")
    rep = build_report(c, END_DAY)
    ranked = [t["entity_id"] for t in rep["top_entities"]]
    assert ranked.index("company/ford") > ranked.index("platform/talkshoplive")  # 4 documents vs 1
    ford = next(t for t in rep["top_entities"] if t["entity_id"] == "company/ford")
    assert (ford["documents"], ford["mentions"], ford["channels"]) == (1, 47, 1)


def test_rising_matches_trending_view(con) -> None:
    """One definition: the newsletter's rising list is the view's trending set for the same period."""
    end = con.execute("SELECT max(day) FROM marts.daily_entity_stats").fetchone()[0]
    view = {r[0]: r[1] for r in con.execute(
        "SELECT entity_id, round(z_score, 2) FROM marts.trending_entities WHERE is_trending").fetchall()}
    rep = build_report(con, end, period_days=7)
    assert {r["entity_id"]: r["z"] for r in rep["rising"]} == view
    assert view  # the planted story is there to agree on


def test_sentiment_movers(report: dict) -> None:
    movers = {m["entity_id"]: m for m in report["sentiment_movers"]}
    assert movers["platform/whatnot"]["change"] == -0.9
    assert movers["company/shopify"]["change"] == 0.6
    assert "platform/tiktok-shop" not in movers  # moved by less than 0.1
    assert [m["entity_id"] for m in report["sentiment_movers"]][0] == "platform/whatnot"


def test_share_of_voice_and_regions(report: dict) -> None:
    sov = report["share_of_voice"]
    assert sov["total_mentions"] == 28 + 22 + 4
    shares = {p["entity_id"]: p["share"] for p in sov["platforms"]}
    assert shares["platform/whatnot"] == round(28 / 54, 4)
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-3)
    assert all(report["entities"][e]["kind"] == "platform" for e in shares)
    places = {p["entity_id"]: p for p in report["regions"]["places"]}
    assert set(places) == {"place/us", "place/uk"}
    assert places["place/uk"]["mean_sentiment"] == -0.3


def test_summary_mentions_planted_story(report: dict) -> None:
    s = report["summary"]
    assert "Whatnot rose fastest: 28 documents against 3" in s
    assert "fell from +0.50 to -0.40" in s
    assert "62 documents" in s


def test_notable_documents(report: dict) -> None:
    eng = report["notable"]["by_engagement"]
    assert eng[0]["doc_id"] == "t1_comment1" and eng[0]["title"] is None and eng[0]["excerpt"]
    assert all(d["doc_id"] != "t3_deleted1" for d in eng)
    neg = report["notable"]["most_negative"]
    assert neg and all(d["sentiment"] < 0 for d in neg)
    assert "news_offtopic" not in [d["doc_id"] for d in neg]  # mentions no entity
    assert report["notable"]["most_positive"][0]["doc_id"] == "t1_comment1"


def test_json_carries_doc_ids_matching_figures(report: dict) -> None:
    data = json.loads(json.dumps(report))  # JSON-serialisable as is
    prov = data["provenance"]
    for t in data["top_entities"]:
        assert len(prov[t["entity_id"]]["current"]) == t["documents"]
        assert len(prov[t["entity_id"]]["previous"]) == t["previous_documents"]
    assert "t1_comment1" in prov["platform/tiktok-shop"]["current"]
    assert prov["platform/whatnot"]["previous"] == ["news_wnp1", "news_wnp3", "news_wnp5"]
    assert all(d["doc_id"] for docs in data["notable"].values() for d in docs)


def test_mart_cross_check(report: dict, tmp_path: Path) -> None:
    assert report["checks"]["mart"] == "ok"
    path = make_warehouse(tmp_path / "w.duckdb")
    c = duckdb.connect(str(path))
    c.execute("UPDATE marts.daily_entity_stats SET mentions = mentions + 1 WHERE entity_id = 'place/us'")
    assert build_report(c, END_DAY)["checks"]["mismatched_entities"] == ["place/us"]
    c.execute("DROP TABLE marts.daily_entity_stats")
    assert build_report(c, END_DAY)["checks"]["mart"] == "absent"


def test_empty_period(con) -> None:
    rep = build_report(con, date(2030, 1, 31))
    assert rep["headline"]["documents"]["current"] == 0
    assert rep["top_entities"] == [] and rep["rising"] == []
    assert rep["summary"].startswith("No documents were published")


def test_bad_arguments_and_missing_tables(con) -> None:
    with pytest.raises(ReportError):
        build_report(con, END_DAY, period_days=0)
    with pytest.raises(ReportError):
        build_report(con, "2026-11-09")  # type: ignore[arg-type]
    with pytest.raises(ReportError, match="core.documents"):
        build_report(duckdb.connect(), END_DAY)


def test_explain_entity_by_alias_case_insensitive(con, report: dict) -> None:
    rows = explain_entity(con, "tts", END_DAY, 7)
    assert {r["entity_id"] for r in rows} == {"platform/tiktok-shop"}
    current = [r["doc_id"] for r in rows if r["period"] == "current"]
    assert sorted(current) == report["provenance"]["platform/tiktok-shop"]["current"]
    assert len([r for r in rows if r["period"] == "previous"]) == 21
    first = rows[0]
    assert first["sentence"] and "TikTok Shop" in first["sentence"] and first["link"].startswith("https://")
    by_name = explain_entity(con, "WHATNOT", END_DAY, 7)
    assert len(by_name) == 28 + 3
    assert explain_entity(con, "platform/whatnot", END_DAY - timedelta(days=7), 7)[0]["period"] == "current"


def test_explain_unknown_entity(con) -> None:
    with pytest.raises(ReportError, match="no entity matches"):
        explain_entity(con, "nope", END_DAY, 7)
    with pytest.raises(ReportError):
        explain_entity(con, "  ", END_DAY, 7)


_HOLD = "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); sys.stdin.read()"


def test_locked_warehouse_falls_back_to_published_snapshot(tmp_path: Path) -> None:
    """Another process holding the write lock: report from warehouse.published.duckdb instead."""
    import shutil
    import subprocess
    import sys

    from reports.newsletter import open_warehouse

    path = make_warehouse(tmp_path / "warehouse.duckdb")

    def hold() -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(path)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        return proc

    def release(proc: subprocess.Popen) -> None:
        if proc.stdin and not proc.stdin.closed:
            proc.stdin.close()
        proc.wait(timeout=30)

    holder = hold()
    try:
        with pytest.raises(ReportError, match="cannot open warehouse"):
            open_warehouse(path)
    finally:
        release(holder)
    shutil.copyfile(path, tmp_path / "warehouse.published.duckdb")
    holder = hold()
    try:
        con = open_warehouse(path)
        assert build_report(con, END_DAY)["rising"][0]["entity_id"] == "platform/whatnot"
        con.close()
    finally:
        release(holder)


def test_regional_split_drops_thin_ner_places_but_keeps_their_count(tmp_path: Path) -> None:
    """"Based" (NER, one document) and a FAC get no row; Berlin (NER GPE, two documents) does."""
    from test_reports_fixture import CURRENT, fixture_rows

    b = fixture_rows()
    b.doc("t3_based", CURRENT[0], 9, [("ner/gpe/based", "Based", 0.0)], title="Based in Ohio")
    for i in range(2):
        b.doc(f"t3_berlin{i}", CURRENT[1], 9 + i, [("ner/gpe/berlin", "Berlin", 0.2)], title="Berlin")
    for i in range(3):
        b.doc(f"t3_fac{i}", CURRENT[2], 9 + i, [("ner/fac/tessellate", "Tessellate Insights", 0.0)])
    path = make_warehouse(tmp_path / "w.duckdb", b)
    c = duckdb.connect(str(path))
    c.executemany("INSERT INTO core.entities VALUES (?, ?, ?, 'place', [], 'ner')", [
        ("ner/gpe/based", "Based", "GPE"), ("ner/gpe/berlin", "Berlin", "GPE"),
        ("ner/fac/tessellate", "Tessellate Insights", "FAC")])
    regions = build_report(c, END_DAY)["regions"]
    listed = [p["entity_id"] for p in regions["places"]]
    assert set(listed) == {"place/us", "place/uk", "ner/gpe/berlin"}
    assert regions["other_mentions"] == 1 + 3  # Based + the facility still count
    assert regions["total_mentions"] == sum(p["mentions"] for p in regions["places"]) + 4
    assert sum(p["share"] for p in regions["places"]) < 1


def test_entity_colours_are_never_shared(con) -> None:
    """One colour per entity: with more entities than palette colours, the overflow goes neutral
    (table-only), and every charted entity has its own colour."""
    from reports.newsletter import NEUTRAL, PALETTE

    rep = build_report(con, END_DAY, top_n=10)
    colours = {eid: e["color"] for eid, e in rep["entities"].items()}
    real = [c for c in colours.values() if c != NEUTRAL]
    assert len(real) == len(set(real)) and set(real) <= set(PALETTE)
    charted = list(rep["daily"]["entities"]) + [p["entity_id"] for p in rep["share_of_voice"]["platforms"]]
    assert all(colours[e] != NEUTRAL for e in charted)


def test_colour_overflow_goes_neutral(tmp_path: Path) -> None:
    from test_reports_fixture import CURRENT, fixture_rows

    from reports.newsletter import NEUTRAL, PALETTE

    b = fixture_rows()
    extra = [(f"company/c{i:02d}", f"Company {i}") for i in range(len(PALETTE) + 3)]
    for i, (eid, name) in enumerate(extra):
        b.doc(f"t3_c{i}", CURRENT[i % 7], 9, [(eid, name, 0.1)], title=name)
    path = make_warehouse(tmp_path / "w.duckdb", b)
    c = duckdb.connect(str(path))
    c.executemany("INSERT INTO core.entities VALUES (?, ?, 'ORG', 'company', [], 'ner')", extra)
    rep = build_report(c, END_DAY, top_n=30)
    colours = [e["color"] for e in rep["entities"].values()]
    real = [x for x in colours if x != NEUTRAL]
    assert NEUTRAL in colours and len(real) == len(set(real)) == len(PALETTE)


def test_every_notable_item_has_title_source_and_link(report: dict) -> None:
    from reports.render_md import render_markdown

    md = render_markdown(report, "now")
    items = [d for docs in report["notable"].values() for d in docs]
    assert len(items) >= 9
    for d in items:
        assert (d["title"] or d["excerpt"]) and d["source"] in ("reddit", "news")
        assert d["link"] and d["link"].startswith(("https://", "http://"))
        assert f"](<{d['link']}>)" in md
    engagement = [d["engagement"] for d in report["notable"]["by_engagement"]]
    assert engagement == sorted(engagement, reverse=True)
    positive = [d["sentiment"] for d in report["notable"]["most_positive"]]
    assert positive == sorted(positive, reverse=True) and all(v > 0 for v in positive)


def _with_models(tmp_path: Path, before: str | None, after: str) -> duckdb.DuckDBPyConnection:
    """The fixture warehouse, its documents scored by ``before`` up to the end of the previous
    period and by ``after`` from the current period on (migration 012's column)."""
    from test_reports_fixture import CURRENT

    path = tmp_path / "w.duckdb"
    make_warehouse(path)
    c = duckdb.connect(str(path))
    c.execute("UPDATE core.documents SET sentiment_model = CASE WHEN "
              "CAST(timezone('UTC', published_at) AS DATE) >= ? THEN ? ELSE ? END",
              [CURRENT[0], after, before])
    return c


@pytest.mark.parametrize("before", [None, "embedding-old"])
def test_a_sentiment_model_upgrade_compares_no_sentiment_across_it(tmp_path: Path,
                                                                    before: str | None) -> None:
    """The model changed when the current period began: every figure stays, but no previous-period
    sentiment, no change and no mover is reported, and each rendering says why."""
    from reports.render_html import render_html
    from reports.render_md import render_markdown

    c = _with_models(tmp_path, before, "embedding-new")
    rep = build_report(c, END_DAY)
    models = rep["sentiment_models"]
    assert (models["current"], models["previous"]) == (["embedding-new"], [before or ""])
    assert models["comparable"] is False
    assert models["reason"]  # and the note quotes it
    assert rep["headline"]["mean_sentiment"]["previous"] is None
    assert rep["headline"]["mean_sentiment"]["current"] is not None
    assert rep["sentiment_movers"] == []
    assert all(t["sentiment_change"] is None and t["previous_mean_sentiment"] is None
               for t in rep["top_entities"])
    assert all(r["sentiment_change"] is None for r in rep["topics"]["rows"])
    assert rep["headline"]["documents"]["previous"] > 0  # volumes still compare
    assert "not compared with the previous period: the sentiment model changed" in rep["summary"]
    daily = rep["daily"]  # the sentiment chart draws the current period only
    previous_days = [k for k, d in enumerate(daily["days"]) if d < daily["current_start"]]
    assert previous_days and all(daily["mean_sentiment"][k] is None for k in previous_days)
    assert any(v is not None for v in daily["mean_sentiment"])
    for text in (render_markdown(rep, "now"), render_html(rep, "now")):
        assert "scored by different models" in text and "No entity's sentiment moved" not in text
    topic = build_report(c, END_DAY, topic="payout-complaints")["topic"]
    assert topic["mean_sentiment"]["previous"] is None and topic["negative"]["previous"] is None
    assert all(r["mean_sentiment"] is None for r in topic["daily"]["previous"])


def test_one_model_throughout_compares_as_before(tmp_path: Path, report: dict) -> None:
    """The same model (and a lexicon beside it, for another source) in both periods: the report is
    the one a warehouse without model ids gives."""
    c = _with_models(tmp_path, "embedding-new", "embedding-new")
    c.execute("UPDATE core.documents SET sentiment_model = 'lexicon-x' WHERE source = 'news'")
    rep = build_report(c, END_DAY)
    assert rep["sentiment_models"]["comparable"] is True
    assert rep["sentiment_movers"] == report["sentiment_movers"] != []
    assert rep["headline"]["mean_sentiment"] == report["headline"]["mean_sentiment"]
