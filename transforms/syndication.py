"""Syndication (issue 15, item 5): near-duplicate news articles form clusters that count once.

Why: a wire story (AP, Reuters, a press release) republished by five sites is one story, not five;
counted five times it would make any entity it names "rise". Clusters are written to
``core.syndication (doc_id, cluster_id, night)`` (migration 008) and the one document filter
(:func:`warehouse.marts.topic_filter`) leaves every member but the canonical one out of the marts
and the newsletter's figures, the way it leaves off-topic documents out.

Method: MinHash over word 5-shingles of the article body, banded LSH for candidate pairs, then an
exact check on the shingle sets of each candidate pair. Why our own ~60 lines and not a library:
``datasketch`` is not installed and the pinned environment must not grow for this; numpy (already a
dependency) makes the signatures vectorised, and the exact check means the LSH only has to find
candidates, so its parameters cannot produce a false cluster.

Thresholds (tests/test_syndication.py checks each case on labelled synthetic articles):

* ``SHINGLE = 5`` words: long enough that two different articles on the same topic share almost
  none (their Jaccard is ~0.0-0.05 even with the same names and jargon), short enough that a light
  edit (one word every ~20) only breaks the shingles around it.
* A pair is syndicated when Jaccard >= ``MIN_JACCARD`` (0.5) - the same story lightly edited, or
  with a different intro and outro around the same wire copy (~0.6-0.8) - OR when containment
  (shared shingles / the shorter article's shingles) >= ``MIN_CONTAINMENT`` (0.8): one site ran a
  cut-down version of the other's text.
* Articles with fewer than ``MIN_SHINGLES`` (20) shingles (~25 words: a teaser, a title-only item)
  are never clustered: too little text to call two of them the same story.
* LSH: 126 permutations in 42 bands of 3 rows. A pair with Jaccard 0.5 becomes a candidate with
  probability 1 - (1 - 0.5^3)^42 = 0.996, one with Jaccard 0.05 with 0.005, so the exact check runs
  on few pairs. A cut-down copy with Jaccard ~0.3 is found with probability ~0.68 (documented miss).

Clusters are connected components of syndicated pairs (single linkage: A~B and B~C puts A, B, C
together); the canonical member, whose doc_id is the ``cluster_id``, is the earliest published
(ties: the smallest doc_id). Comparisons are within ``WINDOW_DAYS`` of publication: a story
republished weeks later is a new event in the trend, and the window keeps the nightly cost bounded.
"""

from __future__ import annotations

import re
import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

SHINGLE = 5
MIN_SHINGLES = 20
MIN_JACCARD = 0.5
MIN_CONTAINMENT = 0.8
BANDS, ROWS = 42, 3
NUM_PERM = BANDS * ROWS
WINDOW_DAYS = 7
SEED = 15  # fixed: the same articles always give the same signatures and clusters
_WORD = re.compile(r"\w+", re.UNICODE)
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)

_rng = np.random.default_rng(SEED)
# Multiply-shift hashing: h(x) = ((a * x + b) mod 2^64) >> 32 with odd a, a universal family that
# numpy computes exactly (uint64 arithmetic wraps modulo 2^64).
_A = (_rng.integers(1, 2**63, size=NUM_PERM, dtype=np.uint64) * np.uint64(2) + np.uint64(1))
_B = _rng.integers(0, 2**63, size=NUM_PERM, dtype=np.uint64)


def shingles(text: str | None, k: int = SHINGLE) -> set[int]:
    """Hashed word k-shingles of ``text`` (lower-cased, punctuation dropped), CRC32 so the hash is
    stable across processes (Python's ``hash`` is salted per process)."""
    words = _WORD.findall((text or "").lower())
    return {zlib.crc32(" ".join(words[i:i + k]).encode("utf-8")) for i in range(len(words) - k + 1)}


def signature(sh: set[int]) -> np.ndarray:
    """MinHash signature (NUM_PERM uint64 values) of a non-empty shingle set."""
    x = np.fromiter(sh, dtype=np.uint64, count=len(sh))
    with np.errstate(over="ignore"):
        hashed = ((x[:, None] * _A[None, :] + _B[None, :]) & _MASK64) >> np.uint64(32)
    return hashed.min(axis=0)


def similar(a: set[int], b: set[int]) -> tuple[bool, float, float]:
    """(syndicated?, Jaccard, containment of the shorter) for two shingle sets: the exact check."""
    if len(a) < MIN_SHINGLES or len(b) < MIN_SHINGLES:
        return False, 0.0, 0.0
    inter = len(a & b)
    jac = inter / len(a | b)
    cont = inter / min(len(a), len(b))
    return jac >= MIN_JACCARD or cont >= MIN_CONTAINMENT, jac, cont


@dataclass(frozen=True)
class Article:
    doc_id: str
    published_at: datetime
    body: str | None


