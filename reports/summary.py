"""The plain-English summary paragraph, built by templates from the report's own numbers.

Why templates and not free text: a writer pastes this paragraph into a newsletter, so each clause
must be checkable against a table in the same report. Every sentence below reads one figure from
the report dict and nothing else; if a section is empty its sentence says so rather than guessing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from reports import fmt


def _day(iso: str) -> str:
    d = date.fromisoformat(iso)
    return f"{d.day} {d.strftime('%b')} {d.year}"


def _change(pct: float | None, previous: int) -> str:
    if previous == 0:
        return "none in the previous period"
    if pct is None or abs(pct) < 0.5:
        return "about the same as the previous period"
    return f"{'up' if pct > 0 else 'down'} {abs(pct):.0f}% on the previous period"


def _sent(value: float | None) -> str:
    return fmt.sent(value, missing="n/a")


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def build_summary(report: dict[str, Any]) -> str:
    period = report["period"]
    head = report["headline"]
    names = {eid: p["name"] for eid, p in report["entities"].items()}
    span = f"the {period['days']} days to {_day(period['end'])}"
    docs = head["documents"]
    if docs["current"] == 0:
        return f"No documents were published in {span}, so there is nothing to report for this period."

    topic = report.get("topic")
    tracked = "we tracked" if topic is None else f"the topic {topic['name']} matched"
    parts = [
        f"In {span} {tracked} {_plural(docs['current'], 'document')} "
        f"({_change(docs['change_pct'], docs['previous'])}) carrying "
        f"{_plural(head['mentions']['current'], 'entity mention')}."
    ]
    sent = head["mean_sentiment"]
    if sent["current"] is not None:
        upgraded = not (report.get("sentiment_models") or {"comparable": True})["comparable"]
        if sent["previous"] is None and upgraded:
            parts.append(f"Average document sentiment was {_sent(sent['current'])} (not compared with the "
                         "previous period: the sentiment model changed).")
        elif sent["previous"] is None:
            parts.append(f"Average document sentiment was {_sent(sent['current'])}.")
        else:
            delta = sent["change"] or 0.0
            trend = "level with" if abs(delta) < 0.02 else ("up from" if delta > 0 else "down from")
            parts.append(
                f"Average document sentiment was {_sent(sent['current'])}, {trend} {_sent(sent['previous'])}."
            )

    movers = {m["entity_id"]: m for m in report["sentiment_movers"]}
    rising = report["rising"]
    if rising:
        top = rising[0]
        clause = (
            f"{names[top['entity_id']]} rose fastest: {_plural(top['documents'], 'document')} against "
            f"{top['previous_documents']:,} in the previous period (z = {top['z']:.1f})"
        )
        mover = movers.get(top["entity_id"])
        if mover is not None and mover["change"] is not None and mover["change"] < 0:
            clause += (
                f", while sentiment around it fell from {_sent(mover['previous_mean_sentiment'])} "
                f"to {_sent(mover['mean_sentiment'])}"
            )
        parts.append(clause + ".")
        others = [names[r["entity_id"]] for r in rising[1:4]]
        if others:
            parts.append(f"Also rising: {', '.join(others)}.")
    else:
        rule = report["parameters"]["rising"]
        parts.append(
            f"No entity rose beyond day-to-day noise (z of at least {rule['min_z']:g} with at least "
            f"{rule['min_documents']} documents)."
        )

    topic_line = _topic_sentence(report)
    if topic_line:
        parts.append(topic_line)

    first_mover = next(
        (m for m in report["sentiment_movers"] if not rising or m["entity_id"] != rising[0]["entity_id"]),
        None,
    )
    if first_mover is not None:
        direction = "improving" if first_mover["change"] > 0 else "worsening"
        lead_in = "Among the other entities, sentiment" if rising else "Sentiment"
        parts.append(
            f"{lead_in} around {names[first_mover['entity_id']]} moved the most, {direction} from "
            f"{_sent(first_mover['previous_mean_sentiment'])} to {_sent(first_mover['mean_sentiment'])}."
        )

    platforms = report["share_of_voice"]["platforms"]
    if platforms:
        lead = platforms[0]
        pp = lead["share_change_pp"]
        shift = "" if pp is None else f", {pp:+.1f} points on the previous period"
        parts.append(
            f"{names[lead['entity_id']]} led platform share of voice with {lead['share'] * 100:.0f}% of "
            f"platform mentions{shift}."
        )
    places = report["regions"]["places"]
    if places:
        lead = places[0]
        parts.append(
            f"{names[lead['entity_id']]} was the most-mentioned place "
            f"({_plural(lead['mentions'], 'mention')}, {lead['share'] * 100:.0f}% of place mentions)."
        )
    return " ".join(parts)


def _topic_sentence(report: dict[str, Any]) -> str | None:
    """The saved topic that grew most, when it grew by the report's threshold with enough documents.

    Why in the summary: a story only a topic query catches (payouts held, say) may move no single
    entity enough to rise, and the writer reads the summary first.
    """
    overview = report.get("topics") or {}
    rule = report["parameters"].get("topics") or {}
    grown = [r for r in overview.get("rows", [])
             if r["documents"] >= rule.get("min_documents", 3) and r["previous_documents"] > 0
             and (r["change_pct"] or 0) >= rule.get("rise_min_pct", 50.0)]
    new = [r for r in overview.get("rows", [])
           if r["documents"] >= rule.get("min_documents", 3) and r["previous_documents"] == 0]
    if not grown and not new:
        return None
    top = max(grown or new, key=lambda r: (r["documents"] - r["previous_documents"], r["documents"]))
    sent = ("" if top["mean_sentiment"] is None
            else f", average sentiment {_sent(top['mean_sentiment'])}")
    return (f"Among saved topics, {top['topic']} grew most: {_plural(top['documents'], 'document')} "
            f"against {top['previous_documents']:,} in the previous period{sent}.")
