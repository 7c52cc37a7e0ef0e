"""The Reddit extract stage: drive the client over the configured sources, land, parse, record.

Why it never raises for source faults: one bad subreddit, a rate-limit stall or refused
credentials must not take the whole night down. Faults become ``SourceRun`` errors and a
status (ok / partial / failed / skipped) that the load stage copies into ``ops.*``.

Also written: ``work/<night>/reddit.watermark.json``, the newest item seen per source and
whether that source was paged completely, so the loader can keep per-source watermarks in the
warehouse (extract tasks never write DuckDB). An incomplete source never advances its mark.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from extractors.landing import RawLanding, read_landing
from extractors.reddit.client import (
    DEFAULT_MAX_REQUESTS,
    AuthError,
    BudgetExhausted,
    Post,
    RedditClient,
    RedditError,
    classify,
)
from extractors.reddit.credentials import resolve_credentials
from extractors.reddit.parse import ParseResult, parse_records
from extractors.source_run import SourceRun
from pipeline.context import RunContext
from pipeline.documents import utc_iso
from pipeline.jsonl import write_json, write_jsonl

log = logging.getLogger(__name__)

SOURCE = "reddit"
NO_CREDENTIALS = (
    "Reddit skipped: no credentials (set PULSE_REDDIT_CLIENT_ID and PULSE_REDDIT_CLIENT_SECRET, "
    "or the Airflow connection reddit_default)"
)
LISTING_CAP = 1000  # Reddit never pages past ~1000 items of one listing


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


def sources(ctx: RunContext) -> list[tuple[str, Callable[[RedditClient], Iterator[Post]], bool]]:
    """(key, fetch, newest_first) for every configured listing and search query."""
    cfg = ctx.settings.reddit
    limit = max(1, min(cfg.max_items_per_listing, LISTING_CAP))
    out: list[tuple[str, Callable[[RedditClient], Iterator[Post]], bool]] = []
    for sub in cfg.subreddits:
        for kind in cfg.listings:
            out.append((f"r/{sub}/{kind}", lambda c, s=sub, k=kind: c.listing(s, k, limit), kind == "new"))
    t_filter = search_time_filter(ctx.window_start, ctx.window_end)
    for query in cfg.search_queries:
        out.append((f"search:{query}", lambda c, q=query: c.search(q, limit, t_filter), True))
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


def parse_landing(ctx: RunContext, paths: list[Path]) -> ParseResult:
    """Parse landed files (in order: later files win for the same thing) for this night's window."""
    cfg = ctx.settings.reddit

    def records() -> Iterator[tuple[str, dict[str, Any]]]:
        for path in paths:
            relative = path.relative_to(ctx.settings.data_dir).as_posix()
            for line, record in read_landing(path):
                yield f"{relative}:{line}", record

    return parse_records(
        records(), run_id=ctx.run_id, logical_date=ctx.night.isoformat(), window_start=ctx.window_start,
        window_end=ctx.window_end, comment_depth=cfg.comment_depth, comment_limit=cfg.comment_limit,
    )


