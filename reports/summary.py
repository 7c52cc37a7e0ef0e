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

    parts = [
        f"In {span} we tracked {_plural(docs['current'], 'document')} "
        f"({_change(docs['change_pct'], docs['previous'])}) carrying "
        f"{_plural(head['mentions']['current'], 'entity mention')}."
    ]
    sent = head["mean_sentiment"]
    if sent["current"] is not None:
        if sent["previous"] is None:
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
