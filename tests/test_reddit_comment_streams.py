"""Issue 3, "the next night fetches only new posts AND NEW COMMENTS": a comment posted tonight on a
post from nights ago (outside every post source's window) is caught by the subreddit's
newest-comments stream, lands raw, is parsed by the one parser and reaches core.documents with
its parent_id; a re-run does not duplicate it; an incomplete stream does not advance its mark.

Runs through the replay server (real PRAW paging) and the real warehouse load. Enrichment is
replaced by a pass-through (sentiment 0, no mentions) so the test stays quick: what is under test
is extraction, landing and the warehouse keys, not spaCy.
"""

from __future__ import annotations

import copy
import gzip
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from common.config import RedditSettings, Settings
from common.context import RunContext
from common.jsonl import read_json, read_jsonl, write_jsonl
from demo.replay.reddit_api import Fault
from demo.replay.server import ReplayServer
from extractors.reddit import extract
from extractors.reddit.client import PrawRedditClient
from extractors.reddit.credentials import RedditCredentials
from extractors.reddit.extract import documents_path, extract_from_raw, watermark_path
from pipeline import stages
from warehouse.db import connect
from warehouse.load import load_night
from warehouse.watermarks import export_marks, read_marks

NIGHT1, NIGHT2, NIGHT3 = date(2026, 11, 10), date(2026, 11, 11), date(2026, 11, 12)
STREAM = "r/TikTokShop/comments"


def ts(day: int, hour: int = 12, minute: int = 0) -> int:
    return int(datetime(2026, 11, day, hour, minute, tzinfo=UTC).timestamp())


def comment(cid: str, created: int, replies: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"id": cid, "author": f"user_{cid}", "body": f"comment {cid} about TikTok Shop",
            "created_utc": created, "score": 1, "deleted": False, "replies": replies or []}


def post(pid: str, created: int, comments: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": pid, "subreddit": "TikTokShop", "title": f"post {pid} on TikTok Shop live",
            "selftext": f"body {pid}", "author": "seller", "created_utc": created, "score": 5,
            "edited": False, "removed": False, "link_url": None, "comments": comments}


# Night 1 window [Nov 8, Nov 11). "old1" is from Nov 8: outside night 2's post window entirely.
CORPUS: dict[str, Any] = {"synthetic": True, "subreddits": ["TikTokShop"], "posts": [
    post("old1", ts(8, 10), [comment("oc0", ts(8, 11), [comment("oc1", ts(8, 12))])]),
    post("p2", ts(10, 12), [comment("pc0", ts(10, 13))]),
]}


def corpus_with_new_comments() -> dict[str, Any]:
    """Night 2's Reddit: two new comments on the OLD post (one top-level, one a reply to oc0)."""
    corpus = copy.deepcopy(CORPUS)
    old = corpus["posts"][0]
    old["comments"].append(comment("late2", ts(11, 16)))
    old["comments"][0]["replies"].append(comment("late1", ts(11, 15)))
    return corpus


def settings_for(data_dir: Path, base_url: str, **reddit: Any) -> Settings:
    cfg: dict[str, Any] = dict(subreddits=("TikTokShop",), listings=("new",), search_queries=(),
                               max_items_per_listing=50, comment_depth=4, comment_limit=50,
                               replace_more_limit=4, oauth_url=base_url, reddit_url=base_url, timeout_s=5.0)
    cfg.update(reddit)
    return Settings(data_dir=data_dir, backfill_days=3, lookback_hours=2, reddit=RedditSettings(**cfg))


def run_night(settings: Settings, night: date, run_id: str, **client_kw: Any):
    ctx = RunContext.for_night(settings, night, run_id=run_id)
    stored = stages._watermarks(RunContext.for_night(settings, night), "reddit")  # as the stage does
    run = extract(ctx, stored=stored, client_factory=lambda landing: PrawRedditClient(
        RedditCredentials("good-client", "fake-secret"), settings.reddit, landing, sleep=lambda s: None,
        **client_kw))
    return ctx, run


