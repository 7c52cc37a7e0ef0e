"""Marts on a small hand-made batch: every expected number below is computed by hand."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from test_warehouse_load import doc, make_night, mention

from warehouse import db
from warehouse.load import load_night
from warehouse.marts import affected_days, refresh_marts

N1 = date(2026, 11, 3)
N2 = date(2026, 11, 4)
TT = "platform/tiktok-shop"
WN = "platform/whatnot"


def _night1(tmp_path: Path):
    docs = [
        # day 2026-11-03, reddit
        doc("t3_a", "2026-11-03T10:00:00Z", "2026-11-03T23:00:00Z"),
        doc("t3_b", "2026-11-03T23:59:59+00:00", "2026-11-03T23:59:59Z"),
        # published 2026-11-04T01:00+05:00 == 2026-11-03T20:00Z -> UTC day 11-03, news
        doc("news_1", "2026-11-04T01:00:00+05:00", "2026-11-03T23:00:00Z", source="news", kind="article"),
        # day 2026-11-02, reddit
        doc("t3_c", "2026-11-02T08:00:00Z", "2026-11-03T23:00:00Z"),
    ]
    ments = [
        # t3_a: TT twice in sentence 0 (0.6), once in sentence 1 (0.0) -> entity sentiment (0.6+0.0)/2 = 0.3
        mention("t3_a", TT, 0, 0, 0.6),
        mention("t3_a", TT, 10, 0, 0.6),
        mention("t3_a", TT, 40, 1, 0.0),
        # t3_a: WN once, -0.5
        mention("t3_a", WN, 60, 2, -0.5),
        # t3_b: TT once, -0.2
        mention("t3_b", TT, 0, 0, -0.2),
        # news_1: TT once, 0.04 (neither positive nor negative)
        mention("news_1", TT, 0, 0, 0.04),
        # t3_c: WN once, 0.9
        mention("t3_c", WN, 0, 0, 0.9),
    ]
    return make_night(tmp_path, N1, docs, ments)


def _stats(con) -> dict[tuple, tuple]:
    rows = con.execute(
        "SELECT day, entity_id, source, mentions, documents, mean_sentiment, positive, negative, "
        "name, kind FROM marts.daily_entity_stats"
    ).fetchall()
    return {(r[0], r[1], r[2]): r[3:] for r in rows}


def test_daily_entity_stats_by_hand(tmp_path: Path) -> None:
    ctx = _night1(tmp_path)
    result = load_night(ctx)
    con = db.connect(ctx.settings.warehouse_path)
    assert refresh_marts(con, result["affected_days"]) == {"days": 2, "rows": 4}
    s = _stats(con)
    d3, d2 = date(2026, 11, 3), date(2026, 11, 2)
    assert set(s) == {(d3, TT, "reddit"), (d3, WN, "reddit"), (d3, TT, "news"), (d2, WN, "reddit")}
    # TT reddit 11-03: t3_a (3 mentions, 0.3) + t3_b (1 mention, -0.2): mean 0.05, 1 pos (0.3), 1 neg
    m, docs, mean, pos, neg, name, kind = s[(d3, TT, "reddit")]
    assert (m, docs, pos, neg, name, kind) == (4, 2, 1, 1, "TikTok Shop", "platform")
    assert mean == pytest.approx(0.05)
    assert s[(d3, WN, "reddit")][:5] == (1, 1, pytest.approx(-0.5), 0, 1)
    assert s[(d3, TT, "news")][:5] == (1, 1, pytest.approx(0.04), 0, 0)
    assert s[(d2, WN, "reddit")][:5] == (1, 1, pytest.approx(0.9), 1, 0)
    assert affected_days(con, N1) == [d2, d3]
    # Full rebuild gives identical numbers to the incremental one.
    before = s
    assert refresh_marts(con, None)["rows"] == 4
    assert _stats(con) == before
    con.close()


def test_incremental_refresh_touches_only_affected_days(tmp_path: Path) -> None:
    ctx = _night1(tmp_path)
    r1 = load_night(ctx)
    con = db.connect(ctx.settings.warehouse_path)
    refresh_marts(con, r1["affected_days"])
    con.close()
    # Night 2: t3_b is re-fetched with a new, positive mention; a new doc on 11-04.
    docs = [
        doc("t3_b", "2026-11-03T23:59:59Z", "2026-11-04T23:00:00Z"),
        doc("t3_d", "2026-11-04T05:00:00Z", "2026-11-04T23:00:00Z"),
    ]
    ctx2 = make_night(tmp_path, N2, docs, [mention("t3_b", TT, 0, 0, 0.8), mention("t3_d", WN, 0, 0, -0.1)])
    r2 = load_night(ctx2)
    assert r2["affected_days"] == ["2026-11-03", "2026-11-04"]
    con = db.connect(ctx.settings.warehouse_path)
    # Sabotage a day the night does not touch: an incremental refresh must leave it alone.
    con.execute("UPDATE marts.daily_entity_stats SET mentions = 777 WHERE day = DATE '2026-11-02'")
    assert refresh_marts(con, r2["affected_days"]) == {"days": 2, "rows": 4}
    s = _stats(con)
    assert s[(date(2026, 11, 2), WN, "reddit")][0] == 777
    # TT reddit 11-03 now: t3_a (3, 0.3) + t3_b (1, 0.8): mean 0.55, 2 positive
    assert s[(date(2026, 11, 3), TT, "reddit")][:5] == (4, 2, pytest.approx(0.55), 2, 0)
    assert s[(date(2026, 11, 4), WN, "reddit")][:5] == (1, 1, pytest.approx(-0.1), 0, 1)
    assert refresh_marts(con, []) == {"days": 0, "rows": 0}
    con.close()


def test_rerun_that_drops_documents_empties_their_days(tmp_path: Path) -> None:
    ctx = _night1(tmp_path)
    con = db.connect(ctx.settings.warehouse_path)
    refresh_marts(con, load_night(ctx, con=con)["affected_days"])
    make_night(
        tmp_path,
        N1,
        [doc("t3_a", "2026-11-03T10:00:00Z", "2026-11-03T23:00:00Z")],
        [mention("t3_a", WN, 0, 0, 0.5)],
    )
    refresh_marts(con, load_night(ctx, con=con)["affected_days"])
    assert set(_stats(con)) == {(date(2026, 11, 3), WN, "reddit")}  # 11-02 lost its only document
    con.close()


def test_mart_views(tmp_path: Path) -> None:
    ctx = _night1(tmp_path)
    con = db.connect(ctx.settings.warehouse_path)
    refresh_marts(con, load_night(ctx, con=con)["affected_days"])
    sov = dict(
        con.execute(
            "SELECT entity_id, share FROM marts.share_of_voice WHERE day = DATE '2026-11-03'"
        ).fetchall()
    )
    assert sov == {TT: pytest.approx(5 / 6), WN: pytest.approx(1 / 6)}  # TT 4+1 mentions, WN 1
    trend = con.execute(
        "SELECT mean_sentiment, rolling_7d_sentiment, rolling_7d_documents "
        "FROM marts.entity_sentiment_trend WHERE entity_id = ? AND day = DATE '2026-11-03'",
        [WN],
    ).fetchone()
    # WN: 11-02 one doc at 0.9, 11-03 one doc at -0.5 -> rolling mean 0.2 over 2 documents
    assert trend == (pytest.approx(-0.5), pytest.approx(0.2), 2)
    top = con.execute(
        "SELECT doc_id, rank FROM marts.top_documents WHERE day = DATE '2026-11-03' "
        "AND source = 'reddit' ORDER BY rank"
    ).fetchall()
    assert top == [("t3_a", 1), ("t3_b", 2)]  # equal engagement; t3_a has more mentions
    con.close()


def _insert_stats(con, rows) -> None:
    con.executemany(
        "INSERT INTO marts.daily_entity_stats VALUES (?, ?, 'n', 'ORG', 'platform', 'reddit', ?, ?, 0, 0, 0)",
        rows)


def _trending(con) -> dict:
    return {r[0]: r[1:] for r in con.execute(
        "SELECT entity_id, period_documents, baseline_documents, baseline_days, z_score, is_trending "
        "FROM marts.trending_entities").fetchall()}


def test_trending_needs_support_and_z(tmp_path: Path) -> None:
    """The view's rule (marts.rising, migration 004): documents, 7 days against the 7 before."""
    con = db.connect(tmp_path / "t.duckdb")
    days = [date(2026, 10, 22) + timedelta(days=i) for i in range(14)]  # baseline 7 + period 7
    rows = [(d, TT, 2, 2) for d in days]  # flat: 2 documents a day throughout
    rows += [(d, WN, 6, 3) for d in days[7:]]  # new: 3 documents a day in the period
    rows += [(d, "platform/falling", 10, 10) for d in days[:7]] + [(d, "platform/falling", 8, 8)
                                                                    for d in days[7:]]
    rows += [(days[-1], "ner/org/x", 47, 1)]  # one article repeating a name: 1 document
    _insert_stats(con, rows)
    got = _trending(con)
    assert got[TT][:3] == (14, 14, 7) and got[TT][3] == pytest.approx(0.0) and not got[TT][4]
    # WN: (3 - 0) / max(0, sqrt(max(0, 1))) = 3 >= 2 with 21 documents -> trending
    assert got[WN][3] == pytest.approx(3.0) and got[WN][4]
    assert got["platform/falling"][3] < 0 and not got["platform/falling"][4]  # fell: never trending
    assert got["ner/org/x"][0] == 1 and not got["ner/org/x"][4]  # 47 mentions, one document
    con.close()


