"""Replay news sites: RSS/Atom feeds, article pages and robots.txt from the synthetic corpus.

Why pages look like real news pages (nav, header, byline, related links, newsletter box, footer,
og/JSON-LD metadata): the extractor must be tested against the boilerplate it will meet in the
wild, not against bare ``<p>`` lists. JSON-LD ``articleBody`` is present only on some pages (every
other article), so both extraction paths run in the demo. Feeds carry an ETag and answer
``If-None-Match`` with 304, so conditional GET is exercised end to end.

URL layout (docs/architecture.md): ``/robots.txt``, ``/news/{site}/feed.xml``,
``/news/{site}/articles/{slug}.html``; canonical links point at ``https://{domain}/{yyyy}/{mm}/{dd}/{slug}``.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from demo.replay.http import ReplayRequest, ReplayResponse

ROBOTS_TXT = "User-agent: *\nDisallow: /private/\nAllow: /\n"


def _published(article: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(article["published"]).astimezone(UTC)


def canonical_url(site: dict[str, Any], article: dict[str, Any]) -> str:
    d = _published(article)
    return f"https://{site['domain']}/{d:%Y}/{d:%m}/{d:%d}/{article['slug']}"


def article_url(base_url: str, site: dict[str, Any], article: dict[str, Any]) -> str:
    return f"{base_url}/news/{site['slug']}/articles/{article['slug']}.html"


def _esc(text: Any) -> str:
    return html.escape(str(text or ""), quote=True)


def render_rss(site: dict[str, Any], base_url: str) -> str:
    items = []
    for art in sorted(site.get("articles", []), key=_published, reverse=True):
        link = article_url(base_url, site, art)
        items.append(
            "    <item>\n"
            f"      <title>{_esc(art['title'])}</title>\n"
            f"      <link>{_esc(link)}?utm_source=rss&amp;utm_medium=feed</link>\n"
            f'      <guid isPermaLink="false">{_esc(site["slug"])}-{_esc(art["slug"])}</guid>\n'
            f"      <pubDate>{format_datetime(_published(art))}</pubDate>\n"
            f"      <dc:creator>{_esc(art.get('author'))}</dc:creator>\n"
            f"      <description>{_esc(art.get('summary'))}</description>\n"
            + "".join(f"      <category>{_esc(t)}</category>\n" for t in art.get("tags", []))
            + "    </item>\n"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">\n  <channel>\n'
        f"    <title>{_esc(site['name'])}</title>\n"
        f"    <link>{_esc(base_url)}/news/{_esc(site['slug'])}/</link>\n"
        f"    <description>{_esc(site['name'])} (synthetic replay feed)</description>\n"
        + "".join(items)
        + "  </channel>\n</rss>\n"
    )


def render_atom(site: dict[str, Any], base_url: str) -> str:
    arts = sorted(site.get("articles", []), key=_published, reverse=True)
    updated = _published(arts[0]).isoformat() if arts else "2026-01-01T00:00:00+00:00"
    entries = []
    for art in arts:
        link = article_url(base_url, site, art)
        entries.append(
            "  <entry>\n"
            f"    <title>{_esc(art['title'])}</title>\n"
            f'    <link rel="alternate" href="{_esc(link)}"/>\n'
            f"    <id>tag:{_esc(site['domain'])},2026:{_esc(art['slug'])}</id>\n"
            f"    <published>{_published(art).isoformat()}</published>\n"
            f"    <updated>{_published(art).isoformat()}</updated>\n"
            f"    <author><name>{_esc(art.get('author'))}</name></author>\n"
            f"    <summary>{_esc(art.get('summary'))}</summary>\n"
            "  </entry>\n"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"  <title>{_esc(site['name'])}</title>\n"
        f"  <id>tag:{_esc(site['domain'])},2026:feed</id>\n"
        f"  <updated>{updated}</updated>\n"
        f'  <link rel="self" href="{_esc(base_url)}/news/{_esc(site["slug"])}/feed.xml"/>\n'
        + "".join(entries)
        + "</feed>\n"
    )


def render_article(site: dict[str, Any], article: dict[str, Any], base_url: str, index: int = 0) -> str:
    """A realistic page. ``index`` even -> JSON-LD carries articleBody; odd -> it does not."""
    pub = _published(article)
    canonical = canonical_url(site, article)
    paragraphs = article.get("paragraphs") or []
    ld: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article["title"],
        "datePublished": pub.isoformat(),
        "author": [{"@type": "Person", "name": article.get("author")}] if article.get("author") else [],
        "publisher": {"@type": "Organization", "name": site["name"]},
        "mainEntityOfPage": canonical,
    }
    if index % 2 == 0:
        ld["articleBody"] = "\n\n".join(paragraphs)
    others = [a for a in site.get("articles", []) if a["slug"] != article["slug"]][:4]
    related = "".join(
        f'<li><a href="{_esc(article_url(base_url, site, a))}">{_esc(a["title"])}</a></li>' for a in others
    )
    body = "\n".join(f"        <p>{_esc(p)}</p>" for p in paragraphs)
    tags = "".join(f'<a class="tag" href="/tag/{_esc(t)}">{_esc(t)}</a> ' for t in article.get("tags", []))
    ld_json = json.dumps(ld, ensure_ascii=False).replace("</", "<\\/")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{_esc(article["title"])} | {_esc(site["name"])}</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="description" content="{_esc(article.get("summary"))}">
  <meta name="author" content="{_esc(article.get("author"))}">
  <meta property="og:type" content="article">
  <meta property="og:title" content="{_esc(article["title"])}">
  <meta property="og:site_name" content="{_esc(site["name"])}">
  <meta property="og:url" content="{_esc(canonical)}">
  <meta property="article:published_time" content="{pub.isoformat()}">
  <link rel="canonical" href="{_esc(canonical)}">
  <script type="application/ld+json">{ld_json}</script>
  <script>window.dataLayer = window.dataLayer || []; function track(){{}}</script>
</head>
<body>
  <nav class="site-nav"><a href="/">Home</a> <a href="/news/">News</a> <a href="/retail/">Retail</a>
    <a href="/creators/">Creators</a> <a href="/subscribe/">Subscribe</a></nav>
  <header class="site-header"><a class="logo" href="/">{_esc(site["name"])}</a>
    <p class="tagline">News about live-stream commerce, every weekday.</p></header>
  <main>
    <article class="story">
      <h1 class="headline">{_esc(article["title"])}</h1>
      <div class="byline">By <a rel="author" href="/authors/x">{_esc(article.get("author"))}</a> |
        <time datetime="{pub.isoformat()}">{pub:%B %d, %Y %H:%M} UTC</time></div>
      <div class="share-bar"><a href="#">Share on X</a> <a href="#">Share on Facebook</a>
        <a href="#">Copy link</a></div>
      <div class="article-body">
{body}
      </div>
      <div class="tags">Tags: {tags}</div>
    </article>
    <aside class="related">
      <h2>Related stories</h2>
      <ul>{related}</ul>
    </aside>
    <section class="newsletter-box">
      <h2>Subscribe to our newsletter</h2>
      <p>Get the day's live-commerce news in your inbox every morning. No spam, unsubscribe any time.</p>
      <form><input type="email" placeholder="you@example.com"><button>Subscribe</button></form>
    </section>
  </main>
  <footer class="site-footer"><p>&copy; 2026 {_esc(site["name"])}. Synthetic demo content.</p>
    <a href="/privacy">Privacy</a> <a href="/terms">Terms</a></footer>
</body>
</html>
"""


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def make_handler(news_corpus: dict[str, Any]) -> Callable[[ReplayRequest], ReplayResponse | None]:
    """Route /robots.txt and /news/... for the corpus's sites; anything else is not ours (None)."""
    sites = {s["slug"]: s for s in news_corpus.get("sites", [])}

    def handler(req: ReplayRequest) -> ReplayResponse | None:
        path = req.path
        if path == "/robots.txt":
            return ReplayResponse.text(ROBOTS_TXT, "text/plain; charset=utf-8")
        parts = path.strip("/").split("/")
        if len(parts) < 3 or parts[0] != "news":
            return None
        site = sites.get(parts[1])
        if site is None:
            return ReplayResponse.text("no such site", "text/plain", status=404)
        if parts[2:] == ["feed.xml"]:
            if site.get("feed_format", "rss") == "atom":
                body = render_atom(site, req.base_url).encode("utf-8")
                ctype = "application/atom+xml; charset=utf-8"
            else:
                body = render_rss(site, req.base_url).encode("utf-8")
                ctype = "application/rss+xml; charset=utf-8"
            etag = _etag(body)
            if etag in {t.strip() for t in (req.header("If-None-Match") or "").split(",")}:
                return ReplayResponse(status=304, body=b"", headers={"ETag": etag})
            return ReplayResponse(status=200, body=body, headers={"Content-Type": ctype, "ETag": etag})
        if len(parts) == 4 and parts[2] == "articles" and parts[3].endswith(".html"):
            slug = parts[3][: -len(".html")]
            for i, art in enumerate(site.get("articles", [])):
                if art["slug"] == slug:
                    page = render_article(site, art, req.base_url, i)
                    return ReplayResponse.text(page, "text/html; charset=utf-8")
            return ReplayResponse.text("<html><body><h1>404 Not Found</h1></body></html>", "text/html", 404)
        return ReplayResponse.text("not found", "text/plain", status=404)

    return handler
