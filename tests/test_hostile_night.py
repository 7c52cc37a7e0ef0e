"""Issue 12: a whole night against a local server serving hostile inputs among good ones.

Through the project's runner (`pulse run`'s code path): PRAW talks to a replay of Reddit's API, the
news extractor to a replay news site, spaCy enriches, GX validates, DuckDB loads. Among the good
items the server serves: a Reddit post whose title holds control characters, a lone surrogate
and bidi overrides; a 2,000,000-character selftext; a 1,100,000-character article; a post dated
in 2099; a post whose enrichment raises; a page answering 503 once (Retry-After: 1); a page that
is gone (404); a page that stalls past the read timeout; a page with invalid UTF-8 and control
characters in its title.

The night must load, every good document must land (clean), and each bad input must have exactly
one recorded outcome: an ops.errors row, a quarantine.documents row, or the cap recorded on the
document itself.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import pytest
from spacy.language import Language

from common.config import load_settings
from common.context import RunContext
from demo.replay import news_sites, reddit_api
from demo.replay.http import ReplayRequest, ReplayResponse
from demo.replay.server import ReplayServer
from pipeline.runner import run_all
from transforms.enrich import Enricher

NIGHT = date(2026, 11, 14)
IN_WINDOW = datetime(2026, 11, 14, 9, 0, tzinfo=UTC)
HOSTILE = "Flash\x00 sale\x1b[0m \u202eTikTok Shop\u202c deal \u2066x\u2069 \ud800 live\x85 now"
TRAP = "TRAP-7731"  # the enrichment of any text holding this raises (stands for an NLP crash)
SENTENCE = "Whatnot sellers said the TikTok Shop live auction went well and buyers came back. "
PARAS = ["TikTok Shop sellers told reporters that live shopping sessions lifted holiday sales this week.",
         "Whatnot hosts said buyers stayed longer in live auctions, and several brands plan more shows."]
UNSAFE = r"[\x00-\x08\x0b-\x1f\x7f-\x9f\x{202a}-\x{202e}\x{2066}-\x{2069}]"


@Language.component("test_hostile_night_trap")
def _trap(doc):
    if TRAP in doc.text:
        raise RuntimeError("simulated NLP crash on one document")
    return doc


def _post(pid: str, title: str, selftext: str, created: datetime, comments: int = 1) -> dict[str, Any]:
    return {"id": pid, "subreddit": "TikTokShop", "title": title, "selftext": selftext, "author": f"u_{pid}",
            "created_utc": created.timestamp(), "score": 3, "edited": False, "removed": False,
            "link_url": None,
            "comments": [{"id": f"{pid}c{i}", "author": "replier", "body": f"Agreed, {SENTENCE}",
                          "created_utc": created.timestamp() + 60 + i, "score": 1, "deleted": False,
                          "replies": []} for i in range(comments)]}


REDDIT = {"synthetic": True, "subreddits": ["TikTokShop"], "posts": [
    _post("good1", "TikTok Shop live sales", SENTENCE * 3, IN_WINDOW),
    _post("good2", "Whatnot auction tips", SENTENCE * 2, IN_WINDOW + timedelta(hours=1)),
    _post("evil", HOSTILE, "An ordinary body next to a hostile title. " + SENTENCE,
          IN_WINDOW + timedelta(hours=2)),
    _post("long", "A very long post", SENTENCE * (2_000_000 // len(SENTENCE) + 1),
          IN_WINDOW + timedelta(hours=3)),
    _post("trap", "This one crashes the NLP", f"{TRAP} {SENTENCE}", IN_WINDOW + timedelta(hours=4),
          comments=0),
    _post("future", "Posted from 2099", SENTENCE, datetime(2099, 1, 1, tzinfo=UTC), comments=0),
]}
GOOD_POSTS = {"t3_good1", "t3_good2", "t3_evil", "t3_long"}


def _article(slug: str, hours: int, paragraphs: list[str] | None = None) -> dict[str, Any]:
    return {"slug": slug, "title": f"Live commerce story {slug}", "author": "Staff Writer",
            "published": (IN_WINDOW + timedelta(hours=hours)).isoformat(), "summary": PARAS[0],
            "paragraphs": paragraphs or PARAS, "tags": ["live commerce"]}


SITE = {"slug": "hostile-news", "name": "Hostile News", "domain": "hostilenews.example", "feed_format": "rss",
        "articles": [_article("good-1", 1), _article("good-2", 2), _article("flaky", 3),
                     _article("evil-title", 4), _article("bad-bytes", 5),
                     # distinct paragraphs: trafilatura (rightly) keeps one copy of a repeated one
                     _article("huge", 6, [f"Part {i}. " + SENTENCE * 100
                                          for i in range(1_100_000 // (len(SENTENCE) * 100) + 1)]),
                     _article("gone", 7), _article("stalled", 8)]}
GOOD_ARTICLES = {"good-1", "good-2", "flaky", "evil-title", "bad-bytes", "huge"}


def _hostile_pages(served: dict[str, int]):
    """Intercepts some article pages; everything else falls through to the replay news site."""
    site = SITE
    lock = threading.Lock()

    def handler(req: ReplayRequest) -> ReplayResponse | None:
        m = re.fullmatch(r"/news/hostile-news/articles/([\w-]+)\.html", req.path)
        if not m:
            return None
        slug = m.group(1)
        with lock:
            served[slug] = served.get(slug, 0) + 1
            n = served[slug]
        art = next(a for a in site["articles"] if a["slug"] == slug)
        if slug == "flaky" and n == 1:
            return ReplayResponse(503, b"busy", {"Content-Type": "text/plain", "Retry-After": "1"})
        if slug == "gone":
            return ReplayResponse.text("<html><body><h1>Gone</h1></body></html>", "text/html", 404)
        if slug == "stalled":
            return ReplayResponse(200, b"<html>late</html>", {"Content-Type": "text/html"}, delay_s=2.5)
        if slug == "evil-title":
            art = {**art, "title": "Live\x07 commerce \u202eevil\u202c title\x1b"}
        page = news_sites.render_article(site, art, req.base_url).encode("utf-8", "surrogatepass")
        if slug == "bad-bytes":
            page = page.replace(b"Whatnot hosts said", b"Whatnot \xff\xfe hosts\x80 said", 1)
        return ReplayResponse(200, page, {"Content-Type": "text/html; charset=utf-8"})

    return handler


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    served: dict[str, int] = {}
    mp = pytest.MonkeyPatch()
    original_nlp = Enricher.nlp.fget

    def nlp_with_trap(self):
        nlp = original_nlp(self)
        if "test_hostile_night_trap" not in nlp.pipe_names:
            nlp.add_pipe("test_hostile_night_trap", first=True)
        return nlp

    mp.setattr(Enricher, "nlp", property(nlp_with_trap))
    handlers = [_hostile_pages(served), news_sites.make_handler({"sites": [SITE]}),
                reddit_api.make_handler(REDDIT)]
    with ReplayServer(handlers) as server:
        for var in ("PULSE_CONFIG", "PULSE_DATA_DIR", "PULSE_BACKFILL_DAYS"):
            mp.delenv(var, raising=False)
        mp.setenv("AIRFLOW_HOME", str(tmp / "airflow"))
        mp.setenv("PULSE_REDDIT_CLIENT_ID", "hostile-client")
        mp.setenv("PULSE_REDDIT_CLIENT_SECRET", "hostile-secret")
        overlay = tmp / "hostile.toml"
        overlay.write_text(f"""
