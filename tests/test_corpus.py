"""The bundled synthetic corpus: its shape, its labels, its planted story, and its reproducibility.

Why these tests: the demo, the replay server and the end-to-end tests all read demo/corpus/*.json,
and the trend report is only convincing if the planted Whatnot story is really in the data. The
checks below count mentions with plain regexes and score sentences with VADER (the same library
the pipeline uses), independently of the pipeline's own NLP, so they can fail if the generator is
tuned badly. The second planted story (shill bidding, Nov 10-14) is checked the same way, and in
particular that it is a *theme* spread over channels rather than one platform's story, and that
adding it left every item of the first corpus untouched. The last tests prove the committed files
are exactly the generator's output.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from demo.replay.corpus import CORPUS_DIR, load_corpus

REPO = Path(__file__).resolve().parents[1]
SPAN_START = datetime(2026, 11, 1, tzinfo=UTC)
SPAN_END = datetime(2026, 11, 15, tzinfo=UTC)  # exclusive: demo night 2026-11-14
STORY_DAYS = [date(2026, 11, d) for d in range(11, 15)]
BASE_DAYS = [date(2026, 11, d) for d in range(1, 11)]
WHATNOT = re.compile(r"\bwhat\s?not\b", re.IGNORECASE)
# config/gazetteer.toml matches Whatnot case-sensitively (it is also an English word), so the story
# must also hold when lowercase "whatnot" slang is not counted.
WHATNOT_CASED = re.compile(r"\b(?:Whatnot|WhatNot)\b")
TIKTOK_SHOP = re.compile(r"\btik\s?tok\s?shop\b", re.IGNORECASE)
TALKSHOPLIVE = re.compile(r"\btalk\s?shop\s?live\b|\bTSL\b", re.IGNORECASE)
NEGATIVE_CUES = re.compile(
    r"\b(delayed|delays?|fakes?|counterfeit|scam\w*|furious|angry|anger|terrible|awful|worst|horrible|"
    r"unacceptable|disappointed|frustrat\w*|miserable|disaster|mess|backlash|stuck|ridiculous)\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
# The second story: shill bidding and bid bots in live auctions, Nov 10-14 (tools/make_corpus.py).
SHILL_DAYS = [date(2026, 11, d) for d in range(10, 15)]
SHILL_BASE_DAYS = [date(2026, 11, d) for d in range(1, 10)]
SHILL = re.compile(r"\bshill\w*|\bbid(?:ding)?[- ]bots?\b|\bphantom bids?\b", re.IGNORECASE)
EBAY = re.compile(r"\bebay\b", re.IGNORECASE)


def _load_generator() -> ModuleType:
    path = REPO / "tools" / "make_corpus.py"
    spec = importlib.util.spec_from_file_location("make_corpus", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_corpus", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    return _load_generator()


@pytest.fixture(scope="module")
def reddit() -> dict[str, Any]:
    return json.loads((CORPUS_DIR / "reddit.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def news() -> dict[str, Any]:
    return json.loads((CORPUS_DIR / "news.json").read_text(encoding="utf-8"))


def _walk(comments: list[dict[str, Any]], depth: int = 1) -> Iterator[tuple[dict[str, Any], int]]:
    for comment in comments:
        yield comment, depth
        yield from _walk(comment["replies"], depth + 1)


def _all_comments(reddit: dict[str, Any]) -> list[tuple[dict[str, Any], int]]:
    return [pair for post in reddit["posts"] for pair in _walk(post["comments"])]


def _channel_docs(reddit: dict[str, Any], news: dict[str, Any]) -> list[tuple[str, date, str]]:
    """(channel, UTC day, text) per document: subreddit as r/NAME, news site by its slug."""
    out: list[tuple[str, date, str]] = []
    for post in reddit["posts"]:
        channel = f"r/{post['subreddit']}"
        out.append((channel, datetime.fromtimestamp(post["created_utc"], UTC).date(),
                    f"{post['title']}\n{post['selftext'] or ''}"))
        out += [(channel, datetime.fromtimestamp(c["created_utc"], UTC).date(), c["body"] or "")
                for c, _ in _walk(post["comments"])]
    for site in news["sites"]:
        out += [(site["slug"], datetime.fromisoformat(a["published"]).astimezone(UTC).date(),
                 "\n".join([a["title"], *a["paragraphs"]])) for a in site["articles"]]
    return out


def _docs(reddit: dict[str, Any], news: dict[str, Any]) -> list[tuple[str, date, str]]:
    """(source, UTC day, text) for every post, comment and article, like the pipeline's documents."""
    out: list[tuple[str, date, str]] = []
    for post in reddit["posts"]:
        day = datetime.fromtimestamp(post["created_utc"], UTC).date()
        out.append(("reddit", day, f"{post['title']}\n{post['selftext'] or ''}"))
        for comment, _ in _walk(post["comments"]):
            day = datetime.fromtimestamp(comment["created_utc"], UTC).date()
            out.append(("reddit", day, comment["body"] or ""))
    for site in news["sites"]:
        for article in site["articles"]:
            day = datetime.fromisoformat(article["published"]).astimezone(UTC).date()
            out.append(("news", day, "\n".join([article["title"], *article["paragraphs"]])))
    return out