def pass_through_enrich(ctx: RunContext) -> None:
    """The enriched batch the load expects, without spaCy: sentiment 0, no mentions or entities."""
    rows = [{**r, "sentiment": 0.0, "themes": [], "language": "en"} for r in read_jsonl(documents_path(ctx))]
    enriched = ctx.work_dir / "enriched"
    write_jsonl(enriched / "documents.jsonl", rows)
    write_jsonl(enriched / "mentions.jsonl", [])
    write_jsonl(enriched / "entities.jsonl", [])


def extract_and_load(settings: Settings, night: date, run_id: str, **client_kw: Any):
    ctx, run = run_night(settings, night, run_id, **client_kw)
    pass_through_enrich(ctx)
    load_night(ctx)
    export_marks(settings)  # as the load stage does: what the next night's extract reads
    return ctx, run


def core_rows(settings: Settings, sql: str, params: list[Any] | None = None) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def marks_for(settings: Settings, night: date) -> dict[str, datetime]:
    con = connect(settings.warehouse_path)
    try:
        return read_marks(con, "reddit", night)
    finally:
        con.close()


def stream_requests(srv: ReplayServer) -> list[str]:
    return [r.target for r in srv.requests if r.path.rstrip("/") == "/r/TikTokShop/comments"]


def tree_fetches(srv: ReplayServer, since: int = 0) -> set[str]:
    return {r.path.split("/")[2] for r in srv.requests[since:] if r.path.startswith("/comments/")}


def landed_record(settings: Settings, raw_ref: str) -> dict[str, Any]:
    path, line = raw_ref.rsplit(":", 1)
    with gzip.open(settings.data_dir / path, "rt", encoding="utf-8") as fh:
        return json.loads(fh.readlines()[int(line) - 1])


def test_new_comment_on_old_post_reaches_core_documents_once(tmp_path, reddit_replay):
    data_dir = tmp_path / "data"
    srv1 = reddit_replay(CORPUS)
    s1 = settings_for(data_dir, srv1.base_url)
    ctx1, run1 = extract_and_load(s1, NIGHT1, "n1")
    assert run1.status == "ok", run1.to_dict()
    assert core_rows(s1, "SELECT count(*) FROM core.documents")[0][0] == 5  # 2 posts + 3 comments
    # The stream's own mark: the newest comment of night 1.
    assert marks_for(s1, NIGHT2)[STREAM] == datetime(2026, 11, 10, 13, tzinfo=UTC)

    # Night 2: Reddit now has two new comments on old1 (Nov 8), far older than the post mark.
    srv2 = reddit_replay(corpus_with_new_comments())
    s2 = settings_for(data_dir, srv2.base_url)
    ctx2, run2 = extract_and_load(s2, NIGHT2, "n2")
    assert run2.status == "ok", run2.to_dict()
    assert "old1" not in tree_fetches(srv2)  # not via its comment tree: via the stream
    assert stream_requests(srv2)
    docs = {r["doc_id"]: r for r in read_jsonl(documents_path(ctx2))}
    assert {"t1_late1", "t1_late2"} <= set(docs)
    assert "t1_oc0" not in docs and "t3_old1" not in docs  # earlier nights' items are not re-delivered
    # Landed raw like every other exchange, and the document points at that exchange.
    record = landed_record(s2, docs["t1_late1"]["raw_ref"])
    assert "/r/TikTokShop/comments" in record["url"] and record["status"] == 200
    assert {c["data"]["name"] for c in record["json"]["data"]["children"]} >= {"t1_late1"}

    rows = core_rows(s2, "SELECT doc_id, parent_id, kind, channel, night, extra_link FROM ("
                         "SELECT d.*, json_extract_string(r.extra, '$.link_id') AS extra_link "
                         "FROM core.documents d JOIN raw.documents r USING (doc_id, night)) "
                         "WHERE doc_id IN ('t1_late1', 't1_late2') ORDER BY doc_id")
    assert rows == [("t1_late1", "t1_oc0", "comment", "TikTokShop", NIGHT2, "t3_old1"),
                    ("t1_late2", "t3_old1", "comment", "TikTokShop", NIGHT2, "t3_old1")]
    stream_mark = read_json(watermark_path(ctx2))["sources"][STREAM]
    assert stream_mark["complete"] is True and stream_mark["watermark"] == "2026-11-11T16:00:00+00:00"
    assert stream_mark["since"] == "2026-11-10T11:00:00+00:00"  # its own mark minus the 2 h lookback

    # --from-raw reproduces the live night's documents, stream comments included.
    live = documents_path(ctx2).read_bytes()
    assert extract_from_raw(ctx2).status == "ok"
    assert [r["doc_id"] for r in read_jsonl(documents_path(ctx2))] == sorted(docs)
    assert documents_path(ctx2).read_bytes() == live

    # A re-run of night 2 (new run id) fetches the comments again; dedupe by doc_id keeps one row.
    n_core = core_rows(s2, "SELECT count(*) FROM core.documents")[0][0]
    ctx2b, run2b = extract_and_load(s2, NIGHT2, "n2-rerun")
    assert run2b.status == "ok"
    assert {r["doc_id"] for r in read_jsonl(documents_path(ctx2b))} == set(docs)
    assert core_rows(s2, "SELECT count(*) FROM core.documents")[0][0] == n_core
    assert core_rows(s2, "SELECT count(*) - count(DISTINCT doc_id) FROM core.documents")[0][0] == 0
    assert core_rows(s2, "SELECT count(*) FROM core.documents WHERE doc_id = 't1_late1'")[0][0] == 1
    assert core_rows(s2, "SELECT count(*) - count(DISTINCT (doc_id, night)) FROM raw.documents")[0][0] == 0


