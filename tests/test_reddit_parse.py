"""The one Reddit parser: landed API JSON -> Documents (synthetic records and real cassettes)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from extractors.reddit.parse import parse_records, things_in_payload

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "reddit-api"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FAR = datetime(2100, 1, 1, tzinfo=UTC)
T0 = 1762776000.0  # 2025-11-10T12:00:00Z


def t3(pid: str, created: float = T0, **kw: Any) -> dict[str, Any]:
    data = {"id": pid, "subreddit": "TikTokShop", "title": f"title {pid}", "selftext": f"text {pid}",
            "author": "bob", "created_utc": created, "score": 3, "num_comments": 1, "edited": False,
            "permalink": f"/r/TikTokShop/comments/{pid}/x/", "is_self": True, "url": "https://x"}
    data.update(kw)
    return {"kind": "t3", "data": data}


def t1(cid: str, parent: str, created: float = T0 + 60, replies: Any = "", **kw: Any) -> dict[str, Any]:
    data = {"id": cid, "subreddit": "TikTokShop", "body": f"body {cid}", "author": "ann",
            "created_utc": created,
            "score": 1, "parent_id": parent, "link_id": "t3_p1", "replies": replies, "edited": False}
    data.update(kw)
    return {"kind": "t1", "data": data}


def listing(*children: dict[str, Any], after: str | None = None) -> dict[str, Any]:
    return {"kind": "Listing", "data": {"children": list(children), "after": after, "before": None}}


def parse(records: list[dict[str, Any]], **kw: Any):
    args = dict(run_id="r1", logical_date="2025-11-10", window_start=EPOCH, window_end=FAR,
                comment_depth=10, comment_limit=1000)
    args.update(kw)
    return parse_records([(f"raw/x.jsonl.gz:{i}", {"status": 200, "fetched_at": "2025-11-11T00:00:00+00:00",
                                                   **r}) for i, r in enumerate(records, 1)], **args)


def test_shapes_listing_comment_page_and_morechildren():
    page = [listing(t3("p1")), listing(t1("c1", "t3_p1", replies=listing(t1("c2", "t1_c1"),
                                                                        {"kind": "more", "data": {}})))]
    more = {"json": {"errors": [], "data": {"things": [t1("c3", "t1_c2"), {"kind": "more", "data": {}}]}}}
    assert [d["id"] for _, d in things_in_payload(page)] == ["p1", "c1", "c2"]
    assert [d["id"] for _, d in things_in_payload(more)] == ["c3"]
    assert things_in_payload({"unexpected": 1}) == [] and things_in_payload("garbage") == []
    result = parse([{"json": page}, {"json": more}])
    by_id = {d.doc_id: d for d in result.documents}
    assert set(by_id) == {"t3_p1", "t1_c1", "t1_c2", "t1_c3"}
    assert by_id["t1_c3"].parent_id == "t1_c2" and by_id["t1_c3"].raw_ref == "raw/x.jsonl.gz:2"
    assert by_id["t3_p1"].url == "https://www.reddit.com/r/TikTokShop/comments/p1/x/"
    assert by_id["t3_p1"].published_at == "2025-11-10T12:00:00+00:00"


def test_latest_version_wins_and_edit_is_recorded():
    first = {"json": listing(t3("p1", title="old"))}
    edited = {"json": listing(t3("p1", title="new", edited=T0 + 500))}
    docs = parse([first, edited]).documents
    assert len(docs) == 1 and docs[0].title == "new"
    assert docs[0].extra["edited_at"] == "2025-11-10T12:08:20+00:00"


@pytest.mark.parametrize("marker", ["[deleted]", "[removed]"])
def test_tombstones_have_no_text(marker):
    docs = parse([{"json": [listing(t3("p1", selftext=marker, author="[deleted]")),
                            listing(t1("c1", "t3_p1", body=marker, author="[deleted]"),
                                    t1("c2", "t3_p1", body="still here", author=marker))]}]).documents
    for doc in docs:
        assert doc.is_deleted and doc.body is None and doc.author is None
        assert marker not in json.dumps(doc.to_dict())


def test_window_depth_limit_and_failed_exchanges():
    page = [listing(t3("p1")), listing(
        t1("c1", "t3_p1", replies=listing(t1("c2", "t1_c1", replies=listing(t1("c3", "t1_c2"))))),
        t1("late", "t3_p1", created=T0 + 10 * 86400))]
    start = datetime.fromtimestamp(T0 - 3600, UTC)
    end = datetime.fromtimestamp(T0 + 86400, UTC)
    result = parse([{"json": page}, {"status": 503, "json": None, "body_text": "oops"}],
                   window_start=start, window_end=end, comment_depth=2)
    assert {d.doc_id for d in result.documents} == {"t3_p1", "t1_c1", "t1_c2"}
    limited = parse([{"json": page}], comment_limit=1)
    assert {d.doc_id for d in limited.documents} == {"t3_p1", "t1_c1"}


def test_bad_things_are_rejected_not_crashing():
    result = parse([{"json": listing(t3("ok1"), t3("bad", created_utc="soon"), t3("nosub", subreddit=""),
                                     {"kind": "t3", "data": {"no": "id"}},
                                     t1("loop1", "t1_loop2"), t1("loop2", "t1_loop1"),
                                     t1("badc", "t3_p1", created_utc=None),
                                     t1("below_bad", "t1_badc"))}])
    assert [d.doc_id for d in result.documents] == ["t3_ok1"]
    reasons = " | ".join(r for _, r in result.rejected)
    assert "created_utc" in reasons and "without id" in reasons and "loop" in reasons
    assert "subreddit" in reasons


def test_flat_comment_listing_keeps_comments_whose_parents_are_elsewhere():
    """/r/{sub}/comments: replies on posts/comments delivered on earlier nights are documents."""
    start = datetime.fromtimestamp(T0, UTC)
    flat = listing(
        t1("new1", "t3_old", created=T0 + 100, link_id="t3_old"),         # on a post not in this batch
        t1("new2", "t1_oldc", created=T0 + 90, link_id="t3_old"),         # reply to an unlanded comment
        t1("new3", "t1_prev", created=T0 + 80, link_id="t3_old"),         # parent landed, but before window
        t1("prev", "t3_old", created=T0 - 500, link_id="t3_old"),
        after="t1_prev")
    result = parse([{"json": flat}], window_start=start, comment_depth=1)
    by_id = {d.doc_id: d for d in result.documents}
    assert set(by_id) == {"t1_new1", "t1_new2"}  # new3 is at depth 1, beyond comment_depth=1
    assert by_id["t1_new2"].parent_id == "t1_oldc" and by_id["t1_new1"].parent_id == "t3_old"
    assert by_id["t1_new1"].extra["link_id"] == "t3_old" and not result.rejected
    deeper = parse([{"json": flat}], window_start=start, comment_depth=4)
    assert {d.doc_id for d in deeper.documents} == {"t1_new1", "t1_new2", "t1_new3"}
    # Unknown-depth comments rank after known ones under comment_limit (a kept parent stays kept).
    limited = parse([{"json": flat}], window_start=start, comment_limit=2)
    assert {d.doc_id for d in limited.documents} == {"t1_new1", "t1_new3"}


def _cassette_records(name: str) -> list[tuple[str, dict[str, Any]]]:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"shared Reddit cassettes not found at {SHARED} (third-party test data)")
    interactions = json.loads(path.read_text())["interactions"]
    out = []
    for i, item in enumerate(interactions, 1):
        if item["request"]["uri"].endswith("/api/v1/access_token"):
            continue
        body = json.loads(item["response"]["body"]["string"])
        out.append((f"{name}:{i}", {"status": item["response"]["status"]["code"], "json": body,
                                    # after every cassette item: a thing created after its
                                    # fetch is rejected as future-dated (issue 12)
                                    "fetched_at": "2026-01-01T00:00:00+00:00",
                                    "url": item["request"]["uri"]}))
    return out


@pytest.mark.shared
def test_real_listing_cassettes_parse():
    records = _cassette_records("TestFront.test_new.json")
    records += _cassette_records("TestSubreddit.test_search.json")
    n_listed = sum(len(r["json"]["data"]["children"]) for _, r in records)
    result = parse([r for _, r in records])
    assert n_listed > 100
    names = {d["data"]["name"] for _, r in records for d in r["json"]["data"]["children"]}
    assert len(result.documents) == len(names)
    assert all(d.kind == "post" and d.channel and d.url.startswith("https://www.reddit.com/r/")
               for d in result.documents)
    assert not result.rejected


@pytest.mark.shared
def test_real_comment_forest_with_morechildren_parses():
    records = _cassette_records("TestCommentForest.test_replace__all.json")
    result = parse([r for _, r in records])
    comments = [d for d in result.documents if d.kind == "comment"]
    ids = {d.doc_id for d in result.documents}
    assert len(comments) > 476  # the first page has 476; morechildren/continue pages add more
    assert all(d.parent_id in ids or d.parent_id == "t3_3hahrw" for d in comments)
    assert not result.rejected


@pytest.mark.shared
def test_real_deleted_comment_is_a_tombstone():
    result = parse([r for _, r in _cassette_records("TestComment.test_refresh__deleted_comment.json")])
    doc = {d.doc_id: d for d in result.documents}["t1_d7ltvl0"]
    assert doc.is_deleted and doc.body is None and doc.author is None
    assert doc.url == "https://www.reddit.com/r/test/comments/52o2fl/_/d7ltvl0/"
