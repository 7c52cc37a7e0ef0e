"""End-to-end news extraction through a ReplayServer on 127.0.0.1 (port 0), inline corpus."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest

from common.config import Feed, NewsSettings, Settings
from common.context import RunContext
from common.jsonl import read_jsonl
from demo.replay import news_sites
from demo.replay.http import ReplayRequest, ReplayResponse
from demo.replay.server import ReplayServer
from extractors.news import extract, extract_from_raw
from extractors.news.urls import news_doc_id

NIGHT = date(2026, 11, 10)  # window with backfill_days=3: [2026-11-08, 2026-11-11)
PARAS = [
    "TikTok Shop sellers reported a strong weekend as live sessions drew record audiences, "
    "according to three agencies that manage creator storefronts.",
    "Whatnot said its collectibles category grew, while smaller platforms struggled to keep "
    "viewers past the first ten minutes of a stream.",
    "Analysts expect the holiday season to test whether live shopping can hold attention "
    "without steep discounts.",
]
CORPUS = {
    "synthetic": True,
    "sites": [
        {
            "slug": "lcd",
            "name": "Live Commerce Daily",
            "domain": "livecommercedaily.example",
            "feed_format": "rss",
            "articles": [
                {
                    "slug": "record-weekend",
                    "title": "Record weekend for live sellers",
                    "author": "Ana Ruiz",
                    "published": "2026-11-09T14:20:00+00:00",
                    "summary": "s",
                    "paragraphs": PARAS,
                    "tags": ["tiktok"],
                },
                {
                    "slug": "holiday-test",
                    "title": "Holiday test for live shopping",
                    "author": "Bo Chen",
                    "published": "2026-11-10T08:00:00+00:00",
                    "summary": "s",
                    "paragraphs": [p.replace("weekend", "week") for p in PARAS],
                    "tags": [],
                },
                {
                    "slug": "old-news",
                    "title": "Old news",
                    "author": "Old Hand",
                    "published": "2026-10-01T08:00:00+00:00",
                    "summary": "s",
                    "paragraphs": ["Old " + p for p in PARAS],
                    "tags": [],
                },
            ],
        },
        {
            "slug": "csw",
            "name": "Creator Stream Wire",
            "domain": "www.creatorstreamwire.example",
            "feed_format": "atom",
            "articles": [
                {
                    "slug": "whatnot-grows",
                    "title": "Whatnot grows collectibles",
                    "author": "Cy Doe",
                    "published": "2026-11-08T23:59:00-05:00",
                    "summary": "s",
                    "paragraphs": ["Atom " + p for p in PARAS],
                    "tags": [],
                },
            ],
        },
    ],
}


def _rss(base: str, links: list[tuple[str, str | None]]) -> bytes:
    items = "".join(
        f"<item><title>{path}</title><link>{base}{path}</link>"
        + (f"<pubDate>{pub}</pubDate>" if pub else "")
        + "</item>"
        for path, pub in links
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>bad</title>{items}</channel></rss>'.encode()
    )


IN_WINDOW = format_datetime(datetime(2026, 11, 9, 12, tzinfo=UTC))
BAD_PATHS = [
    "/bad/404.html",
    "/bad/410.html",
    "/bad/500.html",
    "/bad/loop.html",
    "/bad/big.html",
    "/bad/to-private.html",
    "/bad/to-ftp.html",
    "/private/secret.html",
    "/bad/js-only.html",
    "/bad/undated.html",
]


def bad_handler(req: ReplayRequest) -> ReplayResponse | None:
    path = req.path
    if path == "/bad/feed.xml":
        return ReplayResponse(
            200,
            _rss(req.base_url, [(p, IN_WINDOW if p != "/bad/undated.html" else None) for p in BAD_PATHS]),
            {"Content-Type": "application/rss+xml"},
        )
    if path == "/bad/404.html":
        return ReplayResponse.text("gone", "text/html", 404)
    if path == "/bad/410.html":
        return ReplayResponse.text("gone", "text/html", 410)
    if path == "/bad/500.html":
        return ReplayResponse.text("oops", "text/html", 503)
    if path == "/bad/loop.html":
        return ReplayResponse(302, b"", {"Location": "/bad/loop2.html"})
    if path == "/bad/loop2.html":
        return ReplayResponse(302, b"", {"Location": "/bad/loop.html"})
    if path == "/bad/big.html":
        return ReplayResponse.text("<html><body>" + "<p>x</p>" * 100_000 + "</body></html>", "text/html")
    if path == "/bad/to-private.html":
        return ReplayResponse(301, b"", {"Location": "http://10.1.2.3/admin"})
    if path == "/bad/to-ftp.html":
        return ReplayResponse(301, b"", {"Location": "ftp://example.com/file"})
    if path == "/bad/js-only.html":
        return ReplayResponse.text(
            '<html><head><title>App</title></head><body><div id="root"></div>'
            "<script>render()</script></body></html>",
            "text/html",
        )
    if path == "/bad/undated.html":  # feed has no date; the page says 2026-11-09, inside the window
        return ReplayResponse.text(
            '<html><head><meta property="article:published_time" content="2026-11-09T10:00:00Z">'
            "<title>Undated entry</title></head><body><article>"
            + "".join(f"<p>Undated {p}</p>" for p in PARAS)
            + "</article></body></html>",
            "text/html",
        )
    if path == "/broken/feed.xml":
        return ReplayResponse(
            200,
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><rss>&a;</rss>',
            {"Content-Type": "application/rss+xml"},
        )
    return None


@pytest.fixture(scope="module")
def server():
    with ReplayServer([bad_handler, news_sites.make_handler(CORPUS)]) as srv:
        yield srv


def make_ctx(
    tmp_path: Path,
    base: str,
    feeds: list[str],
    allow: tuple[str, ...] = ("127.0.0.1",),
    max_bytes: int = 200_000,
) -> RunContext:
    news = NewsSettings(
        feeds=tuple(Feed(name=f, url=base + f) for f in feeds),
        per_host_delay_s=0.0,
        allow_private_hosts=allow,
        max_bytes=max_bytes,
        connect_timeout_s=2,
        read_timeout_s=5,
    )
    settings = Settings(data_dir=tmp_path, news=news, backfill_days=3)
    return RunContext.for_night(settings, NIGHT, run_id="scheduled__test")


def _docs(ctx: RunContext) -> list[dict]:
    return list(read_jsonl(ctx.work_dir / "news.documents.jsonl"))


def test_documents_from_rss_and_atom_with_window(tmp_path, server):
    ctx = make_ctx(tmp_path, server.base_url, ["/news/lcd/feed.xml", "/news/csw/feed.xml"])
    run = extract(ctx)
    assert run.status == "ok", run.errors
    docs = {d["canonical_url"]: d for d in _docs(ctx)}
    assert set(docs) == {
        "https://livecommercedaily.example/2026/11/09/record-weekend",
        "https://livecommercedaily.example/2026/11/10/holiday-test",
        "https://www.creatorstreamwire.example/2026/11/09/whatnot-grows",  # 23:59 -05:00 is 11-09 UTC
    }
    d = docs["https://livecommercedaily.example/2026/11/09/record-weekend"]
    assert d["doc_id"] == news_doc_id(d["canonical_url"])
    assert d["source"] == "news" and d["kind"] == "article"
    assert d["channel"] == "livecommercedaily.example"
    assert d["title"] == "Record weekend for live sellers"
    assert d["author"] == "Ana Ruiz"
    assert d["published_at"] == "2026-11-09T14:20:00+00:00"
    assert d["logical_date"] == "2026-11-10" and d["run_id"] == "scheduled__test"
    assert d["body"].split("\n\n") == PARAS  # no nav, share bar, related, newsletter or footer text
    assert "utm_source" in d["url"]
    assert docs["https://livecommercedaily.example/2026/11/10/holiday-test"]["body"].startswith("TikTok Shop")
    atom = docs["https://www.creatorstreamwire.example/2026/11/09/whatnot-grows"]
    assert atom["channel"] == "creatorstreamwire.example" and atom["author"] == "Cy Doe"
    assert run.n_documents == 3 and run.n_requests >= 5
    saved = json.loads((ctx.work_dir / "news.source_run.json").read_text())
    assert saved["status"] == "ok" and saved["n_documents"] == 3
    # Raw landing holds every exchange, byte for byte.
    with gzip.open(tmp_path / run.raw_path, "rt") as fh:
        kinds = [json.loads(line)["kind"] for line in fh]
    assert kinds.count("feed") == 2 and kinds.count("article") == 3
    assert d["raw_ref"].startswith(run.raw_path + ":")


def test_rerun_same_night_same_docs_and_feed_costs_one_304(tmp_path, server):
    ctx = make_ctx(tmp_path, server.base_url, ["/news/lcd/feed.xml"])
    first = extract(ctx)
    ids = sorted(d["doc_id"] for d in _docs(ctx))
    n_before = len(server.requests)
    second = extract(ctx)
    assert second.status == "ok", second.errors
    assert sorted(d["doc_id"] for d in _docs(ctx)) == ids and first.n_documents == 2
    feed_requests = [r for r in server.requests[n_before:] if r.path == "/news/lcd/feed.xml"]
    assert len(feed_requests) == 1 and feed_requests[0].header("If-None-Match")
    assert feed_requests[0].header("User-Agent").startswith("liveshop-pulse/")
    # A later night does not collect the same articles again.
    later = RunContext.for_night(ctx.settings, date(2026, 11, 11), run_id="later")
    third = extract(later)
    assert third.n_documents == 0 and "2 seen on earlier nights" in third.message
    assert _docs(later) == []
    # ...while re-running the first night still yields its own documents.
    extract(ctx)
    assert sorted(d["doc_id"] for d in _docs(ctx)) == ids


def test_refusals_and_failures_recorded_with_reasons(tmp_path, server):
    ctx = make_ctx(tmp_path, server.base_url, ["/bad/feed.xml", "/broken/feed.xml"], max_bytes=200_000)
    run = extract(ctx)
    assert run.status == "partial"
    reasons = {e.url.replace(server.base_url, ""): (e.stage, e.reason, e.status_code) for e in run.errors}
    assert reasons["/bad/404.html"] == ("fetch", "HTTP 404", 404)
    assert reasons["/bad/410.html"] == ("fetch", "HTTP 410", 410)
    assert reasons["/bad/500.html"] == ("fetch", "HTTP 503", 503)
    assert reasons["/bad/loop.html"][0] == "redirect" and "loop" in reasons["/bad/loop.html"][1]
    assert reasons["/bad/big.html"][0] == "size"
    assert (
        reasons["/bad/to-private.html"][0] == "refused" and "10.1.2.3" in reasons["/bad/to-private.html"][1]
    )
    assert reasons["/bad/to-ftp.html"][0] == "refused" and "ftp" in reasons["/bad/to-ftp.html"][1]
    assert reasons["/private/secret.html"] == ("robots", "disallowed by robots.txt", None)
    assert reasons["/bad/js-only.html"][0] == "parse"
    assert reasons["/broken/feed.xml"][0] == "feed" and "DTD" in reasons["/broken/feed.xml"][1]
    assert not any(r.path == "/private/secret.html" for r in server.requests)
    docs = _docs(ctx)
    assert [d["title"] for d in docs] == ["Undated entry"]
    assert docs[0]["published_at"] == "2026-11-09T10:00:00+00:00"


def test_private_host_refused_without_allowance(tmp_path, server):
    ctx = make_ctx(tmp_path, server.base_url, ["/news/lcd/feed.xml"], allow=())
    run = extract(ctx)
    assert run.status == "failed" and run.n_documents == 0
    (err,) = run.errors
    assert err.stage == "refused" and "127.0.0.1" in err.reason and "allow_private_hosts" in err.reason


def test_no_network_fails_each_feed_with_one_line_reason(tmp_path):
    ctx = make_ctx(tmp_path, "http://127.0.0.1:9", ["/a.xml", "/b.xml"])  # port 9: nothing listens
    run = extract(ctx)
    assert run.status == "failed" and len(run.errors) == 2
    # robots.txt unreachable -> site treated as disallowed: one clear line per feed.
    assert all("\n" not in e.reason and e.reason for e in run.errors)
    assert all("Connection refused" in e.reason and e.stage == "robots" for e in run.errors)


def test_extract_from_raw_equals_live(tmp_path, server):
    ctx = make_ctx(tmp_path, server.base_url, ["/news/lcd/feed.xml", "/news/csw/feed.xml", "/bad/feed.xml"])
    extract(ctx)
    live = _docs(ctx)
    run = extract_from_raw(ctx)
    again = _docs(ctx)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "fetched_at"} for r in rows]  # noqa: E731
    assert strip(again) == strip(live)
    assert [r["fetched_at"] for r in again] == [r["fetched_at"] for r in live]
    assert run.n_documents == len(live) == 4


def dup_handler(req: ReplayRequest) -> ReplayResponse | None:
    """A mirror site republishing LCD's 'record-weekend' article under a new URL, GUID and canonical."""
    mirror = {**CORPUS["sites"][0], "slug": "mirror", "domain": "mirror.example"}
    art = CORPUS["sites"][0]["articles"][0]
    if req.path == "/dup/feed.xml":
        return ReplayResponse(
            200,
            _rss(req.base_url, [("/dup/copy.html", IN_WINDOW), ("/dup/copy2.html", IN_WINDOW)]),
            {"Content-Type": "application/rss+xml"},
        )
    if req.path in ("/dup/copy.html", "/dup/copy2.html"):
        site = mirror if req.path == "/dup/copy.html" else {**mirror, "domain": "mirror2.example"}
        return ReplayResponse.text(news_sites.render_article(site, art, req.base_url, 1), "text/html")
    return None


