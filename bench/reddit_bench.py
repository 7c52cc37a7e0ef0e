"""Reddit extraction benchmark: parse speed on recorded listings, and requests per night vs budget.

Usage: ``python -m bench.reddit_bench [--cassettes DIR] [--config FILE] [--posts-per-source N]``.

1. Items parsed per second: the Betamax cassettes in ``../shared/data/reddit-api`` (real Reddit
   responses: a 100-post front page, a search page, a 476-comment page plus morechildren) go
   through :func:`extractors.reddit.parse.parse_records`, timed over parsing only.
2. Requests per night: for the configured sources, an estimate of the API requests one night
   needs, against Reddit's budget of 100 requests per minute. Listing pages hold 100 items;
   each in-window post costs one comment page plus at most ``replace_more_limit`` more calls;
   with ``comment_streams`` each subreddit's newest-comments listing adds its own pages (100
   comments each, up to ``max_items_per_listing``). ``--posts-per-source`` and
   ``--comments-per-subreddit`` are the assumed new items per source / subreddit per night.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import summary
from common.config import load_settings
from extractors.reddit.parse import parse_records, things_in_payload

DEFAULT_CASSETTES = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "reddit-api"
BUDGET_PER_MINUTE = 100


def cassette_records(directory: Path) -> list[tuple[str, dict[str, Any]]]:
    records = []
    for path in sorted(directory.glob("*.json")):
        for i, item in enumerate(json.loads(path.read_text())["interactions"], 1):
            if item["request"]["uri"].rstrip("/").endswith("/api/v1/access_token"):
                continue
            try:
                payload = json.loads(item["response"]["body"]["string"])
            except ValueError:
                continue
            status = item["response"]["status"]["code"]
            records.append((f"{path.name}:{i}", {"status": status, "json": payload,
                                                 "fetched_at": "2016-01-01T00:00:00+00:00"}))
    return records


def parse_speed(records: list[tuple[str, dict[str, Any]]], repeats: int = 5) -> tuple[int, int, float]:
    """(things per pass, documents per pass, best things/second over ``repeats`` passes)."""
    n_things = sum(len(things_in_payload(r["json"])) for _, r in records)
    best = math.inf
    n_docs = 0
    for _ in range(repeats):
        start = time.perf_counter()
        result = parse_records(records, run_id="bench", logical_date="2016-01-01",
                               window_start=datetime(1970, 1, 1, tzinfo=UTC),
                               window_end=datetime(2100, 1, 1, tzinfo=UTC), comment_depth=100,
                               comment_limit=100_000)
        best = min(best, time.perf_counter() - start)
        n_docs = len(result.documents)
    return n_things, n_docs, n_things / best


def _pages(items: int) -> int:
    return max(1, math.ceil((items + 1) / 100))  # +1: the item older than the start that ends paging


def requests_per_night(settings: Any, posts_per_source: int,
                       comments_per_subreddit: int = 200) -> dict[str, Any]:
    cfg = settings.reddit
    sources = len(cfg.subreddits) * len(cfg.listings) + len(cfg.search_queries)
    items = min(posts_per_source, cfg.max_items_per_listing, cfg.listing_cap)
    listing_pages = sources * _pages(items)
    # Posts found by several sources (a subreddit and a search) are fetched once; assume no overlap.
    posts = sources * items
    # Newest-comments streams (one per subreddit): paged to their own watermark, no trees to load.
    streams = len(cfg.subreddits) if getattr(cfg, "comment_streams", False) else 0
    stream_items = min(comments_per_subreddit, cfg.max_items_per_listing, cfg.listing_cap)
    stream_pages = streams * _pages(stream_items)
    low = 1 + listing_pages + stream_pages + posts
    high = low + posts * cfg.replace_more_limit
    # A search that hits the cap is split into one restricted search per subreddit + extra sorts.
    split_sources = len(cfg.subreddits) + len(cfg.search_split_sorts)
    return {"sources": sources, "listing_pages": listing_pages, "posts": posts, "low": low, "high": high,
            "comment_streams": streams, "stream_pages": stream_pages,
            # The limit stops the stream before the comment that ends paging: it stays incomplete.
            "streams_capped": streams > 0 and comments_per_subreddit >= min(cfg.max_items_per_listing,
                                                                              cfg.listing_cap),
            "minutes_low": low / BUDGET_PER_MINUTE, "minutes_high": high / BUDGET_PER_MINUTE,
            "cap": cfg.max_requests_per_run, "split_pages_per_capped_search":
                split_sources * math.ceil(cfg.listing_cap / 100)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cassettes", type=Path, default=DEFAULT_CASSETTES)
    parser.add_argument("--config", default=None, help="settings overlay (default: config/pipeline.toml)")
    parser.add_argument("--posts-per-source", type=int, default=40)
    parser.add_argument("--comments-per-subreddit", type=int, default=200)
    args = parser.parse_args(argv)

    if args.cassettes.is_dir():
        records = cassette_records(args.cassettes)
        things, docs, rate = parse_speed(records)
        print(f"parse: {len(records)} recorded responses, {things} things -> {docs} documents; "
              f"{rate:,.0f} items/s (best of 5, one core)")
        summary.record("reddit", "recorded listings parsed", "all cassettes parse", f"{docs} documents",
                       "", docs > 0)
    else:
        print(f"parse: skipped, no cassettes at {args.cassettes}")
        summary.missing("reddit", "recorded listings parsed", "all cassettes parse",
                        f"no cassettes at {args.cassettes}")

    est = requests_per_night(load_settings(args.config), args.posts_per_source, args.comments_per_subreddit)
    capped = "; capped by max_items_per_listing: streams stay incomplete" if est["streams_capped"] else ""
    streams = f", {est['comment_streams']} comment streams ({est['stream_pages']} pages{capped})" \
        if est["comment_streams"] else ""
    print(f"requests/night: {est['sources']} sources, {est['listing_pages']} listing pages{streams}, "
          f"~{est['posts']} posts -> {est['low']}..{est['high']} requests "
          f"({est['minutes_low']:.1f}..{est['minutes_high']:.1f} min at {BUDGET_PER_MINUTE}/min)")
    verdict = "fits" if est["high"] <= est["cap"] else (
        "may exceed it: the run then stops partial, keeps what landed, and the next night resumes "
        "from the watermarks")
    print(f"per-run cap: {est['cap']} requests ({est['cap'] / BUDGET_PER_MINUTE:.0f} min); "
          f"the estimate {verdict}; each search that hits the listing cap adds up to "
          f"{est['split_pages_per_capped_search']} listing pages")
    # The target is that a typical night (the low estimate) completes within one run's cap; the high
    # estimate (every comment tree expanded) may not, by design: the run stops partial and resumes.
    fits = est["low"] <= est["cap"]
    summary.record("reddit", "requests/night (typical)", f"<= {est['cap']} per-run cap",
                   f"{est['low']} (worst case {est['high']})", f"Reddit budget {BUDGET_PER_MINUTE}/min", fits)
    return 0 if fits else 1


if __name__ == "__main__":
    raise SystemExit(main())