def _daily(docs: list[tuple[str, date, str]], pattern: re.Pattern[str], source: str | None = None,
           ) -> tuple[Counter[date], Counter[date]]:
    """Per day: documents mentioning the entity, and total mentions."""
    n_docs: Counter[date] = Counter()
    n_mentions: Counter[date] = Counter()
    for src, day, text in docs:
        if source and src != source:
            continue
        hits = len(pattern.findall(text))
        if hits:
            n_docs[day] += 1
            n_mentions[day] += hits
    return n_docs, n_mentions


def _ratio(counts: Counter[date]) -> float:
    base = sum(counts[d] for d in BASE_DAYS) / len(BASE_DAYS)
    late = sum(counts[d] for d in STORY_DAYS) / len(STORY_DAYS)
    assert base > 0, "entity must be present before the story starts"
    return late / base


def _sentence_sentiment(docs: list[tuple[str, date, str]], pattern: re.Pattern[str]) -> dict[bool, float]:
    """Mean VADER compound of sentences naming the entity; key True = story days (Nov 11-14)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sia = SentimentIntensityAnalyzer()
    scores: dict[bool, list[float]] = defaultdict(list)
    for _, day, text in docs:
        for sentence in _SENTENCE.split(text):
            if pattern.search(sentence):
                scores[day in STORY_DAYS].append(sia.polarity_scores(sentence)["compound"])
    return {late: sum(v) / len(v) for late, v in scores.items()}


# ---------------------------------------------------------------------------------------- labels


def test_files_are_labelled_synthetic_and_loadable(reddit: dict[str, Any], news: dict[str, Any]) -> None:
    for part in (reddit, news):
        assert part["synthetic"] is True
        assert "synthetic" in part["note"].lower() and "tools/make_corpus.py" in part["note"]
    readme = (CORPUS_DIR / "README.md").read_text(encoding="utf-8").lower()
    for phrase in ("synthetic", "tools/make_corpus.py", "fictional", "whatnot", "payout", "counterfeit",
                   "shill bidding", "shill-bidding"):
        assert phrase in readme
    corpus = load_corpus()  # the replay server's own loader accepts it
    assert corpus.reddit["posts"] and corpus.news["sites"]


def test_files_are_small(reddit: dict[str, Any]) -> None:
    total = sum((CORPUS_DIR / name).stat().st_size for name in ("reddit.json", "news.json"))
    assert total < 1_000_000


# ---------------------------------------------------------------------------------------- reddit


def test_reddit_counts_and_subreddits(reddit: dict[str, Any]) -> None:
    assert reddit["subreddits"] == ["TikTokShop", "Whatnot", "LiveShopping", "Flipping"]
    posts = reddit["posts"]
    comments = _all_comments(reddit)
    assert 50 <= len(posts) <= 75
    assert len(comments) >= 180
    assert len(posts) + len(comments) >= 150
    per_sub = Counter(p["subreddit"] for p in posts)
    assert set(per_sub) == set(reddit["subreddits"])
    assert min(per_sub.values()) >= 10


def test_reddit_ids_are_unique_base36(reddit: dict[str, Any]) -> None:
    ids = [p["id"] for p in reddit["posts"]] + [c["id"] for c, _ in _all_comments(reddit)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[0-9a-z]{6,7}", i) for i in ids)


def test_reddit_threads_have_the_awkward_shapes(reddit: dict[str, Any]) -> None:
    posts = reddit["posts"]
    comments = _all_comments(reddit)
    assert max(depth for _, depth in comments) >= 4  # replies 3+ deep below a top-level comment
    assert max(len(list(_walk(p["comments"]))) for p in posts) >= 30  # forces "more" stubs
    deleted = [c for c, _ in comments if c["deleted"]]
    assert 2 <= len(deleted) <= 3
    assert all(c["author"] is None for c in deleted)
    assert any(c["replies"] for c in deleted), "a tombstone with live replies under it"
    assert all(c["deleted"] for c, _ in comments if c["author"] is None)  # null author only on tombstones
    removed = [p for p in posts if p["removed"]]
    assert len(removed) == 1 and removed[0]["selftext"] == "[removed]"
    edited = [p for p in posts if p["edited"] is not False]
    assert len(edited) == 1
    assert isinstance(edited[0]["edited"], int) and edited[0]["edited"] > edited[0]["created_utc"]
    assert any(p["link_url"] for p in posts)


def test_reddit_timestamps_are_in_span_and_after_parents(reddit: dict[str, Any]) -> None:
    lo, hi = SPAN_START.timestamp(), SPAN_END.timestamp()

    def check(parent_ts: int, comments: list[dict[str, Any]]) -> None:
        for c in comments:
            assert parent_ts < c["created_utc"] < hi
            check(c["created_utc"], c["replies"])

    for post in reddit["posts"]:
        assert lo <= post["created_utc"] < hi
        check(post["created_utc"], post["comments"])
    days = {datetime.fromtimestamp(p["created_utc"], UTC).date() for p in reddit["posts"]}
    assert days == set(BASE_DAYS + STORY_DAYS)
    hours = {datetime.fromtimestamp(p["created_utc"], UTC).hour for p in reddit["posts"]}
    assert len(hours) >= 12  # spread over the day, not all at midnight


def test_reddit_contains_the_demo_search_queries(reddit: dict[str, Any]) -> None:
    for query in ("TalkShopLive", "livestream shopping"):
        hits = [p for p in reddit["posts"] if query.lower() in f"{p['title']} {p['selftext']}".lower()]
        assert len(hits) >= 2, query


# ------------------------------------------------------------------------------------------ news


def test_news_sites_and_articles(news: dict[str, Any]) -> None:
    sites = {s["slug"]: s for s in news["sites"]}
    assert set(sites) == {"livecommerce-daily", "retail-stream-weekly", "creator-economy-wire"}
    expected = {
        "livecommerce-daily": ("rss", "livecommercedaily.example"),
        "retail-stream-weekly": ("atom", "retailstreamweekly.example"),
        "creator-economy-wire": ("rss", "creatoreconomywire.example"),
    }
    total = 0
    for slug, (fmt, domain) in expected.items():
        site = sites[slug]
        assert (site["feed_format"], site["domain"]) == (fmt, domain)
        assert site["name"]
        articles = site["articles"]
        assert len(articles) >= 9
        assert len({a["slug"] for a in articles}) == len(articles)
        total += len(articles)
        for a in articles:
            assert re.fullmatch(r"[a-z0-9-]+", a["slug"])
            assert a["title"] and a["author"] and a["summary"] and a["tags"]
            published = datetime.fromisoformat(a["published"])
            assert published.utcoffset() is not None and published.utcoffset().total_seconds() == 0
            assert SPAN_START <= published < SPAN_END
            assert 4 <= len(a["paragraphs"]) <= 8
            assert 60 <= sum(len(p.split()) for p in a["paragraphs"]) <= 400
    assert total >= 27
    days = {datetime.fromisoformat(a["published"]).date() for s in news["sites"] for a in s["articles"]}
    assert days == set(BASE_DAYS + STORY_DAYS)


def test_subject_vocabulary_and_surface_forms(reddit: dict[str, Any], news: dict[str, Any]) -> None:
    text = "\n".join(t for _, _, t in _docs(reddit, news))
    for name in ("TikTok Shop", "Douyin", "TalkShopLive", "Whatnot", "Amazon Live", "YouTube Shopping",
                 "Facebook Live", "Instagram Live", "Taobao Live", "Shopee Live", "Lazada", "QVC", "HSN",
                 "ByteDance", "Alibaba", "Amazon", "Meta", "Google", "United States", "the U.S.", "UK",
                 "China", "Southeast Asia", "Indonesia", "Philippines", "Germany"):
        assert name in text, name
    for variant in ("TikTok Shop's", "Whatnot's", "tiktok shop", "whatnot", "TSL"):  # canonicalisation work
        assert re.search(rf"(?<!\w){re.escape(variant)}(?!\w)", text), variant


# ---------------------------------------------------------------------------------------- the story


def test_whatnot_mentions_rise_three_to_four_fold(reddit: dict[str, Any], news: dict[str, Any]) -> None:
    docs = _docs(reddit, news)
    n_docs, n_mentions = _daily(docs, WHATNOT)
    assert 2.8 <= _ratio(n_docs) <= 5.0
    assert 2.8 <= _ratio(n_mentions) <= 5.0
    assert min(n_docs[d] for d in STORY_DAYS) > max(n_docs[d] for d in BASE_DAYS[:-1])
    for source in ("reddit", "news"):  # the story is told on both sides
        assert _ratio(_daily(docs, WHATNOT, source)[0]) >= 2.5, source
    cased_docs, cased_mentions = _daily(docs, WHATNOT_CASED)
    assert 2.8 <= _ratio(cased_docs) <= 5.0
    assert 2.8 <= _ratio(cased_mentions) <= 5.0


def test_whatnot_turns_negative(reddit: dict[str, Any], news: dict[str, Any]) -> None:
    docs = _docs(reddit, news)
    story = [t for _, d, t in docs if d in STORY_DAYS and WHATNOT.search(t)]
    before = [t for _, d, t in docs if d in BASE_DAYS and WHATNOT.search(t)]
    assert sum(bool(NEGATIVE_CUES.search(t)) for t in story) / len(story) >= 0.6
    assert sum(bool(NEGATIVE_CUES.search(t)) for t in before) / len(before) <= 0.15
    for cue in ("payout", "counterfeit"):
        assert sum(cue in t.lower() for t in story) >= 5, cue
    for pattern in (WHATNOT, WHATNOT_CASED):
        sentiment = _sentence_sentiment(docs, pattern)
        assert sentiment[False] > 0.05
        assert sentiment[True] < -0.25


def test_tiktok_shop_steady_and_mildly_positive(reddit: dict[str, Any], news: dict[str, Any]) -> None:
    docs = _docs(reddit, news)
    n_docs, _ = _daily(docs, TIKTOK_SHOP)
    assert 0.6 <= _ratio(n_docs) <= 1.5
    assert all(n_docs[d] >= 1 for d in BASE_DAYS + STORY_DAYS)
    sentiment = _sentence_sentiment(docs, TIKTOK_SHOP)
    assert 0.05 < sentiment[False] < 0.6 and 0.05 < sentiment[True] < 0.6


def test_talkshoplive_rises_mildly_and_stays_positive(reddit: dict[str, Any], news: dict[str, Any]) -> None:
    docs = _docs(reddit, news)
    _, n_mentions = _daily(docs, TALKSHOPLIVE)
    whatnot_ratio = _ratio(_daily(docs, WHATNOT)[1])
    assert 1.2 <= _ratio(n_mentions) < whatnot_ratio  # a weaker, secondary signal
    sentiment = _sentence_sentiment(docs, TALKSHOPLIVE)
    assert sentiment[False] > 0.1 and sentiment[True] > 0.1


# ------------------------------------------------------------------------------- the second story


def test_shill_bidding_rises_from_a_quiet_baseline(reddit: dict[str, Any], news: dict[str, Any]) -> None:
    """Enough documents a day for the topic's volume alert (7-day period, z >= 2 on a floor of 1
    document a day), and a small history so "grew" is a percentage and not a division by zero."""
    docs = [(d, t) for _, d, t in _channel_docs(reddit, news) if SHILL.search(t)]
    per_day = Counter(d for d, _ in docs)
    before = sum(per_day[d] for d in SHILL_BASE_DAYS)
    assert 1 <= before <= 3, per_day
    assert all(per_day[d] >= 3 for d in SHILL_DAYS), per_day
    assert sum(per_day[d] for d in SHILL_DAYS) >= 20, per_day
    last_week = sum(n for d, n in per_day.items() if d >= date(2026, 11, 8))
    week_before = sum(n for d, n in per_day.items() if d < date(2026, 11, 8))
    assert (last_week / 7 - week_before / 7) >= 2.5  # z >= 2.5 with the noise floor of 1 a day


def test_shill_bidding_is_a_theme_not_a_platform_story(reddit: dict[str, Any], news: dict[str, Any]) -> None:
    """Spread over four subreddits and all three sites, and naming platforms so rarely that no
    entity can rise because of it: only a topic query (or its alert) can surface it."""
    story = [(ch, t) for ch, d, t in _channel_docs(reddit, news) if d in SHILL_DAYS and SHILL.search(t)]
    channels = Counter(ch for ch, _ in story)
    assert {c for c in channels if c.startswith("r/")} == {f"r/{s}" for s in reddit["subreddits"]}
    assert {c for c in channels if not c.startswith("r/")} == {s["slug"] for s in news["sites"]}
    assert max(channels.values()) <= 0.4 * len(story), channels
    for pattern in (WHATNOT, TIKTOK_SHOP, TALKSHOPLIVE, EBAY):
        assert sum(bool(pattern.search(t)) for _, t in story) <= 2, pattern.pattern
    # ... and it does not leak into the first story's vocabulary (the other saved topics).
    assert not any(re.search(r"\b(fake|counterfeit|payouts?|breaks?)\b", t, re.IGNORECASE) for _, t in story)


def test_shill_bidding_is_negative(reddit: dict[str, Any], news: dict[str, Any]) -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sia = SentimentIntensityAnalyzer()
    story = [t for _, d, t in _channel_docs(reddit, news) if d in SHILL_DAYS and SHILL.search(t)]
    scores = [sia.polarity_scores(t)["compound"] for t in story]
    assert sum(scores) / len(scores) < -0.2
    assert sum(s < -0.05 for s in scores) >= 0.6 * len(scores)


def test_second_story_only_adds_items(gen: ModuleType, reddit: dict[str, Any], news: dict[str, Any]) -> None:
    """The shill-bidding story is generated after everything else from its own RNG, so every post
    and article of the corpus without it is in the committed files unchanged: the first story's
    figures cannot have moved. The added items are all story items, on Reddit and in the news."""
    before = gen.generate(second_story=False)
    old_posts = {p["id"]: p for p in before["reddit.json"]["posts"]}
    new_posts = {p["id"]: p for p in reddit["posts"]}
    assert all(new_posts.get(pid) == post for pid, post in old_posts.items())
    added = [p for pid, p in new_posts.items() if pid not in old_posts]
    assert added and all(SHILL.search(f"{p['title']} {p['selftext']}") for p in added)
    for old_site, site in zip(before["news.json"]["sites"], news["sites"], strict=True):
        assert {k: v for k, v in old_site.items() if k != "articles"} == \
            {k: v for k, v in site.items() if k != "articles"}
        current = {a["slug"]: a for a in site["articles"]}
        assert all(current.get(a["slug"]) == a for a in old_site["articles"])
        extra = [a for slug, a in current.items() if slug not in {a["slug"] for a in old_site["articles"]}]
        assert len(extra) == 1 and SHILL.search(extra[0]["title"]), site["slug"]


# ---------------------------------------------------------------------------------------- generator


def test_committed_files_equal_generator_output(gen: ModuleType, reddit: dict[str, Any],
                                                news: dict[str, Any]) -> None:
    generated = gen.generate()
    assert generated["reddit.json"] == reddit
    assert generated["news.json"] == news


def test_generator_is_deterministic_and_seed_sensitive(gen: ModuleType) -> None:
    assert gen.generate(7) == gen.generate(7)
    assert gen.generate(7)["reddit.json"] != gen.generate(8)["reddit.json"]


def test_generator_writes_files(gen: ModuleType, tmp_path: Path) -> None:
    paths = gen.write(tmp_path)
    assert sorted(p.name for p in paths) == ["news.json", "reddit.json"]
    assert json.loads((tmp_path / "news.json").read_text(encoding="utf-8")) == gen.generate()["news.json"]
    assert not list(tmp_path.glob("*.tmp"))
