"""The replay server's Reddit API: auth, Reddit-shaped JSON, paging, more stubs, faults, cassettes."""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from common.config import RedditSettings, Settings
from common.context import RunContext
from common.jsonl import read_jsonl
from demo.replay.corpus import CORPUS_DIR
from demo.replay.http import ReplayRequest
from demo.replay.reddit_api import Fault, load_cassettes, make_cassette_handler, make_handler
from demo.replay.server import ReplayServer
from extractors.reddit import extract
from extractors.reddit.client import PrawRedditClient
from extractors.reddit.credentials import RedditCredentials
from extractors.reddit.extract import documents_path

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "reddit-api"

CORPUS = {"synthetic": True, "subreddits": ["S"], "posts": [
    {"id": f"p{i}", "subreddit": "S", "title": f"live shopping {i}", "selftext": "x", "author": "a",
     "created_utc": 1_762_000_000 + i, "score": i, "edited": False, "removed": False, "link_url": None,
     "comments": [{"id": f"c{i}{j}", "author": "b", "body": "y", "created_utc": 1_762_000_100 + j, "score": 1,
                   "deleted": False, "replies": [{"id": f"r{i}{j}", "author": "c", "body": "z",
                                                   "created_utc": 1_762_000_200, "score": 1, "deleted": False,
                                                   "replies": []}]} for j in range(4)]}
    for i in range(5)]}


def req(method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b"") -> ReplayRequest:
    return ReplayRequest(method, target, headers or {}, body, "http://127.0.0.1:1")


def basic(client_id: str, secret: str = "s") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def token(handler) -> dict[str, str]:
    resp = handler(req("POST", "/api/v1/access_token", basic("good"), b"grant_type=client_credentials"))
    assert resp.status == 200
    return {"Authorization": "bearer " + json.loads(resp.body)["access_token"]}


def body(resp) -> Any:
    return json.loads(resp.body)


def test_token_requires_basic_auth_and_good_client():
    h = make_handler(CORPUS)
    assert h(req("POST", "/api/v1/access_token", {}, b"grant_type=client_credentials")).status == 401
    bad = h(req("POST", "/api/v1/access_token", basic("bad-client"), b"grant_type=client_credentials"))
    assert bad.status == 401 and body(bad) == {"message": "Unauthorized", "error": 401}
    ok = body(h(req("POST", "/api/v1/access_token", basic("good"), b"grant_type=client_credentials")))
    assert set(ok) == {"access_token", "token_type", "expires_in", "scope"} and ok["token_type"] == "bearer"


def test_api_routes_need_bearer_and_unknown_routes_are_not_ours():
    h = make_handler(CORPUS)
    assert h(req("GET", "/r/S/new/?limit=2")).status == 401
    assert h(req("GET", "/r/S/new/?limit=2", {"Authorization": "bearer nope"})).status == 401
    assert h(req("GET", "/news/site/feed.xml")) is None


def test_listing_shape_paging_and_headers():
    h = make_handler(CORPUS)
    auth = token(h)
    first = h(req("GET", "/r/S/new/?limit=2&raw_json=1", auth))
    assert {"X-Ratelimit-Used", "X-Ratelimit-Remaining", "X-Ratelimit-Reset"} <= set(first.headers)
    page = body(first)
    assert page["kind"] == "Listing" and set(page["data"]) >= {"after", "before", "children", "modhash"}
    assert [c["data"]["id"] for c in page["data"]["children"]] == ["p4", "p3"]
    assert page["data"]["after"] == "t3_p3"
    second = body(h(req("GET", "/r/S/new.json?limit=2&after=t3_p3", auth)))
    assert [c["data"]["id"] for c in second["data"]["children"]] == ["p2", "p1"]
    last = body(h(req("GET", "/r/S/new?limit=2&after=t3_p1", auth)))
    assert [c["data"]["id"] for c in last["data"]["children"]] == ["p0"] and last["data"]["after"] is None
    top = body(h(req("GET", "/r/S/top/?limit=100", auth)))
    assert top["data"]["children"][0]["data"]["score"] == 4
    found = body(h(req("GET", "/r/all/search/?q=live+shopping&sort=new&restrict_sr=False", auth)))
    assert len(found["data"]["children"]) == 5
    assert body(h(req("GET", "/search?q=nothing-matches", auth)))["data"]["children"] == []


def test_listing_cap_ends_paging_like_reddit():
    h = make_handler(CORPUS, listing_cap=3)
    auth = token(h)
    first = body(h(req("GET", "/r/S/new/?limit=2", auth)))
    assert [c["data"]["id"] for c in first["data"]["children"]] == ["p4", "p3"]
    second = body(h(req("GET", "/r/S/new/?limit=2&after=t3_p3", auth)))
    assert [c["data"]["id"] for c in second["data"]["children"]] == ["p2"]
    assert second["data"]["after"] is None  # p1 and p0 exist but are past the cap
    assert body(h(req("GET", "/r/S/new/?limit=2&after=t3_p2", auth)))["data"]["children"] == []
    found = body(h(req("GET", "/r/all/search/?q=live+shopping&sort=new&limit=100", auth)))
    assert len(found["data"]["children"]) == 3