def extract(
    ctx: RunContext,
    client: RedditClient | None = None,
    client_factory: Callable[[RawLanding], RedditClient] | None = None,
) -> SourceRun:
    """Fetch the night's posts and comments, land them, write reddit.documents.jsonl.

    ``client`` lands into its own ``client.landing`` (e.g. a snapshot client in tests);
    ``client_factory`` builds a client around this run's landing; without either, credentials
    are resolved and PRAW is used.
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

            return PrawRedditClient(creds, cfg, landing, max_requests=DEFAULT_MAX_REQUESTS)

    if client is not None:
        landing = client.landing
    else:
        landing = RawLanding(ctx.settings, SOURCE, ctx.night, ctx.run_id)
    run.raw_path = landing.path.relative_to(ctx.settings.data_dir).as_posix()
    marks: dict[str, dict[str, Any]] = {}
    fatal: RedditError | None = None
    try:
        if client is None:
            assert client_factory is not None
            client = client_factory(landing)
        fatal = _fetch(ctx, client, run, marks)
    except Exception as exc:  # noqa: BLE001 - e.g. PRAW refusing the config: recorded, not raised
        fatal = classify(exc)
        run.error(None, "setup", str(fatal))
    finally:
        n_requests = getattr(client, "n_requests", 0) if client is not None else 0
        if client is not None:
            client.close()
        landing.close()
    run.n_requests = n_requests

    try:
        result = parse_landing(ctx, [landing.path])
    except Exception as exc:  # noqa: BLE001 - a corrupt landing is a recorded failure
        run.error(run.raw_path, "parse", f"{type(exc).__name__}: {exc}")
        return _finish(ctx, run, "failed", "could not parse the raw landing")
    if isinstance(fatal, AuthError) and not result.documents:
        log.error("Reddit failed: %s", fatal)
        _keep_or_empty(ctx)
        return _finish(ctx, run, "failed", str(fatal))
    _write_documents(ctx, result, run)
    write_json(watermark_path(ctx), {"source": SOURCE, "night": ctx.night.isoformat(), "run_id": ctx.run_id,
                                     "sources": marks})
    fetch_errors = [e for e in run.errors if e.stage != "parse"]
    if fatal is not None or fetch_errors:
        status = "failed" if run.n_documents == 0 else "partial"
        message = str(fatal) if fatal else f"{len(fetch_errors)} source fault(s)"
    else:
        status, message = "ok", ""
    counts = f"{run.n_documents} documents from {run.n_requests} requests"
    message = f"{counts}; {message}" if message else counts
    (log.warning if status != "ok" else log.info)("Reddit %s: %s", status, message)
    return _finish(ctx, run, status, message)


def _fetch(
    ctx: RunContext, client: RedditClient, run: SourceRun, marks: dict[str, dict[str, Any]]
) -> RedditError | None:
    """Page every source, then load comment trees. Returns the fault that stopped the run, if any."""
    cfg = ctx.settings.reddit
    start, end = ctx.window_start.timestamp(), ctx.window_end.timestamp()
    wanted: dict[str, float] = {}
    for key, fetch, newest_first in sources(ctx):
        newest: float | None = None
        complete = False
        n = 0
        try:
            for post in fetch(client):
                n += 1
                if newest_first and post.created_utc < start:
                    complete = True  # everything older is a previous night's
                    break
                if start <= post.created_utc < end:
                    wanted[post.id] = post.created_utc
                    newest = max(newest or post.created_utc, post.created_utc)
            else:
                complete = not newest_first or n < min(cfg.max_items_per_listing, LISTING_CAP)
                if not complete:
                    run.error(key, "listing", f"stopped at {n} items before reaching the window start; "
                                              "older posts in the window were not fetched")
        except (AuthError, BudgetExhausted) as exc:
            marks[key] = {"complete": False, "newest": _iso(newest), "items": n}
            run.error(key, "auth" if isinstance(exc, AuthError) else "budget", str(exc))
            return exc
        except RedditError as exc:
            run.error(key, "listing", str(exc), getattr(exc, "status_code", None))
        except ValueError as exc:  # e.g. an unsupported listing name in config
            run.error(key, "config", str(exc))
        marks[key] = {"complete": complete, "newest": _iso(newest), "items": n}
        log.info("Reddit %s: %d items read, %d in window so far", key, n, len(wanted))

    for i, post_id in enumerate(sorted(wanted, key=lambda p: (wanted[p], p)), start=1):
        try:
            client.load_comments(post_id, cfg.comment_limit, cfg.replace_more_limit)
        except (AuthError, BudgetExhausted) as exc:
            run.error(f"t3_{post_id}", "auth" if isinstance(exc, AuthError) else "budget", str(exc))
            for mark in marks.values():
                mark["complete"] = False  # comments of later posts were not fetched
            return exc
        except RedditError as exc:
            run.error(f"t3_{post_id}", "comments", str(exc), getattr(exc, "status_code", None))
        if i % 25 == 0:
            log.info("Reddit comments: %d/%d posts", i, len(wanted))
    return None


def _iso(ts: float | None) -> str | None:
    return utc_iso(datetime.fromtimestamp(ts, tz=UTC)) if ts is not None else None


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
        result = parse_landing(ctx, paths)
    except Exception as exc:  # noqa: BLE001 - corrupt gzip/JSON: recorded, not raised
        run.error(run.raw_path, "parse", f"{type(exc).__name__}: {exc}")
        return _finish(ctx, run, "failed", "could not parse the raw landing")
    _write_documents(ctx, result, run)
    return _finish(ctx, run, None, f"{run.n_documents} documents re-parsed from {len(paths)} raw file(s)")
