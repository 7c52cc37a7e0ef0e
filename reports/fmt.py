"""Number and label formatting shared by the Markdown and HTML renderers (so they read the same).

Returns plain text; callers escape. Missing values print as an en dash, never as "None" or "nan".
"""

from __future__ import annotations

from datetime import date
from typing import Any

DASH = "–"


def num(value: int | None) -> str:
    return DASH if value is None else f"{value:,}"


def pct(value: float | None) -> str:
    """A relative change already in percent (e.g. 40.0 -> "+40%")."""
    return DASH if value is None else f"{value:+.0f}%"


def share(value: float | None) -> str:
    """A fraction 0..1 as a percentage."""
    return DASH if value is None else f"{value * 100:.1f}%"


def pp(value: float | None) -> str:
    return DASH if value is None else f"{value:+.1f} pp"


def sent(value: float | None, missing: str = DASH) -> str:
    """Signed, two decimals; a value that rounds to zero prints as +0.00, never "-0.00"."""
    if value is None:
        return missing
    rounded = round(value, 2)
    return f"{rounded + 0.0 if rounded else 0.0:+.2f}"


def day(iso: str) -> str:
    d = date.fromisoformat(iso)
    return f"{d.day} {d.strftime('%b')} {d.year}"


def period_title(report: dict[str, Any]) -> str:
    p = report["period"]
    return f"{day(p['start'])} – {day(p['end'])}"


def period_line(report: dict[str, Any]) -> str:
    p, b = report["period"], report["previous_period"]
    return (f"Period {p['start']} to {p['end']} ({p['days']} days, UTC), compared with "
            f"{b['start']} to {b['end']}.")


def entity_name(report: dict[str, Any], eid: str) -> str:
    return report["entities"].get(eid, {}).get("name") or eid


def entity_kind(report: dict[str, Any], eid: str) -> str:
    return report["entities"].get(eid, {}).get("kind") or DASH


def rising_rule(report: dict[str, Any]) -> str:
    r = report["parameters"]["rising"]
    return (f"Rising = at least {r['min_documents']} documents this period and z ≥ {r['min_z']:g}, where "
            "z = (daily documents now − baseline daily mean) / "
            "max(baseline daily sd, √max(baseline mean, 1)); "
            f"the baseline is the previous period (days with data only, at least {r['min_baseline_days']}). "
            "A document counts once however often it names the entity; marts.trending_entities uses the "
            "same rule.")


def off_topic_note(report: dict[str, Any]) -> str | None:
    """One sentence on the documents left out as off topic, or None when none were (or none scored)."""
    n = report["headline"].get("off_topic_documents")
    if not n:
        return None
    return (f"{n:,} off-topic document{'s' if n != 1 else ''} (no live-commerce platform, term or channel) "
            "published in this period {} left out of every figure; they stay in core.documents."
            .format("was" if n == 1 else "were"))


def sentiment_models_note(report: dict[str, Any]) -> str | None:
    """One sentence when the two periods' sentiment came from different models (an upgrade, a
    source moved between models; the section's ``reason``), so the report compares no sentiment
    across them; None otherwise (or for a report without the section)."""
    models = report.get("sentiment_models")
    if not models or models["comparable"]:
        return None
    why = models.get("reason") or "the sentiment model changed"
    return (f"Sentiment in these two periods was scored by different models ({why}), so no "
            "sentiment figure is compared with the previous period.")


def other_places(report: dict[str, Any]) -> str:
    reg = report["regions"]
    n = reg["other_mentions"]
    share_text = share(n / reg["total_mentions"]) if reg["total_mentions"] else DASH
    return (f"Other places: {n:,} mention{'' if n == 1 else 's'} ({share_text}), from places beyond the "
            "table or found only by the language model in too few documents to list.")


SOURCE_LABELS = {"reddit": "Reddit", "news": "News"}


def source_label(source: str) -> str:
    return SOURCE_LABELS.get(source, source)


def headline_rows(head: dict[str, Any]) -> list[list[str]]:
    """The headline table (label, this period, previous, change), shared by Markdown and HTML."""
    return [
        ["Documents", num(head["documents"]["current"]), num(head["documents"]["previous"]),
         pct(head["documents"]["change_pct"])],
        ["Entity mentions", num(head["mentions"]["current"]), num(head["mentions"]["previous"]),
         pct(head["mentions"]["change_pct"])],
        ["Entities mentioned", num(head["entities"]["current"]), num(head["entities"]["previous"]), DASH],
        ["Mean sentiment", sent(head["mean_sentiment"]["current"]),
         sent(head["mean_sentiment"]["previous"]), sent(head["mean_sentiment"]["change"])],
    ] + source_rows(head)


def source_rows(headline: dict[str, Any]) -> list[list[str]]:
    """Headline-table rows "Reddit documents | now | previous | –" (plain text; callers escape)."""
    return [[f"{source_label(s['source'])} documents", num(s["documents"]), num(s["previous"]), DASH]
            for s in headline["by_source"]]


def channel_label(doc: dict[str, Any]) -> str:
    """Where it was said, as a reader would write it: r/Subreddit for Reddit, the site's domain for news."""
    channel = doc["channel"]
    if not channel:
        return DASH
    return f"r/{channel}" if doc["source"] == "reddit" and not channel.startswith("r/") else channel


