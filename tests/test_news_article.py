"""extract_article on small hand-written pages (never copies of ../shared)."""

from __future__ import annotations

import gzip
import io
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extractors.news import article, cli
from extractors.news.article import decode_html, extract_article

BODY = [
    "Live shopping sales rose sharply this quarter, according to figures released on Tuesday by "
    "three of the largest platforms operating in the United States.",
    "The growth came mostly from collectibles and beauty, two categories where sellers can show a "
    "product in detail and answer questions while the stream is running.",
    "Smaller marketplaces said they would add live features next year, though several warned that "
    "audience attention remains the scarcest resource of all.",
]


def page(
    *,
    ld_body: bool = False,
    head_extra: str = "",
    charset_meta: str = "utf-8",
    lang: str = "en",
    body_html: str | None = None,
) -> str:
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": "Live sales surge",
        "datePublished": "2026-11-09T10:00:00-05:00",
        "author": [{"@type": "Person", "name": "Ann Lee"}, {"@type": "Person", "name": "Bo Park"}],
    }
    if ld_body:
        ld["articleBody"] = "\n\n".join(BODY)
    paragraphs = body_html if body_html is not None else "".join(f"<p>{p}</p>" for p in BODY)
    return f"""<!doctype html><html lang="{lang}"><head><meta charset="{charset_meta}">
<title>Live sales surge | The Daily Example</title>
<link rel="canonical" href="/2026/11/09/live-sales-surge?utm_source=twitter">
<script type="application/ld+json">{json.dumps(ld)}</script>{head_extra}</head>
<body><nav class="menu"><a href="/">Home</a><a href="/biz">Business</a></nav>
<header><h1>The Daily Example</h1></header>
<div class="share-tools"><a href="#">Share</a><a href="#">Tweet</a></div>
<article><h1>Live sales surge</h1><div class="byline">By Ann Lee and Bo Park</div>
<div class="story-body">{paragraphs}</div></article>
<aside class="related"><h3>Related</h3><ul><li><a href="/a">Another story about shops</a></li></ul></aside>
<div class="newsletter-signup"><p>Subscribe to our newsletter for a daily briefing on commerce.</p></div>
<footer><p>Copyright 2026 The Daily Example. All rights reserved.</p></footer></body></html>"""


def test_fields_from_structure_and_jsonld():
    art = extract_article(page(), "https://daily.example/story?id=1")
    assert art.title == "Live sales surge"
    assert art.body == "\n\n".join(BODY)
    assert art.published == datetime(2026, 11, 9, 15, tzinfo=UTC)
    assert art.authors == ["Ann Lee", "Bo Park"]
    assert art.language == "en"
    assert art.canonical_url == "https://daily.example/2026/11/09/live-sales-surge?utm_source=twitter"


def test_jsonld_article_body_is_not_a_body_candidate():
    """It earned nothing on the tune half (only teasers), so the visible body is what counts."""
    other = "A different first paragraph in the page itself, long enough."
    visible = f"<p>{other}</p>" + "".join(f"<p>{p}</p>" for p in BODY[1:])
    art = extract_article(page(ld_body=True, body_html=visible))
    assert art.body is not None and other in art.body and BODY[0] not in art.body
    teaser_ld = page(ld_body=False).replace('"headline"', '"articleBody": "Short teaser.", "headline"')
    assert extract_article(teaser_ld).body == "\n\n".join(BODY)


def test_dates_from_meta_time_and_url_fallbacks():
    html = page().replace('"datePublished": "2026-11-09T10:00:00-05:00", ', "")
    meta = html.replace(
        "</head>", '<meta property="article:published_time" content="Mon, 09 Nov 2026 08:00 EST"></head>'
    )
    assert extract_article(meta).published == datetime(2026, 11, 9, 13, tzinfo=UTC)
    timed = html.replace(
        '<div class="byline">', '<div><time datetime="2026-11-08">Nov 8</time></div><div class="byline">'
    )
    assert extract_article(timed).published == datetime(2026, 11, 8, tzinfo=UTC)
    assert extract_article(html, "https://daily.example/x").published == datetime(
        2026, 11, 9, tzinfo=UTC
    )  # canonical URL