def test_subreddit_comments_listing_is_flat_t1_newest_first_and_pages():
    """/r/{sub}/comments (PRAW subreddit.comments): every comment of the subreddit, whatever post."""
    h = make_handler(CORPUS, listing_cap=1000)
    auth = token(h)
    seen: list[dict[str, Any]] = []
    after = None
    for _ in range(20):
        target = "/r/S/comments/?limit=7&raw_json=1" + (f"&after={after}" if after else "")
        page = body(h(req("GET", target, auth)))
        assert page["kind"] == "Listing" and all(c["kind"] == "t1" for c in page["data"]["children"])
        seen += [c["data"] for c in page["data"]["children"]]
        after = page["data"]["after"]
        if after is None:
            break
        assert after == f"t1_{seen[-1]['id']}"
    assert len(seen) == 40 and len({c["id"] for c in seen}) == 40  # 5 posts x (4 comments + 4 replies)
    created = [c["created_utc"] for c in seen]
    assert created == sorted(created, reverse=True)
    r10 = next(c for c in seen if c["id"] == "r10")
    assert r10["parent_id"] == "t1_c10" and r10["link_id"] == "t3_p1" and r10["name"] == "t1_r10"
    assert r10["subreddit"] == "S" and r10["link_title"] == "live shopping 1" and r10["replies"] == ""
    assert r10["permalink"].startswith("/r/S/comments/p1/") and r10["permalink"].endswith("/r10/")
    assert r10["link_permalink"].startswith("https://www.reddit.com/r/S/comments/p1/")
    assert "depth" not in r10  # only tree renders carry depth
    assert body(h(req("GET", "/r/Nope/comments/", auth)))["data"]["children"] == []
    capped = make_handler(CORPUS, listing_cap=3)
    auth = token(capped)
    first = body(capped(req("GET", "/r/S/comments/?limit=2", auth)))
    last = body(capped(req("GET", f"/r/S/comments/?limit=2&after={first['data']['after']}", auth)))
    assert len(last["data"]["children"]) == 1 and last["data"]["after"] is None


def test_subreddit_comments_shape_matches_recorded_flat_t1():
    """The recorded /api/info t1 is Reddit's flat (listing) comment shape: no field of ours is
    unknown to it, bar the link_* context fields that only /r/{sub}/comments adds."""
    if not SHARED.is_dir():
        pytest.skip(f"shared Reddit cassettes not found at {SHARED}")
    recorded = load_cassettes(SHARED)
    real = json.loads(next(i["text"] for i in recorded if "/api/info" in i["uri"]))["data"]["children"][0]
    h = make_handler(CORPUS)
    auth = token(h)
    ours = body(h(req("GET", "/r/S/comments/?limit=1", auth)))["data"]["children"][0]
    assert ours["kind"] == real["kind"] == "t1"
    listing_only = {"link_title", "link_author", "link_permalink", "link_url", "num_comments", "over_18",
                    "quarantine", "subreddit_name_prefixed", "subreddit_type", "permalink", "collapsed"}
    assert set(ours["data"]) - set(real["data"]) <= listing_only
    assert {"link_id", "parent_id", "subreddit", "created_utc", "body", "author", "id"} <= set(real["data"])


def test_comment_page_more_stubs_and_morechildren():
    h = make_handler(CORPUS, comments_per_request=3, depth_per_request=1)
    auth = token(h)
    page = body(h(req("GET", "/comments/p1/?limit=500&sort=new&raw_json=1", auth)))
    assert isinstance(page, list) and len(page) == 2
    assert page[0]["data"]["children"][0]["kind"] == "t3"
    kids = page[1]["data"]["children"]
    kinds = [k["kind"] for k in kids]
    assert kinds == ["t1", "t1", "t1", "more"]
    more = kids[-1]["data"]
    assert more["children"] == ["c13"] and more["count"] == 2 and more["parent_id"] == "t3_p1"
    # depth 1 per request: replies are "continue this thread" stubs
    cont = kids[0]["data"]["replies"]["data"]["children"][0]
    assert cont["kind"] == "more" and cont["data"]["count"] == 0 and cont["data"]["id"] == "_"
    form = b"api_type=json&children=c13&link_id=t3_p1&sort=new"
    things = body(h(req("POST", "/api/morechildren/?raw_json=1", auth, form)))["json"]["data"]["things"]
    assert [t["data"]["id"] for t in things if t["kind"] == "t1"] == ["c13"]
    focus = body(h(req("GET", "/comments/p1/_/c10?limit=500", auth)))
    assert [c["data"]["id"] for c in focus[1]["data"]["children"]] == ["c10"]
    assert h(req("GET", "/comments/zzz/", auth)).status == 404


