"""The news extract stage: feeds -> entries in the window -> article pages -> Documents.

Every HTTP exchange is landed raw *before* parsing (extractors.landing), and documents are built
from the landed record by one function, :func:`_build`, used by both the live path and
:func:`extract_from_raw`; that is what makes a re-parse of history give the same documents.
Source faults never raise: each is recorded with ``run.error(url, stage, reason, status)``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common.context import RunContext
from common.documents import Document, utc_iso
from common.jsonl import write_jsonl
from common.source_run import SourceRun
from extractors.landing import RawLanding, decode_body, read_landing
from extractors.news.article import extract_article
from extractors.news.dates import parse_date
from extractors.news.feeds import FeedEntry, FeedRefused, parse_feed
from extractors.news.http import FetchError, FetchResult
from extractors.news.state import NewsState
from extractors.news.urls import canonicalize, domain_of, news_doc_id

log = logging.getLogger(__name__)
SOURCE = "news"


@dataclass
class _Outcome:
    doc: Document | None = None
    error: tuple[str, str, int | None] | None = None  # (stage, reason, status)


def _entry_from_json(data: dict[str, Any]) -> FeedEntry:
    return FeedEntry(
        link=data["link"],
        title=data.get("title"),
        guid=data.get("guid"),
        summary=data.get("summary"),
        published=parse_date(data.get("published")),
        authors=list(data.get("authors") or []),
    )


def _published(
    ctx: RunContext, entry: FeedEntry, page_date: datetime | None, fetched_at: datetime
) -> tuple[datetime, str]:
    """(published_at, where it came from): the feed entry's date, else the page's, else first seen.

    Why the feed entry first: its date is what put the article in this night's window (entries are
    filtered on it), so an undated page takes it. Why never the fetch time: the night runs after
    its window closes, so a fetch time would lie outside the window and the critical window check
    would quarantine the whole night (issue 12). With no date anywhere, the honest statement is
    "first seen in this night's feed": the window's last second, or the fetch time if the fetch
    happened inside the window (a run during the day), recorded as ``published_from="first_seen"``.
    """
    if entry.published is not None:
        return entry.published, "feed"
    if page_date is not None:
        return page_date, "page"
    return min(ctx.window_end - timedelta(seconds=1), fetched_at), "first_seen"


def _build(ctx: RunContext, record: dict[str, Any], raw_ref: str) -> _Outcome:
    """One landed article exchange -> a Document or an error. Pure given the record. A page dated
    outside the window is still built: the extract's window gate (common.outcomes) sets it aside
    with a per-document outcome, the same rule the quality suites apply."""
    status = record.get("status")
    url = record["url"]
    if status != 200:
        return _Outcome(error=("fetch", f"HTTP {status}", status))
    entry = _entry_from_json(record["entry"])
    body = decode_body(record)
    try:
        art = extract_article(body, url, record.get("content_type"))
    except Exception as exc:  # noqa: BLE001 - a parser bug on one page must not stop the night
        return _Outcome(error=("parse", f"article parse failed: {type(exc).__name__}: {exc}"[:240], status))
    if not art.body or len(art.body.split()) < 5:
        return _Outcome(error=("parse", "no article body found (empty or JavaScript-only page)", status))
    fetched_at = parse_date(record.get("fetched_at")) or datetime.now(UTC)
    published, origin = _published(ctx, entry, art.published, fetched_at)
    canonical = canonicalize(art.canonical_url or url)
    title = art.title or entry.title
    authors = art.authors or entry.authors
    doc = Document(
        doc_id=news_doc_id(canonical),
        source=SOURCE,
        kind="article",
        channel=domain_of(canonical),
        url=url,
        canonical_url=canonical,
        title=title,
        body=art.body,
        author=", ".join(authors) if authors else None,
        published_at=utc_iso(published),
        fetched_at=utc_iso(fetched_at),
        logical_date=ctx.night.isoformat(),
        run_id=ctx.run_id,
        raw_ref=raw_ref,
        language=art.language,
        extra={
            "feed_url": record.get("feed_url"),
            "guid": entry.guid,
            "published_from": origin,
            "requested_url": entry.link,
        },
    )
    return _Outcome(doc=doc)


class _Collector:
    """Dedup within the run (doc_id, fingerprint) and against earlier nights (NewsState)."""

    def __init__(self, ctx: RunContext, run: SourceRun, state: NewsState) -> None:
        self.ctx, self.run, self.state = ctx, run, state
        self.night = ctx.night.isoformat()
        self.docs: dict[str, Document] = {}
        self.fingerprints: dict[str, str] = {}
        self.duplicates = 0

    def add(self, outcome: _Outcome, url: str) -> None:
        if outcome.error:
            stage, reason, status = outcome.error
            self.run.error(url, stage, reason, status)
            return
        doc = outcome.doc
        if doc is None:
            return
        fp = doc.content_hash
        if (
            doc.doc_id in self.docs
            or (fp in self.fingerprints and self.fingerprints[fp] != doc.doc_id)
            or self.state.seen_before(self.state.urls, doc.canonical_url, self.night)
            or self.state.seen_before(self.state.fingerprints, fp, self.night, doc.doc_id)
        ):
            self.duplicates += 1
            return
        self.docs[doc.doc_id] = doc
        self.fingerprints[fp or doc.doc_id] = doc.doc_id

    def finish(self) -> list[Document]:
        for doc in self.docs.values():
            self.state.remember(self.state.urls, doc.canonical_url, self.night, doc.doc_id)
            req = doc.extra.get("requested_url")
            if req:
                self.state.remember(self.state.urls, canonicalize(req), self.night, doc.doc_id)
            self.state.remember(self.state.fingerprints, doc.content_hash, self.night, doc.doc_id)
        return sorted(self.docs.values(), key=lambda d: d.doc_id)


def _finish(
    ctx: RunContext, run: SourceRun, docs: list[Document], feeds_ok: int, n_feeds: int, extra_msg: str = ""
) -> SourceRun:
    path = ctx.work_dir / f"{SOURCE}.documents.jsonl"
    write_jsonl(path, (d.to_dict() for d in docs))
    run.n_documents = len(docs)
    msg = f"{len(docs)} documents from {feeds_ok}/{n_feeds} feeds" + extra_msg
    if n_feeds and feeds_ok == 0:
        status = "failed"
    elif run.errors:
        status = "partial"
    else:
        status = "ok"
    run.finish(status, msg)
    run.save(ctx.work_dir)
    return run


def _load_ref(data_dir: Path, ref: str) -> dict[str, Any] | None:
    """Read one landed record back by its raw_ref (``path:line``): how a 304 reuses the last body."""
    rel, _, line = ref.rpartition(":")
    path = data_dir / rel
    if not path.exists() or not line.isdigit():
        return None
    for n, record in read_landing(path):
        if n == int(line):
            return record
    return None


def _feed_body(ctx: RunContext, record: dict[str, Any]) -> bytes | None:
    if record.get("status") == 304:
        cached = _load_ref(ctx.settings.data_dir, record.get("cached_ref") or "")
        return decode_body(cached) if cached else None
    return decode_body(record)


def extract(ctx: RunContext, fetcher: Any = None) -> SourceRun:
    """Run the news source for ``ctx``'s night; see the module docstring. Never raises for source faults."""
    settings = ctx.settings.news
    run = SourceRun(SOURCE)
    if not settings.enabled or not settings.feeds:
        write_jsonl(ctx.work_dir / f"{SOURCE}.documents.jsonl", [])
        run.finish("skipped", "news disabled" if not settings.enabled else "no feeds configured")
        run.save(ctx.work_dir)
        return run
    own_fetcher = fetcher is None
    if fetcher is None:
        from extractors.news.http import Fetcher

        fetcher = Fetcher(settings)
    state = NewsState.load(ctx.settings.data_dir)
    collector = _Collector(ctx, run, state)
    night = ctx.night.isoformat()
    feeds_ok = skipped_seen = 0
    try:
        with RawLanding(ctx.settings, SOURCE, ctx.night, ctx.run_id) as landing:
            run.raw_path = landing.path.relative_to(ctx.settings.data_dir).as_posix()
            for feed in settings.feeds:
                known = state.feeds.get(feed.url, {})
                cond: dict[str, str] = {}
                if known.get("raw_ref") and _load_ref(ctx.settings.data_dir, known["raw_ref"]):
                    if known.get("etag"):
                        cond["If-None-Match"] = known["etag"]
                    if known.get("last_modified"):
                        cond["If-Modified-Since"] = known["last_modified"]
                try:
                    res: FetchResult = fetcher.fetch(feed.url, cond)
                except FetchError as exc:
                    run.error(
                        feed.url, exc.stage if exc.stage != "fetch" else "feed", exc.reason, exc.status_code
                    )
                    log.warning("news feed %s: %s", feed.name, exc.reason)
                    continue
                record = {
                    "url": feed.url,
                    "status": res.status,
                    "content_type": res.content_type,
                    "kind": "feed",
                    "feed": feed.name,
                    "final_url": res.final_url,
                    "etag": res.header("ETag"),
                    "last_modified": res.header("Last-Modified"),
                    "cached_ref": known.get("raw_ref") if res.status == 304 else None,
                }
                ref = landing.write_bytes(body=res.body, **record)
                if res.status not in (200, 304):
                    run.error(feed.url, "feed", f"feed answered HTTP {res.status}", res.status)
                    continue
                body = res.body if res.status == 200 else _feed_body(ctx, record)
                if body is None:
                    run.error(feed.url, "feed", "304 but the cached feed body is missing", res.status)
                    continue
                try:
                    parsed = parse_feed(body, res.final_url)
                except FeedRefused as exc:
                    run.error(feed.url, "feed", str(exc), res.status)
                    continue
                feeds_ok += 1
                for warning in parsed.warnings:
                    run.error(
                        feed.url,
                        "feed",
                        f"warning: {warning}; kept {len(parsed.entries)} entries",
                        res.status,
                    )
                if res.status == 200 and (record["etag"] or record["last_modified"]):
                    state.feeds[feed.url] = {
                        "etag": record["etag"],
                        "last_modified": record["last_modified"],
                        "raw_ref": ref,
                    }
                entries = [e for e in parsed.entries if e.published is None or ctx.in_window(e.published)]
                for entry in entries[: settings.max_articles_per_feed]:
                    if state.seen_before(state.urls, canonicalize(entry.link), night):
                        skipped_seen += 1
                        continue
                    try:
                        page = fetcher.fetch(entry.link)
                    except FetchError as exc:
                        run.error(entry.link, exc.stage, exc.reason, exc.status_code)
                        continue
                    art_record = {
                        "url": page.final_url,
                        "status": page.status,
                        "content_type": page.content_type,
                        "kind": "article",
                        "feed_url": feed.url,
                        "entry": entry.to_json(),
                        "fetched_at": datetime.now(UTC).isoformat(),
                    }
                    art_ref = landing.write_bytes(body=page.body, **art_record)
                    collector.add(
                        _build(ctx, {**art_record, "body_b64": _b64(page.body)}, art_ref), page.final_url
                    )
                log.info(
                    "news feed %s: %d entries, %d in window", feed.name, len(parsed.entries), len(entries)
                )
    finally:
        run.n_requests = getattr(fetcher, "n_requests", 0)
        if own_fetcher:
            fetcher.close()
    docs = collector.finish()
    state.save()
    extra = f"; {skipped_seen} seen on earlier nights" if skipped_seen else ""
    if collector.duplicates:
        extra += f"; {collector.duplicates} duplicates dropped"
    return _finish(ctx, run, docs, feeds_ok, len(settings.feeds), extra)