def test_non_utf8_page_with_meta_charset_and_no_header():
    text = page(charset_meta="windows-1252").replace(
        "rose sharply", "rose sharply \u2014 caf\u00e9 style \u2014"
    )
    art = extract_article(text.encode("cp1252"))
    assert "caf\u00e9 style \u2014" in art.body
    latin = page(charset_meta="iso-8859-1").replace("rose", "r\u00f6se").encode("latin-1")
    assert "r\u00f6se" in extract_article(latin, content_type="text/html").body
    # A header charset wins over the meta tag.
    assert decode_html("\u00e9".encode("utf-8"), "text/html; charset=utf-8") == "\u00e9"


def test_javascript_only_and_garbage_pages_do_not_crash():
    js = "<html><head><title>App</title></head><body><div id=app></div><script>boot()</script></body></html>"
    art = extract_article(js)
    assert art.body is None and art.title == "App"
    for junk in (b"", b"\x00\x01\x02", b"<<<>>>", "<html>" * 1000, b"\xff\xfe\x00<\x00p\x00>"):
        result = extract_article(junk)
        assert result.published is None or result.published.tzinfo is not None


def test_large_page_is_handled():
    big = page(body_html="".join(f"<p>{BODY[i % 3]} Paragraph {i}.</p>" for i in range(30_000)))
    assert len(big) > 5_000_000
    art = extract_article(big.encode())
    assert art.body and art.body.count("\n\n") >= 29_000


def test_cli_prints_jsonl_for_html_and_gz(tmp_path):
    plain = tmp_path / "a.html"
    plain.write_text(page(), encoding="utf-8")
    packed = tmp_path / "b.html.gz"
    packed.write_bytes(gzip.compress(page(ld_body=True).encode()))
    out = io.StringIO()
    assert cli.run([plain, packed, tmp_path / "missing.html"], out) == 1
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert set(rows[0]) == {"path", "title", "body", "published", "authors", "language", "canonical_url"}
    assert rows[0]["published"] == "2026-11-09T15:00:00+00:00" and rows[1]["title"] == "Live sales surge"
    assert "error" in rows[2]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "<p>",
                "</p>",
                "<div class='share'>",
                "</div>",
                "<script>",
                "<!--",
                "-->",
                '<script type="application/ld+json">{"@type": "NewsArticle", "author": ',
                "text, words",
                "\u00e9",
                "<time datetime='2016/6/29'>",
                "<br>",
                "&amp;",
                "\x00",
            ]
        ),
        max_size=40,
    )
)
def test_arbitrary_markup_never_crashes(pieces):
    art = extract_article("".join(pieces).encode("utf-8"))
    assert art.published is None or art.published.tzinfo is not None
    assert isinstance(art.authors, list)


# ------------------------------------------------- trafilatura first, scorer fallback (synthetic pages)
LONG_BODY = " ".join(["Trafilatura found this whole story including the second part."] * 8)


def _must_not_run(*args, **kwargs):
    pytest.fail("this must not run here")


def _split_page() -> str:
    """Synthetic: half of the story sits outside the container the scorer picks."""
    first = "".join(f"<p>{p}</p>" for p in BODY)
    rest = "".join(f"<p>Second part: {p}</p>" for p in BODY[:2])
    return page(body_html=first).replace("</article>", f"</article><section>{rest}</section>")


def test_trafilatura_body_wins_when_it_found_one(monkeypatch):
    calls = []

    def fake(text, url):
        calls.append(url)
        return LONG_BODY

    monkeypatch.setattr(article, "_trafilatura_body", fake)
    monkeypatch.setattr(article, "_scorer_body", _must_not_run)
    art = extract_article(page(), "https://daily.example/s")
    assert calls == ["https://daily.example/s"] and art.body == LONG_BODY