def doc_meta(doc: dict[str, Any]) -> str:
    bits = [source_label(doc["source"]), channel_label(doc)]
    if doc["score"] is not None:
        bits.append(f"score {doc['score']:,}")
    if doc["num_comments"] is not None:
        bits.append(f"{doc['num_comments']:,} comments")
    bits.append(f"sentiment {sent(doc['sentiment'])}")
    if doc["published_at"]:
        bits.append(doc["published_at"][:10])
    return " · ".join(str(b) for b in bits)


def doc_title(doc: dict[str, Any], limit: int = 140) -> str:
    text = doc["title"] or doc["excerpt"] or doc["doc_id"]
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# Why the note: news articles carry no score or comment count, so a writer would otherwise wonder
# why no article ever tops the engagement list.
NOTABLE_NOTES = {
    "by_engagement": "Engagement = score + comments as the source reports them; news articles carry "
                     "neither, so they appear in the sentiment lists below.",
    "most_positive": "Most positive and most negative: documents that mention a tracked entity, by "
                     "document sentiment (-1 to 1).",
}
NOTABLE_SECTIONS = (
    ("by_engagement", "Most engagement"),
    ("most_positive", "Most positive"),
    ("most_negative", "Most negative"),
)
CHART_TITLES = {
    "daily_mentions.png": "Daily mentions of the top entities",
    "share_of_voice.png": "Share of voice among platforms",
    "sentiment_trend.png": "Sentiment trend",
}


def topic_rows(section: dict[str, Any]) -> list[list[str]]:
    """A topic report's figures table (label, this period, previous, change); plain text."""
    docs, sentiment = section["documents"], section["mean_sentiment"]

    def count(label: str, key: str) -> list[str]:
        return [label, num(section[key]["current"]), num(section[key]["previous"]), DASH]

    return [
        ["Documents", num(docs["current"]), num(docs["previous"]), pct(docs["change_pct"])],
        ["Mean sentiment", sent(sentiment["current"]), sent(sentiment["previous"]),
         sent(sentiment["change"])],
        count("Positive documents", "positive"),
        count("Negative documents", "negative"),
        count("Engagement", "engagement"),
    ]


def topic_daily_rows(section: dict[str, Any]) -> list[list[str]]:
    """Day k of this period beside day k of the previous one: documents and mean sentiment."""
    return [[c["day"], num(c["documents"]), sent(c["mean_sentiment"]), p["day"], num(p["documents"]),
             sent(p["mean_sentiment"])]
            for c, p in zip(section["daily"]["current"], section["daily"]["previous"], strict=True)]


def topic_note(report: dict[str, Any]) -> str:
    t = report["topic"]
    return (f"Topic report: every figure in this newsletter counts only the documents the saved query "
            f"“{t['name']}” matches (core.document_topics); the off-topic filter is not applied on top. "
            "Rising is computed within the topic (marts.rising_in, the same rule). Daily figures come "
            "from marts.topic_daily and the share of voice from marts.topic_share_of_voice.")


def topics_note() -> str:
    return ("Documents each saved topic (config/topics.toml) matched, deleted ones excepted, as in "
            "marts.topic_daily; the doc ids are in newsletter.json under topics. "
            "`pulse report --topic NAME` writes the newsletter for one topic.")


def main_topics(voice: dict[str, Any]) -> str:
    return ", ".join(f"{t['topic']} ({t['documents']})" for t in voice["main_topics"]) or DASH


def voices_note(report: dict[str, Any]) -> str:
    v = report["parameters"]["voices"]
    return (f"Top {v['limit']} voices by documents, then engagement (score + comments). Rule: {v['rule']}. "
            "The doc ids behind each row are in newsletter.json under voices.")


def voice_channel(voice: dict[str, Any]) -> str:
    return channel_label({"channel": voice["channel"], "source": voice["source"]})


def syndication_note(report: dict[str, Any]) -> str | None:
    """One sentence on syndicated copies left out of the counts, or None when there were none."""
    n = report["headline"].get("syndicated_copies")
    if not n:
        return None
    return (f"{n:,} syndicated cop{'y' if n == 1 else 'ies'} (the same article republished by another "
            "site) published in this period {} counted once, as the earliest article of its cluster; "
            "the others are listed under it as “also published by”."
            .format("was" if n == 1 else "were"))


def also_label(member: dict[str, Any]) -> str:
    """How one other publisher of a syndicated article reads: its site and day."""
    day_text = f" ({member['published_at'][:10]})" if member.get("published_at") else ""
    return f"{member['channel'] or member['doc_id']}{day_text}"


def terms_empty(report: dict[str, Any]) -> str:
    """The Emerging terms section when no phrase rose: say so, with the closest call if any."""
    text = "No phrase beyond the tracked entities rose beyond day-to-day noise this period."
    m = report.get("emerging_terms_near_miss")
    if m:
        text += (f" The closest was “{m['phrase']}”: {m['documents']:,} documents, z {m['z']:.1f} "
                 f"(doc ids in newsletter.json under emerging_terms_near_miss).")
    return text


def terms_note(report: dict[str, Any]) -> str:
    t, r = report["parameters"]["terms"], report["parameters"]["rising"]
    return (f"Emerging terms: {t['rule']} (at least {r['min_documents']} documents and z ≥ {r['min_z']:g}, "
            "as for entities). Up to "
            f"{t['links']} documents are linked per term; all doc ids are in newsletter.json under "
            "emerging_terms.")
