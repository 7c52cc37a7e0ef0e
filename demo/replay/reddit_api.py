"""A Reddit API subset served from the synthetic corpus (and, optionally, recorded cassettes).

Why: the demo and the extractor's tests must drive the real PRAW/prawcore code paths (OAuth
token, paging with ``after``, comment trees with ``more`` stubs resolved by ``replace_more``,
X-Ratelimit headers) with no network and no real credentials. The JSON shapes follow Reddit's
(checked against the Betamax cassettes in ``../shared/data/reddit-api``): ``Listing`` of ``t3``
things, ``[post listing, comment listing]`` for ``/comments/{id}``, ``{"json": {"data":
{"things": [...]}}}`` for ``/api/morechildren``, and a flat ``Listing`` of ``t1`` things, newest
first, for a subreddit's newest comments ``/r/{sub}/comments`` (PRAW ``subreddit.comments``).

Faults (429 with Retry-After, 500/503, stalled responses, truncated JSON, empty listings) are
injected per route with :class:`Fault`, so every failure mode of the extractor is testable.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from demo.replay.http import ReplayRequest, ReplayResponse

Handler = Callable[[ReplayRequest], ReplayResponse | None]

BAD_CLIENT_ID = "bad-client"  # the client id the replay server always refuses (tests, demo)
_MAX_LISTING_LIMIT = 100
LISTING_CAP = 1000  # Reddit serves at most ~1000 items of any listing or search, however paged
_UNAUTHORIZED = {"message": "Unauthorized", "error": 401}
_NOT_FOUND = {"message": "Not Found", "error": 404}
_JSON = "application/json; charset=UTF-8"
_LISTING_ROUTE = re.compile(r"^/r/(?P<sub>[A-Za-z0-9_+]+)/(?P<kind>new|hot|top|search|comments)$")
_COMMENTS_ROUTE = re.compile(r"^/comments/(?P<post>[a-z0-9]+)(?:/[^/]*)?(?:/(?P<comment>[a-z0-9]+))?$")


@dataclass
class Fault:
    """Misbehave on requests whose path matches ``path_regex`` (``times`` times, then behave).

    kind: ``429`` (with Retry-After), ``500``, ``503``, ``stall`` (sleep ``delay_s`` first),
    ``truncated`` (valid status, JSON cut in half) or ``empty`` (an empty Listing).
    """

    path_regex: str
    kind: str
    times: int = 1
    retry_after_s: int = 1
    delay_s: float = 2.0
    seen: int = 0

    def matches(self, path: str) -> bool:
        return self.times > 0 and re.search(self.path_regex, path) is not None


def _norm_path(target: str) -> str:
    """``/r/x/new/.json`` -> ``/r/x/new``: PRAW appends ``/``, browsers and curl use ``.json``."""
    path = urlsplit(target).path
    if path.endswith(".json"):
        path = path[: -len(".json")]
    return path.rstrip("/") or "/"


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:50] or "post"


def _listing(children: list[dict[str, Any]], after: str | None = None) -> dict[str, Any]:
    return {
        "kind": "Listing",
        "data": {"after": after, "before": None, "children": children, "dist": len(children), "modhash": ""},
    }


class _RedditCorpus:
    """Index of the corpus: posts, comments, tree links, in Reddit's JSON shapes."""

    def __init__(self, corpus: dict[str, Any]) -> None:
        self.posts: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, dict[str, Any]] = {}
        self.children: dict[str, list[str]] = {}  # parent fullname -> comment ids, corpus order
        self.comment_post: dict[str, str] = {}
        self.comment_parent: dict[str, str] = {}
        for post in corpus.get("posts", []):
            pid = str(post["id"])
            self.posts[pid] = post
            self._index_comments(pid, f"t3_{pid}", post.get("comments") or [])

    def _index_comments(self, pid: str, parent: str, comments: list[dict[str, Any]]) -> None:
        for c in comments:
            cid = str(c["id"])
            self.comments[cid] = c
            self.comment_post[cid] = pid
            self.comment_parent[cid] = parent
            self.children.setdefault(parent, []).append(cid)
            self._index_comments(pid, f"t1_{cid}", c.get("replies") or [])

    def subtree_size(self, cid: str) -> int:
        return 1 + sum(self.subtree_size(k) for k in self.children.get(f"t1_{cid}", []))

    def n_comments(self, pid: str) -> int:
        return sum(1 for v in self.comment_post.values() if v == pid)

    def permalink(self, pid: str) -> str:
        post = self.posts[pid]
        return f"/r/{post['subreddit']}/comments/{pid}/{_slug(post.get('title') or '')}/"

    def t3(self, pid: str) -> dict[str, Any]:
        post = self.posts[pid]
        sub = post["subreddit"]
        author = post.get("author")
        removed = bool(post.get("removed"))
        selftext = post.get("selftext") or ""
        if author is None:
            selftext, removed_by = "[deleted]", "deleted"
        elif removed:
            selftext, removed_by = "[removed]", "moderator"
        else:
            removed_by = None
        link = post.get("link_url")
        permalink = self.permalink(pid)
        created = float(post["created_utc"])
        edited = post.get("edited") or False
        return {
            "kind": "t3",
            "data": {
                "id": pid,
                "name": f"t3_{pid}",
                "subreddit": sub,
                "subreddit_name_prefixed": f"r/{sub}",
                "subreddit_id": "t5_" + hashlib.sha1(sub.lower().encode()).hexdigest()[:6],
                "title": post.get("title") or "",
                "selftext": selftext,
                "selftext_html": None,
                "author": author if author is not None else "[deleted]",
                "created_utc": created,
                "created": created,
                "score": int(post.get("score") or 0),
                "ups": int(post.get("score") or 0),
                "upvote_ratio": 1.0,
                "num_comments": self.n_comments(pid),
                "permalink": permalink,
                "url": link or f"https://www.reddit.com{permalink}",
                "is_self": link is None,
                "domain": urlsplit(link).hostname if link else f"self.{sub}",
                "edited": float(edited) if edited else False,
                "removed_by_category": removed_by,
                "over_18": False,
                "stickied": False,
                "locked": False,
                "link_flair_text": None,
                "distinguished": None,
            },
        }

    def t1_flat(self, cid: str) -> dict[str, Any]:
        """A comment as ``/r/{sub}/comments`` lists it: no ``depth``, no replies, plus the
        ``link_*`` fields Reddit adds about the post (title, author, permalink, url)."""
        thing = self.t1(cid, 0)
        fields = thing["data"]
        del fields["depth"]  # only tree renders carry depth
        pid = self.comment_post[cid]
        post = self.t3(pid)["data"]
        fields.update({
            "link_title": post["title"],
            "link_author": post["author"],
            "link_permalink": f"https://www.reddit.com{post['permalink']}",
            "link_url": post["url"],
            "num_comments": post["num_comments"],
            "over_18": post["over_18"],
            "quarantine": False,
            "subreddit_id": post["subreddit_id"],
            "subreddit_name_prefixed": post["subreddit_name_prefixed"],
            "subreddit_type": "public",
        })
        return thing

    def t1(self, cid: str, depth: int) -> dict[str, Any]:
        c = self.comments[cid]
        pid = self.comment_post[cid]
        post = self.posts[pid]
        deleted = bool(c.get("deleted")) or c.get("author") is None
        created = float(c["created_utc"])
        edited = c.get("edited") or False
        return {
            "kind": "t1",
            "data": {
                "id": cid,
                "name": f"t1_{cid}",
                "parent_id": self.comment_parent[cid],
                "link_id": f"t3_{pid}",
                "subreddit": post["subreddit"],
                "author": "[deleted]" if deleted else c.get("author"),
                "body": "[deleted]" if deleted else (c.get("body") or ""),
                "body_html": None,
                "created_utc": created,
                "created": created,
                "score": int(c.get("score") or 0),
                "ups": int(c.get("score") or 0),
                "edited": float(edited) if edited else False,
                "permalink": f"{self.permalink(pid)}{cid}/",
                "depth": depth,
                "replies": "",
                "stickied": False,
                "distinguished": None,
                "controversiality": 0,
                "score_hidden": False,
                "collapsed": False,
            },
        }


