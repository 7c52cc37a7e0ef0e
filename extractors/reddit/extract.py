"""The Reddit extract stage: drive the client over the configured sources, land, parse, record.

Why it never raises for source faults: one bad subreddit, a rate-limit stall or refused
credentials must not take the whole night down. Faults become ``SourceRun`` errors and a
status (ok / partial / failed / skipped) that the load stage copies into ``ops.*``.

Incremental: the stage hands in the per-source watermarks it read from ``state/watermarks.json``
(written after each load; without it the backfill window applies; extractors never open the
warehouse), and each source pages only back to ``max(window_start, watermark - lookback_hours)``.
The run writes ``work/<night>/reddit.watermark.json``: per source key whether it was paged completely and its
safe watermark (newest post such that it and every older in-window post landed with its comment
tree). The load copies complete keys into ``ops.watermarks`` (extract tasks never write DuckDB),
so a run stopped by the budget advances only what landed, and an incomplete source never does.

New comments on older posts: comment trees are loaded only for posts inside a source's window,
so a reply posted tonight on a post from three nights ago would be missed. Each configured
subreddit therefore also pages its newest-comments listing (``/r/{sub}/comments``, key
``r/{sub}/comments``) back to that key's own watermark; those comments are landed like every other
exchange and parsed by the same parser. Their parent need not be in the night's batch: a
comment's ``parent_id`` is the fullname Reddit gives, whatever night delivered the parent.

Past the ~1000-item listing cap: a Reddit-wide search that hits it is split into the same query
restricted to each configured subreddit, plus other sort orders (see :func:`split_search`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common.context import RunContext
from common.documents import Document, utc_iso
from common.jsonl import read_json, write_json, write_jsonl
from common.source_run import SourceRun, StoredWatermarks
from extractors.landing import RawLanding, read_landing
from extractors.reddit.client import (
    AuthError,
    BudgetExhausted,
    Post,
    RedditClient,
    RedditError,
    classify,
)
from extractors.reddit.credentials import resolve_credentials
from extractors.reddit.parse import ParseResult, parse_records

log = logging.getLogger(__name__)

SOURCE = "reddit"
NO_CREDENTIALS = (
    "Reddit skipped: no credentials (set PULSE_REDDIT_CLIENT_ID and PULSE_REDDIT_CLIENT_SECRET, "
    "or the Airflow connection reddit_default)"
)
CAP_SLACK = 0.95  # a listing ending within 5% of the cap may be capped (removed items leave gaps)


def documents_path(ctx: RunContext) -> Path:
    return ctx.work_dir / f"{SOURCE}.documents.jsonl"


def watermark_path(ctx: RunContext) -> Path:
    return ctx.work_dir / f"{SOURCE}.watermark.json"


def search_time_filter(window_start: datetime, window_end: datetime) -> str:
    """Smallest Reddit ``t`` filter that still covers the window (Reddit counts back from now)."""
    span = datetime.now(UTC) - window_start
    for name, limit in (("hour", timedelta(hours=1)), ("day", timedelta(days=1)), ("week", timedelta(days=7)),
                        ("month", timedelta(days=31)), ("year", timedelta(days=366))):
        if span <= limit:
            return name
    return "all"


@dataclass
class Source:
    """One thing to page: a subreddit listing, a search, or a piece of a split search.

    ``since`` is this key's own start: ``max(window_start, watermark - lookback_hours)``.
    ``newest_first`` sources stop paging at the first item older than ``since``; only they can be
    complete, hence only they advance a watermark. ``query`` is set on a Reddit-wide search that
    may still be split when it hits the listing cap. ``stream`` marks a newest-comments listing:
    its items are comments (no trees to load), and its watermark is its newest comment landed.
    """

    key: str
    fetch: Callable[[RedditClient], Iterator[Post]]
    newest_first: bool
    since: datetime
    query: str | None = None
    stream: bool = False


def since_for(ctx: RunContext, mark: datetime | None) -> datetime:
    """Where a source starts: its watermark minus the lookback, never before the night's window."""
    if mark is None:
        return ctx.window_start
    since = max(ctx.window_start, mark - timedelta(hours=ctx.settings.lookback_hours))
    return min(since, ctx.window_end)


