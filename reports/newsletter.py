"""The weekly newsletter: build the figures (pure data), render them, write them, explain them.

Why three layers: :func:`build_report` returns a JSON-serialisable dict that is the single source
for every renderer, so Markdown, HTML and JSON cannot disagree; :func:`write_report` is the only
function touching the filesystem; :func:`explain_entity` answers "where does this number come
from?" with the same queries the figures use. Output is deterministic (sorted, rounded, no
timestamps inside the dict); the one generated-at line is added at write time.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.files import write_atomic
from reports import queries as q
from reports.queries import Period, ReportError, Scope
from reports.safety import one_line, safe_url
from reports.scoring import RisingRule, pct_change, rnd
from warehouse.sentiment_models import compare as compare_models

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

    from common.config import Settings

log = logging.getLogger(__name__)
SCHEMA_VERSION = 1
CHART_ENTITIES = 5
MOVERS_MIN_DOCUMENTS = 3
MOVERS_MIN_CHANGE = 0.1
MOVERS_LIMIT = 5
SOV_LIMIT = 8
NOTABLE_LIMIT = 5
VOICES_LIMIT = 10
TOPIC_DOCUMENTS_LIMIT = 5
TERMS_LIMIT = 8  # issue 15: emerging terms shown
TERM_LINKS = 3  # top documents linked per term (all doc ids are in the JSON)
SYNDICATION_RULE = ("near-duplicate news articles (the same wire story or press release on several "
                    "sites: MinHash over word 5-shingles of the body, confirmed by Jaccard >= 0.5 or "
                    "containment >= 0.8, published within 7 days) form a cluster that counts once, as "
                    "its earliest article; the others are listed as \"also published by\" "
                    "(core.syndication, transforms/syndication.py)")
TERMS_RULE = ("2-3 word phrases cut from titles and bodies at stop words and punctuation "
              "(transforms/terms.py), names and aliases of tracked entities and page furniture left out; "
              "a phrase is emerging when its documents per day pass the rising rule")
# The normal newsletter's Topics section ranks a topic that grew by this much, with at least
# MOVERS_MIN_DOCUMENTS documents, into the summary: a topic-only story surfaces there.
TOPIC_RISE_MIN_PCT = 50.0
VOICES_RULE = ("a voice is an author within one channel (subreddit or news site); deleted documents, "
               "missing, [deleted] and [removed] authors, AutoModerator and names ending in Bot, "
               "_bot or -bot are left out (marts.author_stats, the rule of marts.top_authors)")
# One colour per entity, held across charts and tables: tab10 order without its grey, then extra
# distinct hues. Colours are never reused: entities past the palette (only ever in tables, since
# charted entities are coloured first) get NEUTRAL, so two entities never look like one.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#bcbd22", "#17becf", "#393b79", "#ad494a", "#637939", "#843c39", "#5254a3", "#8ca252",
)
NEUTRAL = "#9e9e9e"
# Regional split: a place found only by statistical NER ("Based", "Mod" from sentence starts) needs
# this many documents, and a GPE/LOC label, before it gets a row of its own.
REGION_NER_MIN_DOCUMENTS = 2
REGION_NER_LABELS = ("GPE", "LOC")
FORMATS = ("md", "html", "json")
MART = "marts.daily_entity_stats"


def _validate_args(end_day: Any, period_days: Any, top_n: Any) -> None:
    if isinstance(end_day, datetime) or not isinstance(end_day, date):
        raise ReportError(f"end_day must be a date, got {type(end_day).__name__}")
    if not isinstance(period_days, int) or isinstance(period_days, bool) or not 1 <= period_days <= 366:
        raise ReportError(f"period_days must be an integer between 1 and 366, got {period_days!r}")
    if not isinstance(top_n, int) or isinstance(top_n, bool) or not 1 <= top_n <= 100:
        raise ReportError(f"top_n must be an integer between 1 and 100, got {top_n!r}")


def _mean(total: float, n: int) -> float | None:
    return total / n if n else None


class _EntityAgg:
    """Per-entity sums for one period plus its daily mention counts."""

    __slots__ = ("documents", "mentions", "sent_sum", "sent_n", "daily", "daily_sent")

    def __init__(self) -> None:
        self.documents = 0
        self.mentions = 0
        self.sent_sum = 0.0
        self.sent_n = 0
        self.daily: dict[date, int] = {}
        self.daily_sent: dict[date, tuple[float, int]] = {}

    @property
    def mean_sentiment(self) -> float | None:
        return _mean(self.sent_sum, self.sent_n)


def _aggregate(rows: list[dict[str, Any]], period: Period) -> dict[str, _EntityAgg]:
    out: dict[str, _EntityAgg] = defaultdict(_EntityAgg)
    for r in rows:
        if not period.start <= r["day"] <= period.end:
            continue
        agg = out[r["entity_id"]]
        agg.documents += int(r["documents"])
        agg.mentions += int(r["mentions"])
        agg.sent_sum += float(r["sent_sum"] or 0.0)
        agg.sent_n += int(r["sent_n"])
        agg.daily[r["day"]] = agg.daily.get(r["day"], 0) + int(r["mentions"])
        agg.daily_sent[r["day"]] = (float(r["sent_sum"] or 0.0), int(r["sent_n"]))
    return out


def _also(members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The other articles of a syndication cluster, as the newsletter lists them."""
    return [{"doc_id": m["doc_id"], "channel": m["channel"], "canonical": bool(m["canonical"]),
             "link": safe_url(m["canonical_url"]) or safe_url(m["url"]),
             "published_at": m["published_at"].astimezone(UTC).isoformat() if m["published_at"] else None}
            for m in members]


