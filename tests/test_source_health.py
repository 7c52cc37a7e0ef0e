"""Source health (issue 15, item 3): per subreddit and feed, what each night brought, and the
silent-drop detector behind the source_drop alert.

Nine nights (2026-11-01..09), both sources ok every night, built row by row:
- r/Whatnot (paged: it has watermarks): 5 new posts a night on nights 1-6, then only 2 re-fetches
  of night-1 posts: silent for 3 nights by night 9;
- r/TikTokShop: 10 new a night, then 1 on night 9: dropped (1 < 0.25 x 10);
- r/RandomSub: documents from a Reddit-wide search only (no watermark): not a monitored unit;
- feed A: 2 new a night, one parse *warning* on night 5 (not a failure): ok;
- feed B: 3 new a night until night 7, then HTTP 500 on nights 8 and 9: failing;
- an article fetch error (stage fetch) is the article's, not its feed's.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from common.config import AlertsSettings
from warehouse import alerts as wa
from warehouse.db import migrate
from warehouse.schema_doc import undocumented

NIGHTS = [date(2026, 11, 1) + timedelta(days=i) for i in range(9)]
FEED_A, FEED_B = "https://a.test/feed.xml", "https://b.test/rss"


def build(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    migrate(con)
    raw, core, runs, marks, errors = [], [], [], [], []

    def doc(doc_id: str, night: date, source: str, channel: str, feed: str | None = None) -> None:
        ts = datetime(night.year, night.month, night.day, 6, tzinfo=UTC)
        url = f"https://{channel}.test/{doc_id}"
        extra = json.dumps({"feed_url": feed} if feed else {})
        kind = "post" if source == "reddit" else "article"
        raw.append([doc_id, night, source, kind, channel, url, None, None, f"t {doc_id}", "b", "a",
                    ts.isoformat(), ts.isoformat(), night.isoformat(), "r", None, 1, 0, "en", doc_id, False,
                    extra, ts])
        core.append([doc_id, source, kind, channel, url, None, None, f"t {doc_id}", "b", "a", ts, ts, 1, 0,
                     "en", doc_id, False, 0.0, [], None, "r", night, 1.0, True, None])

    for n, night in enumerate(NIGHTS, start=1):
        for source in ("reddit", "news"):
            runs.append([f"run{n}", night, source, "ok", None, 0, 0, None, None, None])
        for sub in ("Whatnot", "TikTokShop"):
            marks.append(["reddit", f"r/{sub}/new", night, datetime(2026, 11, 1, tzinfo=UTC), f"run{n}", 1,
                          datetime(2026, 11, 1, tzinfo=UTC)])
        for i in range(5 if n <= 6 else 0):
            doc(f"w{n}_{i}", night, "reddit", "Whatnot")
        if n > 6:
            for i in range(2):  # re-fetched in the overlap: documents, not new ones
                raw.append([*raw[i][:1], night, *raw[i][2:]])
        for i in range(10 if n <= 8 else 1):
            doc(f"k{n}_{i}", night, "reddit", "TikTokShop")
        doc(f"r{n}", night, "reddit", "RandomSub")
        for i in range(2):
            doc(f"a{n}_{i}", night, "news", "a", FEED_A)
        if n <= 7:
            for i in range(3):
                doc(f"b{n}_{i}", night, "news", "b", FEED_B)
        else:
            errors.append([f"run{n}", night, "news", FEED_B, "feed", "feed answered HTTP 500", 500,
                           datetime(2026, 11, 1, tzinfo=UTC)])
        if n == 5:
            errors.append([f"run{n}", night, "news", FEED_A, "feed", "warning: bozo feed; kept 2 entries",
                           200, datetime(2026, 11, 1, tzinfo=UTC)])
        errors.append([f"run{n}", night, "news", f"https://a.test/page{n}", "fetch", "timeout", None,
                       datetime(2026, 11, 1, tzinfo=UTC)])
    con.executemany("INSERT INTO raw.documents VALUES (" + ", ".join("?" * 23) + ")", raw)
    con.executemany("INSERT INTO core.documents VALUES (" + ", ".join("?" * 25) + ")", core)
    con.executemany("INSERT INTO ops.source_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", runs)
    con.executemany("INSERT INTO ops.watermarks VALUES (?, ?, ?, ?, ?, ?, ?)", marks)
    con.executemany("INSERT INTO ops.errors VALUES (?, ?, ?, ?, ?, ?, ?, ?)", errors)
    return con


@pytest.fixture()
def con(tmp_path):
    c = build(tmp_path / "w.duckdb")
    yield c
    c.close()


def test_source_health_rows(con):
    rows = wa.source_health_rows(con, NIGHTS[-1])
    assert [(r["name"], r["health"]) for r in rows] == [
        (FEED_B, "failing"), ("r/whatnot", "silent"), ("r/tiktokshop", "dropped"), (FEED_A, "ok")]
    by = {r["name"]: r for r in rows}

    whatnot = by["r/whatnot"]
    assert (whatnot["documents"], whatnot["new_documents"], whatnot["silent_nights"]) == (2, 0, 3)
    assert whatnot["last_new_item"] == NIGHTS[5] and whatnot["last_success"] == NIGHTS[-1]

    tts = by["r/tiktokshop"]
    assert (tts["new_documents"], tts["baseline_new_documents"], tts["baseline_nights"]) == (1, 10.0, 7)
    assert tts["volume_ratio"] == pytest.approx(0.1)

    b = by[FEED_B]
    assert b["failed"] and b["errors"] == 1 and b["new_documents"] == 0
    assert b["last_success"] == NIGHTS[6] and b["error_rate_7"] == pytest.approx(2 / 7)

    a_night5 = {r["name"]: r for r in wa.source_health_rows(con, NIGHTS[4])}[FEED_A]
    assert not a_night5["failed"] and a_night5["health"] == "ok"  # a warning is not a failure


def test_silence_needs_n_nights(con):
    night8 = {r["name"]: r["health"] for r in wa.source_health_rows(con, NIGHTS[7])}
    assert night8["r/whatnot"] == "ok"  # 2 silent nights, and a baseline (4.3) too small to call a drop
    stricter = con.execute("SELECT health FROM marts.source_health_at(4, 0.25, 5) "
                           "WHERE night = ? AND unit = 'whatnot'", [NIGHTS[-1]]).fetchone()[0]
    assert stricter == "ok"


def test_source_drop_alerts(con):
    alerts = wa.source_drops(con, NIGHTS[-1], AlertsSettings())
    assert [(a.subject_type, a.subject_id, a.direction) for a in alerts] == [
        ("subreddit", "tiktokshop", "dropped"), ("subreddit", "whatnot", "silent")]
    silent = alerts[1]
    assert "no new item for 3 nights" in silent.reason and silent.support == 3
    docs = wa.top_documents(con, silent, AlertsSettings())
    assert docs and all(d["doc_id"].startswith("w") and d["url"].startswith("https://Whatnot.test/")
                        for d in docs)
    payload = alerts[0].payload()
    assert (payload["kind"], payload["name"], payload["value"], payload["baseline"]) == (
        "source_drop", "r/tiktokshop", 1.0, 10.0)


def test_source_health_is_documented(con):
    assert [u for u in undocumented(con) if "source_health" in u or "alert" in u] == []
