"""Landed Reddit API JSON -> Documents. The one parser for the live path and ``--from-raw``.

Why parse the raw JSON rather than PRAW objects: the landing is the system of record, so a
better parser can re-process history without calling Reddit, and the live run cannot produce
anything the landing would not reproduce.

Recognised shapes (as Reddit sends them): a ``Listing`` of ``t3``/``t1`` things (subreddit
listings, search); ``[post Listing, comment Listing]`` (``/comments/{id}``, also "continue this
thread"); ``{"json": {"data": {"things": [...]}}}`` (``/api/morechildren``). Later records win
for the same fullname, so an edited post updates its row instead of duplicating it.

A flat ``Listing`` of ``t1`` things (``/r/{sub}/comments``, the newest-comments stream) carries
comments whose parent post or comment was delivered on an earlier night, or never: such a comment
is still a document, its ``parent_id`` the fullname Reddit gives (the warehouse keys documents by
fullname, a parent need not be in the same batch). Its depth is then unknown, so the depth limit
(which bounds tree fetching) cannot apply to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from common.documents import Document, utc_iso

REDDIT_BASE = "https://www.reddit.com"
TOMBSTONES = frozenset({"[deleted]", "[removed]"})


@dataclass
class _Thing:
    kind: str  # "t3" or "t1"
    data: dict[str, Any]
    raw_ref: str
    fetched_at: str


@dataclass
class ParseResult:
    documents: list[Document]
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (raw_ref, reason)
    n_things: int = 0


def _walk_listing(listing: Any, depth: int, out: list[tuple[str, dict[str, Any], int]]) -> None:
    if not isinstance(listing, dict) or listing.get("kind") != "Listing":
        return
    for child in (listing.get("data") or {}).get("children") or []:
        if not isinstance(child, dict):
            continue
        kind, data = child.get("kind"), child.get("data")
        if kind not in ("t1", "t3") or not isinstance(data, dict):
            continue  # "more" stubs and other kinds carry no content
        out.append((kind, data, depth))
        if kind == "t1":
            _walk_listing(data.get("replies"), depth + 1, out)


def things_in_payload(payload: Any) -> list[tuple[str, dict[str, Any]]]:
    """(kind, data) for every t3/t1 in one API response body, whatever the supported shape."""
    found: list[tuple[str, dict[str, Any], int]] = []
    if isinstance(payload, dict) and payload.get("kind") == "Listing":
        _walk_listing(payload, 0, found)
    elif isinstance(payload, list):
        for part in payload:
            _walk_listing(part, 0, found)
    elif isinstance(payload, dict) and isinstance(payload.get("json"), dict):
        things = (payload["json"].get("data") or {}).get("things") or []
        return [(t["kind"], t["data"]) for t in things
                if isinstance(t, dict) and t.get("kind") in ("t1", "t3") and isinstance(t.get("data"), dict)]
    return [(k, d) for k, d, _ in found]


def _ts(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


FUTURE_SKEW = timedelta(minutes=5)  # clock skew tolerated between Reddit and us


def _after_fetch(created: datetime, fetched_at: str) -> bool:
    """Is ``created`` later than the exchange that delivered it (beyond clock skew)?"""
    try:
        fetched = datetime.fromisoformat(fetched_at) if fetched_at else None
    except ValueError:
        return False
    if fetched is None or fetched.tzinfo is None:
        return False
    return created > fetched + FUTURE_SKEW


def _is_tombstone(text: Any, author: Any, data: dict[str, Any]) -> bool:
    return text in TOMBSTONES or author in TOMBSTONES or bool(data.get("removed_by_category"))


def _edited(value: Any) -> str | None:
    if value in (None, False, True):
        return None
    ts = _ts(value)
    return utc_iso(ts) if ts else None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def collect(
    records: Iterable[tuple[str, dict[str, Any]]],
) -> tuple[dict[str, _Thing], list[tuple[str, str]], int]:
    """Latest version of every thing by fullname, in landing order (later records are newer)."""
    things: dict[str, _Thing] = {}
    rejected: list[tuple[str, str]] = []
    n = 0
    for raw_ref, record in records:
        if record.get("status") != 200 or record.get("json") is None:
            continue  # failed attempts are landed for audit; the retry that worked is parsed
        for kind, data in things_in_payload(record["json"]):
            n += 1
            tid = data.get("id")
            if not isinstance(tid, str) or not tid:
                rejected.append((raw_ref, f"{kind} without id"))
                continue
            name = f"{kind}_{tid}"
            things[name] = _Thing(kind, data, raw_ref, str(record.get("fetched_at") or ""))
    return things, rejected, n


UNKNOWN_DEPTH = -1  # a comment whose ancestors were not landed (e.g. from the comments stream)
_CYCLE = -2


def _depth(name: str, things: dict[str, _Thing], memo: dict[str, int]) -> int:
    """Depth below the post (0 = top-level), from parent links; falls back to Reddit's ``depth``.

    ``UNKNOWN_DEPTH`` when the chain reaches a comment that was not landed and carries no
    ``depth``; ``_CYCLE`` for parent links that loop (corrupt data).
    """
    if name in memo:
        return memo[name]
    memo[name] = _CYCLE  # cycle guard
    thing = things[name]
    parent = str(thing.data.get("parent_id") or "")
    raw = thing.data.get("depth")
    result: int
    if parent.startswith("t3_"):
        result = 0
    elif parent in things:
        up = _depth(parent, things, memo)
        result = up if up < 0 else up + 1
    elif isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        result = raw
    else:
        result = UNKNOWN_DEPTH
    memo[name] = result
    return result


def parse_records(
    records: Iterable[tuple[str, dict[str, Any]]],
    *,
    run_id: str,
    logical_date: str,
    window_start: datetime,
    window_end: datetime,
    comment_depth: int,
    comment_limit: int,
) -> ParseResult:
    """Documents for posts and comments created in ``[window_start, window_end)``.

    Comments deeper than ``comment_depth`` (0-based depth < comment_depth) or beyond
    ``comment_limit`` per post (shallowest, then oldest first, unknown depth last, so a kept
    comment's parent is always kept) are dropped, and so is any reply below a dropped comment.
    A comment whose parent is simply not here (outside the window, or never landed) is kept.
    Rows are sorted by doc_id: re-parsing gives identical files.
    """
    things, rejected, n_things = collect(records)
    docs: dict[str, Document] = {}
    memo: dict[str, int] = {}
    per_post: dict[str, list[tuple[int, float, str]]] = {}
    dropped: set[str] = set()  # things we refused or cut; their replies must go too

    for name, thing in things.items():
        data = thing.data
        created = _ts(data.get("created_utc"))
        if created is None:
            rejected.append((thing.raw_ref, f"{name}: missing or bad created_utc"))
            dropped.add(name)
            continue
        if _after_fetch(created, thing.fetched_at):
            # Issue 12: nothing can be created after we fetched it. Dropped with a recorded reason
            # (ops.errors, stage parse) rather than silently like a merely out-of-window item.
            rejected.append((thing.raw_ref, f"{name}: created_utc {utc_iso(created)} is in the future "
                                            f"(fetched at {thing.fetched_at})"))
            dropped.add(name)
            continue
        if not (window_start <= created < window_end):
            continue
        if thing.kind == "t1":
            depth = _depth(name, things, memo)
            if depth == _CYCLE:
                rejected.append((thing.raw_ref, f"{name}: parent links loop ({data.get('parent_id')})"))
                dropped.add(name)
                continue
            if depth >= comment_depth:
                dropped.add(name)
                continue
            rank = depth if depth >= 0 else comment_depth  # unknown depth: after every known one
            per_post.setdefault(str(data.get("link_id") or ""), []).append((rank, created.timestamp(), name))
        try:
            docs[name] = _document(thing, created, run_id=run_id, logical_date=logical_date)
        except (KeyError, TypeError, ValueError) as exc:
            rejected.append((thing.raw_ref, f"{name}: {type(exc).__name__}: {exc}"))
            dropped.add(name)

    for entries in per_post.values():
        entries.sort()
        for _, _, n in entries[comment_limit:]:
            docs.pop(n, None)
            dropped.add(n)
    # A reply below a dropped comment (limit, depth, bad data) would dangle: drop it too.
    changed = True
    while changed:
        changed = False
        for name in list(docs):
            doc = docs[name]
            if doc.kind == "comment" and doc.parent_id in dropped:
                del docs[name]
                dropped.add(name)
                changed = True
    return ParseResult(sorted(docs.values(), key=lambda d: d.doc_id), rejected, n_things)


def _document(thing: _Thing, created: datetime, *, run_id: str, logical_date: str) -> Document:
    data = thing.data
    name = f"{thing.kind}_{data['id']}"
    sub = str(data.get("subreddit") or "")
    if not sub:
        raise ValueError("no subreddit")
    permalink = data.get("permalink")
    url = f"{REDDIT_BASE}{permalink}" if isinstance(permalink, str) and permalink.startswith("/") else None
    author = data.get("author")
    fetched_at = thing.fetched_at or utc_iso(datetime.now(UTC))
    extra: dict[str, Any] = {}
    edited = _edited(data.get("edited"))
    if edited:
        extra["edited_at"] = edited
    if thing.kind == "t3":
        text = data.get("selftext")
        deleted = _is_tombstone(text, author, data)
        link = data.get("url")
        if not data.get("is_self", True) and isinstance(link, str):
            extra["link_url"] = link
        if data.get("link_flair_text"):
            extra["flair"] = data["link_flair_text"]
        if data.get("over_18"):
            extra["over_18"] = True
        return Document(
            doc_id=name, source="reddit", kind="post", channel=sub, url=url, canonical_url=url,
            title=None if deleted else (data.get("title") or None),
            body=None if deleted else (text or None),
            author=None if deleted else author,
            published_at=utc_iso(created), fetched_at=fetched_at, logical_date=logical_date,
            run_id=run_id, raw_ref=thing.raw_ref, score=_int(data.get("score")),
            num_comments=_int(data.get("num_comments")), is_deleted=deleted, extra=extra,
        )
    text = data.get("body")
    deleted = _is_tombstone(text, author, data)
    link_id = data.get("link_id")
    if url is None and isinstance(link_id, str) and link_id.startswith("t3_"):
        url = f"{REDDIT_BASE}/r/{sub}/comments/{link_id[3:]}/_/{data['id']}/"  # older payloads lack permalink
    if link_id:
        extra["link_id"] = link_id
    return Document(
        doc_id=name, source="reddit", kind="comment", channel=sub, url=url, canonical_url=url,
        title=None, body=None if deleted else (text or None), author=None if deleted else author,
        published_at=utc_iso(created), fetched_at=fetched_at, logical_date=logical_date, run_id=run_id,
        raw_ref=thing.raw_ref, parent_id=data.get("parent_id"), score=_int(data.get("score")),
        is_deleted=deleted, extra=extra,
    )


def landing_records(
    path_and_lines: Iterator[tuple[int, dict[str, Any]]], relative: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Adapt :func:`extractors.landing.read_landing` output to (raw_ref, record)."""
    for line, record in path_and_lines:
        yield f"{relative}:{line}", record
