"""Incremental Reddit runs through the replay server and a real warehouse: watermarks, the
budget running out mid-run, and a Reddit-wide search split past the listing cap."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from common.config import RedditSettings, Settings
from common.context import RunContext
from common.jsonl import read_json, read_jsonl
from demo.replay.server import ReplayServer
from extractors.reddit import extract
from extractors.reddit.client import PrawRedditClient
from extractors.reddit.credentials import RedditCredentials
from extractors.reddit.extract import documents_path, watermark_path
from pipeline import stages
from warehouse.db import connect
from warehouse.watermarks import advance_from_work, export_marks, read_marks

NIGHT1, NIGHT2 = date(2026, 11, 10), date(2026, 11, 11)


def ts(day: int, hour: int = 12) -> int:
    return int(datetime(2026, 11, day, hour, tzinfo=UTC).timestamp())


def post(pid: str, sub: str, created: int, n_comments: int = 1, score: int = 5,
         title: str = "selling on TikTok Shop") -> dict[str, Any]:
    comments = [{"id": f"{pid}c{i}", "author": "u", "body": f"comment on {pid}",
                 "created_utc": created + 600 * (i + 1), "score": 1, "deleted": False, "replies": []}
                for i in range(n_comments)]
    return {"id": pid, "subreddit": sub, "title": title, "selftext": f"body {pid}", "author": "seller",
            "created_utc": created, "score": score, "edited": False, "removed": False, "link_url": None,
            "comments": comments}


# Night 1 window [Nov 8, Nov 11), night 2 default window [Nov 9, Nov 12).
CORPUS = {"synthetic": True, "subreddits": ["TikTokShop", "Whatnot"], "posts": [
    post("a1", "TikTokShop", ts(8, 10)),
    post("a0", "TikTokShop", ts(9, 20)),   # in night 2's default window, but older than its watermark
    post("a2", "TikTokShop", ts(10, 12)),  # newest of night 1 in r/TikTokShop
    post("a3", "TikTokShop", ts(11, 9)),   # new on night 2
    post("b0", "Whatnot", ts(9, 5)),
    post("b1", "Whatnot", ts(9, 12)),      # newest of night 1 in r/Whatnot
    post("b2", "Whatnot", ts(11, 15)),     # new on night 2
]}


def settings_for(tmp_path: Path, base_url: str, **reddit: Any) -> Settings:
    cfg: dict[str, Any] = dict(subreddits=("TikTokShop", "Whatnot"), listings=("new",), search_queries=(),
                               max_items_per_listing=50, comment_depth=3, comment_limit=50,
                               replace_more_limit=4, oauth_url=base_url, reddit_url=base_url, timeout_s=5.0)
    cfg.update(reddit)
    return Settings(data_dir=tmp_path / "data", backfill_days=3, lookback_hours=2,
                    reddit=RedditSettings(**cfg))


def run_night(settings: Settings, night: date, **client_kw: Any):
    ctx = RunContext.for_night(settings, night, run_id=f"run-{night}")
    # As the stage does: it reads the marks file (extractors never open the warehouse), hands them in.
    stored = stages._watermarks(ctx, "reddit")
    run = extract(ctx, stored=stored, client_factory=lambda landing: PrawRedditClient(
        RedditCredentials("good-client", "fake-secret"), settings.reddit, landing, sleep=lambda s: None,
        **client_kw))
    return ctx, run


def land_in_warehouse(ctx: RunContext) -> None:
    """What the load stage does with the marks: advance them in the warehouse (load_night's own
    test covers the call inside the transaction), then export them for the next extracts."""
    con = connect(ctx.settings.warehouse_path)
    try:
        advance_from_work(con, ctx)
    finally:
        con.close()
    export_marks(ctx.settings)


def comment_fetches(srv: ReplayServer, since: int = 0) -> set[str]:
    return {r.path.split("/")[2] for r in srv.requests[since:] if r.path.startswith("/comments/")}


def doc_ids(ctx: RunContext) -> set[str]:
    return {r["doc_id"] for r in read_jsonl(documents_path(ctx))}


def test_night2_fetches_only_what_is_new_since_the_watermark(tmp_path, reddit_replay):
    srv = reddit_replay(CORPUS)
    settings = settings_for(tmp_path, srv.base_url)
    ctx1, run1 = run_night(settings, NIGHT1)
    assert run1.status == "ok", run1.to_dict()
    assert comment_fetches(srv) == {"a1", "a0", "a2", "b0", "b1"}
    assert "backfill window" in run1.message
    land_in_warehouse(ctx1)
    con = connect(settings.warehouse_path)
    try:
        assert read_marks(con, "reddit", NIGHT2) == {
            "r/TikTokShop/new": datetime(2026, 11, 10, 12, tzinfo=UTC),
            "r/Whatnot/new": datetime(2026, 11, 9, 12, tzinfo=UTC),
            # The comment streams' own marks: the newest comment in night 1's window.
            "r/TikTokShop/comments": datetime(2026, 11, 10, 12, 10, tzinfo=UTC),
            "r/Whatnot/comments": datetime(2026, 11, 9, 12, 10, tzinfo=UTC)}
    finally:
        con.close()

    n_before = len(srv.requests)
    ctx2, run2 = run_night(settings, NIGHT2)
    assert run2.status == "ok", run2.to_dict()
    assert "4 watermark(s) from the watermarks file" in run2.message
    # Only posts at or after watermark - lookback (2 h): a0 and b0 are in the default window but
    # were delivered by night 1, so neither their comments nor their rows are fetched again.
    assert comment_fetches(srv, n_before) == {"a2", "a3", "b1", "b2"}
    assert doc_ids(ctx2) == {"t3_a2", "t3_a3", "t3_b1", "t3_b2", "t1_a2c0", "t1_a3c0", "t1_b1c0", "t1_b2c0"}
    marks = read_json(watermark_path(ctx2))["sources"]
    assert marks["r/TikTokShop/new"]["since"] == "2026-11-10T10:00:00+00:00"
    assert marks["r/TikTokShop/new"]["watermark"] == "2026-11-11T09:00:00+00:00"
    # Paging stopped earlier too: night 2 read fewer listing items than night 1 for r/TikTokShop.
    assert read_json(watermark_path(ctx1))["sources"]["r/TikTokShop/new"]["items"] == 4
    assert marks["r/TikTokShop/new"]["items"] == 3


def test_rerun_of_night1_after_night2_uses_its_original_window(tmp_path, reddit_replay):
    srv = reddit_replay(CORPUS)
    settings = settings_for(tmp_path, srv.base_url)
    ctx1, _ = run_night(settings, NIGHT1)
    first = doc_ids(ctx1)
    land_in_warehouse(ctx1)
    ctx2, _ = run_night(settings, NIGHT2)
    land_in_warehouse(ctx2)
    ctx1b, run1b = run_night(settings, NIGHT1)  # marks of later nights must not shrink a re-run
    assert run1b.status == "ok" and doc_ids(ctx1b) == first
    assert "no watermarks" not in run1b.message  # the warehouse was read; it had nothing earlier


def test_budget_exhausted_mid_run_advances_only_what_landed(tmp_path, reddit_replay):
    srv = reddit_replay(CORPUS)
    settings = settings_for(tmp_path, srv.base_url)
    # token + 2 listings of 2 pages each + 2 comment streams of 2 pages each, then comment trees
    # oldest first: a1, b0, b1 | a0, a2 refused.
    ctx1, run1 = run_night(settings, NIGHT1, max_requests=12)
    assert run1.status == "partial" and any(e.stage == "budget" and e.url == "t3_a0" for e in run1.errors)
    assert comment_fetches(srv) == {"a1", "b0", "b1"}
    marks = read_json(watermark_path(ctx1))["sources"]
    # Both listings were complete, but a0 and later posts have no comments: marks stop before a0.
    assert marks["r/TikTokShop/new"]["complete"] is True
    assert marks["r/TikTokShop/new"]["newest"] == "2026-11-10T12:00:00+00:00"
    assert marks["r/TikTokShop/new"]["watermark"] == "2026-11-08T10:00:00+00:00"
    assert marks["r/Whatnot/new"]["watermark"] == "2026-11-09T12:00:00+00:00"
    assert {"t3_a0", "t3_a2", "t1_b1c0"} <= doc_ids(ctx1)  # what was fetched is kept
    # The streams were paged completely before the budget ran out: their comments (a0's and a2's
    # too) landed, so their marks advance whatever happened to the trees.
    assert {"t1_a0c0", "t1_a2c0"} <= doc_ids(ctx1)
    assert marks["r/TikTokShop/comments"] == {**marks["r/TikTokShop/comments"], "complete": True,
                                              "watermark": "2026-11-10T12:10:00+00:00"}
    land_in_warehouse(ctx1)

    n_before = len(srv.requests)
    ctx2, run2 = run_night(settings, NIGHT2)
    assert run2.status == "ok"
    # Night 2 resumes from the marks (minus lookback), so a0 and a2 get their comments after all.
    assert comment_fetches(srv, n_before) == {"a0", "a2", "a3", "b1", "b2"}


def test_incomplete_listing_does_not_advance(tmp_path, reddit_replay):
    from demo.replay.reddit_api import Fault

    srv = reddit_replay(CORPUS, faults=[Fault(r"^/r/Whatnot/new", "503", times=100)])
    settings = settings_for(tmp_path, srv.base_url)
    ctx1, run1 = run_night(settings, NIGHT1, max_retries=1)
    assert run1.status == "partial"
    land_in_warehouse(ctx1)
    con = connect(settings.warehouse_path)
    try:
        assert set(read_marks(con, "reddit", NIGHT2)) == {"r/TikTokShop/new", "r/TikTokShop/comments",
                                                          "r/Whatnot/comments"}
    finally:
        con.close()


SEARCH_CORPUS = {"synthetic": True, "subreddits": ["TikTokShop", "Whatnot", "Elsewhere"], "posts": [
    *[post(f"t{i}", "TikTokShop", ts(9, i), n_comments=0, title="live shopping haul") for i in range(3)],
    *[post(f"w{i}", "Whatnot", ts(9, 5 + i), n_comments=0, title="live shopping night") for i in range(3)],
    # Newest: these fill the capped Reddit-wide listing. The two oldest score high, so "top" finds them.
    *[post(f"e{i}", "Elsewhere", ts(10, i), n_comments=0, title="live shopping tips",
           score=100 if i < 2 else 1) for i in range(6)],
]}


def test_search_past_the_listing_cap_is_split(tmp_path, reddit_replay):
    srv = reddit_replay(SEARCH_CORPUS, listing_cap=4)
    settings = settings_for(tmp_path, srv.base_url, listings=(), search_queries=("live shopping",),
                            listing_cap=4, search_split_sorts=("top",))
    ctx, run = run_night(settings, NIGHT1)
    docs = doc_ids(ctx)
    # Guaranteed: every match in the configured subreddits (each restricted search was complete).
    assert {f"t3_t{i}" for i in range(3)} | {f"t3_w{i}" for i in range(3)} <= docs
    # Best effort elsewhere: the capped newest 4, plus what the "top" sort surfaced.
    assert {f"t3_e{i}" for i in range(6)} <= docs
    searches = [r.target for r in srv.requests if "/search" in r.path]
    assert any("/r/TikTokShop/search" in t and "restrict_sr=True" in t for t in searches), searches
    assert any("sort=top" in t for t in searches)
    marks = read_json(watermark_path(ctx))["sources"]
    assert marks["search:live shopping"]["complete"] is False  # Reddit-wide coverage not guaranteed
    assert marks["search:live shopping@r/TikTokShop"]["complete"] is True
    assert marks["search:live shopping@r/Whatnot"]["watermark"] == "2026-11-09T07:00:00+00:00"
    assert marks["search:live shopping/top"]["complete"] is False
    assert run.status == "partial"
    assert [e.url for e in run.errors] == ["search:live shopping"] and "split into 3" in run.errors[0].reason
