"""Reddit extraction end to end against the local replay server (PRAW really talks HTTP to it)."""

from __future__ import annotations

import gzip
import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from common.config import RedditSettings, Settings
from common.context import RunContext
from common.jsonl import read_json, read_jsonl
from demo.replay.reddit_api import Fault
from extractors.landing import RawLanding
from extractors.reddit import extract, extract_from_raw
from extractors.reddit.client import Post, PrawRedditClient, TransientFailure
from extractors.reddit.credentials import RedditCredentials
from extractors.reddit.extract import NO_CREDENTIALS, documents_path, watermark_path

NIGHT = date(2026, 11, 10)
FAKE_SECRET = "fAkE-SeCrEt-7c1d9e"  # noqa: S105 - a known fake, grepped for below


def ts(day: int, hour: int = 12, minute: int = 0) -> int:
    return int(datetime(2026, 11, day, hour, minute, tzinfo=UTC).timestamp())


def comment(cid: str, created: int, replies: list[dict] | None = None, **kw: Any) -> dict[str, Any]:
    return {"id": cid, "author": kw.get("author", f"user_{cid}"), "body": kw.get("body", f"comment {cid}"),
            "created_utc": created, "score": 1, "deleted": kw.get("deleted", False), "replies": replies or []}


def post(pid: str, sub: str, created: int, comments: list[dict] | None = None, **kw: Any) -> dict[str, Any]:
    return {"id": pid, "subreddit": sub, "title": kw.get("title", f"post {pid} about TikTok Shop"),
            "selftext": kw.get("selftext", f"body of {pid}"), "author": kw.get("author", "seller1"),
            "created_utc": created, "score": 5, "edited": kw.get("edited", False),
            "removed": kw.get("removed", False), "link_url": kw.get("link_url"), "comments": comments or []}


TINY_CORPUS: dict[str, Any] = {
    "synthetic": True,
    "subreddits": ["TikTokShop", "Whatnot", "Flipping"],
    "posts": [
        post("aaa001", "TikTokShop", ts(10), [
            # chain c1 -> c2 -> c3 -> c4: deeper than one page and than comment_depth
            comment("c1", ts(10, 13), [comment("c2", ts(10, 14), [comment("c3", ts(10, 15),
                                                                        [comment("c4", ts(10, 16))])])]),
            comment("c5", ts(10, 13, 5), deleted=True, author=None, body="[deleted]"),
            comment("c6", ts(10, 13, 10)),
            comment("c7", ts(10, 13, 20), [comment("c8", ts(10, 13, 30))]),
            comment("c9", ts(11, 2)),  # after the window: excluded
        ]),
        post("aaa002", "TikTokShop", ts(9), author=None),  # deleted post: tombstone
        post("aaa003", "TikTokShop", ts(1)),  # before the window: paging stops here
        post("aaa007", "TikTokShop", ts(8, 1)),  # in window, but on the second page
        post("aaa004", "Whatnot", ts(10, 9), removed=True, title="live shopping stream removed"),
        post("aaa005", "Whatnot", ts(11, 1)),  # after window end
        post("aaa006", "Flipping", ts(9, 8), title="Trying TalkShopLive tonight", link_url="https://example.com/x"),
    ],
}

EXPECTED_IDS = {"t3_aaa001", "t3_aaa002", "t3_aaa007", "t3_aaa004", "t3_aaa006",
                "t1_c1", "t1_c2", "t1_c3", "t1_c5", "t1_c6", "t1_c7", "t1_c8"}


def settings_for(tmp_path: Path, base_url: str, **reddit: Any) -> Settings:
    cfg = dict(subreddits=("TikTokShop", "Whatnot"), listings=("new",), search_queries=("TalkShopLive",),
               max_items_per_listing=50, comment_depth=3, comment_limit=50, replace_more_limit=10,
               oauth_url=base_url, reddit_url=base_url, timeout_s=5.0)
    cfg.update(reddit)
    return Settings(data_dir=tmp_path / "data", backfill_days=3, reddit=RedditSettings(**cfg))


@pytest.fixture()
def server_factory(reddit_replay):
    """The shared Reddit replay factory (tests/conftest.py) with this file's small pages as defaults."""

    def start(**handler_kw: Any):
        handler_kw.setdefault("comments_per_request", 3)
        handler_kw.setdefault("depth_per_request", 2)
        handler_kw.setdefault("ratelimit_budget", 1_000_000)
        return reddit_replay(TINY_CORPUS, **handler_kw)

    return start


