"""A small hand-made warehouse for the report tests, plus a check that it matches the contract.

Why a fixture here rather than warehouse/: the reports are built in parallel with the warehouse,
so these tests fill the real schema (``warehouse.db.connect`` applies the migrations) and refresh
the mart with ``warehouse.marts.refresh_marts``. ``test_fixture_matches_contract`` fails if the
contract's column lists in docs/architecture.md drift from what warehouse/ really builds.

The story planted in the data (end day 2026-11-09, two 7-day periods):
- TikTok Shop: stable, 3 documents a day in both periods, sentiment about +0.3;
- Whatnot: 3 documents in the previous period (sentiment +0.5), then 4 a day (sentiment -0.4):
  the rising entity with falling sentiment;
- Shopify: 1 document a day in both periods, sentiment -0.2 -> +0.4 (a mover, not rising);
- TalkShopLive: every other day, small; United States / United Kingdom: places;
- one off-topic article ("Weather report", relevance 0): kept in core, left out of the figures.

Topics and voices (issue 15), planted without changing any figure above:
- topic "payout-complaints": the Whatnot posts x0, x1 and x2 of each current day (21) against the
  3 Whatnot news articles of the previous period: a topic that grows, and within it Whatnot rises
  (3 a day against a baseline of 3/7: z = 2.57);
- topic "tiktok-shop-affiliates": TikTok Shop post x2 of every day (7 and 7): a steady topic;
  "payout-complaints" also tags one TikTok Shop post x1 a day in the current period (7), so the
  topic report has a second platform;
- authors: Whatnot posts x0/x1 by "payout_pete", x2 by "AutoModerator" (a bot), x3 by
  "[deleted]"; TikTok Shop x1 by "RemindMeBot" (a bot); news by bylines; everything else by
  "someone". The tombstone has no author.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

END_DAY = date(2026, 11, 9)
PERIOD_DAYS = 7
REPO = Path(__file__).resolve().parents[1]

ENTITIES = [
    ("platform/tiktok-shop", "TikTok Shop", "ORG", "platform", ["TikTok Shop", "TTS"], "gazetteer"),
    ("platform/whatnot", "Whatnot", "ORG", "platform", ["Whatnot", "Whatnot app"], "gazetteer"),
    ("platform/talkshoplive", "TalkShopLive", "ORG", "platform", ["TalkShopLive", "TSL"], "gazetteer"),
    ("company/shopify", "Shopify", "ORG", "company", ["Shopify"], "gazetteer"),
    ("place/us", "United States", "GPE", "place", ["US", "USA"], "gazetteer"),
    ("place/uk", "United Kingdom", "GPE", "place", ["UK"], "gazetteer"),
]


def _days(start: date, n: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]


CURRENT = _days(END_DAY - timedelta(days=PERIOD_DAYS - 1), PERIOD_DAYS)
PREVIOUS = _days(END_DAY - timedelta(days=2 * PERIOD_DAYS - 1), PERIOD_DAYS)


class _Builder:
    def __init__(self) -> None:
        self.docs: list[tuple[Any, ...]] = []
        self.mentions: list[tuple[Any, ...]] = []
        self.es: list[tuple[Any, ...]] = []
        self.topics: list[tuple[Any, ...]] = []

    def doc(self, doc_id: str, day: date, hour: int, entities: list[tuple[str, str, float]], *,
            source: str = "reddit", kind: str = "post", channel: str = "TikTokShop", title: str | None = None,
            body: str | None = None, url: str | None = None, score: int | None = None,
            num_comments: int | None = None, sentiment: float | None = None, deleted: bool = False,
            on_topic: bool = True, author: str | None = "someone", topics: tuple[str, ...] = ()) -> None:
        published = datetime(day.year, day.month, day.day, hour, 15, tzinfo=UTC)
        sentences = [f"{surface} was discussed on day {day.isoformat()}." for _, surface, _ in entities]
        body = body if body is not None else (None if deleted else " ".join(sentences))
        if url is None:
            url = (f"https://www.reddit.com/r/{channel}/comments/{doc_id}/" if source == "reddit"
                   else f"https://{channel}/{day:%Y/%m/%d}/{doc_id}")
        doc_sent = sentiment if sentiment is not None else (
            sum(s for *_, s in entities) / len(entities) if entities else 0.0)
        self.docs.append((
            doc_id, source, kind, channel, url, url, None, title, body, author, published,
            published + timedelta(hours=2), score, num_comments, "en", f"hash-{doc_id}", deleted, doc_sent,
            ["live-shopping"], f"raw/{source}/{day}/run.jsonl.gz:1", f"run-{day}", day,
            1.0 if on_topic else 0.0, on_topic,
        ))
        self.topics.extend((doc_id, topic, day) for topic in topics)
        offset = 0
        for idx, (eid, surface, sent) in enumerate(entities):
            self.mentions.append((doc_id, eid, idx, offset, offset + len(surface), surface, sentences[idx],
                                  sent, day))
            self.es.append((doc_id, eid, 1, sent, day))
            offset += len(sentences[idx]) + 1


def fixture_rows() -> _Builder:
    b = _Builder()
    for period, days in (("prev", PREVIOUS), ("cur", CURRENT)):
        for di, day in enumerate(days):
            tag = f"{period}{di}"
            for i in range(3):  # TikTok Shop: stable
                ents = [("platform/tiktok-shop", "TikTok Shop", 0.3 + (0.0, 0.05, -0.05)[i])]
                if i == 0:
                    ents.append(("place/us", "US", 0.2))
                topics = (("tiktok-shop-affiliates",) if i == 2
                          else ("payout-complaints",) if i == 1 and period == "cur" else ())
                b.doc(f"t3_tts{tag}x{i}", day, 8 + i, ents, title=f"TikTok Shop seller update {tag}-{i}",
                      score=10 + i + di, num_comments=2 + i, topics=topics,
                      author="RemindMeBot" if i == 1 else "someone")
            # Shopify: one a day, sentiment rises from -0.2 to +0.4 (a mover, not a riser)
            shp = -0.2 if period == "prev" else 0.4
            b.doc(f"t3_shp{tag}", day, 12, [("company/shopify", "Shopify", shp)],
                  channel="ecommerce", title=f"Shopify live checkout {tag}", score=5, num_comments=1)
            if di % 2 == 0:  # TalkShopLive: every other day
                b.doc(f"news_tsl{tag}", day, 14, [("platform/talkshoplive", "TalkShopLive", 0.1)],
                      source="news", kind="article", channel="livecommercedaily.example",
                      title=f"TalkShopLive hosts {tag}", author="Dana Reporter")
            if period == "prev" and di in (1, 3, 5):
                b.doc(f"news_wnp{di}", day, 16, [("platform/whatnot", "Whatnot", 0.5)], source="news",
                      kind="article", channel="livecommercedaily.example", title=f"Whatnot grows {tag}",
                      author="Dana Reporter", topics=("payout-complaints",))
            if period == "cur":  # Whatnot: the planted story, rising with falling sentiment
                for i in range(4):
                    ents = [("platform/whatnot", "Whatnot", -0.4)]
                    if i == 0:
                        ents.append(("place/uk", "UK", -0.3))
                    b.doc(f"t3_wn{tag}x{i}", day, 17 + i, ents, channel="Whatnot",
                          title=f"Whatnot payout delays again {tag}-{i}", score=20 + di, num_comments=4,
                          author=("payout_pete", "payout_pete", "AutoModerator", "[deleted]")[i],
                          topics=("payout-complaints",) if i < 3 else ())
            else:
                b.doc(f"t3_uk{tag}", day, 18, [("place/uk", "UK", 0.1)], channel="Flipping",
                      title=f"UK sellers {tag}", score=1, num_comments=0)
    # a comment (no title), a tombstone, and a document with no entities
    b.doc("t1_comment1", CURRENT[2], 22, [("platform/tiktok-shop", "TikTok Shop", 0.9)], kind="comment",
          body="TikTok Shop live sale was amazing, sold out in ten minutes!", score=500, num_comments=0,
          sentiment=0.9)
    b.doc("t3_deleted1", CURRENT[3], 9, [], deleted=True, title="[removed]", score=3, num_comments=0,
          author=None)
    b.doc("news_offtopic", CURRENT[4], 9, [], source="news", kind="article", channel="example.com",
          title="Weather report", sentiment=-0.95, on_topic=False)
    return b


DOC_COLUMNS = ("doc_id, source, kind, channel, url, canonical_url, parent_id, title, body, author, "
               "published_at, fetched_at, score, num_comments, language, content_hash, is_deleted, "
               "sentiment, themes, raw_ref, run_id, night, relevance, on_topic")


def build_fixture(con: duckdb.DuckDBPyConnection, builder: _Builder | None = None) -> None:
    """Fill the migrated schema (the mart is derived from core by warehouse/, as in production)."""
    b = builder or fixture_rows()
    con.executemany("INSERT INTO core.entities VALUES (?, ?, ?, ?, ?, ?)", ENTITIES)
    insert_rows(con, b)
    refresh_mart(con)


def insert_rows(con: duckdb.DuckDBPyConnection, b: _Builder) -> None:
    con.executemany(f"INSERT INTO core.documents ({DOC_COLUMNS}) VALUES ({', '.join('?' * 24)})", b.docs)
    con.executemany("INSERT INTO core.mentions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", b.mentions)
    con.executemany("INSERT INTO core.entity_sentiment VALUES (?, ?, ?, ?, ?)", b.es)
    if b.topics:
        con.executemany("INSERT INTO core.document_topics VALUES (?, ?, ?)", b.topics)


def refresh_mart(con: duckdb.DuckDBPyConnection) -> None:
    from warehouse.marts import refresh_marts

    refresh_marts(con, None)


def make_warehouse(path: Path, builder: _Builder | None = None) -> Path:
    from warehouse.db import connect

    con = connect(path)
    try:
        build_fixture(con, builder)
    finally:
        con.close()
    return path


# --- tests of the fixture itself ------------------------------------------------------------------

def _contract_columns() -> dict[str, list[str]]:
    """Parse the 'Warehouse tables' list of docs/architecture.md into {table: [column, ...]}."""
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## Warehouse tables", 1)[1]
    items = re.split(r"\n- ", "\n" + section)
    out: dict[str, list[str]] = {}
    for item in items:
        m = re.match(r"`([a-z_]+\.[a-z_]+)`(?: \[[^\]]*\])?: (.*)", item, re.S)
        if not m or "a view over" in m.group(2) or "as loaded" in m.group(2):
            continue
        body = re.sub(r"\([^)]*\)", "", " ".join(m.group(2).split())).rstrip(".")
        out[m.group(1)] = [c.strip().split(" ")[0] for c in body.split(",") if c.strip()]
    return out


def test_fixture_matches_contract(tmp_path: Path) -> None:
    contract = _contract_columns()
    con = duckdb.connect(str(make_warehouse(tmp_path / "w.duckdb")))
    for table in ("core.documents", "core.entities", "core.mentions", "core.entity_sentiment",
                  "marts.daily_entity_stats"):
        schema, name = table.split(".")
        cols = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
            "ORDER BY ordinal_position", [schema, name]).fetchall()]
        assert cols == contract[table], table


def test_fixture_story_is_planted(tmp_path: Path) -> None:
    con = duckdb.connect(str(make_warehouse(tmp_path / "w.duckdb")))
    counts = dict(con.execute(
        "SELECT entity_id, sum(documents) FROM marts.daily_entity_stats WHERE day >= ? GROUP BY 1",
        [CURRENT[0]]).fetchall())
    assert counts["platform/whatnot"] == 28
    assert counts["platform/tiktok-shop"] == 22