def _doc_item(row: dict[str, Any], entity_names: dict[str, list[str]],
              copies: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    published = row["published_at"]
    return {
        "doc_id": row["doc_id"],
        "source": row["source"],
        "kind": row["kind"],
        "channel": row["channel"],
        "title": one_line(row["title"], 200) or None,
        "excerpt": one_line(row["body"], 280) or None,
        "link": safe_url(row["canonical_url"]) or safe_url(row["url"]),
        "published_at": published.astimezone(UTC).isoformat() if published else None,
        "score": row["score"],
        "num_comments": row["num_comments"],
        "engagement": int(row["engagement"]),
        "sentiment": rnd(row["sentiment"]),
        "entities": entity_names.get(row["doc_id"], [])[:6],
        "also_published_by": _also((copies or {}).get(row["doc_id"], [])),
    }


def _region_row_allowed(entity: dict[str, Any], agg: _EntityAgg) -> bool:
    """Gazetteer places always get a row; NER-only ones need a GPE/LOC label and some support.

    Why: spaCy's small model tags capitalised sentence starts ("Based in...", "Mod here") as GPE,
    and a writer pasting the regional table must not publish "Based" as a region. Filtered places
    still count in the totals, under "other places", so shares add up and nothing is hidden.
    """
    if entity.get("origin") == "gazetteer":
        return True
    return entity.get("label") in REGION_NER_LABELS and agg.documents >= REGION_NER_MIN_DOCUMENTS


def _share_rows(
    kind: str,
    info: dict[str, dict[str, Any]],
    now: dict[str, _EntityAgg],
    before: dict[str, _EntityAgg],
    limit: int,
    allowed: Any = None,
) -> tuple[dict[str, Any], list[str]]:
    ids_now = [e for e in now if info.get(e, {}).get("kind") == kind]
    ids_before = [e for e in before if info.get(e, {}).get("kind") == kind]
    total = sum(now[e].mentions for e in ids_now)
    total_before = sum(before[e].mentions for e in ids_before)
    listed = [e for e in ids_now if allowed is None or allowed(info.get(e, {}), now[e])]
    ranked = sorted(listed, key=lambda e: (-now[e].mentions, -now[e].documents, e))[:limit]
    rows = []
    for eid in ranked:
        cur, prev = now[eid], before.get(eid, _EntityAgg())
        share = cur.mentions / total if total else 0.0
        prev_share = prev.mentions / total_before if total_before else None
        rows.append({
            "entity_id": eid,
            "mentions": cur.mentions,
            "documents": cur.documents,
            "share": rnd(share, 4),
            "mean_sentiment": rnd(cur.mean_sentiment),
            "previous_mentions": prev.mentions,
            "previous_share": rnd(prev_share, 4),
            "share_change_pp": None if prev_share is None else rnd((share - prev_share) * 100, 1),
        })
    other = total - sum(r["mentions"] for r in rows)
    return {"total_mentions": total, "previous_total_mentions": total_before, "other_mentions": other,
            "rows": rows}, ranked


def _topic_names(con: duckdb.DuckDBPyConnection, topics: list[dict[str, Any]] | None) -> list[str]:
    """Configured topics (config order) then topics found only in the warehouse (sorted)."""
    configured = [t["name"] for t in topics or []]
    return configured + [t for t in q.known_topics(con) if t not in configured]


def resolve_topic(con: duckdb.DuckDBPyConnection, topic: str,
                  topics: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The configured topic (or one only tagged in the warehouse) named ``topic``, else ReportError
    listing the known names: a typo must not silently produce an empty newsletter."""
    names = _topic_names(con, topics)
    if topic not in names:
        known = ", ".join(names) or "none (add [[topic]] entries to config/topics.toml)"
        raise ReportError(f"unknown topic {topic!r}; known topics: {known}")
    found = next((t for t in topics or [] if t["name"] == topic), None)
    return {"name": topic, "description": (found or {}).get("description"),
            "query": (found or {}).get("query"), "configured": found is not None}


@dataclass(frozen=True)
class _Ctx:
    """What every section of one report shares, fixed once by :func:`_context`.

    Why one frozen object: every figure must count the same documents (``scope``) over the same
    periods with the same rule; handing the sections one read-only context keeps them from drifting.
    """

    con: duckdb.DuckDBPyConnection
    tables: set[str]
    end_day: date
    period_days: int
    top_n: int
    cur: Period
    prev: Period
    scope: Scope
    rule: RisingRule
    topic_info: dict[str, Any] | None  # the resolved topic of a topic report, else None
    topics: list[dict[str, Any]] | None

    @property
    def topic(self) -> str | None:
        return self.scope.topic

    @property
    def copies_once(self) -> bool:
        return self.scope.copies_once

    @property
    def both(self) -> Period:
        """The previous and the current period as one span: the range of the daily series."""
        return Period(self.prev.start, self.cur.end)


@dataclass(frozen=True)
class _Counts:
    """Daily document rows and per-entity sums of both periods, with the entities' core rows.

    Why fetched once: the headline, top entities, movers, share of voice, regions, daily series and
    mart check all derive from these rows, so their numbers add up to each other.
    """

    doc_rows: list[dict[str, Any]]
    now: dict[str, _EntityAgg]
    before: dict[str, _EntityAgg]
    info: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class _Listed:
    """The sections that list documents: notable ones, the topic's top ones, emerging terms."""

    notable: dict[str, list[dict[str, Any]]]
    topic_documents: list[dict[str, Any]]
    terms: list[dict[str, Any]]
    near_miss: dict[str, Any] | None


def _context(
    con: duckdb.DuckDBPyConnection, end_day: date, period_days: int, top_n: int, on_topic_only: bool,
    topic: str | None, topics: list[dict[str, Any]] | None,
) -> _Ctx:
    """Check the arguments and the warehouse, then fix the periods, scope and rule of the report.

    Why here, before any figure: a bad argument, a missing table or an unknown topic must fail
    with a clear ReportError, not half-way through. A topic report does not apply the relevance
    flag (the topic query is the relevance rule); a syndication cluster counts once (issue 15).
    """
    _validate_args(end_day, period_days, top_n)
    tables = q.check_tables(con)
    topic_info = None
    if topic is not None:
        if "core.document_topics" not in tables:
            raise ReportError("warehouse has no core.document_topics: run the load (pulse run) or "
                              "pulse topics backfill first")
        topic_info = resolve_topic(con, topic, topics)
        on_topic_only = False
    copies_once = "core.syndication" in tables  # issue 15: a syndication cluster counts once
    cur_p = Period.ending(end_day, period_days)
    return _Ctx(con, tables, end_day, period_days, top_n, cur_p, cur_p.previous(),
                Scope(on_topic_only, topic, copies_once), RisingRule(), topic_info, topics)


def _counts(ctx: _Ctx) -> _Counts:
    """The daily rows of both periods in scope, summed per entity and period (see :class:`_Counts`)."""
    doc_rows = q.daily_documents(ctx.con, ctx.both, ctx.scope)
    ent_rows = q.daily_entities(ctx.con, ctx.both, ctx.scope)
    now, before = _aggregate(ent_rows, ctx.cur), _aggregate(ent_rows, ctx.prev)
    return _Counts(doc_rows, now, before, q.entities(ctx.con, sorted(set(now) | set(before))))


def build_report(
    con: duckdb.DuckDBPyConnection, end_day: date, period_days: int = 7, top_n: int = 10,
    on_topic_only: bool = True, topic: str | None = None, topics: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """All figures for the ``period_days`` ending on ``end_day`` (inclusive, UTC) vs the period before.

    Pure data: JSON-serialisable, sorted and rounded, so the same warehouse gives the same dict.
    Entity figures count ``core.entity_sentiment`` rows (one per document and entity); the
    ``provenance`` map lists, per entity shown anywhere, the doc ids behind its current and
    previous figures. With ``on_topic_only`` (the default, config ``[relevance]``) documents scored
    off topic (transforms/relevance.py) are left out of every figure and counted in the headline.

    ``topic`` (a name in ``topics`` or tagged in core.document_topics) restricts every figure to
    that topic's documents (:class:`~reports.queries.Scope`; the relevance flag is then not applied,
    as in marts.topic_daily), computes rising within the topic (marts.rising_in) and adds a
    ``topic`` section. Without it, ``topics`` (config/topics.toml: name, description, query) feed
    the ``topics`` section (each topic's volume this period vs the previous one).

    Why one function per section, called in report order from here: each figure is found, read and
    tested by its own name, and every section gets the same :class:`_Ctx` (scope, periods, rule).
    """
    ctx = _context(con, end_day, period_days, top_n, on_topic_only, topic, topics)
    counts = _counts(ctx)
    top = _section_top_entities(ctx, counts)
    rising = _section_rising(ctx)
    movers = _section_movers(counts)
    sov, regions = _section_share_of_voice(counts), _section_regions(ctx, counts)
    listed = _section_documents(ctx)
    # a topic report has a section on its topic, a normal report an overview of every topic
    topic_section = (_topic_section(con, ctx.topic_info, ctx.cur, ctx.prev, listed.topic_documents,
                                    ctx.copies_once) if ctx.topic_info is not None else None)
    topics_overview = (_topics_overview(con, ctx.tables, ctx.topics, ctx.cur, ctx.prev)
                       if ctx.topic is None else None)
    charted = [t["entity_id"] for t in top[:CHART_ENTITIES]]
    shown = _shown_entities(charted, top, rising, movers, sov, regions, topic_section)
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "title": "Live-commerce pulse" if ctx.topic is None else f"Live-commerce pulse, topic {ctx.topic}",
        "period": ctx.cur.to_dict(),
        "previous_period": ctx.prev.to_dict(),
        "parameters": _section_parameters(ctx),
        "headline": _section_headline(ctx, counts),
        "entities": _section_entities(ctx, counts, shown),
        "top_entities": top,
        "rising": rising,
        "sentiment_movers": movers,
        "share_of_voice": sov,
        "regions": regions,
        "notable": listed.notable,
        "topic": topic_section,
        "topics": topics_overview,
        "voices": _voices(con, ctx.tables, ctx.cur, ctx.scope),
        "emerging_terms": listed.terms,
        "emerging_terms_near_miss": listed.near_miss,
        "daily": _section_daily(ctx, counts, charted),
        "provenance": _section_provenance(ctx, shown),
        "checks": (_mart_check(con, ctx.tables, ctx.cur, counts.now) if ctx.topic is None
                   else _topic_mart_check(con, topic_section, ctx.cur)),
    }
    report["sentiment_models"] = _section_sentiment_models(ctx)
    if not report["sentiment_models"]["comparable"]:
        _drop_sentiment_comparisons(report)
    from reports.summary import build_summary

    report["summary"] = build_summary(report)
    return report


def _section_sentiment_models(ctx: _Ctx) -> dict[str, Any]:
    """Which sentiment models scored the two periods' documents, and whether their sentiment
    compares (``comparable``; warehouse.sentiment_models, the rule the sentiment alerts follow).

    Why: a model upgrade moves every score a little; "down from +0.20" across it would report the
    upgrade as a change of opinion."""
    return compare_models(ctx.con, (ctx.prev.start, ctx.prev.end), (ctx.cur.start, ctx.cur.end)).to_dict()


def _drop_sentiment_comparisons(report: dict[str, Any]) -> None:
    """Leave out every previous-period sentiment figure and change (the periods' models differ):
    the renderers say why (reports.fmt.sentiment_models_note), nothing compares across models,
    and the sentiment chart draws only the current period."""
    report["headline"]["mean_sentiment"].update(previous=None, change=None)
    for row in report["top_entities"]:
        row.update(previous_mean_sentiment=None, sentiment_change=None)
    report["sentiment_movers"] = []
    for row in (report.get("topics") or {}).get("rows", []):
        row.update(previous_mean_sentiment=None, sentiment_change=None)
    daily = report["daily"]
    previous_days = [k for k, d in enumerate(daily["days"]) if d < daily["current_start"]]
    for series in [daily, *daily["entities"].values()]:
        for k in previous_days:
            series["mean_sentiment"][k] = None
    topic = report.get("topic")
    if topic is not None:
        topic["mean_sentiment"].update(previous=None, change=None)
        for key in ("positive", "negative"):
            topic[key]["previous"] = None
        for row in topic["daily"]["previous"]:
            row["mean_sentiment"] = None


def _doc_totals(doc_rows: list[dict[str, Any]], p: Period) -> dict[str, Any]:
    """Documents, deleted documents, mean document sentiment and documents per source in ``p``."""
    rows = [r for r in doc_rows if p.start <= r["day"] <= p.end]
    by_source: dict[str, int] = defaultdict(int)
    for r in rows:
        by_source[r["source"]] += int(r["documents"])
    sent_n = sum(int(r["sent_n"]) for r in rows)
    return {
        "documents": sum(int(r["documents"]) for r in rows),
        "deleted": sum(int(r["deleted"]) for r in rows),
        "sentiment": _mean(sum(float(r["sent_sum"] or 0) for r in rows), sent_n),
        "by_source": dict(by_source),
    }


def _section_headline(ctx: _Ctx, counts: _Counts) -> dict[str, Any]:
    """Documents, mentions, entities and mean sentiment now vs before, and the documents left out.

    Why the off-topic and syndicated-copy counts: a reader must see how many documents the figures
    leave out; a topic report has neither (its scope is the topic's documents, copies already out).
    """
    con, cur_p, topic, on_topic_only = ctx.con, ctx.cur, ctx.topic, ctx.scope.on_topic_only
    now, before = counts.now, counts.before
    hc, hp = _doc_totals(counts.doc_rows, cur_p), _doc_totals(counts.doc_rows, ctx.prev)
    m_now = sum(a.mentions for a in now.values())
    m_before = sum(a.mentions for a in before.values())
    sources = sorted(set(hc["by_source"]) | set(hp["by_source"]))
    return {
        "documents": {"current": hc["documents"], "previous": hp["documents"],
                      "change_pct": rnd(pct_change(hc["documents"], hp["documents"]), 1)},
        "deleted_documents": hc["deleted"],
        "off_topic_documents": q.off_topic_documents(con, cur_p) if on_topic_only and topic is None else None,
        "syndicated_copies": (q.syndicated_copies(con, cur_p, on_topic_only)
                              if ctx.copies_once and topic is None else None),
        "mentions": {"current": m_now, "previous": m_before,
                     "change_pct": rnd(pct_change(m_now, m_before), 1)},
        "entities": {"current": len(now), "previous": len(before)},
        "mean_sentiment": {
            "current": rnd(hc["sentiment"]), "previous": rnd(hp["sentiment"]),
            "change": None if hc["sentiment"] is None or hp["sentiment"] is None
            else rnd(hc["sentiment"] - hp["sentiment"]),
        },
        "by_source": [
            {"source": s, "documents": hc["by_source"].get(s, 0), "previous": hp["by_source"].get(s, 0)}
            for s in sources
        ],
    }


def _section_top_entities(ctx: _Ctx, counts: _Counts) -> list[dict[str, Any]]:
    """The ``top_n`` entities of the period, each with its figures of the previous period.

    Why ranked by documents, then distinct channels: one article repeating a name 47 times counts
    once, and an entity talked about in many places outranks one thread's favourite.
    """
    now, before = counts.now, counts.before
    channels = q.entity_channels(ctx.con, ctx.cur, sorted(now), ctx.scope)
    ranked = sorted(now, key=lambda e: (-now[e].documents, -channels.get(e, 0), -now[e].mentions, e))
    top = []
    for eid in ranked[:ctx.top_n]:
        cur, prev = now[eid], before.get(eid, _EntityAgg())
        top.append({
            "entity_id": eid,
            "mentions": cur.mentions,
            "documents": cur.documents,
            "channels": channels.get(eid, 0),
            "mean_sentiment": rnd(cur.mean_sentiment),
            "previous_mentions": prev.mentions,
            "previous_documents": prev.documents,
            "previous_mean_sentiment": rnd(prev.mean_sentiment),
            "mentions_change_pct": rnd(pct_change(cur.mentions, prev.mentions), 1),
            "documents_change_pct": rnd(pct_change(cur.documents, prev.documents), 1),
            "sentiment_change": None if cur.mean_sentiment is None or prev.mean_sentiment is None
            else rnd(cur.mean_sentiment - prev.mean_sentiment),
        })
    return top


def _section_rising(ctx: _Ctx) -> list[dict[str, Any]]:
    """Entities that pass the rising rule, at most ``top_n``, with every term of their z-score.

    Why read from marts.rising (marts.rising_in on a topic's documents, 007): it is the one
    definition marts.trending_entities uses too, so the newsletter and the view cannot disagree.
    A warehouse without the mart has no rising list rather than a second, Python definition.
    """
    rule = ctx.rule
    rule_args = (ctx.end_day, ctx.period_days, rule.min_documents, rule.min_z, rule.min_baseline_days)
    if q.MART_TABLE not in ctx.tables:
        rising_rows = []
    elif ctx.topic is not None:
        rising_rows = q.rising_in_topic(ctx.con, ctx.topic, *rule_args)
    else:
        rising_rows = q.rising(ctx.con, *rule_args)
    rising = [{
        "entity_id": r["entity_id"],
        "documents": int(r["period_documents"]),
        "previous_documents": int(r["baseline_documents"]),
        "mentions": int(r["period_mentions"]),
        "baseline_days": int(r["baseline_days"]),
        "daily_mean": rnd(r["daily_mean"], 2),
        "baseline_daily_mean": rnd(r["baseline_daily_mean"], 2),
        "baseline_daily_sd": rnd(r["baseline_daily_sd"], 2),
        "sigma": rnd(r["sigma"], 2),
        "z": rnd(r["z_score"], 2),
    } for r in rising_rows][:ctx.top_n]
    return rising


def _section_movers(counts: _Counts) -> list[dict[str, Any]]:
    """Entities whose mean sentiment moved by MOVERS_MIN_CHANGE or more, largest move first.

    Why a minimum of MOVERS_MIN_DOCUMENTS sentiment rows in each period: with fewer, one comment's
    mood would be reported as a change of opinion.
    """
    now, before = counts.now, counts.before
    movers = []
    for eid, cur in now.items():
        prev = before.get(eid)
        if prev is None or cur.sent_n < MOVERS_MIN_DOCUMENTS or prev.sent_n < MOVERS_MIN_DOCUMENTS:
            continue
        change = cur.mean_sentiment - prev.mean_sentiment  # type: ignore[operator]
        if abs(change) < MOVERS_MIN_CHANGE:
            continue
        movers.append({
            "entity_id": eid,
            "mean_sentiment": rnd(cur.mean_sentiment),
            "previous_mean_sentiment": rnd(prev.mean_sentiment),
            "change": rnd(change),
            "documents": cur.documents,
            "previous_documents": prev.documents,
        })
    movers.sort(key=lambda r: (-abs(r["change"]), r["entity_id"]))
    return movers[:MOVERS_LIMIT]


def _section_share_of_voice(counts: _Counts) -> dict[str, Any]:
    """Each platform's share of all platform mentions, now vs before, the top SOV_LIMIT listed.

    Why the totals and other_mentions: a reader can check that the listed shares and the rest add
    up to all platform mentions.
    """
    sov, _ = _share_rows("platform", counts.info, counts.now, counts.before, SOV_LIMIT)
    return {"total_mentions": sov["total_mentions"],
            "previous_total_mentions": sov["previous_total_mentions"],
            "other_mentions": sov["other_mentions"], "platforms": sov["rows"]}


def _section_regions(ctx: _Ctx, counts: _Counts) -> dict[str, Any]:
    """Places' share of all place mentions, now vs before, the top ``top_n`` with a row of their own.

    Why :func:`_region_row_allowed`: NER-only places need support before a row (no "Based" region);
    the places left out still count in the totals, under other_mentions.
    """
    regions, _ = _share_rows("place", counts.info, counts.now, counts.before, ctx.top_n, _region_row_allowed)
    return {"total_mentions": regions["total_mentions"],
            "previous_total_mentions": regions["previous_total_mentions"],
            "other_mentions": regions["other_mentions"], "places": regions["rows"]}


def _section_documents(ctx: _Ctx) -> _Listed:
    """Notable documents, the topic report's top documents and the emerging terms (issue 15).

    Why together: every listed document is shown the same way (:func:`_doc_item`) with its entity
    names and the other sites of its syndication cluster, looked up once for all of them.
    """
    con, cur_p, scope, topic = ctx.con, ctx.cur, ctx.scope, ctx.topic
    notable_rows = {
        "by_engagement": q.notable_by_engagement(con, cur_p, NOTABLE_LIMIT, scope),
        "most_positive": q.notable_by_sentiment(con, cur_p, 3, True, scope),
        "most_negative": q.notable_by_sentiment(con, cur_p, 3, False, scope),
    }
    topic_docs = (q.topic_top_documents(con, topic, cur_p, TOPIC_DOCUMENTS_LIMIT, ctx.copies_once)
                  if topic is not None else [])
    # --- emerging terms (issue 15): phrases beyond the gazetteer, the rising rule --------------
    near_miss: list[dict[str, Any]] = []
    terms, term_rows = _emerging_terms(con, ctx.tables, ctx.end_day, ctx.period_days, ctx.rule, scope,
                                       near_miss)
    all_doc_ids = sorted({r["doc_id"] for rows in notable_rows.values() for r in rows}
                         | {r["doc_id"] for r in topic_docs} | {r["doc_id"] for r in term_rows})
    doc_names = q.doc_entity_names(con, all_doc_ids)
    copies = q.syndication_members(con, all_doc_ids) if ctx.copies_once else {}
    notable = {k: [_doc_item(r, doc_names, copies) for r in rows] for k, rows in notable_rows.items()}
    items = {r["doc_id"]: _doc_item(r, doc_names, copies) for r in term_rows}
    for t in terms:
        t["top_documents"] = [items[i] for i in t.pop("top_doc_ids")]
    topic_items = [_doc_item(r, doc_names, copies) for r in topic_docs]
    return _Listed(notable, topic_items, terms, near_miss[0] if near_miss else None)


def _shown_entities(charted: list[str], top: list[dict[str, Any]], rising: list[dict[str, Any]],
                    movers: list[dict[str, Any]], sov: dict[str, Any], regions: dict[str, Any],
                    topic_section: dict[str, Any] | None) -> list[str]:
    """Every entity shown anywhere, charted ones first, each once.

    Why this order: it hands out the colours (charted entities first, so a chart never gets the
    neutral grey), and the list is what the entities and provenance maps cover.
    """
    sov_ids = [r["entity_id"] for r in sov["platforms"]]
    region_ids = [r["entity_id"] for r in regions["places"]]
    return list(dict.fromkeys(
        charted + sov_ids + [r["entity_id"] for r in rising] + [m["entity_id"] for m in movers]
        + [t["entity_id"] for t in top] + region_ids
        + [p["entity_id"] for p in (topic_section or {}).get("share_of_voice", {}).get("platforms", [])]
    ))


def _section_daily(ctx: _Ctx, counts: _Counts, charted: list[str]) -> dict[str, Any]:
    """Documents and mean sentiment per day over both periods, and the charted entities' series.

    Why in the report and not computed by the charts: the JSON then carries the numbers behind
    every chart, and the charts (reports/charts.py) only draw them.
    """
    cur_p, now, before = ctx.cur, counts.now, counts.before
    days = ctx.both.day_list()
    daily_docs: dict[date, tuple[int, float, int]] = {}
    for r in counts.doc_rows:
        n, s, k = daily_docs.get(r["day"], (0, 0.0, 0))
        daily_docs[r["day"]] = (n + int(r["documents"]), s + float(r["sent_sum"] or 0), k + int(r["sent_n"]))

    def series(eid: str) -> dict[str, list[Any]]:
        agg_c, agg_p = now.get(eid, _EntityAgg()), before.get(eid, _EntityAgg())
        mentions, sent = [], []
        for d in days:
            agg = agg_c if d >= cur_p.start else agg_p
            mentions.append(agg.daily.get(d, 0))
            s, n = agg.daily_sent.get(d, (0.0, 0))
            sent.append(rnd(_mean(s, n)))
        return {"mentions": mentions, "mean_sentiment": sent}

    return {
        "days": [d.isoformat() for d in days],
        "current_start": cur_p.start.isoformat(),
        "documents": [daily_docs.get(d, (0, 0.0, 0))[0] for d in days],
        "mean_sentiment": [rnd(_mean(*daily_docs.get(d, (0, 0.0, 0))[1:])) for d in days],
        "entities": {eid: series(eid) for eid in charted},
    }


def _section_provenance(ctx: _Ctx, shown: list[str]) -> dict[str, dict[str, list[str]]]:
    """The doc ids behind each shown entity's current and previous figures.

    Why: every number in the newsletter must be traceable to documents (``pulse report explain``).
    """
    cur_ids = q.entity_doc_ids(ctx.con, ctx.cur, shown, ctx.scope)
    prev_ids = q.entity_doc_ids(ctx.con, ctx.prev, shown, ctx.scope)
    return {eid: {"current": cur_ids.get(eid, []), "previous": prev_ids.get(eid, [])} for eid in shown}


def _section_entities(ctx: _Ctx, counts: _Counts, shown: list[str]) -> dict[str, dict[str, Any]]:
    """Name, kind, label and colour of every shown entity, in the order of :func:`_shown_entities`.

    Why one map: an entity keeps one colour across charts and tables, and colours are never reused
    (entities past the PALETTE get NEUTRAL), so two entities never look like one.
    """
    colors = {eid: PALETTE[i] if i < len(PALETTE) else NEUTRAL for i, eid in enumerate(shown)}
    info = {**counts.info, **q.entities(ctx.con, [e for e in shown if e not in counts.info])}
    return {
        eid: {
            "name": (info.get(eid) or {}).get("name") or eid,
            "kind": (info.get(eid) or {}).get("kind"),
            "label": (info.get(eid) or {}).get("label"),
            "color": colors[eid],
        }
        for eid in sorted(shown)
    }


def _section_parameters(ctx: _Ctx) -> dict[str, Any]:
    """The rules, thresholds and limits behind the figures.

    Why in the report: the JSON says how every number was counted, so a reader (or a diff between
    two nights) never has to guess from the code.
    """
    rule, topic = ctx.rule, ctx.topic
    on_topic_only, copies_once = ctx.scope.on_topic_only, ctx.copies_once
    return {
        "top_n": ctx.top_n,
        "rising": {"min_documents": rule.min_documents, "min_z": rule.min_z,
                   "min_baseline_days": rule.min_baseline_days, "unit": "documents",
                   "z": "(current daily mean - baseline daily mean) / max(baseline daily sd, "
                        "sqrt(max(baseline daily mean, 1))); baseline = previous period, days "
                        "with history only; same rule as marts.trending_entities (marts.rising)"},
        "relevance": {"on_topic_only": on_topic_only},
        "topic": None if topic is None else {
            "name": topic, "rule": "every figure counts only the documents core.document_topics tags "
                                   "with the topic; the relevance flag is not applied on top (the "
                                   "topic query is the relevance rule); a syndication cluster counts "
                                   "once, as in marts.topic_daily",
            "rising": "marts.rising_in: the rising rule on the topic's documents"},
        "topics": {"rise_min_pct": TOPIC_RISE_MIN_PCT, "min_documents": MOVERS_MIN_DOCUMENTS,
                   "counted": "documents the topic tags, deleted ones out, relevance flag not applied, "
                              "a syndication cluster once (as marts.topic_daily)"},
        "syndication": {"applied": copies_once, "rule": SYNDICATION_RULE},
        "terms": {"limit": TERMS_LIMIT, "links": TERM_LINKS, "rule": TERMS_RULE,
                  "scoring": "marts.rising's rule (same period, baseline, z and thresholds) on "
                             "documents per day containing the phrase"},
        "voices": {"limit": VOICES_LIMIT, "rule": VOICES_RULE,
                   "ranked_by": "documents, then engagement (score + num_comments)"},
        "movers": {"min_documents_each_period": MOVERS_MIN_DOCUMENTS, "min_change": MOVERS_MIN_CHANGE},
        "engagement": "score + num_comments",
        "regions": {"ner_min_documents": REGION_NER_MIN_DOCUMENTS, "ner_labels": list(REGION_NER_LABELS),
                    "rule": "gazetteer places, plus NER-found GPE/LOC places in enough documents; "
                            "other places count under other_mentions"},
    }


def _emerging_terms(con: duckdb.DuckDBPyConnection, tables: set[str], end_day: date, period_days: int,
                    rule: RisingRule, scope: Scope, near: list[dict[str, Any]]
                    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rising phrases of the period (transforms/terms.py) over the documents ``scope`` counts, and
    the rows of their top documents (engagement, then newest) for linking. When none rose, the
    closest call (phrase, documents, z, doc ids) is put into ``near``.

    Why the same documents as every other figure: a syndicated copy or an off-topic article must
    not make a phrase rise either. The baseline starts where marts.rising's does (the mart's first
    day), so "rising" means the same thing for an entity and for a phrase.
    """
    from transforms.terms import Known, emerging_terms, normalise

    cur_p = Period.ending(end_day, period_days)
    span = Period(cur_p.previous().start, cur_p.end)
    gaz, other = q.known_names(con)
    miss: list[dict[str, Any]] = []
    known = Known(frozenset(filter(None, map(normalise, gaz))),
                  frozenset(filter(None, map(normalise, other))))
    first = q.first_data_day(con) if q.MART_TABLE in tables else None
    found = emerging_terms(q.term_documents(con, span, scope), known, end_day, period_days, first,
                           rule.min_documents, rule.min_z, rule.min_baseline_days, TERMS_LIMIT, miss)
    near.extend({"phrase": m["phrase"], "documents": int(m["period_documents"]), "z": rnd(m["z_score"], 2),
                 "doc_ids": m["doc_ids"]} for m in miss)
    docs = q.documents_by_id(con, sorted({i for t in found for i in t["doc_ids"]}))

    def rank(doc_id: str) -> tuple[Any, ...]:
        d = docs[doc_id]
        return (-int(d["engagement"]), -d["published_at"].timestamp(), doc_id)

    out, rows = [], {}
    for t in found:
        top = sorted(t["doc_ids"], key=rank)[:TERM_LINKS]
        rows.update({i: docs[i] for i in top})
        out.append({
            "phrase": t["phrase"],
            "documents": int(t["period_documents"]),
            "previous_documents": int(t["baseline_documents"]),
            "baseline_days": int(t["baseline_days"]),
            "daily_mean": rnd(t["daily_mean"], 2),
            "baseline_daily_mean": rnd(t["baseline_daily_mean"], 2),
            "baseline_daily_sd": rnd(t["baseline_daily_sd"], 2),
            "sigma": rnd(t["sigma"], 2),
            "z": rnd(t["z_score"], 2),
            "doc_ids": {"current": t["doc_ids"], "previous": t["previous_doc_ids"]},
            "top_doc_ids": top,
        })
    return out, [rows[i] for i in sorted(rows)]


def _change(cur: float | None, prev: float | None) -> float | None:
    return None if cur is None or prev is None else rnd(cur - prev)


def _topic_section(con: duckdb.DuckDBPyConnection, info: dict[str, Any], cur_p: Period, prev_p: Period,
                   top_documents: list[dict[str, Any]], copies_once: bool = False) -> dict[str, Any]:
    """Volume, sentiment, platform share of voice and top documents of one topic, now vs before.

    Totals and doc ids come from core (counted as marts.topic_daily counts, so they are traceable;
    with ``copies_once`` a syndication cluster counts once, as in the mart since migration 010);
    the daily series and the share of voice are read from the topic marts themselves, and
    :func:`_topic_mart_check` confirms the two agree.
    """
    name = info["name"]
    tot_c = q.topic_totals(con, cur_p, [name], copies_once).get(name, {})
    tot_p = q.topic_totals(con, prev_p, [name], copies_once).get(name, {})

    def figure(key: str) -> dict[str, Any]:
        return {"current": int(tot_c.get(key) or 0), "previous": int(tot_p.get(key) or 0)}

    def mean(t: dict[str, Any]) -> float | None:
        return _mean(float(t.get("sent_sum") or 0.0), int(t.get("sent_n") or 0))

    docs = figure("documents")
    docs["change_pct"] = rnd(pct_change(docs["current"], docs["previous"]), 1)
    m_c, m_p = mean(tot_c), mean(tot_p)
    by_day = {r["day"]: r for r in q.topic_daily(con, name, Period(prev_p.start, cur_p.end))}

    def day_row(d: date) -> dict[str, Any]:
        r = by_day.get(d)
        return {"day": d.isoformat(), "documents": int(r["documents"]) if r else 0,
                "mean_sentiment": rnd(r["mean_sentiment"]) if r else None}

    sov_c = q.topic_share_of_voice(con, name, cur_p)
    sov_p = q.topic_share_of_voice(con, name, prev_p)
    total_c = sum(int(r["mentions"]) for r in sov_c.values())
    total_p = sum(int(r["mentions"]) for r in sov_p.values())
    platforms = []
    ranked = sorted(sov_c, key=lambda e: (-int(sov_c[e]["mentions"]), -int(sov_c[e]["documents"]), e))
    for eid in ranked[:SOV_LIMIT]:
        cur, prev = sov_c[eid], sov_p.get(eid)
        share = int(cur["mentions"]) / total_c if total_c else 0.0
        prev_share = (int(prev["mentions"]) if prev else 0) / total_p if total_p else None
        platforms.append({
            "entity_id": eid, "mentions": int(cur["mentions"]), "documents": int(cur["documents"]),
            "share": rnd(share, 4), "previous_mentions": int(prev["mentions"]) if prev else 0,
            "previous_share": rnd(prev_share, 4),
            "share_change_pp": None if prev_share is None else rnd((share - prev_share) * 100, 1),
        })
    return {
        "name": name,
        "description": info.get("description"),
        "query": info.get("query"),
        "configured": info.get("configured", False),
        "documents": docs,
        "mean_sentiment": {"current": rnd(m_c), "previous": rnd(m_p), "change": _change(m_c, m_p)},
        "positive": figure("positive"),
        "negative": figure("negative"),
        "engagement": figure("engagement"),
        "daily": {"current": [day_row(d) for d in cur_p.day_list()],
                  "previous": [day_row(d) for d in prev_p.day_list()]},
        "share_of_voice": {"total_mentions": total_c, "previous_total_mentions": total_p,
                           "platforms": platforms},
        "top_documents": top_documents,
        "doc_ids": {"current": list(tot_c.get("doc_ids") or []),
                    "previous": list(tot_p.get("doc_ids") or [])},
    }


def _topics_overview(con: duckdb.DuckDBPyConnection, tables: set[str], topics: list[dict[str, Any]] | None,
                     cur_p: Period, prev_p: Period) -> dict[str, Any]:
    """Each topic's documents and mean sentiment this period vs the previous one, most documents
    first, with the doc ids behind them: a story only a topic query catches shows up here (and in
    the summary) even when no entity rises."""
    if "core.document_topics" not in tables:
        return {"rows": [], "note": "the warehouse has no core.document_topics yet"}
    names = _topic_names(con, topics)
    described = {t["name"]: t.get("description") for t in topics or []}
    copies_once = "core.syndication" in tables  # a cluster counts once, as in marts.topic_daily (010)
    now = q.topic_totals(con, cur_p, names, copies_once)
    before = q.topic_totals(con, prev_p, names, copies_once)
    rows = []
    for name in names:
        c, p = now.get(name, {}), before.get(name, {})
        n_c, n_p = int(c.get("documents") or 0), int(p.get("documents") or 0)
        m_c = _mean(float(c.get("sent_sum") or 0.0), int(c.get("sent_n") or 0))
        m_p = _mean(float(p.get("sent_sum") or 0.0), int(p.get("sent_n") or 0))
        rows.append({
            "topic": name, "description": described.get(name), "configured": name in described,
            "documents": n_c, "previous_documents": n_p,
            "change_pct": rnd(pct_change(n_c, n_p), 1),
            "mean_sentiment": rnd(m_c), "previous_mean_sentiment": rnd(m_p),
            "sentiment_change": _change(m_c, m_p),
            "doc_ids": {"current": list(c.get("doc_ids") or []), "previous": list(p.get("doc_ids") or [])},
        })
    rows.sort(key=lambda r: (-r["documents"], -r["previous_documents"], r["topic"]))
    mart = q.topic_daily_totals(con, cur_p) if "marts.topic_daily" in tables else None
    check = None if mart is None else (
        "ok" if all(mart.get(r["topic"], 0) == r["documents"] for r in rows) else "mismatch")
    return {"rows": rows, "mart_check": check}


def _voices(con: duckdb.DuckDBPyConnection, tables: set[str], period: Period, scope: Scope
            ) -> list[dict[str, Any]]:
    """Top authors of the period by marts.author_stats (empty on a warehouse without 007)."""
    if "marts.top_authors" not in tables:
        return []
    out = []
    for r in q.authors(con, period, VOICES_LIMIT, scope):
        out.append({
            "author": one_line(r["author"], 80),
            "source": r["source"],
            "channel": r["channel"],
            "documents": int(r["documents"]),
            "engagement": int(r["engagement"] or 0),
            "mean_sentiment": rnd(r["mean_sentiment"]),
            "main_topics": [{"topic": t, "documents": int(n)}
                            for t, n in zip(r["main_topics"], r["main_topic_documents"], strict=True)],
            "doc_ids": list(r["doc_ids"]),
        })
    return out


def _topic_mart_check(con: duckdb.DuckDBPyConnection, section: dict[str, Any], period: Period
                      ) -> dict[str, Any]:
    """A topic report's figures come from core; marts.topic_daily must give the same volume."""
    mart = q.topic_daily_totals(con, period).get(section["name"], 0)
    ok = mart == section["documents"]["current"]
    return {"mart": "ok" if ok else "mismatch", "against": "marts.topic_daily",
            "mismatched_entities": [], "n_mismatched": 0 if ok else 1}


def _mart_check(
    con: duckdb.DuckDBPyConnection, tables: set[str], period: Period, now: dict[str, _EntityAgg]
) -> dict[str, Any]:
    """Compare core-derived counts with marts.daily_entity_stats; a mismatch means stale marts."""
    if q.MART_TABLE not in tables:
        return {"mart": "absent", "against": MART, "mismatched_entities": []}
    mart = q.mart_totals(con, period)
    core = {eid: (a.mentions, a.documents) for eid, a in now.items()}
    bad = sorted(e for e in set(mart) | set(core) if mart.get(e, (0, 0)) != core.get(e, (0, 0)))
    return {"mart": "ok" if not bad else "mismatch", "against": MART, "mismatched_entities": bad[:20],
            "n_mismatched": len(bad)}


def explain_entity(
    con: duckdb.DuckDBPyConnection, entity: str, end_day: date, period_days: int = 7,
    on_topic_only: bool = True, topic: str | None = None, topics: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The documents behind an entity's figures in the period and the previous one.

    ``entity`` matches an entity id, name or alias case-insensitively (all matches are explained,
    each row says which entity it belongs to). Raises :class:`ReportError` for an unknown entity.
    With ``topic``, only that topic's documents, as in the topic report whose figures it explains.
    """
    _validate_args(end_day, period_days, 1)
    if topic is not None:
        resolve_topic(con, topic, topics)
    if not isinstance(entity, str) or not entity.strip():
        raise ReportError("entity must be a non-empty id, name or alias")
    tables = q.check_tables(con)
    scope = Scope(on_topic_only and topic is None, topic, "core.syndication" in tables)
    matches = q.resolve_entity(con, entity.strip())
    if not matches:
        raise ReportError(f"no entity matches {entity!r} (by id, name or alias)")
    names = {m["entity_id"]: m["name"] for m in matches}
    cur_p = Period.ending(end_day, period_days)
    out = []
    for label, span in (("current", cur_p), ("previous", cur_p.previous())):
        for r in q.entity_documents(con, sorted(names), span, scope):
            published = r["published_at"]
            out.append({
                "period": label,
                "entity_id": r["entity_id"],
                "entity_name": names[r["entity_id"]],
                "day": r["day"].isoformat(),
                "doc_id": r["doc_id"],
                "source": r["source"],
                "kind": r["kind"],
                "channel": r["channel"],
                "title": one_line(r["title"], 200) or None,
                "link": safe_url(r["canonical_url"]) or safe_url(r["url"]),
                "published_at": published.astimezone(UTC).isoformat() if published else None,
                "score": r["score"],
                "n_mentions": r["n_mentions"],
                "entity_sentiment": rnd(r["entity_sentiment"]),
                "sentence": one_line(r["first_sentence"], 300) or None,
            })
    return out


def render_all(
    report: dict[str, Any], formats: tuple[str, ...] | list[str], generated_at: str
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Render ``report`` into {format: bytes} and {chart file name: png bytes}."""
    import json

    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ReportError(f"unknown format(s) {bad or formats!r}; choose from {', '.join(FORMATS)}")
    charts: dict[str, bytes] = {}
    if "md" in formats or "html" in formats:
        from reports.charts import render_charts

        charts = render_charts(report)
    out: dict[str, bytes] = {}
    if "md" in formats:
        from reports.render_md import render_markdown

        out["md"] = render_markdown(report, generated_at, chart_files=sorted(charts)).encode("utf-8")
    if "html" in formats:
        from reports.render_html import render_html

        out["html"] = render_html(report, generated_at, charts).encode("utf-8")
    if "json" in formats:
        doc = {**report, "generated_at": generated_at}
        out["json"] = (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
    return out, charts


def open_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-only; if a load holds the write lock, fall back to the snapshot.

    DuckDB lets no other process open a file being written, even read-only; warehouse/ publishes a
    consistent copy (``warehouse.published.duckdb``) after each load for exactly this case.
    """
    import duckdb

    path = Path(path)
    if not path.exists():
        raise ReportError(f"warehouse not found at {path}: run the pipeline (pulse run) first")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        snapshot = path.with_name(f"{path.stem}.published{path.suffix}")
        if snapshot.exists():
            log.warning("warehouse %s is locked (%s); reporting from snapshot %s", path, exc, snapshot)
            return duckdb.connect(str(snapshot), read_only=True)
        raise ReportError(f"cannot open warehouse {path} read-only: {exc}") from exc


def _slug(name: str) -> str:
    """A topic name as one safe path component (config names are slugs already)."""
    import re

    return re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-") or "topic"


def configured_topics(settings: Settings) -> list[dict[str, Any]]:
    """name, description and query of each [[topic]] in config/topics.toml (none if the file is absent).

    Why here and not only in the CLI: the nightly newsletter lists the configured topics too, with
    their descriptions, including topics that matched nothing yet. A malformed file is a ReportError.
    """
    from transforms.topics import TopicConfigError, TopicQueryError, load_topics

    path = settings.config_file("topics.toml")
    try:
        found = load_topics(path, missing_ok=True)
    except (TopicConfigError, TopicQueryError) as exc:
        raise ReportError(f"{path}: {exc}") from exc
    return [{"name": t.name, "description": t.description or None, "query": " ".join(t.query.split())}
            for t in found]


def write_report(
    settings: Settings,
    end_day: date,
    period_days: int | None = None,
    out_dir: Path | None = None,
    formats: tuple[str, ...] | list[str] = FORMATS,
    topic: str | None = None,
) -> dict[str, Path]:
    """Open the warehouse read-only, build, render and write ``newsletter.{md,html,json}`` + charts.

    With ``topic`` the newsletter of that topic's documents, by default in
    ``<reports dir>/<end day>/topic-<name>/`` so it never replaces the full newsletter.
    Returns {"md": path, "html": path, "json": path, "chart:<name>": path, ...} for what was written.
    """
    period_days = settings.report.period_days if period_days is None else period_days
    target = Path(out_dir) if out_dir is not None else settings.reports_dir / end_day.isoformat()
    if topic is not None and out_dir is None:
        target = target / f"topic-{_slug(topic)}"
    try:
        topics: list[dict[str, Any]] | None = configured_topics(settings)
    except ReportError as exc:
        if topic is not None:
            raise
        # The full newsletter must not be lost to a typo in topics.toml: its Topics section falls
        # back to the topics already tagged in the warehouse, and the log says why.
        log.warning("%s; the Topics section lists the topics tagged in the warehouse only", exc)
        topics = None
    con = open_warehouse(settings.warehouse_path)
    try:
        report = build_report(con, end_day, period_days, settings.report.top_n,
                              settings.relevance.exclude_off_topic, topic=topic, topics=topics)
    finally:
        con.close()
    generated_at = datetime.now(UTC).replace(microsecond=0).isoformat()
    rendered, charts = render_all(report, tuple(formats), generated_at)
    written: dict[str, Path] = {}
    for name, data in sorted(charts.items()):
        write_atomic(target / name, data, 0o644)  # meant for other readers
        written[f"chart:{name.removesuffix('.png')}"] = target / name
    for fmt, data in rendered.items():
        write_atomic(target / f"newsletter.{fmt}", data, 0o644)
        written[fmt] = target / f"newsletter.{fmt}"
    return written
