"""Feed parsing: DTD/entity refusal (billion laughs, XXE), malformed feeds, RSS and Atom dates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from extractors.news.feeds import FeedRefused, parse_feed

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>&lol9;</title><link>https://example.com/a</link></item></channel></rss>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>x</title>
<item><title>&xxe;</title><link>https://example.com/a</link><description>&xxe;</description></item>
</channel></rss>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE, XXE.replace(b"</rss>", b"")])  # also when malformed
def test_dtd_and_entities_refused_before_parsing(body):
    with pytest.raises(FeedRefused) as info:
        parse_feed(body, "https://example.com/feed")
    assert "DTD" in str(info.value)
    assert "root:" not in str(info.value) and "lollol" not in str(info.value)


def test_rss_entries_with_dates_and_relative_links():
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
    <item><title>One</title><link>/2026/11/09/one?utm_source=x</link><guid>g1</guid>
      <pubDate>Mon, 09 Nov 2026 10:00:00 EST</pubDate><author>a@b.c (Ann)</author></item>
    <item><title>No date</title><link>https://example.com/two</link></item>
    <item><title>No link</title></item>
    </channel></rss>"""
    feed = parse_feed(body, "https://example.com/feed.xml")
    assert [e.link for e in feed.entries] == [
        "https://example.com/2026/11/09/one?utm_source=x",
        "https://example.com/two",
    ]
    assert feed.entries[0].published == datetime(2026, 11, 9, 15, tzinfo=UTC)
    assert feed.entries[1].published is None
    assert any("without an http(s) link" in w for w in feed.warnings)


def test_malformed_feed_keeps_trustworthy_entries_with_warning():
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
    <item><title>Good & bad</title><link>https://example.com/good</link>
      <pubDate>2026-11-09T10:00:00Z</pubDate></item>
    <item><title>Second</title><link>https://example.com/second</link></item>
    </channel>"""  # unescaped & and missing </rss>: bozo
    feed = parse_feed(body, "https://example.com/feed.xml")
    assert [e.link for e in feed.entries] == ["https://example.com/good", "https://example.com/second"]
    assert feed.warnings and feed.warnings[0].startswith("malformed feed")


def test_atom_feed():
    body = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
    <title>A</title><id>x</id><updated>2026-11-09T00:00:00Z</updated>
    <entry><title>E</title><link rel="alternate" href="https://example.com/e"/><id>tag:e</id>
      <updated>2026-11-08T23:00:00-05:00</updated><author><name>Bo</name></author></entry></feed>"""
    feed = parse_feed(body, "https://example.com/feed.xml")
    (entry,) = feed.entries
    assert entry.published == datetime(2026, 11, 9, 4, tzinfo=UTC)
    assert entry.authors == ["Bo"] and entry.guid == "tag:e"


@pytest.mark.parametrize("body", [b"", b"<html><body>not a feed</body></html>", b"\x00\xff garbage"])
def test_not_a_feed_is_refused_clearly(body):
    with pytest.raises(FeedRefused, match="not an RSS/Atom feed"):
        parse_feed(body, "https://example.com/feed.xml")