def run_extract(settings: Settings, run_id: str = "run1", client_id: str = "good-client",
                sleeps: list[float] | None = None, **client_kw: Any):
    ctx = RunContext.for_night(settings, NIGHT, run_id=run_id)
    creds = RedditCredentials(client_id, FAKE_SECRET)
    record = sleeps if sleeps is not None else []
    run = extract(ctx, client_factory=lambda landing: PrawRedditClient(
        creds, settings.reddit, landing, sleep=record.append, **client_kw))
    return ctx, run


def docs_by_id(ctx: RunContext) -> dict[str, dict[str, Any]]:
    rows = list(read_jsonl(documents_path(ctx)))
    ids = [r["doc_id"] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate doc_id rows"
    return {r["doc_id"]: r for r in rows}


def test_extract_documents_tree_tombstones_and_window(tmp_path, server_factory):
    srv = server_factory()
    settings = settings_for(tmp_path, srv.base_url)
    ctx, run = run_extract(settings)
    assert run.status == "ok", run.to_dict()
    docs = docs_by_id(ctx)
    assert set(docs) == EXPECTED_IDS
    # morechildren and "continue this thread" were really exercised
    paths = [r.path for r in srv.requests]
    assert any(p.startswith("/api/morechildren") for p in paths)
    assert any("/_/" in p for p in paths)
    assert any("after=" in r.target for r in srv.requests), "listing paging was not exercised"

    p1 = docs["t3_aaa001"]
    assert p1["kind"] == "post" and p1["channel"] == "TikTokShop" and p1["source"] == "reddit"
    assert p1["url"].startswith("https://www.reddit.com/r/TikTokShop/comments/aaa001/")
    assert p1["published_at"] == "2026-11-10T12:00:00+00:00"
    assert p1["logical_date"] == "2026-11-10" and p1["run_id"] == "run1"
    assert p1["num_comments"] == 9 and p1["score"] == 5
    assert docs["t1_c1"]["parent_id"] == "t3_aaa001"
    assert docs["t1_c2"]["parent_id"] == "t1_c1" and docs["t1_c3"]["parent_id"] == "t1_c2"
    assert docs["t1_c8"]["parent_id"] == "t1_c7"
    assert docs["t1_c1"]["body"] == "comment c1" and docs["t1_c1"]["title"] is None
    for tomb in ("t1_c5", "t3_aaa002", "t3_aaa004"):
        assert docs[tomb]["is_deleted"] is True
        assert docs[tomb]["body"] is None and docs[tomb]["author"] is None
    text = documents_path(ctx).read_text()
    assert "[deleted]" not in text and "[removed]" not in text
    assert docs["t3_aaa006"]["extra"]["link_url"] == "https://example.com/x"

    # raw_ref points at a real landed line
    rel, line = docs["t1_c1"]["raw_ref"].rsplit(":", 1)
    with gzip.open(settings.data_dir / rel, "rt") as fh:
        assert int(line) <= len(fh.readlines())
    saved = read_json(ctx.work_dir / "reddit.source_run.json")
    assert saved["status"] == "ok" and saved["n_documents"] == len(EXPECTED_IDS) and saved["n_requests"] > 5
    marks = read_json(watermark_path(ctx))["sources"]
    assert marks["r/TikTokShop/new"]["complete"] is True
    assert marks["r/TikTokShop/new"]["newest"] == "2026-11-10T12:00:00+00:00"
    assert marks["r/TikTokShop/new"]["watermark"] == "2026-11-10T12:00:00+00:00"
    assert "no watermarks" in run.message and "backfill window" in run.message


def test_comment_limit_keeps_parents(tmp_path, server_factory):
    srv = server_factory()
    ctx, run = run_extract(settings_for(tmp_path, srv.base_url, comment_limit=3, comment_depth=2))
    docs = docs_by_id(ctx)
    comments = {k: v for k, v in docs.items()
                if v["kind"] == "comment" and v["extra"]["link_id"] == "t3_aaa001"}
    assert len(comments) == 3
    for doc in comments.values():
        assert doc["parent_id"] == "t3_aaa001" or doc["parent_id"] in comments
    assert "t1_c3" not in docs  # depth 2 >= comment_depth


def test_rerun_same_night_is_idempotent_and_from_raw_matches(tmp_path, server_factory):
    srv = server_factory()
    settings = settings_for(tmp_path, srv.base_url)
    ctx, first = run_extract(settings, run_id="nightly")
    rows1 = sorted(read_jsonl(documents_path(ctx)), key=lambda r: r["doc_id"])
    ctx, second = run_extract(settings, run_id="nightly")  # Airflow retry: same run id
    rows2 = sorted(read_jsonl(documents_path(ctx)), key=lambda r: r["doc_id"])
    assert first.raw_path != second.raw_path  # landing is immutable: the retry wrote beside it
    assert [r["doc_id"] for r in rows1] == [r["doc_id"] for r in rows2]
    assert [r["content_hash"] for r in rows1] == [r["content_hash"] for r in rows2]

    rerun = extract_from_raw(ctx)
    assert rerun.status == "ok" and rerun.n_documents == len(rows2)
    rows3 = sorted(read_jsonl(documents_path(ctx)), key=lambda r: r["doc_id"])
    assert [r["doc_id"] for r in rows3] == [r["doc_id"] for r in rows2]
    drop = {"raw_ref", "fetched_at"}  # from-raw reads both landings; the later wins
    assert [{k: v for k, v in r.items() if k not in drop} for r in rows3] == \
           [{k: v for k, v in r.items() if k not in drop} for r in rows2]


def test_from_raw_reproduces_single_run_exactly(tmp_path, server_factory):
    srv = server_factory()
    settings = settings_for(tmp_path, srv.base_url)
    ctx, _ = run_extract(settings)
    live = documents_path(ctx).read_text()
    n_requests = len(srv.requests)
    assert extract_from_raw(ctx).status == "ok"
    assert documents_path(ctx).read_text() == live
    assert len(srv.requests) == n_requests  # no network


def test_skipped_without_credentials_logs_one_line(tmp_path, monkeypatch, caplog):
    for var in ("PULSE_REDDIT_CLIENT_ID", "PULSE_REDDIT_CLIENT_SECRET"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("extractors.reddit.credentials._from_airflow", lambda conn_id="reddit_default": None)
    settings = settings_for(tmp_path, "http://127.0.0.1:9")
    ctx = RunContext.for_night(settings, NIGHT, run_id="r")
    with caplog.at_level(logging.DEBUG):
        run = extract(ctx)
    assert run.status == "skipped"
    ours = [r for r in caplog.records if r.name.startswith(("extractors", "praw", "prawcore"))]
    assert [r.getMessage() for r in ours] == [NO_CREDENTIALS]
    assert documents_path(ctx).exists() and documents_path(ctx).read_text() == ""


def test_bad_credentials_fail_cleanly(tmp_path, server_factory, caplog):
    srv = server_factory()
    with caplog.at_level(logging.DEBUG):
        ctx, run = run_extract(settings_for(tmp_path, srv.base_url), client_id="bad-client")
    assert run.status == "failed"
    assert "refused the credentials" in run.message
    assert not any(r.exc_info for r in caplog.records), "traceback logged"
    assert FAKE_SECRET not in caplog.text
    assert read_json(ctx.work_dir / "reddit.source_run.json")["status"] == "failed"


def test_fake_secret_never_leaks(tmp_path, server_factory, caplog):
    srv = server_factory()
    settings = settings_for(tmp_path, srv.base_url)
    with caplog.at_level(logging.DEBUG):
        ctx, run = run_extract(settings)
    assert run.status == "ok"
    assert FAKE_SECRET not in caplog.text
    assert FAKE_SECRET not in repr(RedditCredentials("id", FAKE_SECRET))
    for path in settings.data_dir.rglob("*"):
        if path.is_file():
            data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            assert FAKE_SECRET.encode() not in data, path
            assert b"access_token" not in data, path


@pytest.mark.parametrize(
    ("fault", "expect_sleep"),
    [
        (Fault(r"^/r/TikTokShop/new", "429", retry_after_s=7), 7.0),
        (Fault(r"^/r/TikTokShop/new", "500"), None),
        (Fault(r"^/comments/aaa001$", "503", times=2), None),
        (Fault(r"^/r/Whatnot/new", "truncated"), None),
        (Fault(r"^/api/morechildren", "500"), None),
    ],
    ids=["429-retry-after", "500", "503-twice", "truncated-json", "morechildren-500"],
)
def test_transient_faults_are_retried(tmp_path, server_factory, fault, expect_sleep):
    srv = server_factory(faults=[fault])
    sleeps: list[float] = []
    ctx, run = run_extract(settings_for(tmp_path, srv.base_url), sleeps=sleeps)
    assert fault.seen >= 1
    assert run.status == "ok", run.to_dict()
    assert set(docs_by_id(ctx)) == EXPECTED_IDS
    assert sleeps, "no backoff happened"
    if expect_sleep is not None:
        assert expect_sleep in sleeps
    assert all(s <= 60 for s in sleeps)


def test_persistent_5xx_is_bounded_and_partial(tmp_path, server_factory):
    fault = Fault(r"^/r/Whatnot/new", "503", times=100)
    srv = server_factory(faults=[fault])
    sleeps: list[float] = []
    ctx, run = run_extract(settings_for(tmp_path, srv.base_url), sleeps=sleeps, max_retries=2)
    assert run.status == "partial"
    assert fault.seen == 3  # one try + two retries, then the source is given up
    assert any(e.url == "r/Whatnot/new" and e.status_code == 503 for e in run.errors)
    docs = docs_by_id(ctx)
    assert "t3_aaa001" in docs and "t3_aaa004" not in docs
    assert read_json(watermark_path(ctx))["sources"]["r/Whatnot/new"]["complete"] is False


def test_stalled_response_times_out_and_retries(tmp_path, server_factory):
    srv = server_factory(faults=[Fault(r"^/r/TikTokShop/new", "stall", delay_s=1.5)])
    sleeps: list[float] = []
    ctx, run = run_extract(settings_for(tmp_path, srv.base_url, timeout_s=0.4), sleeps=sleeps)
    assert run.status == "ok"
    assert sleeps and set(docs_by_id(ctx)) == EXPECTED_IDS


def test_empty_listing_is_not_an_error(tmp_path, server_factory):
    srv = server_factory(faults=[Fault(r"^/r/Whatnot/new", "empty")])
    ctx, run = run_extract(settings_for(tmp_path, srv.base_url))
    assert run.status == "ok"
    assert "t3_aaa004" not in docs_by_id(ctx)


def test_budget_exhaustion_keeps_what_landed(tmp_path, server_factory):
    # Budget of 6 requests per 3 s window, and we refuse to wait: stop, keep, mark incomplete.
    srv = server_factory(ratelimit_budget=6, ratelimit_window_s=3)
    ctx, run = run_extract(settings_for(tmp_path, srv.base_url), max_ratelimit_wait_s=0)
    assert run.status == "partial"
    assert any(e.stage == "budget" for e in run.errors)
    docs = docs_by_id(ctx)
    # c4 is deeper than comment_depth, but when the comment stream landed it without its
    # ancestors its depth is unknown, so it is kept as a comment on an earlier thread.
    assert docs and set(docs) - {"t1_c4"} < EXPECTED_IDS
    marks = read_json(watermark_path(ctx))["sources"]
    posts = {k: m for k, m in marks.items() if not k.endswith("/comments")}
    streams = {k: m for k, m in marks.items() if k.endswith("/comments")}
    stop = next(e.url for e in run.errors if e.stage == "budget")
    if stop.startswith("t3_"):  # ran out while loading comment trees (oldest post first)
        frontier = docs[stop]["published_at"]
        assert all(m["watermark"] is None or m["watermark"] < frontier for m in posts.values())
        assert all(m["complete"] for m in streams.values())  # streams are paged before the trees
    else:  # ran out while paging: no comment tree loaded, so no post key may claim a watermark
        assert all(m["watermark"] is None for m in posts.values())
        assert marks[stop]["complete"] is False
    # Something was fetched but is not covered by any watermark: it must be fetched again.
    assert any(m["newest"] is not None and m["watermark"] != m["newest"] for m in marks.values())


def test_request_cap_stops_run(tmp_path, server_factory):
    srv = server_factory()
    ctx, run = run_extract(settings_for(tmp_path, srv.base_url), max_requests=4)
    assert run.status == "partial" and run.n_requests <= 5  # 4 API requests + the token
    assert "cap" in run.message


def test_unsupported_listing_is_a_recorded_config_error(tmp_path, server_factory):
    srv = server_factory()
    ctx, run = run_extract(settings_for(tmp_path, srv.base_url, listings=("new", "bogus")))
    assert run.status == "partial"
    assert [e.stage for e in run.errors] == ["config", "config"]
    assert set(docs_by_id(ctx)) == EXPECTED_IDS


class SnapshotClient:
    """A non-PRAW client (the interface extract() depends on): lands canned payloads."""

    def __init__(self, landing: RawLanding, payload: dict[str, Any]) -> None:
        self.landing, self.payload, self.n_requests = landing, payload, 0

    def listing(self, subreddit: str, kind: str, limit: int):
        self.n_requests += 1
        self.landing.write({"url": f"snapshot://r/{subreddit}/{kind}", "status": 200, "json": self.payload})
        for child in self.payload["data"]["children"]:
            yield Post(child["data"]["id"], child["data"]["created_utc"])

    def search(self, query: str, limit: int, time_filter: str, subreddit: str = "all", sort: str = "new"):
        return iter(())

    def comments(self, subreddit: str, limit: int):
        return iter(())  # no new comments in this snapshot

    def load_comments(self, post_id: str, comment_limit: int, replace_more_limit: int) -> None:
        raise TransientFailure("no comments in this snapshot", 404)

    def close(self) -> None:
        pass


def test_extract_with_an_injected_client(tmp_path):
    settings = settings_for(tmp_path, "http://127.0.0.1:9", subreddits=("TikTokShop",))
    ctx = RunContext.for_night(settings, NIGHT, run_id="snap")
    page = {"kind": "Listing", "data": {"after": None, "children": [
        {"kind": "t3", "data": {"id": "s1", "subreddit": "TikTokShop", "title": "t", "selftext": "b",
                                "author": "a", "created_utc": ts(10),
                                "permalink": "/r/TikTokShop/comments/s1/t/"}}]}}
    client = SnapshotClient(RawLanding(settings, "reddit", NIGHT, "snap"), page)
    run = extract(ctx, client=client)
    assert run.status == "partial" and run.errors[0].stage == "comments" and run.errors[0].status_code == 404
    assert list(docs_by_id(ctx)) == ["t3_s1"]


def test_top_and_hot_listings_from_config(tmp_path, server_factory):
    srv = server_factory()
    ctx, run = run_extract(settings_for(tmp_path, srv.base_url, listings=("new", "top", "hot")))
    assert run.status == "ok", run.to_dict()
    assert set(docs_by_id(ctx)) == EXPECTED_IDS  # same posts, found by three listings, kept once
    targets = [r.target for r in srv.requests]
    assert any(t.startswith("/r/TikTokShop/top") and "t=day" in t for t in targets)
    assert any(t.startswith("/r/Whatnot/hot") for t in targets)
    marks = read_json(watermark_path(ctx))["sources"]
    # Score-ordered listings cannot prove they reached the window start: they never advance a mark.
    assert marks["r/TikTokShop/top"]["complete"] is False and marks["r/TikTokShop/new"]["complete"] is True


def test_short_ratelimit_reset_is_waited_out_not_a_failure(tmp_path, server_factory, monkeypatch):
    # 10 requests per 1 s window: prawcore reads X-Ratelimit-* and sleeps until the reset (<= our
    # max wait), so the run completes instead of hitting 429s or stopping early.
    import prawcore.rate_limit

    waits: list[float] = []
    real_sleep = prawcore.rate_limit.time.sleep

    def spy(seconds: float) -> None:
        waits.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(prawcore.rate_limit.time, "sleep", spy)
    srv = server_factory(ratelimit_budget=10, ratelimit_window_s=1)
    ctx, run = run_extract(settings_for(tmp_path, srv.base_url), max_ratelimit_wait_s=120)
    assert run.status == "ok", run.to_dict()
    assert set(docs_by_id(ctx)) == EXPECTED_IDS
    assert waits and max(waits) <= 1.0 + 1e-6  # paced by the announced reset, never longer
    with gzip.open(ctx.settings.data_dir / run.raw_path, "rt") as fh:
        statuses = {json.loads(line)["status"] for line in fh}
    assert statuses == {200}  # paced: Reddit (the replay) never had to answer 429
