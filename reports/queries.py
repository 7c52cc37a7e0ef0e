"""Read-only SQL against the warehouse contract (docs/architecture.md, "Warehouse tables").

Why every entity figure comes from ``core.entity_sentiment`` joined to ``core.documents`` rather
than from ``marts.daily_entity_stats``: the report must trace each number to the documents behind
it, and counting the same rows we list as provenance makes that exact by construction. The mart is
still read, as a cross-check (:func:`mart_totals`): if it disagrees with core the report says so.

All day boundaries are UTC; a document belongs to the day of its ``published_at`` in UTC, the same
rule the mart uses. Filters use timestamp ranges (not a computed date) so DuckDB can prune.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from warehouse.marts import topic_filter

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

REQUIRED_TABLES = ("core.documents", "core.entities", "core.entity_sentiment", "core.mentions")
MART_TABLE = "marts.daily_entity_stats"
_DAY = "CAST(timezone('UTC', d.published_at) AS DATE)"


class ReportError(RuntimeError):
    """The warehouse cannot produce a report (missing tables, bad period, unknown entity...)."""


@dataclass(frozen=True)
class Scope:
    """Which documents a report counts: the relevance filter, or one topic's documents.

    Why one object: every figure of a report must be restricted the same way, so each query takes
    the scope and adds :meth:`sql` (with :attr:`params`) to its WHERE. A topic report counts the
    documents core.document_topics tags with the topic and does not apply the relevance flag on
    top (the topic query is the analyst's own definition of relevance), as marts.topic_daily does.
    """

    on_topic_only: bool = True
    topic: str | None = None
    # issue 15 (syndication): leave syndicated copies out, as marts.daily_entity_stats does, so a
    # cluster counts once. False only for a warehouse from before migration 008 (no core.syndication).
    copies_once: bool = False

    def sql(self, alias: str = "d") -> str:
        if self.topic is not None:  # a topic counts a cluster once too, as marts.topic_daily (010)
            return (f"{alias}.doc_id IN (SELECT t.doc_id FROM core.document_topics t WHERE t.topic = ?) "
                    f"AND {topic_filter(False, alias, self.copies_once)}")
        return topic_filter(self.on_topic_only, alias, self.copies_once)

    @property
    def params(self) -> list[Any]:
        return [] if self.topic is None else [self.topic]


def as_scope(scope: Scope | bool) -> Scope:
    """Accept the older ``on_topic_only`` bool as well as a :class:`Scope`."""
    return scope if isinstance(scope, Scope) else Scope(on_topic_only=bool(scope))


@dataclass(frozen=True)
class Period:
    """Inclusive range of UTC days."""

    start: date
    end: date

    @classmethod
    def ending(cls, end_day: date, days: int) -> Period:
        return cls(end_day - timedelta(days=days - 1), end_day)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        return Period.ending(self.start - timedelta(days=1), self.days)

    def day_list(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def bounds(self) -> tuple[datetime, datetime]:
        """Half-open UTC timestamp range [start 00:00, end+1 00:00)."""
        lo = datetime.combine(self.start, time(0), tzinfo=UTC)
        hi = datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=UTC)
        return lo, hi

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "days": self.days}


def existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables"
    ).fetchall()
    return {r[0] for r in rows}


def check_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Fail early with a message an operator can act on, instead of a Catalog Error mid-report."""
    tables = existing_tables(con)
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        raise ReportError(
            f"warehouse lacks table(s) {', '.join(missing)}: run the load stage (pulse run) first"
        )
    return tables


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [c[0] for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def daily_documents(con: duckdb.DuckDBPyConnection, span: Period, scope: Scope | bool = True
                    ) -> list[dict[str, Any]]:
    """Per day and source: documents, deleted tombstones, sentiment sum/count (for exact means)."""
    lo, hi = span.bounds()
    sc = as_scope(scope)
    return _rows(
        con,
        f"""
        SELECT {_DAY} AS day, d.source, count(*) AS documents,
               count(*) FILTER (WHERE coalesce(d.is_deleted, false)) AS deleted,
               sum(d.sentiment) AS sent_sum, count(d.sentiment) AS sent_n
        FROM core.documents d
        WHERE d.published_at >= ? AND d.published_at < ? AND {sc.sql()}
        GROUP BY ALL ORDER BY day, d.source
        """,
        [lo, hi, *sc.params],
    )


def daily_entities(con: duckdb.DuckDBPyConnection, span: Period, scope: Scope | bool = True
                   ) -> list[dict[str, Any]]:
    """Per entity and day: documents, mentions (sum of n_mentions), entity-sentiment sum/count."""
    lo, hi = span.bounds()
    sc = as_scope(scope)
    return _rows(
        con,
        f"""
        SELECT es.entity_id, {_DAY} AS day, count(*) AS documents,
               sum(coalesce(es.n_mentions, 0)) AS mentions,
               sum(es.sentiment) AS sent_sum, count(es.sentiment) AS sent_n
        FROM core.entity_sentiment es
        JOIN core.documents d ON d.doc_id = es.doc_id
        WHERE d.published_at >= ? AND d.published_at < ? AND {sc.sql()}
        GROUP BY ALL ORDER BY es.entity_id, day
        """,
        [lo, hi, *sc.params],
    )


def entities(con: duckdb.DuckDBPyConnection, entity_ids: list[str]) -> dict[str, dict[str, Any]]:
    if not entity_ids:
        return {}
    rows = _rows(
        con,
        "SELECT entity_id, name, label, kind, aliases, origin FROM core.entities "
        "WHERE list_contains(?, entity_id)",
        [sorted(entity_ids)],
    )
    return {r["entity_id"]: r for r in rows}


def _per_entity(con: duckdb.DuckDBPyConnection, span: Period, entity_ids: list[str], scope: Scope | bool,
                aggregate: str) -> list[tuple[Any, Any]]:
    """(entity_id, ``aggregate``) over the documents of ``span`` that mention each entity."""
    if not entity_ids:
        return []
    lo, hi = span.bounds()
    sc = as_scope(scope)
    return con.execute(
        f"""
        SELECT es.entity_id, {aggregate}
        FROM core.entity_sentiment es JOIN core.documents d ON d.doc_id = es.doc_id
        WHERE d.published_at >= ? AND d.published_at < ? AND list_contains(?, es.entity_id)
          AND {sc.sql()}
        GROUP BY es.entity_id
        """,
        [lo, hi, sorted(entity_ids), *sc.params],
    ).fetchall()


def entity_doc_ids(
    con: duckdb.DuckDBPyConnection, span: Period, entity_ids: list[str], scope: Scope | bool = True
) -> dict[str, list[str]]:
    """Sorted doc ids behind each entity's figures for ``span``: the provenance the JSON carries."""
    rows = _per_entity(con, span, entity_ids, scope, "list(es.doc_id ORDER BY es.doc_id)")
    return {eid: list(ids) for eid, ids in rows}


_DOC_COLUMNS = (
    "d.doc_id, d.source, d.kind, d.channel, d.url, d.canonical_url, d.title, d.body, d.author, "
    "d.published_at, d.score, d.num_comments, d.sentiment"
)


def _notable(con: duckdb.DuckDBPyConnection, span: Period, limit: int, condition: str,
             order_by: str, scope: Scope | bool = True) -> list[dict[str, Any]]:
    """Documents of the period (tombstones skipped) meeting ``condition``, with their engagement
    (score + num_comments, as the source reports them), first ``limit`` by ``order_by``."""
    lo, hi = span.bounds()
    sc = as_scope(scope)
    return _rows(
        con,
        f"""
        SELECT {_DOC_COLUMNS}, coalesce(d.score, 0) + coalesce(d.num_comments, 0) AS engagement
        FROM core.documents d
        WHERE d.published_at >= ? AND d.published_at < ? AND NOT coalesce(d.is_deleted, false)
          AND {condition} AND {sc.sql()}
        ORDER BY {order_by}, d.doc_id LIMIT ?
        """,
        [lo, hi, *sc.params, limit],
    )


def notable_by_engagement(con: duckdb.DuckDBPyConnection, span: Period, limit: int,
                          scope: Scope | bool = True) -> list[dict[str, Any]]:
    """Engagement = score + num_comments (both as the source reports them); tombstones skipped."""
    return _notable(con, span, limit, "(d.score IS NOT NULL OR d.num_comments IS NOT NULL)",
                    "engagement DESC", scope)


def notable_by_sentiment(
    con: duckdb.DuckDBPyConnection, span: Period, limit: int, positive: bool, scope: Scope | bool = True
) -> list[dict[str, Any]]:
    """Sentiment extremes, only among documents that mention at least one entity (on topic)."""
    order = "DESC" if positive else "ASC"
    cmp = "> 0" if positive else "< 0"
    has_entity = "EXISTS (SELECT 1 FROM core.entity_sentiment es WHERE es.doc_id = d.doc_id)"
    return _notable(con, span, limit, f"d.sentiment {cmp} AND {has_entity}",
                    f"d.sentiment {order}, engagement DESC", scope)


def doc_entity_names(con: duckdb.DuckDBPyConnection, doc_ids: list[str]) -> dict[str, list[str]]:
    """Entity names mentioned in each document (sorted), to show what a notable post is about."""
    if not doc_ids:
        return {}
    rows = con.execute(
        """
        SELECT es.doc_id,
               list(DISTINCT coalesce(e.name, es.entity_id) ORDER BY coalesce(e.name, es.entity_id))
        FROM core.entity_sentiment es LEFT JOIN core.entities e ON e.entity_id = es.entity_id
        WHERE list_contains(?, es.doc_id) GROUP BY es.doc_id
        """,
        [sorted(doc_ids)],
    ).fetchall()
    return {doc_id: list(names) for doc_id, names in rows}


def mart_totals(con: duckdb.DuckDBPyConnection, span: Period) -> dict[str, tuple[int, int]]:
    """Per entity (mentions, documents) over ``span`` according to the mart (for the cross-check)."""
    return {
        eid: (int(m or 0), int(n or 0))
        for eid, m, n in con.execute(
            f"SELECT entity_id, sum(mentions), sum(documents) FROM {MART_TABLE} "
            "WHERE day BETWEEN ? AND ? GROUP BY entity_id",
            [span.start, span.end],
        ).fetchall()
    }


def resolve_entity(con: duckdb.DuckDBPyConnection, needle: str) -> list[dict[str, Any]]:
    """Entities whose id, name or any alias equals ``needle`` case-insensitively."""
    return _rows(
        con,
        """
        SELECT entity_id, name, label, kind, aliases, origin FROM core.entities
        WHERE lower(entity_id) = lower(?) OR lower(name) = lower(?)
           OR list_contains(list_transform(coalesce(aliases, []), lambda a: lower(a)), lower(?))
        ORDER BY entity_id
        """,
        [needle, needle, needle],
    )


def entity_documents(
    con: duckdb.DuckDBPyConnection, entity_ids: list[str], span: Period, scope: Scope | bool = True
) -> list[dict[str, Any]]:
    """Documents behind the given entities over ``span`` with the first mentioning sentence."""
    lo, hi = span.bounds()
    sc = as_scope(scope)
    return _rows(
        con,
        f"""
        SELECT es.entity_id, {_DAY} AS day, {_DOC_COLUMNS}, es.n_mentions,
               es.sentiment AS entity_sentiment,
               (SELECT m.sentence FROM core.mentions m
                 WHERE m.doc_id = es.doc_id AND m.entity_id = es.entity_id
                 ORDER BY m.start_char LIMIT 1) AS first_sentence
        FROM core.entity_sentiment es JOIN core.documents d ON d.doc_id = es.doc_id
        WHERE d.published_at >= ? AND d.published_at < ? AND list_contains(?, es.entity_id)
          AND {sc.sql()}
        ORDER BY es.entity_id, d.published_at, d.doc_id
        """,
        [lo, hi, sorted(entity_ids), *sc.params],
    )


def off_topic_documents(con: duckdb.DuckDBPyConnection, span: Period) -> int:
    """Documents of the period left out as off topic (kept in core.documents, not counted)."""
    lo, hi = span.bounds()
    return int(con.execute(
        "SELECT count(*) FROM core.documents d WHERE d.published_at >= ? AND d.published_at < ? "
        "AND NOT coalesce(d.on_topic, true)", [lo, hi]).fetchone()[0])


def entity_channels(con: duckdb.DuckDBPyConnection, span: Period, entity_ids: list[str],
                    scope: Scope | bool = True) -> dict[str, int]:
    """Distinct channels (subreddits, sites) whose documents mention each entity over ``span``."""
    return {eid: int(n) for eid, n in _per_entity(con, span, entity_ids, scope, "count(DISTINCT d.channel)")}


def rising(con: duckdb.DuckDBPyConnection, end_day: date, period_days: int, min_documents: int,
           min_z: float, min_baseline_days: int) -> list[dict[str, Any]]:
    """Rows of ``marts.rising`` (migration 004): the one definition of "rising" that
    ``marts.trending_entities`` also uses. Only entities that pass the rule are returned."""
    return _rows(
        con,
        "SELECT * FROM marts.rising(?, ?, ?, ?, ?) WHERE is_trending "
        "ORDER BY z_score DESC, period_documents DESC, entity_id",
        [end_day, period_days, min_documents, min_z, min_baseline_days],
    )


def rising_in_topic(con: duckdb.DuckDBPyConnection, topic: str, end_day: date, period_days: int,
                    min_documents: int, min_z: float, min_baseline_days: int) -> list[dict[str, Any]]:
    """Rows of ``marts.rising_in`` (migration 007) for one topic's documents: the same rule as
    :func:`rising` (``marts.rising`` is ``marts.rising_in(NULL, ...)``), not a second definition."""
    return _rows(
        con,
        "SELECT * FROM marts.rising_in(?, ?, ?, ?, ?, ?) WHERE is_trending "
        "ORDER BY z_score DESC, period_documents DESC, entity_id",
        [topic, end_day, period_days, min_documents, min_z, min_baseline_days],
    )


def known_topics(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Distinct topic names tagged in the warehouse (empty before migration 005's table exists)."""
    if "core.document_topics" not in existing_tables(con):
        return []
    return [r[0] for r in con.execute(
        "SELECT DISTINCT topic FROM core.document_topics ORDER BY topic").fetchall()]


def _topic_docs(copies_once: bool) -> str:
    """FROM/WHERE of a topic's documents over a period, as marts.topic_daily counts them: deleted
    out, relevance flag not applied and, with ``copies_once`` (a warehouse with core.syndication),
    syndicated copies out by the one document filter, so a cluster counts once (migration 010)."""
    return f"""
    FROM core.document_topics t JOIN core.documents d ON d.doc_id = t.doc_id
    WHERE NOT coalesce(d.is_deleted, false) AND d.published_at >= ? AND d.published_at < ?
      AND {topic_filter(False, "d", copies_once)}
"""


def topic_totals(con: duckdb.DuckDBPyConnection, span: Period, topics: list[str] | None = None,
                 copies_once: bool = False) -> dict[str, dict[str, Any]]:
    """Per topic over ``span``: documents, sentiment sum/count, positive, negative, engagement and
    the doc ids, counted as marts.topic_daily counts them (deleted documents out, relevance flag not
    applied, syndicated copies out with ``copies_once``), so the figures add up to the mart's daily
    rows and list their documents."""
    lo, hi = span.bounds()
    only = "" if topics is None else "AND list_contains(?, t.topic)"
    rows = _rows(
        con,
        f"""
        SELECT t.topic, count(*) AS documents, sum(d.sentiment) AS sent_sum, count(d.sentiment) AS sent_n,
               count(*) FILTER (WHERE d.sentiment > 0.05) AS positive,
               count(*) FILTER (WHERE d.sentiment < -0.05) AS negative,
               sum(coalesce(d.score, 0) + coalesce(d.num_comments, 0)) AS engagement,
               list(d.doc_id ORDER BY d.doc_id) AS doc_ids
        {_topic_docs(copies_once)} {only}
        GROUP BY t.topic ORDER BY t.topic
        """,
        [lo, hi] + ([] if topics is None else [sorted(topics)]),
    )
    return {r["topic"]: r for r in rows}


def topic_daily(con: duckdb.DuckDBPyConnection, topic: str, span: Period) -> list[dict[str, Any]]:
    """marts.topic_daily rows of one topic over ``span`` (the per-topic mart, read as is)."""
    return _rows(
        con,
        "SELECT day, documents, mean_sentiment, positive, negative, engagement FROM marts.topic_daily "
        "WHERE topic = ? AND day BETWEEN ? AND ? ORDER BY day",
        [topic, span.start, span.end],
    )


def topic_daily_totals(con: duckdb.DuckDBPyConnection, span: Period) -> dict[str, int]:
    """Documents per topic over ``span`` according to marts.topic_daily (for the cross-check)."""
    return {topic: int(n) for topic, n in con.execute(
        "SELECT topic, sum(documents) FROM marts.topic_daily WHERE day BETWEEN ? AND ? GROUP BY topic",
        [span.start, span.end]).fetchall()}


def topic_share_of_voice(con: duckdb.DuckDBPyConnection, topic: str, span: Period
                         ) -> dict[str, dict[str, Any]]:
    """Per platform over ``span``: mentions and documents in the topic's documents, summed from
    marts.topic_share_of_voice (shares are recomputed over the period by the caller)."""
    rows = _rows(
        con,
        "SELECT entity_id, any_value(name) AS name, sum(mentions) AS mentions, sum(documents) AS documents "
        "FROM marts.topic_share_of_voice WHERE topic = ? AND day BETWEEN ? AND ? GROUP BY entity_id",
        [topic, span.start, span.end],
    )
    return {r["entity_id"]: r for r in rows}


def topic_top_documents(con: duckdb.DuckDBPyConnection, topic: str, span: Period, limit: int,
                        copies_once: bool = False) -> list[dict[str, Any]]:
    """The topic's documents of the period by engagement, then newest: news articles (no score)
    still appear when the topic has few Reddit posts. Syndicated copies out with ``copies_once``
    (the canonical article lists them), as in :func:`topic_totals`."""
    lo, hi = span.bounds()
    return _rows(
        con,
        f"""
        SELECT {_DOC_COLUMNS}, coalesce(d.score, 0) + coalesce(d.num_comments, 0) AS engagement
        {_topic_docs(copies_once)} AND t.topic = ?
        ORDER BY engagement DESC, d.published_at DESC, d.doc_id LIMIT ?
        """,
        [lo, hi, topic, limit],
    )


def authors(con: duckdb.DuckDBPyConnection, span: Period, limit: int, scope: Scope | bool = True
            ) -> list[dict[str, Any]]:
    """Voices of the period: ``marts.author_stats`` (migration 007, the rule marts.top_authors uses),
    most documents first, then engagement."""
    sc = as_scope(scope)
    on_topic_only = sc.on_topic_only and sc.topic is None
    return _rows(
        con,
        "SELECT * FROM marts.author_stats(?, ?, ?, ?) "
        "ORDER BY documents DESC, engagement DESC, author, channel LIMIT ?",
        [span.start, span.end, on_topic_only, sc.topic, limit],
    )


# --- issue 15: syndication (migration 008) ------------------------------------------------------

def syndicated_copies(con: duckdb.DuckDBPyConnection, span: Period, on_topic_only: bool = True) -> int:
    """Syndicated copies published in ``span`` that the filter left out (a cluster counts once);
    off-topic copies are not counted here, they are already in the off-topic figure."""
    lo, hi = span.bounds()
    topic = topic_filter(on_topic_only, "d")
    return int(con.execute(
        f"""SELECT count(*) FROM core.documents d JOIN core.syndication s ON s.doc_id = d.doc_id
        WHERE s.cluster_id <> s.doc_id AND d.published_at >= ? AND d.published_at < ? AND {topic}""",
        [lo, hi]).fetchone()[0])


def syndication_members(con: duckdb.DuckDBPyConnection, doc_ids: list[str]
                        ) -> dict[str, list[dict[str, Any]]]:
    """For each of ``doc_ids`` in a cluster, the cluster's other articles (canonical first, then by
    publication): who else published the story, for the newsletter's "also published by"."""
    if not doc_ids:
        return {}
    rows = _rows(
        con,
        """
        SELECT me.doc_id AS of_doc, d.doc_id, d.channel, d.url, d.canonical_url, d.published_at,
               d.doc_id = me.cluster_id AS canonical
        FROM core.syndication me
        JOIN core.syndication s ON s.cluster_id = me.cluster_id AND s.doc_id <> me.doc_id
        JOIN core.documents d ON d.doc_id = s.doc_id
        WHERE list_contains(?, me.doc_id)
        ORDER BY me.doc_id, canonical DESC, d.published_at, d.doc_id
        """,
        [sorted(doc_ids)],
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r.pop("of_doc"), []).append(r)
    return out


# --- issue 15: emerging terms ---------------------------------------------------------------------

def term_documents(con: duckdb.DuckDBPyConnection, span: Period, scope: Scope | bool = True
                   ) -> list[dict[str, Any]]:
    """doc_id, UTC day, title and body of the documents ``scope`` counts over ``span`` (tombstones
    out): the text transforms/terms.py cuts into candidate phrases."""
    lo, hi = span.bounds()
    sc = as_scope(scope)
    return _rows(
        con,
        f"""
        SELECT d.doc_id, {_DAY} AS day, d.title, d.body FROM core.documents d
        WHERE d.published_at >= ? AND d.published_at < ? AND NOT coalesce(d.is_deleted, false)
          AND {sc.sql()}
        ORDER BY d.doc_id
        """,
        [lo, hi, *sc.params],
    )


def known_names(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[str]]:
    """(gazetteer names and aliases, other entities' names and aliases): what a term must not be."""
    rows = con.execute(
        "SELECT origin = 'gazetteer', name, coalesce(aliases, []) FROM core.entities").fetchall()
    gaz = [n for g, name, aliases in rows if g for n in [name, *aliases]]
    other = [n for g, name, aliases in rows if not g for n in [name, *aliases]]
    return gaz, other


def first_data_day(con: duckdb.DuckDBPyConnection) -> date | None:
    """First day of marts.daily_entity_stats: where marts.rising's baseline history starts."""
    return con.execute(f"SELECT min(day) FROM {MART_TABLE}").fetchone()[0]


def documents_by_id(con: duckdb.DuckDBPyConnection, doc_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The listing columns of the given documents (with engagement), by doc_id."""
    if not doc_ids:
        return {}
    rows = _rows(
        con,
        f"SELECT {_DOC_COLUMNS}, coalesce(d.score, 0) + coalesce(d.num_comments, 0) AS engagement "
        "FROM core.documents d WHERE list_contains(?, d.doc_id)",
        [sorted(doc_ids)],
    )
    return {r["doc_id"]: r for r in rows}