[pipeline]
data_dir = "{tmp / 'data'}"
backfill_days = 3
[reddit]
subreddits = ["TikTokShop"]
search_queries = []
comment_streams = false
oauth_url = "{server.base_url}"
reddit_url = "{server.base_url}"
[news]
per_host_delay_s = 0.0
allow_private_hosts = ["127.0.0.1"]
read_timeout_s = 1.0
response_deadline_s = 3.0
retry_backoff_s = 0.2
max_retry_after_s = 2.0
feeds = [{{ name = "Hostile News", url = "{server.base_url}/news/hostile-news/feed.xml" }}]
[nlp]
max_text_chars = 5000
""", encoding="utf-8")
        settings = load_settings(overlay)
        lines: list[str] = []
        outcome = run_all(RunContext.for_night(settings, NIGHT, run_id="hostile-1"), echo=lines.append)
    mp.undo()
    return settings, outcome, served, lines


def _slug(url: str) -> str:
    m = re.search(r"/([\w-]+)\.html", url)
    return m.group(1) if m else url


def _query(settings, sql: str, params: list[Any] | None = None) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_the_night_loads(night):
    settings, outcome, _, lines = night
    assert "load" in outcome.results, "\n".join(lines)
    assert set(outcome.errors) <= {"extract_news"}, outcome.errors  # no stage but a degraded source
    status = _query(settings, "select status, message from ops.runs where run_id = 'hostile-1'")
    assert status and status[0][0] in ("ok", "partial")
    assert "1 document(s) quarantined alone" in status[0][1]
    assert dict(_query(settings, "select source, status from ops.source_runs where run_id = 'hostile-1'")) \
        == {"reddit": "ok", "news": "partial"}  # reddit: a parse rejection does not degrade it


def test_every_good_document_lands_clean(night):
    settings, *_ = night
    rows = _query(settings, "select doc_id, source, kind, title, body, author, url "
                            "from core.documents where night = ?", [NIGHT])
    posts = {r[0] for r in rows if r[2] == "post"}
    assert posts == GOOD_POSTS
    comments = {r[0] for r in rows if r[2] == "comment"}
    assert comments == {f"t1_{p[3:]}c0" for p in GOOD_POSTS}
    slugs = {_slug(r[6]) for r in rows if r[1] == "news"}
    assert slugs == GOOD_ARTICLES
    unsafe = _query(settings, "select doc_id from core.documents where regexp_matches(coalesce(title, '') "
                              "|| coalesce(body, '') || coalesce(author, ''), ?)", [UNSAFE])
    assert unsafe == []
    evil = next(r for r in rows if r[0] == "t3_evil")
    assert "TikTok Shop" in evil[3] and "\ufffd" in evil[3]  # kept, minus the unsafe characters


def test_over_long_documents_are_kept_whole_and_their_cap_recorded(night):
    settings, *_ = night
    # core.documents has no extra column; the night's rows as loaded (raw.documents) carry it
    rows = _query(settings, "select d.doc_id, d.url, length(d.body), "
                            "json_extract_string(r.extra, '$.nlp_capped_from') "
                            "from core.documents d join raw.documents r "
                            "on r.doc_id = d.doc_id and r.night = d.night where d.night = ? "
                            "and json_extract(r.extra, '$.nlp_capped_from') is not null", [NIGHT])
    capped = {("t3_long" if r[0] == "t3_long" else _slug(r[1])): (r[2], int(r[3])) for r in rows}
    assert set(capped) == {"t3_long", "huge"}
    assert capped["t3_long"][0] >= 2_000_000 and capped["t3_long"][1] > capped["t3_long"][0]
    assert capped["huge"][0] >= 1_100_000


def test_each_bad_input_has_exactly_one_recorded_outcome(night):
    settings, _, served, _ = night
    errors = _query(settings, "select source, url, stage, reason, status_code from ops.errors "
                              "where run_id = 'hostile-1'")
    quarantined = _query(settings, "select doc_id, reasons from quarantine.documents "
                                   "where run_id = 'hostile-1'")

    def outcomes(needle: str) -> list[str]:
        found = [f"error {e[2]}: {e[3]}" for e in errors if needle in (e[1] or "") or needle in (e[3] or "")]
        return found + [f"quarantine {q[1]}" for q in quarantined if needle in q[0]]

    gone, stalled, future, trap = (outcomes("gone.html"), outcomes("stalled.html"), outcomes("t3_future"),
                                   outcomes("t3_trap"))
    assert len(gone) == 1 and "404" in gone[0], gone
    assert len(stalled) == 1 and ("timeout" in stalled[0] or "deadline" in stalled[0]), stalled
    assert len(future) == 1 and "in the future" in future[0], future
    assert trap == ["quarantine enrich: RuntimeError: simulated NLP crash on one document"], trap
    assert outcomes("flaky.html") == [] and served["flaky"] == 2  # retried in the same run, landed
    # nothing else was recorded, and no batch was quarantined
    assert len(errors) == 3 and len(quarantined) == 1, (errors, quarantined)
    assert _query(settings, "select count(*) from core.documents where doc_id in ('t3_trap', 't3_future')") \
        == [(0,)]


def test_the_raw_landing_kept_the_hostile_title_exactly(night):
    settings, *_ = night
    from extractors.landing import read_landing

    paths = sorted((settings.data_dir / "raw" / "reddit" / NIGHT.isoformat()).glob("*.jsonl.gz"))
    titles = [c["data"]["title"] for p in paths for _, r in read_landing(p)
              if isinstance(r.get("json"), dict) and r["json"].get("kind") == "Listing"
              for c in r["json"]["data"]["children"]]
    assert HOSTILE in titles  # byte for byte what the API sent, lone surrogate included
    json.dumps(titles)  # and readable back as JSON
