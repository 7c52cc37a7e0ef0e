"""Topics against the warehouse: re-tag history (`pulse topics backfill`), try a query (`pulse topics test`).

Why in Python rather than SQL: the query language (transforms/topics.py) matches on tokens,
phrases, wildcards and proximity, which has no faithful SQL translation; running the very same
matcher the enrich stage runs is what guarantees that a query tested here tags the same documents
at night. Documents are streamed in chunks, so memory holds one chunk of text plus the tags.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from transforms.topics import DocumentView, Node, Topic, document_view, evaluate, parse_query

if TYPE_CHECKING:
    import duckdb

CHUNK = 2000  # documents fetched per round trip: bounded memory for long article bodies

# Each document with the ids and names of the entities it mentions (the view `entity:` matches).
_DOCS_SQL = """
SELECT d.doc_id, d.source, d.channel, d.title, d.body, d.language, d.author, d.themes, d.night,
       coalesce(d.canonical_url, d.url) AS link, CAST(timezone('UTC', d.published_at) AS DATE) AS day,
       e.ids, e.names
FROM core.documents d
LEFT JOIN (
    SELECT m.doc_id, list(DISTINCT m.entity_id) AS ids, list(DISTINCT en.name) AS names
    FROM core.mentions m LEFT JOIN core.entities en ON en.entity_id = m.entity_id
    GROUP BY m.doc_id
) e ON e.doc_id = d.doc_id
"""
_COLS = ("doc_id", "source", "channel", "title", "body", "language", "author", "themes", "night", "link",
         "day", "ids", "names")


def _documents(con: duckdb.DuckDBPyConnection, order: str = "d.doc_id"
               ) -> Iterator[tuple[dict[str, Any], DocumentView]]:
    cur = con.execute(f"{_DOCS_SQL} ORDER BY {order}")
    while True:
        rows = cur.fetchmany(CHUNK)
        if not rows:
            return
        for values in rows:
            row = dict(zip(_COLS, values, strict=True))
            keys = [k for k in (row["ids"] or []) + (row["names"] or []) if k]
            yield row, document_view(row, keys)


def backfill_topics(con: duckdb.DuckDBPyConnection, topics: Sequence[Topic]) -> dict[str, int]:
    """Re-tag every document of core.documents with ``topics``, replacing core.document_topics
    whole in one transaction (a failure leaves the previous tags); returns documents per topic.

    Each row keeps the night that owns its document, so the next re-load of that night still
    replaces exactly its own rows. Topics that match nothing are reported with 0.
    """
    import pandas as pd

    tags: list[tuple[str, str, Any]] = []
    counts = {t.name: 0 for t in topics}
    con.execute("BEGIN")
    try:
        for row, view in _documents(con):
            for t in topics:
                if t.matches(view):
                    tags.append((row["doc_id"], t.name, row["night"]))
                    counts[t.name] += 1
        con.execute("DELETE FROM core.document_topics")
        if tags:
            frame = pd.DataFrame(tags, columns=["doc_id", "topic", "night"])
            con.register("t_topic_frame", frame)
            try:
                con.execute("INSERT INTO core.document_topics "
                            "SELECT doc_id, topic, CAST(night AS DATE) FROM t_topic_frame")
            finally:
                con.unregister("t_topic_frame")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts


@dataclass
class TopicTest:
    """What `pulse topics test` prints: how many documents match and the newest few."""

    query: str
    canonical: str
    matched: int = 0
    scanned: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)


def test_topic(con: duckdb.DuckDBPyConnection, query: str | Node, limit: int = 5) -> TopicTest:
    """Count the warehouse documents ``query`` matches; keep the ``limit`` most recently published.

    Raises :class:`transforms.topics.TopicQueryError` (line, column) when the query does not parse.
    Samples carry doc_id, title (a comment's first words when it has none), link and day.
    """
    from transforms.topics import format_query

    node = parse_query(query) if isinstance(query, str) else query
    out = TopicTest(query if isinstance(query, str) else format_query(node), format_query(node))
    for row, view in _documents(con, order="d.published_at DESC, d.doc_id"):
        out.scanned += 1
        if not evaluate(node, view):
            continue
        out.matched += 1
        if len(out.samples) < limit:
            title = row["title"] or " ".join((row["body"] or "").split()[:12]) or None
            out.samples.append({"doc_id": row["doc_id"], "title": title, "link": row["link"],
                                "day": row["day"].isoformat() if row["day"] else None})
    return out


test_topic.__test__ = False  # type: ignore[attr-defined]  # a library function, not a pytest test