def clusters(articles: Iterable[Article], window_days: int = WINDOW_DAYS) -> dict[str, str]:
    """{doc_id: cluster_id} for every article in a cluster of two or more (singletons are absent).

    Candidate pairs come from the LSH bands; each is confirmed by :func:`similar` on the exact
    shingle sets and must be published within ``window_days`` of each other.
    """
    arts = sorted(articles, key=lambda a: (a.published_at, a.doc_id))
    sets: dict[str, set[int]] = {}
    buckets: dict[tuple[int, bytes], list[str]] = defaultdict(list)
    when = {a.doc_id: a.published_at for a in arts}
    for a in arts:
        sh = shingles(a.body)
        if len(sh) < MIN_SHINGLES:
            continue
        sets[a.doc_id] = sh
        sig = signature(sh)
        for band in range(BANDS):
            buckets[(band, sig[band * ROWS:(band + 1) * ROWS].tobytes())].append(a.doc_id)
    parent = {d: d for d in sets}

    def find(d: str) -> str:
        while parent[d] != d:
            parent[d] = parent[parent[d]]
            d = parent[d]
        return d

    checked: set[tuple[str, str]] = set()
    window = timedelta(days=window_days)
    for members in buckets.values():
        for i, x in enumerate(members):
            for y in members[i + 1:]:
                pair = (x, y) if x < y else (y, x)
                if pair in checked:
                    continue
                checked.add(pair)
                if abs(when[x] - when[y]) > window or not similar(sets[x], sets[y])[0]:
                    continue
                rx, ry = find(x), find(y)
                if rx != ry:
                    parent[ry] = rx
    groups: dict[str, list[str]] = defaultdict(list)
    for d in sets:
        groups[find(d)].append(d)
    out: dict[str, str] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        canonical = min(members, key=lambda d: (when[d], d))
        out.update({d: canonical for d in members})
    return out


_ARTICLES = """
    SELECT d.doc_id, d.published_at, d.body FROM core.documents d
    WHERE d.source = 'news' AND d.kind = 'article' AND NOT coalesce(d.is_deleted, false)
"""


def update_syndication(con: duckdb.DuckDBPyConnection, night: date, days: Iterable[date],
                       window_days: int = WINDOW_DAYS) -> dict[str, Any]:
    """Recompute the clusters of the news articles published on ``days`` (the night's affected
    days) and ``window_days`` either side, and swap their rows of ``core.syndication``.

    Why recompute the whole neighbourhood rather than only the new articles: a late article can be
    earlier than a cluster's canonical member (its cluster_id must change) or join two clusters.
    Members of an existing cluster that reaches into the window are pulled in too, so a cluster is
    never split by the window's edge. The rows of every article considered are replaced in one
    transaction (their ``night`` becomes this night), so a re-run of the night writes the same
    rows: idempotent. Rows of documents no longer in core.documents are dropped.

    Returns counts and ``changed_days``: published days whose articles changed cluster status,
    which the mart refresh must recompute as well (a copy leaving the counts changes its day).
    """
    wanted = sorted({d if isinstance(d, date) else date.fromisoformat(d) for d in days})
    if not wanted:
        return {"articles": 0, "clustered": 0, "clusters": 0, "changed_days": []}
    lo = datetime.combine(wanted[0] - timedelta(days=window_days), time(0), tzinfo=UTC)
    hi = datetime.combine(wanted[-1] + timedelta(days=window_days + 1), time(0), tzinfo=UTC)
    rows = con.execute(
        f"""{_ARTICLES} AND ((d.published_at >= ? AND d.published_at < ?)
            OR d.doc_id IN (SELECT s.doc_id FROM core.syndication s WHERE s.cluster_id IN (
                SELECT s2.cluster_id FROM core.syndication s2 JOIN core.documents d2 ON d2.doc_id = s2.doc_id
                WHERE d2.published_at >= ? AND d2.published_at < ?)))
        ORDER BY d.doc_id""", [lo, hi, lo, hi]).fetchall()
    arts = [Article(r[0], r[1], r[2]) for r in rows]
    found = clusters(arts, window_days)
    ids = [a.doc_id for a in arts]
    before = dict(con.execute(
        "SELECT doc_id, cluster_id FROM core.syndication WHERE list_contains(?, doc_id)", [ids]).fetchall())
    con.execute("BEGIN")
    try:
        con.execute("DELETE FROM core.syndication WHERE doc_id NOT IN (SELECT doc_id FROM core.documents)")
        con.execute("DELETE FROM core.syndication WHERE list_contains(?, doc_id)", [ids])
        if found:
            con.executemany("INSERT INTO core.syndication (doc_id, cluster_id, night) VALUES (?, ?, ?)",
                            [(d, c, night) for d, c in sorted(found.items())])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    published = {a.doc_id: a.published_at for a in arts}
    changed = sorted({published[d].astimezone(UTC).date() for d in ids if before.get(d) != found.get(d)})
    return {"articles": len(arts), "clustered": len(found), "clusters": len(set(found.values())),
            "changed_days": changed}
