"""Live-commerce relevance of one document: a small, explainable score and an on-topic flag.

Why: news feeds (a retail or tech feed) and Reddit-wide searches also bring articles that are not
about live commerce at all (a car recall, a laptop review). Their entities ("Ford" named 47 times,
"MacBook Pro") then crowd the trend figures. Such documents stay in ``core.documents`` (nothing is
thrown away), but trend figures, marts and the newsletter leave them out by default.

The rule is additive and readable, so an analyst can re-derive any score from the document:

* **strong signals**, each distinct one worth :data:`STRONG` (0.5):
  an on-topic channel (by default the configured subreddits), each distinct live-commerce
  *platform* from the gazetteer that the document mentions, each configured live-commerce term
  ("live shopping", "livestream shopping", ...) found in the text;
* **weak signals**, each distinct one worth :data:`WEAK` (0.1), capped at :data:`WEAK_CAP` (0.4):
  a live-commerce theme tag, a gazetteer entity other than a place or a news outlet (a brand, a
  company, a person).

The score is ``min(1, strong + weak)``; a document is on topic when ``score >= min_score``
(default 0.5). Because the weak signals are capped below 0.5, generic retail vocabulary ("price",
"sale") and big-company names alone never make a document on topic: it needs one strong signal.
There is no labelled relevance set to tune these weights on, so they are round numbers chosen by
that one rule, not fitted; ``reasons`` records what fired.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

STRONG = 0.5
WEAK = 0.1
WEAK_CAP = 0.4
#: Entity kinds that say nothing about the topic (a city is named in any story, and a news outlet is
#: cited in any story).
NEUTRAL_KINDS = frozenset({"place", "media"})


@dataclass(frozen=True)
class RelevanceRules:
    """What counts as live commerce (config ``[relevance]``)."""

    min_score: float = 0.5
    channels: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()

    @cached_property
    def _channel_set(self) -> frozenset[str]:
        return frozenset(c.lower().removeprefix("r/") for c in self.channels)

    @cached_property
    def _term_re(self) -> re.Pattern[str] | None:
        """One alternation over all terms; inner spaces/hyphens match any run of them ("live-shopping")."""
        parts = []
        for term in sorted({t.strip().lower() for t in self.terms if t.strip()}, key=len, reverse=True):
            words = [re.escape(w) for w in re.split(r"[\s\-]+", term)]
            parts.append(r"[\s\-]+".join(words))
        if not parts:
            return None
        return re.compile(r"(?<!\w)(" + "|".join(parts) + r")(?!\w)", re.I)

    def channel_on_topic(self, channel: str | None) -> bool:
        return bool(channel) and channel.lower().removeprefix("r/") in self._channel_set  # type: ignore[union-attr]

    def terms_in(self, text: str) -> list[str]:
        if self._term_re is None or not text:
            return []
        found = {re.sub(r"[\s\-]+", " ", m.group(1).lower()) for m in self._term_re.finditer(text)}
        return sorted(found)


@dataclass
class Relevance:
    score: float
    on_topic: bool
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "on_topic": self.on_topic, "reasons": self.reasons}


def score_relevance(
    rules: RelevanceRules,
    *,
    text: str,
    channel: str | None,
    entities: Iterable[tuple[str, str]],
    themes: Iterable[str],
) -> Relevance:
    """Score one document. ``entities`` are (entity_id, kind) of its gazetteer mentions."""
    strong: list[str] = []
    weak: list[str] = []
    if rules.channel_on_topic(channel):
        strong.append(f"channel:{channel}")
    for entity_id, kind in sorted(set(entities)):
        if kind == "platform":
            strong.append(f"platform:{entity_id}")
        elif kind not in NEUTRAL_KINDS:
            weak.append(f"entity:{entity_id}")
    strong += [f"term:{t}" for t in rules.terms_in(text)]
    weak += [f"theme:{t}" for t in sorted(set(themes))]
    score = min(1.0, STRONG * len(strong) + min(WEAK_CAP, WEAK * len(weak)))
    score = round(score, 3)
    return Relevance(score=score, on_topic=score >= rules.min_score, reasons=strong + weak)