def test_trending_baseline_only_counts_days_with_history(tmp_path: Path) -> None:
    """Two days of history before the period are averaged over 2 days, not 7 (nor 28), and are too
    few (min 3 baseline days) to call anything trending."""
    con = db.connect(tmp_path / "t.duckdb")
    days = [date(2026, 11, 1) + timedelta(days=i) for i in range(9)]  # 2 baseline days + 7
    _insert_stats(con, [(d, TT, 4, 4) for d in days[:2]] + [(d, TT, 3, 3) for d in days[2:]]
           + [(d, WN, 5, 5) for d in days[2:]])
    got = _trending(con)
    assert got[TT][1:3] == (8, 2)  # baseline mean 4/day over 2 days: a fall, not a rise
    assert got[TT][3] < 0
    assert got[WN][2] == 2 and got[WN][3] == pytest.approx(5.0) and not got[WN][4]
    con.close()


def test_syndicated_copies_count_once(tmp_path: Path) -> None:
    """Issue 15: a non-canonical member of a core.syndication cluster is left out of the mart (like an
    off-topic document); the canonical member itself still counts."""
    ctx = _night1(tmp_path)
    load_night(ctx)
    con = db.connect(ctx.settings.warehouse_path)
    key = (date(2026, 11, 3), TT, "news")
    con.execute("INSERT INTO core.syndication VALUES ('news_1', 'news_1', ?)", [N1])
    refresh_marts(con, None)
    assert _stats(con)[key][1] == 1  # canonical: counted
    con.execute("UPDATE core.syndication SET cluster_id = 'news_0'")  # now a copy of news_0
    refresh_marts(con, [date(2026, 11, 3)])
    assert key not in _stats(con)
    assert _stats(con)[(date(2026, 11, 3), TT, "reddit")][1] == 2  # the other documents unchanged
    con.close()