def _limit(ctx: RunContext) -> int:
    cfg = ctx.settings.reddit
    return max(1, min(cfg.max_items_per_listing, cfg.listing_cap))


def _maybe_capped(ctx: RunContext, n_items: int) -> bool:
    """Did paging end because of our limit or Reddit's cap (rather than the listing running out)?"""
    return n_items >= _limit(ctx) or n_items >= ctx.settings.reddit.listing_cap * CAP_SLACK


def sources(ctx: RunContext, marks: Mapping[str, datetime] | None = None) -> list[Source]:
    """Every configured listing and Reddit-wide search query, each with its own start."""
    cfg = ctx.settings.reddit
    marks = marks or {}
    limit = _limit(ctx)
    out: list[Source] = []
    for sub in cfg.subreddits:
        for kind in cfg.listings:
            key = f"r/{sub}/{kind}"
            out.append(Source(key, lambda c, s=sub, k=kind: c.listing(s, k, limit), kind == "new",
                              since_for(ctx, marks.get(key))))
    for query in cfg.search_queries:
        key = f"search:{query}"
        since = since_for(ctx, marks.get(key))
        t_filter = search_time_filter(since, ctx.window_end)
        out.append(Source(key, lambda c, q=query, t=t_filter: c.search(q, limit, t), True, since, query))
    if cfg.comment_streams:
        for sub in cfg.subreddits:
            key = comment_stream_key(sub)
            out.append(Source(key, lambda c, s=sub: c.comments(s, limit), True,
                              since_for(ctx, marks.get(key)), stream=True))
    return out


def comment_stream_key(subreddit: str) -> str:
    """Watermark key of a subreddit's newest-comments listing (``/r/{sub}/comments``)."""
    return f"r/{subreddit}/comments"


def split_search(ctx: RunContext, parent: Source, marks: Mapping[str, datetime]) -> list[Source]:
    """Pieces of a Reddit-wide search that hit the listing cap before reaching its start.

    Reddit's API has no timestamp search any more, so a time window cannot be cut into slices.
    What it does allow: the same query restricted to one subreddit (each its own ~1000-item
    listing, newest first, so each can reach the start and be complete), and other sort orders
    over the same ``t`` filter (each a different ~1000 items; a best-effort sample, never
    complete). Outside the configured subreddits, coverage past the cap is therefore not
    guaranteed; the parent search stays incomplete and is reported.
    """
    cfg = ctx.settings.reddit
    limit = _limit(ctx)
    query = parent.query or ""
    out: list[Source] = []
    for sub in cfg.subreddits:
        key = f"{parent.key}@r/{sub}"
        since = since_for(ctx, marks.get(key))
        t_filter = search_time_filter(since, ctx.window_end)
        out.append(Source(key, lambda c, s=sub, t=t_filter: c.search(query, limit, t, subreddit=s), True,
                          since))
    t_parent = search_time_filter(parent.since, ctx.window_end)
    for sort in cfg.search_split_sorts:
        out.append(Source(f"{parent.key}/{sort}",
                          lambda c, o=sort: c.search(query, limit, t_parent, sort=o), False, parent.since))
    return out


def _finish(ctx: RunContext, run: SourceRun, status: str | None, message: str) -> SourceRun:
    run.finish(status, message)
    run.save(ctx.work_dir)
    return run


def _write_documents(ctx: RunContext, result: ParseResult, run: SourceRun) -> None:
    for raw_ref, reason in result.rejected:
        run.error(raw_ref, "parse", reason)
    run.n_documents = write_jsonl(documents_path(ctx), (d.to_dict() for d in result.documents))


def _keep_or_empty(ctx: RunContext) -> None:
    """A run that got nothing keeps an earlier good documents file, else writes an empty one."""
    if not documents_path(ctx).exists():
        write_jsonl(documents_path(ctx), [])


def parse_landing(ctx: RunContext, paths: list[Path], window_start: datetime | None = None) -> ParseResult:
    """Parse landed files (in order: later files win for the same thing) for this night's window.

    ``window_start`` is the earliest start the extract actually used (watermarks may start later
    than the night's backfill window); default the night's own window start.
    """
    cfg = ctx.settings.reddit

    def records() -> Iterator[tuple[str, dict[str, Any]]]:
        for path in paths:
            relative = path.relative_to(ctx.settings.data_dir).as_posix()
            for line, record in read_landing(path):
                yield f"{relative}:{line}", record

    return parse_records(
        records(), run_id=ctx.run_id, logical_date=ctx.night.isoformat(),
        window_start=window_start or ctx.window_start, window_end=ctx.window_end,
        comment_depth=cfg.comment_depth, comment_limit=cfg.comment_limit,
    )