@pytest.mark.parametrize("answer", ["", "Too short.", "Only nine words here, which is far too few."])
def test_scorer_decides_when_trafilatura_finds_no_body(monkeypatch, answer):
    monkeypatch.setattr(article, "_trafilatura_body", lambda text, url: answer)
    assert extract_article(page()).body == "\n\n".join(BODY)


def test_trafilatura_failure_is_no_body_not_a_crash(monkeypatch):
    import trafilatura

    def boom(*args, **kwargs):
        raise RuntimeError("library bug")

    monkeypatch.setattr(trafilatura, "extract", boom)
    assert article._trafilatura_body(page(), None) == ""
    assert extract_article(page()).body == "\n\n".join(BODY)


def test_huge_page_skips_trafilatura(monkeypatch):
    monkeypatch.setattr(article, "_MAX_SECOND_CHARS", 100)
    monkeypatch.setattr(article, "_trafilatura_body", _must_not_run)
    assert extract_article(page()).body == "\n\n".join(BODY)


def test_a_first_paragraph_repeating_the_title_is_dropped():
    assert article._without_title("Live Sales: Surge!\n\nThe story.", "Live sales surge") == "The story."
    assert article._without_title("Live sales surge", "Live sales surge") == "Live sales surge"  # all of it
    assert article._without_title("Other first line\n\nThe story.", "Live sales surge").startswith("Other")
    assert article._without_title("The story.", None) == "The story."
    emoji = "\U0001f449 \U0001f449\n\nThe story goes on here."
    assert article._without_title(emoji, "\U0001f525\U0001f525") == emoji  # no words: nothing to compare


def test_found_needs_fifty_words():
    assert article._found(" ".join(["word"] * 50)) and not article._found(" ".join(["word"] * 49))


def test_real_trafilatura_on_a_split_page():
    """Synthetic page, real trafilatura: the body is never empty and keeps the main story."""
    art = extract_article(_split_page(), "https://daily.example/s")
    assert art.body and BODY[0][:60] in art.body


# ----------------------------------------------------------------------------- bylines, language
def _no_author_page(byline_html: str) -> str:
    html = page(body_html="".join(f"<p>{p}</p>" for p in BODY))
    html = html.replace(
        ', "author": [{"@type": "Person", "name": "Ann Lee"}, {"@type": "Person", "name": "Bo Park"}]', ""
    )
    return html.replace('<div class="byline">By Ann Lee and Bo Park</div>', byline_html)


def test_visible_byline_becomes_authors_when_jsonld_has_none():
    art = extract_article(_no_author_page('<div class="byline">By Jane Doe | Updated 3 hours ago</div>'))
    assert art.authors == ["Jane Doe"]
    two = extract_article(_no_author_page('<p class="article-byline">By Jane Doe and John Roe, 9 Nov</p>'))
    assert two.authors == ["Jane Doe", "John Roe"]


def test_rel_author_and_itemprop_author():
    rel = extract_article(_no_author_page('<span>By <a rel="author" href="/staff/jd">Jane Doe</a></span>'))
    assert rel.authors == ["Jane Doe"]
    item = _no_author_page(
        '<span itemprop="author" itemscope><span itemprop="name">Kim Ode</span> Staff Writer</span>'
    )
    assert extract_article(item).authors == ["Kim Ode"]


def test_byline_roles_are_not_authors_and_structured_authors_win():
    assert extract_article(_no_author_page('<div class="byline">By Staff Writer</div>')).authors == []
    assert extract_article(_no_author_page('<div class="byline">Home</div>')).authors == []
    meta = _no_author_page('<div class="byline">By Jane Doe</div>').replace(
        "</head>", '<meta name="author" content="Meta Person"></head>'
    )
    assert extract_article(meta).authors == ["Meta Person"]
    assert extract_article(page()).authors == ["Ann Lee", "Bo Park"]  # JSON-LD first


def test_language_none_without_lang_attribute():
    """No detection in the extractor: extractors must not import transforms; enrich detects it."""
    html = page().replace(' lang="en"', "")
    assert extract_article(html).language is None
    assert extract_article(page(lang="de-DE")).language == "de"