def test_republished_content_is_one_document(tmp_path):
    with ReplayServer([dup_handler, news_sites.make_handler(CORPUS)]) as srv:
        # Same night: two mirrors of one article (different canonical URLs) -> one document.
        ctx = make_ctx(tmp_path / "a", srv.base_url, ["/dup/feed.xml"])
        run = extract(ctx)
        assert run.n_documents == 1 and "1 duplicates dropped" in run.message
        # Across nights: collected from LCD on 11-10, then republished by a mirror on 11-11 -> dropped.
        first = make_ctx(tmp_path / "b", srv.base_url, ["/news/lcd/feed.xml"])
        extract(first)
        later = RunContext.for_night(
            make_ctx(tmp_path / "b", srv.base_url, ["/dup/feed.xml"]).settings,
            date(2026, 11, 11),
            run_id="n2",
        )
        assert extract(later).n_documents == 0
        assert _docs(later) == []


def test_failed_run_keeps_landed_raw(tmp_path, server):
    ctx = make_ctx(tmp_path, server.base_url, ["/bad/feed.xml"])
    run = extract(ctx)
    with gzip.open(tmp_path / run.raw_path, "rt") as fh:
        statuses = sorted(json.loads(line)["status"] for line in fh)
    # The feed, the JS-only and undated pages, and the 404/410/503 bodies are all landed as received;
    # refused or aborted fetches (robots, private, ftp, loop, oversize) have no exchange to land.
    assert statuses == [200, 200, 200, 404, 410, 503]
    assert run.status == "partial" and run.n_documents == 1