def extract(
    ctx: RunContext,
    client: RedditClient | None = None,
    client_factory: Callable[[RawLanding], RedditClient] | None = None,
    stored: StoredWatermarks | None = None,
) -> SourceRun:
    """Fetch the night's posts and comments, land them, write reddit.documents.jsonl.

    ``client`` lands into its own ``client.landing`` (e.g. a snapshot client in tests);
    ``client_factory`` builds a client around this run's landing; without either, credentials
    are resolved and PRAW is used. ``stored`` are the watermarks the caller read (the stage reads
    them with :func:`warehouse.watermarks.marks_from_file`; extractors never open the warehouse);
    without them the night's backfill window is used.
    """
    run = SourceRun(SOURCE)
    cfg = ctx.settings.reddit
    if not cfg.enabled:
        log.info("Reddit skipped: disabled in config")
        _keep_or_empty(ctx)
        return _finish(ctx, run, "skipped", "disabled in config")
    if client is None and client_factory is None:
        creds = resolve_credentials()
        if creds is None:
            log.info(NO_CREDENTIALS)
            _keep_or_empty(ctx)
            return _finish(ctx, run, "skipped", NO_CREDENTIALS)

        def client_factory(landing: RawLanding) -> RedditClient:
            from extractors.reddit.client import PrawRedditClient

            return PrawRedditClient(creds, cfg, landing, max_requests=cfg.max_requests_per_run,
                                    max_ratelimit_wait_s=cfg.max_ratelimit_wait_s)

    stored = stored if stored is not None else StoredWatermarks({}, "none", "none handed in")
    log.info("Reddit window: %s", stored.describe())
    if client is not None:
        landing = client.landing
    else:
        landing = RawLanding(ctx.settings, SOURCE, ctx.night, ctx.run_id)
    run.raw_path = landing.path.relative_to(ctx.settings.data_dir).as_posix()
    fetch = _Fetch(ctx, run, stored.marks)
    fatal: RedditError | None = None
    try:
        if client is None:
            assert client_factory is not None
            client = client_factory(landing)
        fatal = fetch.fetch_all(client)
    except Exception as exc:  # noqa: BLE001 - e.g. PRAW refusing the config: recorded, not raised
        fatal = classify(exc)
        run.error(None, "setup", str(fatal))
    finally:
        n_requests = getattr(client, "n_requests", 0) if client is not None else 0
        if client is not None:
            client.close()
        landing.close()
    run.n_requests = n_requests

    parse_start = fetch.parse_start()
    try:
        result = parse_landing(ctx, [landing.path], parse_start)
    except Exception as exc:  # noqa: BLE001 - a corrupt landing is a recorded failure
        run.error(run.raw_path, "parse", f"{type(exc).__name__}: {exc}")
        return _finish(ctx, run, "failed", "could not parse the raw landing")
    if isinstance(fatal, AuthError) and not result.documents:
        log.error("Reddit failed: %s", fatal)
        _keep_or_empty(ctx)
        return _finish(ctx, run, "failed", str(fatal))
    posts = sorted(f"t3_{p}" for p in fetch.wanted)
    comments = sorted(f"t1_{c}" for c in fetch.stream_comments)
    result = only_fetched(result, set(posts), set(comments))
    _write_documents(ctx, result, run)
    write_json(watermark_path(ctx), {
        "source": SOURCE, "night": ctx.night.isoformat(), "run_id": ctx.run_id,
        "origin": stored.origin, "parse_window_start": utc_iso(parse_start), "sources": fetch.marks(),
        "posts": posts, "comments": comments,
    })
    fetch_errors = [e for e in run.errors if e.stage != "parse"]
    if fatal is not None or fetch_errors:
        status = "failed" if run.n_documents == 0 else "partial"
        message = str(fatal) if fatal else f"{len(fetch_errors)} source fault(s)"
    else:
        status, message = "ok", ""
    counts = f"{run.n_documents} documents from {run.n_requests} requests since {utc_iso(parse_start)} " \
             f"({stored.describe()})"
    message = f"{counts}; {message}" if message else counts
    (log.warning if status != "ok" else log.info)("Reddit %s: %s", status, message)
    return _finish(ctx, run, status, message)


