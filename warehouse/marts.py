"""Incremental marts: rebuild marts.daily_entity_stats for the affected days only.

Why per day: a night's load touches a handful of published days (the backfill window plus the odd
re-fetched document), so deleting and recomputing just those days keeps refresh cost proportional
to the new data, not the history. Both scans are pruned by DuckDB's zone maps: documents by a
published_at range, entity_sentiment by the (few) nights that own those documents; rows are
appended night by night, so both columns are physically clustered. The other marts are views over
this small table (see migration 002), so they cost nothing at refresh time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

POSITIVE = 0.05
NEGATIVE = -0.05

_DAY = "CAST(timezone('UTC', d.published_at) AS DATE)"

_SELECT = f"""
SELECT {_DAY} AS day, es.entity_id, any_value(e.name), any_value(e.label), any_value(e.kind), d.source,
       CAST(sum(es.n_mentions) AS INTEGER), CAST(count(*) AS INTEGER), avg(es.sentiment),
       CAST(count(*) FILTER (WHERE es.sentiment > {POSITIVE}) AS INTEGER),
       CAST(count(*) FILTER (WHERE es.sentiment < {NEGATIVE}) AS INTEGER)
FROM core.documents d
JOIN core.entity_sentiment es ON es.doc_id = d.doc_id AND es.night = d.night
LEFT JOIN core.entities e ON e.entity_id = es.entity_id
"""


def _bounds(days: list[date]) -> tuple[datetime, datetime]:
    return (datetime.combine(days[0], time(0), tzinfo=UTC),
            datetime.combine(days[-1] + timedelta(days=1), time(0), tzinfo=UTC))


def topic_filter(on_topic_only: bool, alias: str = "d", count_copies_once: bool = False) -> str:
    """SQL condition on core.documents: the one document filter of the marts and the newsletter.

    Off-topic documents out (NULL = scored before 004 = in). With ``count_copies_once`` (issue 15,
    item 5) a syndicated copy - a member of a core.syndication cluster other than its canonical
    article - is out too, so a wire story republished by five sites counts once, exactly as an
    off-topic document counts nowhere. It is a flag because a warehouse read-only from before
    migration 008 has no core.syndication to read.
    """
    parts = [f"coalesce({alias}.on_topic, true)"] if on_topic_only else []
    if count_copies_once:
        parts.append(f"{alias}.doc_id NOT IN (SELECT s.doc_id FROM core.syndication s "
                     "WHERE s.cluster_id <> s.doc_id)")
    return " AND ".join(parts) or "true"


def refresh_marts(con: duckdb.DuckDBPyConnection, days: Iterable[date | str] | None = None,
                  on_topic_only: bool = True) -> dict[str, Any]:
    """Recompute daily_entity_stats for ``days`` (None = everything) in one transaction.

    ``on_topic_only`` (config ``[relevance] exclude_off_topic``) leaves off-topic documents out of
    the mart, as the newsletter does, so the two never disagree. Syndicated copies
    (core.syndication, migration 008) are always left out: a cluster counts once.

    Returns ``{"days": n_days_refreshed, "rows": rows_written}``. A day with no data left (all its
    documents were removed by a re-run) ends up with no rows, as it should.
    """
    topic = topic_filter(on_topic_only, count_copies_once=True)
    con.execute("BEGIN")
    try:
        if days is None:
            con.execute("DELETE FROM marts.daily_entity_stats")
            con.execute(f"INSERT INTO marts.daily_entity_stats {_SELECT} WHERE {topic} GROUP BY ALL")
            n_days = con.execute("SELECT count(DISTINCT day) FROM marts.daily_entity_stats").fetchone()[0]
        else:
            wanted = sorted({d if isinstance(d, date) else date.fromisoformat(d) for d in days})
            n_days = len(wanted)
            if not wanted:
                con.execute("COMMIT")
                return {"days": 0, "rows": 0}
            lo, hi = _bounds(wanted)
            doc_filter = f"d.published_at >= ? AND d.published_at < ? AND list_contains(?, {_DAY})"
            nights_sql = f"SELECT DISTINCT night FROM core.documents d WHERE {doc_filter}"
            nights = [r[0] for r in con.execute(nights_sql, [lo, hi, wanted]).fetchall()]
            con.execute("DELETE FROM marts.daily_entity_stats WHERE list_contains(?, day)", [wanted])
            if nights:
                con.execute(
                    f"INSERT INTO marts.daily_entity_stats {_SELECT} WHERE {doc_filter} AND {topic} "
                    "AND es.night BETWEEN ? AND ? AND list_contains(?, es.night) GROUP BY ALL",
                    [lo, hi, wanted, min(nights), max(nights), nights])
        rows = con.execute("SELECT count(*) FROM marts.daily_entity_stats"
                           + ("" if days is None else " WHERE list_contains(?, day)"),
                           [] if days is None else [wanted]).fetchone()[0]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {"days": n_days, "rows": rows}


def affected_days(con: duckdb.DuckDBPyConnection, night: date) -> list[date]:
    """Published days of the documents the night's load wrote (core) or landed (raw).

    ``load_night``'s own ``affected_days`` is a superset that also covers documents a re-run
    dropped; prefer it when you have it.
    """
    rows = con.execute(f"""
        SELECT {_DAY} FROM core.documents d WHERE d.night = ?
        UNION
        SELECT CAST(timezone('UTC', TRY_CAST(published_at AS TIMESTAMPTZ)) AS DATE)
        FROM raw.documents WHERE night = ? AND TRY_CAST(published_at AS TIMESTAMPTZ) IS NOT NULL
        ORDER BY 1""", [night, night]).fetchall()
    return [r[0] for r in rows]
