"""Replay news sites: feeds (RSS/Atom, ETag/304), realistic article pages, robots.txt. No sockets."""

from __future__ import annotations

import json
import re

import feedparser

from demo.replay.http import ReplayRequest
from demo.replay.news_sites import make_handler
from extractors.news.article import extract_article

ART = {
    "slug": "s1",
    "title": "Sellers <go> live",
    "author": "Ann Lee",
    "published": "2026-11-03T14:20:00+00:00",
    "summary": "Sum",
    "paragraphs": ["First paragraph about live selling & more.", "Second one."],
    "tags": ["tiktok"],
}
ART2 = {**ART, "slug": "s2", "title": "Second", "published": "2026-11-04T09:00:00+00:00"}
CORPUS = {
    "synthetic": True,
    "sites": [
        {
            "slug": "rss-site",
            "name": "RSS Site",
            "domain": "rss.example",
            "feed_format": "rss",
            "articles": [ART, ART2],
        },
        {
            "slug": "atom-site",
            "name": "Atom Site",
            "domain": "atom.example",
            "feed_format": "atom",
            "articles": [ART],
        },
    ],
}
BASE = "http://127.0.0.1:8765"


def get(path: str, **headers: str):
    return make_handler(CORPUS)(ReplayRequest("GET", path, headers, b"", BASE))


def test_rss_and_atom_feeds_with_absolute_links():
    rss = feedparser.parse(get("/news/rss-site/feed.xml").body)
    assert rss.version == "rss20" and not rss.bozo
    assert [e.title for e in rss.entries] == ["Second", "Sellers <go> live"]
    assert rss.entries[1].link.startswith(BASE + "/news/rss-site/articles/s1.html")
    atom = feedparser.parse(get("/news/atom-site/feed.xml").body)
    assert atom.version == "atom10" and atom.entries[0].link == BASE + "/news/atom-site/articles/s1.html"
    assert atom.entries[0].author == "Ann Lee"


def test_etag_and_304():
    first = get("/news/rss-site/feed.xml")
    etag = first.headers["ETag"]
    assert get("/news/rss-site/feed.xml", **{"If-None-Match": etag}).status == 304
    assert get("/news/rss-site/feed.xml", **{"If-None-Match": '"other"'}).status == 200


def test_article_page_looks_real_and_extracts():
    resp = get("/news/rss-site/articles/s1.html")
    html = resp.body.decode()
    for marker in (
        "<nav",
        "<header",
        'class="byline"',
        "<time datetime=",
        "<aside",
        "Subscribe",
        "<footer",
        'property="og:title"',
        '"NewsArticle"',
    ):
        assert marker in html
    assert '<link rel="canonical" href="https://rss.example/2026/11/03/s1">' in html
    ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html).group(1))
    assert ld["headline"] == "Sellers <go> live" and ld["datePublished"].startswith("2026-11-03")
    assert "articleBody" in ld  # first article has it...
    html2 = get("/news/rss-site/articles/s2.html").body.decode()
    assert '"articleBody"' not in html2  # ...the second does not
    for page in (html, html2):
        art = extract_article(page, BASE + "/x")
        assert art.body == "First paragraph about live selling & more.\n\nSecond one."
        assert art.authors == ["Ann Lee"]


def test_robots_and_unknown_paths():
    assert get("/robots.txt").status == 200 and b"User-agent" in get("/robots.txt").body
    assert get("/news/nope/feed.xml").status == 404
    assert get("/news/rss-site/articles/missing.html").status == 404
    assert get("/api/v1/me") is None  # not ours: the Reddit handler's