@pytest.mark.parametrize("how", ["fault", "item_limit", "budget"])
def test_incomplete_comment_stream_does_not_advance_its_watermark(tmp_path, reddit_replay, how):
    data_dir = tmp_path / "data"
    srv1 = reddit_replay(CORPUS)
    s1 = settings_for(data_dir, srv1.base_url)
    extract_and_load(s1, NIGHT1, "n1")
    night1_mark = datetime(2026, 11, 10, 13, tzinfo=UTC)

    # Night 2: the stream holds 3 comments newer than its start (pc0 is the item that ends paging).
    corpus = corpus_with_new_comments()
    corpus["posts"][1]["comments"].append(comment("pc1", ts(11, 17)))
    kw: dict[str, Any] = {}
    client_kw: dict[str, Any] = {}
    reddit: dict[str, Any] = {}
    if how == "fault":  # every page of the stream keeps failing
        kw["faults"] = [Fault(r"^/r/TikTokShop/comments", "503", times=100)]
        client_kw["max_retries"] = 1
    elif how == "item_limit":  # our own per-listing limit stops the stream before its start
        reddit["max_items_per_listing"] = 2
    else:  # the per-run request cap runs out in the middle of the stream
        # token, 1 page of r/TikTokShop/new (p2, then old1 ends paging), 2 stream pages | refused
        client_kw["max_requests"] = 4
    srv2 = reddit_replay(corpus, **kw)
    s2 = settings_for(data_dir, srv2.base_url, **reddit)
    ctx2, run2 = extract_and_load(s2, NIGHT2, f"n2-{how}", **client_kw)
    assert run2.status == "partial", run2.to_dict()
    mark = read_json(watermark_path(ctx2))["sources"][STREAM]
    assert mark["complete"] is False
    assert any(e.url == STREAM or e.stage == "budget" for e in run2.errors), run2.errors
    docs = {r["doc_id"] for r in read_jsonl(documents_path(ctx2))}
    if how != "fault":
        assert "t1_pc1" in docs  # what the stream did land is kept
    # The load happened, yet the stream's mark for night 3 is still night 1's.
    assert marks_for(s2, NIGHT3)[STREAM] == night1_mark


def test_comment_streams_can_be_switched_off(tmp_path, reddit_replay):
    srv = reddit_replay(corpus_with_new_comments())
    settings = settings_for(tmp_path / "data", srv.base_url, comment_streams=False)
    ctx, run = run_night(settings, NIGHT2, "off")
    assert run.status == "ok"
    assert srv.requests and not stream_requests(srv)
    assert STREAM not in read_json(watermark_path(ctx))["sources"]
    assert "t1_late1" not in {r["doc_id"] for r in read_jsonl(documents_path(ctx))}