@dataclass
class _State:
    token: str = field(default_factory=lambda: "replay-" + secrets.token_hex(12))
    used: int = 0
    window_started: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _more(parent: str, ids: list[str], count: int, depth: int) -> dict[str, Any]:
    first = ids[0] if ids else "_"
    return {
        "kind": "more",
        "data": {"count": count, "name": f"t1_{first}", "id": first, "parent_id": parent, "depth": depth,
                 "children": ids},
    }


def make_handler(
    reddit_corpus: dict[str, Any],
    *,
    comments_per_request: int = 20,
    depth_per_request: int = 3,
    ratelimit_budget: int = 100_000,
    ratelimit_window_s: int = 600,
    max_listing_limit: int = _MAX_LISTING_LIMIT,
    listing_cap: int = LISTING_CAP,
    faults: Iterable[Fault] = (),
) -> Handler:
    """Serve the corpus as Reddit's OAuth API.

    ``comments_per_request`` and ``depth_per_request`` cap each comment page the way Reddit
    does, so deeper or longer threads come back with ``more`` stubs and ``replace_more`` must
    call ``/api/morechildren`` or "continue this thread". ``ratelimit_budget`` requests per
    ``ratelimit_window_s`` are announced in X-Ratelimit-* headers; beyond it the server
    answers 429, as Reddit does. (Reddit's real budget is ~1000 per 600 s; prawcore paces
    requests to it, so the default here is generous to keep the demo fast.)
    ``max_listing_limit`` caps a listing page (Reddit: 100), so tests can force paging.
    ``listing_cap`` is how deep any one listing or search can be paged (Reddit: ~1000; after
    that ``after`` is null), so tests can hit the cap with a small corpus.
    """
    data = _RedditCorpus(reddit_corpus)
    state = _State()
    fault_list = list(faults)

    def headers() -> dict[str, str]:
        with state.lock:
            elapsed = time.monotonic() - state.window_started
            if elapsed >= ratelimit_window_s:
                state.window_started, state.used, elapsed = time.monotonic(), 0, 0.0
            state.used += 1
            remaining = max(0, ratelimit_budget - state.used)
            return {
                "X-Ratelimit-Used": str(state.used),
                "X-Ratelimit-Remaining": f"{float(remaining):.1f}",
                "X-Ratelimit-Reset": str(max(1, int(ratelimit_window_s - elapsed))),
            }

    def render(parent: str, ids: list[str], depth: int, budget: list[int], max_depth: int) -> list[dict]:
        """Nested tree as Reddit renders it: capped count, capped depth, ``more`` stubs."""
        out: list[dict[str, Any]] = []
        for i, cid in enumerate(ids):
            if budget[0] <= 0:
                rest = ids[i:]
                out.append(_more(parent, rest, sum(data.subtree_size(r) for r in rest), depth))
                break
            budget[0] -= 1
            node = data.t1(cid, depth)
            kids = data.children.get(f"t1_{cid}", [])
            if kids:
                if depth + 1 >= max_depth:
                    # "continue this thread": count 0, no children, id "_".
                    node["data"]["replies"] = _listing([_more(f"t1_{cid}", [], 0, depth + 1)])
                else:
                    below = render(f"t1_{cid}", kids, depth + 1, budget, max_depth)
                    node["data"]["replies"] = _listing(below)
            out.append(node)
        return out

    def flatten(tree: list[dict[str, Any]]) -> list[dict[str, Any]]:
        flat: list[dict[str, Any]] = []
        for thing in tree:
            replies = thing["data"].get("replies")
            if thing["kind"] == "t1":
                thing = {"kind": "t1", "data": {**thing["data"], "replies": ""}}
            flat.append(thing)
            if isinstance(replies, dict):
                flat.extend(flatten(replies["data"]["children"]))
        return flat

    def sort_posts(posts: list[str], sort: str) -> list[str]:
        if sort in ("hot", "top", "relevance", "comments"):
            return sorted(posts, key=lambda p: (-int(data.posts[p].get("score") or 0), p))
        return sorted(posts, key=lambda p: (-float(data.posts[p]["created_utc"]), p))

    def page(posts: list[str], query: dict[str, str], kind: str = "t3") -> dict[str, Any]:
        """One page of a listing of post ids (``t3``) or comment ids (``t1``), paged by ``after``."""
        try:
            limit = max(1, min(max_listing_limit, int(query.get("limit") or 25)))
        except ValueError:
            limit = 25
        posts = posts[:max(0, listing_cap)]  # Reddit stops paging a listing at ~1000 items
        start = 0
        after = query.get("after")
        if after:
            names = [f"{kind}_{p}" for p in posts]
            start = names.index(after) + 1 if after in names else len(posts)
        chunk = posts[start:start + limit]
        more = start + limit < len(posts)
        render_one = data.t3 if kind == "t3" else data.t1_flat
        after_name = f"{kind}_{chunk[-1]}" if chunk and more else None
        return _listing([render_one(p) for p in chunk], after=after_name)

    def newest_comments(sub: str) -> list[str]:
        ids = [c for c, pid in data.comment_post.items()
               if data.posts[pid]["subreddit"].lower() == sub.lower()]
        return sorted(ids, key=lambda c: (-float(data.comments[c]["created_utc"]), c))

    def search(sub: str | None, query: dict[str, str]) -> list[str]:
        terms = [t for t in re.split(r"\s+", query.get("q", "").replace('"', " ").lower()) if t]
        restrict = query.get("restrict_sr", "").lower() in ("1", "true", "on")
        hits = []
        for pid, post in data.posts.items():
            if sub and sub.lower() != "all" and restrict and post["subreddit"].lower() != sub.lower():
                continue
            if post.get("author") is None or post.get("removed"):
                continue  # Reddit's search index drops deleted and removed posts
            text = f"{post.get('title') or ''} {post.get('selftext') or ''}".lower()
            if terms and all(t in text for t in terms):
                hits.append(pid)
        # The ``t`` filter is ignored: the corpus is dated around the demo night, not "now".
        return sort_posts(hits, query.get("sort", "relevance"))

    def apply_fault(path: str, ok: Callable[[], ReplayResponse]) -> ReplayResponse:
        for fault in fault_list:
            if not fault.matches(path):
                continue
            with state.lock:
                if fault.times <= 0:
                    continue
                fault.times -= 1
                fault.seen += 1
            if fault.kind == "429":
                return ReplayResponse.json(
                    {"message": "Too Many Requests", "error": 429}, status=429,
                    headers={"Retry-After": str(fault.retry_after_s), **headers()},
                )
            if fault.kind in ("500", "503"):
                return ReplayResponse.text("<html>upstream error</html>", "text/html", status=int(fault.kind))
            if fault.kind == "stall":
                resp = ok()
                resp.delay_s = fault.delay_s
                return resp
            if fault.kind == "truncated":
                resp = ok()
                resp.body = resp.body[: max(1, len(resp.body) // 2)]
                return resp
            if fault.kind == "empty":
                return ReplayResponse.json(_listing([]), headers=headers())
            raise ValueError(f"unknown fault kind {fault.kind!r}")
        return ok()

    def access_token(req: ReplayRequest) -> ReplayResponse:
        auth = req.header("Authorization") or ""
        client_id = None
        if auth.lower().startswith("basic "):
            try:
                client_id = base64.b64decode(auth[6:].strip()).decode("utf-8").split(":", 1)[0]
            except (binascii.Error, UnicodeDecodeError):
                client_id = None
        if not client_id or client_id == BAD_CLIENT_ID:
            return ReplayResponse.json(_UNAUTHORIZED, status=401, headers={"Connection": "close"})
        grant = req.form.get("grant_type")
        if grant not in ("client_credentials", "password", "refresh_token"):
            return ReplayResponse.json({"error": "unsupported_grant_type"})
        # prawcore asks for "Connection: close" here; say so, or urllib3 reuses the closed socket.
        return ReplayResponse.json(
            {"access_token": state.token, "token_type": "bearer", "expires_in": 86400, "scope": "*"},
            headers={"Connection": "close"},
        )

    def api(req: ReplayRequest, path: str) -> ReplayResponse | None:
        m = _LISTING_ROUTE.match(path)
        if m and req.method == "GET":
            sub, kind = m.group("sub"), m.group("kind")
            if kind == "comments":
                return ReplayResponse.json(page(newest_comments(sub), req.query, "t1"), headers=headers())
            if kind == "search":
                posts = search(sub, req.query)
            else:
                posts = [p for p, post in data.posts.items() if post["subreddit"].lower() == sub.lower()]
                posts = sort_posts(posts, kind)
            return ReplayResponse.json(page(posts, req.query), headers=headers())
        if path == "/search" and req.method == "GET":
            return ReplayResponse.json(page(search(None, req.query), req.query), headers=headers())
        m = _COMMENTS_ROUTE.match(path)
        if m and req.method == "GET":
            pid, focus = m.group("post"), m.group("comment")
            if pid not in data.posts or (focus and data.comment_post.get(focus) != pid):
                return ReplayResponse.json(_NOT_FOUND, status=404, headers=headers())
            try:
                limit = int(req.query.get("limit") or 200)
            except ValueError:
                limit = 200
            budget = [max(1, min(limit, comments_per_request))]
            if focus:
                roots, parent = [focus], data.comment_parent[focus]
                base_depth = 0
            else:
                roots, parent, base_depth = data.children.get(f"t3_{pid}", []), f"t3_{pid}", 0
            tree = render(parent, roots, base_depth, budget, base_depth + depth_per_request)
            body = [_listing([data.t3(pid)]), _listing(tree)]
            return ReplayResponse.json(body, headers=headers())
        if path == "/api/morechildren" and req.method in ("GET", "POST"):
            params = {**req.query, **req.form}
            ids = [i for i in (params.get("children") or "").split(",") if i in data.comments]
            link = params.get("link_id", "")
            ids = [i for i in ids if f"t3_{data.comment_post[i]}" == link]
            things: list[dict[str, Any]] = []
            budget = [comments_per_request]
            by_parent: dict[str, list[str]] = {}
            for cid in ids:
                by_parent.setdefault(data.comment_parent[cid], []).append(cid)
            for parent, group in by_parent.items():
                depth = _depth_of(data, group[0])
                things.extend(flatten(render(parent, group, depth, budget, depth + depth_per_request)))
            body = {"json": {"errors": [], "data": {"things": things}}}
            return ReplayResponse.json(body, headers=headers())
        if path == "/api/v1/me" and req.method == "GET":
            return ReplayResponse.json({"message": "Forbidden", "error": 403}, status=403, headers=headers())
        return None

    def handle(req: ReplayRequest) -> ReplayResponse | None:
        path = _norm_path(req.target)
        if path == "/api/v1/access_token":
            if req.method != "POST":
                return ReplayResponse.json({"message": "Method Not Allowed", "error": 405}, status=405)
            return apply_fault(path, lambda: access_token(req))
        if not _is_api_path(path):
            return None
        auth = req.header("Authorization") or ""
        if auth.lower() != f"bearer {state.token}".lower():
            return ReplayResponse.json(_UNAUTHORIZED, status=401,
                                       headers={"www-authenticate": 'Bearer realm="reddit"'})
        with state.lock:
            in_window = time.monotonic() - state.window_started < ratelimit_window_s
            over = state.used >= ratelimit_budget and in_window
        if over:
            return ReplayResponse.json({"message": "Too Many Requests", "error": 429}, status=429,
                                       headers={"Retry-After": "60", **headers()})
        return apply_fault(path, lambda: api(req, path) or ReplayResponse.json(
            _NOT_FOUND, status=404, headers=headers()))

    return handle


def _depth_of(data: _RedditCorpus, cid: str) -> int:
    depth, parent = 0, data.comment_parent[cid]
    while parent.startswith("t1_"):
        depth += 1
        parent = data.comment_parent[parent[3:]]
    return depth


def _is_api_path(path: str) -> bool:
    return bool(
        _LISTING_ROUTE.match(path)
        or _COMMENTS_ROUTE.match(path)
        or path in ("/search", "/api/morechildren", "/api/v1/me")
    )


# --- recorded exchanges (Betamax cassettes) ---------------------------------------------------


def load_cassettes(directory: Path) -> list[dict[str, Any]]:
    """Read Betamax cassettes (``{"interactions": [{"request", "response"}]}``) from a directory.

    Raises ValueError naming the file when a cassette is malformed, so a bad fixture is obvious.
    """
    interactions: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            for item in doc["interactions"]:
                req, resp = item["request"], item["response"]
                interactions.append(
                    {
                        "cassette": path.name,
                        "method": req["method"].upper(),
                        "uri": req["uri"],
                        "body": req.get("body") or "",
                        "status": int(resp["status"]["code"]),
                        "text": resp["body"].get("string") or "",
                        "content_type": (resp.get("headers", {}).get("Content-Type") or [_JSON])[0],
                    }
                )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed cassette {path.name}: {exc}") from exc
    return interactions


def make_cassette_handler(interactions: list[dict[str, Any]]) -> Handler:
    """Serve recorded API responses by method + path (query ignored; repeats replay in order).

    Token requests are answered by the recorded token response. Auth is not checked here: the
    cassettes are public fixtures, used to prove the extractor handles Reddit's real shapes.
    """
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for item in interactions:
        by_key.setdefault((item["method"], _norm_path(item["uri"])), []).append(item)
    cursor: dict[tuple[str, str], int] = {}
    lock = threading.Lock()

    def handle(req: ReplayRequest) -> ReplayResponse | None:
        key = (req.method.upper(), _norm_path(req.target))
        items = by_key.get(key)
        if not items:
            return None
        with lock:
            n = cursor.get(key, 0)
            cursor[key] = n + 1
        item = items[min(n, len(items) - 1)]
        headers = {"Content-Type": item["content_type"], "X-Ratelimit-Used": "1",
                   "X-Ratelimit-Remaining": "599.0", "X-Ratelimit-Reset": "600"}
        if key[1] == "/api/v1/access_token":
            # As in make_handler: prawcore sends "Connection: close" on token requests; without it
            # echoed back, urllib3 may reuse the socket the server closes (a flaky ConnectionError).
            headers["Connection"] = "close"
        return ReplayResponse(status=item["status"], body=item["text"].encode("utf-8"), headers=headers)

    return handle