# ------------------------------------------------------------- dates of undated pages (synthetic)
def _record(entry_published: str | None, page_head: str = "", fetched_at: str = "2026-11-11T02:30:00+00:00"):
    """A landed article exchange as extract() writes it; the page is synthetic."""
    import base64

    html = (
        f"<html><head><title>Undated story</title>{page_head}</head><body><article>"
        + "".join(f"<p>{p}</p>" for p in PARAS)
        + "</article></body></html>"
    )
    return {
        "url": "https://undated.example/story",
        "status": 200,
        "content_type": "text/html; charset=utf-8",
        "kind": "article",
        "feed_url": "https://undated.example/feed.xml",
        "entry": {"link": "https://undated.example/story", "title": "Undated", "published": entry_published},
        "fetched_at": fetched_at,
        "body_b64": base64.b64encode(html.encode()).decode("ascii"),
    }


def _night_ctx(tmp_path: Path) -> RunContext:
    return RunContext.for_night(Settings(data_dir=tmp_path, backfill_days=3), NIGHT, run_id="scheduled__t")


def test_undated_page_takes_its_feed_entry_date_not_the_fetch_time(tmp_path):
    from extractors.news.extract import _build

    out = _build(_night_ctx(tmp_path), _record("2026-11-09T08:00:00+00:00"), "raw:1")
    assert out.doc is not None
    assert out.doc.published_at == "2026-11-09T08:00:00+00:00"
    assert out.doc.extra["published_from"] == "feed"