@dataclass
class _Mark:
    complete: bool = False
    items: int = 0
    newest: float | None = None
    since: datetime | None = None
    posts: list[float] | None = None  # created_utc of this key's in-window posts (comments for a stream)
    stream: bool = False


class _Fetch:
    """One run's paging and comment loading, and what it means for each key's watermark.

    The safe watermark of a key is the newest of its in-window posts created before the
    *frontier*: the creation time of the oldest post whose comments were not loaded (a fault or
    the budget running out; comment trees load oldest first). So when a run stops midway, the
    marks cover exactly what landed complete, and the next night resumes from there. A comment
    stream's items are the comments themselves, landed as paged: the frontier does not apply, its
    mark is its newest in-window comment once the stream was paged completely.
    """

    def __init__(self, ctx: RunContext, run: SourceRun, stored: Mapping[str, datetime]) -> None:
        self.ctx, self.run, self.stored = ctx, run, stored
        self.state: dict[str, _Mark] = {}
        self.wanted: dict[str, float] = {}
        self.stream_comments: dict[str, float] = {}  # comment id -> created_utc, from comment streams
        self.frontier = float("inf")
        self.used_sources: list[Source] = []

    def parse_start(self) -> datetime:
        starts = [s.since for s in self.used_sources]
        return min(starts) if starts else self.ctx.window_start

    def marks(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for key, m in self.state.items():
            safe = list(m.posts or []) if m.stream else [t for t in (m.posts or []) if t < self.frontier]
            out[key] = {"complete": m.complete, "watermark": _iso(max(safe)) if safe else None,
                        "newest": _iso(m.newest), "items": m.items,
                        "since": utc_iso(m.since) if m.since else None}
        return out

    def fetch_all(self, client: RedditClient) -> RedditError | None:
        """Page every source, then load comment trees. Returns the fault that stopped the run."""
        queue = sources(self.ctx, self.stored)
        self.used_sources = list(queue)
        while queue:
            source = queue.pop(0)
            fault = self._page(client, source)
            if fault is not None:
                self.frontier = min(self.wanted.values(), default=self.frontier)
                return fault
            mark = self.state[source.key]
            if source.query is not None and not mark.complete and _maybe_capped(self.ctx, mark.items):
                pieces = split_search(self.ctx, source, self.stored)
                self.run.error(source.key, "listing",
                               f"search hit the {mark.items}-item listing cap before reaching "
                               f"{utc_iso(source.since)}; split into {len(pieces)} searches "
                               "(per configured subreddit, and other sorts): posts elsewhere on Reddit "
                               "may be missing")
                queue[0:0] = pieces
                self.used_sources += pieces
        return self._comments(client)

    def _page(self, client: RedditClient, source: Source) -> RedditError | None:
        start, end = source.since.timestamp(), self.ctx.window_end.timestamp()
        mark = self.state[source.key] = _Mark(since=source.since, posts=[], stream=source.stream)
        found = self.stream_comments if source.stream else self.wanted
        try:
            for post in source.fetch(client):
                mark.items += 1
                if source.newest_first and post.created_utc < start:
                    mark.complete = True  # everything older is a previous night's
                    break
                if start <= post.created_utc < end:
                    found[post.id] = post.created_utc
                    assert mark.posts is not None
                    mark.posts.append(post.created_utc)
                    mark.newest = max(mark.newest or post.created_utc, post.created_utc)
            else:
                mark.complete = source.newest_first and not _maybe_capped(self.ctx, mark.items)
                if source.newest_first and not mark.complete and source.query is None:
                    what = "comments" if source.stream else "posts"
                    self.run.error(source.key, "listing",
                                   f"stopped at {mark.items} items before reaching the window start; "
                                   f"older {what} in the window were not fetched")
        except (AuthError, BudgetExhausted) as exc:
            mark.complete = False
            self.run.error(source.key, "auth" if isinstance(exc, AuthError) else "budget", str(exc))
            return exc
        except RedditError as exc:
            mark.complete = False
            self.run.error(source.key, "listing", str(exc), getattr(exc, "status_code", None))
        except ValueError as exc:  # e.g. an unsupported listing name in config
            mark.complete = False
            self.run.error(source.key, "config", str(exc))
        log.info("Reddit %s: %d items read since %s, %d %s in window so far", source.key, mark.items,
                 utc_iso(source.since), len(found), "stream comments" if source.stream else "posts")
        return None

    def _comments(self, client: RedditClient) -> RedditError | None:
        cfg = self.ctx.settings.reddit
        order = sorted(self.wanted, key=lambda p: (self.wanted[p], p))
        for i, post_id in enumerate(order, start=1):
            try:
                client.load_comments(post_id, cfg.comment_limit, cfg.replace_more_limit)
            except (AuthError, BudgetExhausted) as exc:
                self.run.error(f"t3_{post_id}", "auth" if isinstance(exc, AuthError) else "budget", str(exc))
                self.frontier = min(self.frontier, self.wanted[post_id])  # this and later: not loaded
                return exc
            except RedditError as exc:
                self.run.error(f"t3_{post_id}", "comments", str(exc), getattr(exc, "status_code", None))
                self.frontier = min(self.frontier, self.wanted[post_id])
            if i % 25 == 0:
                log.info("Reddit comments: %d/%d posts", i, len(order))
        return None


def _iso(ts: float | None) -> str | None:
    return utc_iso(datetime.fromtimestamp(ts, tz=UTC)) if ts is not None else None


def only_fetched(result: ParseResult, posts: set[str], comments: set[str] | None = None) -> ParseResult:
    """Keep the posts this run meant to fetch (in some source's own window), their comments, and
    the comments the comment streams found in their own windows (whatever the age of their post).

    A listing page that crosses a source's start also carries older items, already delivered by an
    earlier night; dropping them keeps a night's documents to what it actually set out to fetch.
    """
    streamed = comments or set()

    def keep(doc: Document) -> bool:
        if doc.kind == "post":
            return doc.doc_id in posts
        if doc.doc_id in streamed:
            return True
        link = doc.extra.get("link_id") if isinstance(doc.extra, dict) else None
        return link in posts if isinstance(link, str) else True

    return ParseResult([d for d in result.documents if keep(d)], result.rejected, result.n_things)


def _recorded_scope(ctx: RunContext) -> tuple[datetime | None, set[str] | None, set[str]]:
    """The window start, post set and stream comments the live run used, so --from-raw
    reproduces its documents (files from before comment streams have no "comments": empty)."""
    try:
        data = read_json(watermark_path(ctx))
        value = data.get("parse_window_start")
        ts = datetime.fromisoformat(value) if isinstance(value, str) else None
        posts = data.get("posts")
        comments = data.get("comments")
    except (OSError, ValueError, AttributeError):
        return None, None, set()
    start = ts if ts is not None and ts.tzinfo is not None else None
    return (start, ({str(p) for p in posts} if isinstance(posts, list) else None),
            {str(c) for c in comments} if isinstance(comments, list) else set())


def extract_from_raw(ctx: RunContext) -> SourceRun:
    """Re-parse every landed file of the night (no network) into reddit.documents.jsonl."""
    run = SourceRun(SOURCE)
    directory = ctx.settings.raw_dir(SOURCE, ctx.night)
    paths = sorted(directory.glob("*.jsonl.gz"), key=lambda p: (p.stat().st_mtime_ns, p.name)) \
        if directory.is_dir() else []
    if not paths:
        return _finish(ctx, run, "skipped", f"no raw Reddit landing under {directory}")
    run.raw_path = paths[-1].relative_to(ctx.settings.data_dir).as_posix()
    try:
        start, posts, comments = _recorded_scope(ctx)
        result = parse_landing(ctx, paths, start)
        if posts is not None:
            result = only_fetched(result, posts, comments)
    except Exception as exc:  # noqa: BLE001 - corrupt gzip/JSON: recorded, not raised
        run.error(run.raw_path, "parse", f"{type(exc).__name__}: {exc}")
        return _finish(ctx, run, "failed", "could not parse the raw landing")
    _write_documents(ctx, result, run)
    return _finish(ctx, run, None, f"{run.n_documents} documents re-parsed from {len(paths)} raw file(s)")