def test_faults_and_budget():
    faults = [Fault(r"^/r/S/new", "429", retry_after_s=9), Fault(r"^/r/S/hot", "truncated"),
              Fault(r"^/r/S/top", "empty"), Fault(r"^/comments/p1", "stall", delay_s=0.25)]
    h = make_handler(CORPUS, faults=faults, ratelimit_budget=6)
    auth = token(h)
    limited = h(req("GET", "/r/S/new/", auth))
    assert limited.status == 429 and limited.headers["Retry-After"] == "9"
    assert h(req("GET", "/r/S/new/", auth)).status == 200  # times=1: behaves afterwards
    with pytest.raises(ValueError):
        json.loads(h(req("GET", "/r/S/hot/", auth)).body)
    assert body(h(req("GET", "/r/S/top/", auth)))["data"]["children"] == []
    assert h(req("GET", "/comments/p1/", auth)).delay_s == 0.25
    assert h(req("GET", "/r/S/new/", auth)).status == 200
    over = h(req("GET", "/r/S/new/", auth))
    assert over.status == 429  # announced budget of 6 used up


def test_json_shapes_match_recorded_reddit():
    if not SHARED.is_dir():
        pytest.skip(f"shared Reddit cassettes not found at {SHARED}")
    recorded = load_cassettes(SHARED)
    real_t3 = set(json.loads(next(i["text"] for i in recorded if i["uri"].startswith(
        "https://oauth.reddit.com/new")))["data"]["children"][0]["data"])
    real_t1 = set(json.loads(next(i["text"] for i in recorded if "/comments/2gmzqe" in i["uri"]))[1]
                  ["data"]["children"][0]["data"])
    h = make_handler(CORPUS)
    auth = token(h)
    ours_t3 = set(body(h(req("GET", "/r/S/new/", auth)))["data"]["children"][0]["data"])
    ours_t1 = set(body(h(req("GET", "/comments/p1/", auth)))[1]["data"]["children"][0]["data"])
    # Every field we emit exists in Reddit's payloads (bar newer fields), and the ones the parser reads.
    newer = {"removed_by_category", "subreddit_name_prefixed", "depth", "collapsed", "dist", "permalink",
             "upvote_ratio"}
    assert ours_t3 - real_t3 <= newer and ours_t1 - real_t1 <= newer
    needed = {"id", "name", "subreddit", "title", "selftext", "author", "created_utc", "score",
              "num_comments", "edited", "is_self", "url"}
    assert needed <= real_t3 and needed <= ours_t3


@pytest.mark.shared
def test_cassettes_served_through_praw(tmp_path):
    if not SHARED.is_dir():
        pytest.skip(f"shared Reddit cassettes not found at {SHARED}")
    handler = make_cassette_handler(load_cassettes(SHARED))
    with ReplayServer([handler]) as srv:
        settings = Settings(data_dir=tmp_path, backfill_days=20_000, reddit=RedditSettings(
            subreddits=(), search_queries=("praw oauth search",), max_items_per_listing=100,
            oauth_url=srv.base_url, reddit_url=srv.base_url, timeout_s=5))
        ctx = RunContext.for_night(settings, date(2016, 7, 12), run_id="cassette")
        creds = RedditCredentials("cassette-client", "cassette-secret")
        run = extract(ctx, client_factory=lambda landing: PrawRedditClient(
            creds, settings.reddit, landing, sleep=lambda s: None, max_retries=0))
    posts = [d for d in read_jsonl(documents_path(ctx)) if d["kind"] == "post"]
    # The search page is recorded; comment pages are not (404s are recorded as per-post faults).
    assert len(posts) == 6, (run.errors, [(r.method, r.target) for r in srv.requests])
    assert all(p["published_at"] < "2016-07-13" for p in posts)  # the recorded page
    assert run.status == "partial" and all(e.stage == "comments" for e in run.errors)


def test_serves_the_committed_demo_corpus():
    path = CORPUS_DIR / "reddit.json"
    # Committed (the demo replays it): missing is a failure, not a skip.
    assert path.is_file(), f"{path} is missing: regenerate it (see demo/corpus/README.md)"
    corpus = json.loads(path.read_text())
    h = make_handler(corpus)
    auth = token(h)
    sub = corpus["subreddits"][0]
    page = body(h(req("GET", f"/r/{sub}/new/?limit=100", auth)))
    assert page["data"]["children"], f"no posts served for r/{sub}"
    first = page["data"]["children"][0]["data"]["id"]
    assert h(req("GET", f"/comments/{first}/?limit=50", auth)).status == 200