def _b64(body: bytes) -> str:
    import base64

    return base64.b64encode(body).decode("ascii")


def extract_from_raw(ctx: RunContext) -> SourceRun:
    """Re-parse every landed news file of ``ctx``'s night (oldest first; later runs win per doc_id).

    No network. Feed-level refusals are not re-recorded (they were never landed); page-level parse
    failures are. The seen-state is read but not updated, so re-parsing history is side-effect free.
    """
    run = SourceRun(SOURCE)
    raw_dir = ctx.settings.raw_dir(SOURCE, ctx.night)
    files = (
        sorted(raw_dir.glob("*.jsonl.gz"), key=lambda p: (p.stat().st_mtime, p.name))
        if raw_dir.exists()
        else []
    )
    if not files:
        write_jsonl(ctx.work_dir / f"{SOURCE}.documents.jsonl", [])
        run.finish("failed", f"no landed news files in {raw_dir}")
        run.save(ctx.work_dir)
        return run
    state = NewsState.load(ctx.settings.data_dir)
    feeds_seen: set[str] = set()
    feeds_ok: set[str] = set()
    merged: dict[str, Document] = {}
    for path in files:
        collector = _Collector(ctx, run, state)
        rel = path.relative_to(ctx.settings.data_dir).as_posix()
        run.raw_path = rel
        for n, record in read_landing(path):
            run.n_requests += 1
            if record.get("kind") == "feed":
                feeds_seen.add(record["url"])
                if record.get("status") in (200, 304) and _feed_body(ctx, record) is not None:
                    feeds_ok.add(record["url"])
            elif record.get("kind") == "article":
                collector.add(_build(ctx, record, f"{rel}:{n}"), record["url"])
        merged.update(collector.docs)
    docs = sorted(merged.values(), key=lambda d: d.doc_id)
    return _finish(ctx, run, docs, len(feeds_ok), len(feeds_seen), " (re-parsed from raw)")