def test_no_date_anywhere_is_first_seen_inside_the_window_never_the_fetch_time(tmp_path):
    from extractors.news.extract import _build

    ctx = _night_ctx(tmp_path)
    out = _build(ctx, _record(None), "raw:1")  # fetched after the window closed
    assert out.doc is not None
    assert out.doc.published_at == "2026-11-10T23:59:59+00:00"
    assert out.doc.published_at != out.doc.fetched_at
    assert out.doc.extra["published_from"] == "first_seen"
    during = _build(ctx, _record(None, fetched_at="2026-11-10T18:00:00+00:00"), "raw:1")
    assert during.doc is not None and during.doc.published_at == "2026-11-10T18:00:00+00:00"


def test_page_date_used_when_feed_undated_and_left_to_the_window_gate(tmp_path):
    """A page dated outside the window is built with its page date, not skipped: the extract's
    window gate (common.outcomes) then sets it aside with a per-document outcome."""
    from extractors.news.extract import _build

    ctx = _night_ctx(tmp_path)
    dated = '<meta property="article:published_time" content="2026-11-09T10:00:00Z">'
    out = _build(ctx, _record(None, dated), "raw:1")
    assert out.doc is not None and out.doc.published_at == "2026-11-09T10:00:00+00:00"
    assert out.doc.extra["published_from"] == "page"
    old = '<meta property="article:published_time" content="2026-01-01T10:00:00Z">'
    late = _build(ctx, _record(None, old), "raw:1")
    assert late.doc is not None and late.doc.published_at == "2026-01-01T10:00:00+00:00"
    from common.outcomes import window_reason

    assert "long before the night's window" in window_reason(late.doc.published_at, ctx)
