"""Emerging terms (issue 15, item 6): phrases beyond the gazetteer that rise against their baseline.

Why at report time, from core.documents titles + bodies, with this small chunker rather than spaCy
noun_chunks at enrich: it needs no new table, no enrich change and no backfill (history gets terms
too), it is deterministic and fast (pure Python over one report's documents), and its rule fits in
a paragraph an analyst can check by hand:

* text = title + body, lower-cased; it is cut into segments at punctuation, and each segment into
  *runs* of content words, a run ending at a stop word (``STOP_WORDS``), a number or a one-letter
  token. A run approximates an English noun phrase ("live shopping festival", "payout delays") the
  way RAKE does; what it misses are phrases with an inner "of" ("cost of living").
* candidates are the 2- and 3-word n-grams of each run (single words are left to entities and
  themes: alone they are too ambiguous to read as a story).
* a phrase that is, or contains, a gazetteer entity name or alias (already tracked, e.g. "tiktok
  shop live"), that equals any other tracked entity's name or alias, or that is in
  ``STOP_PHRASES`` (page furniture: "read more", "all rights reserved") is never a candidate.
* the unit is documents: a document counts once per phrase however often it repeats it.

Scoring is the rising rule of migration 004/007 (``marts.rising_in``), mirrored in
:func:`rising_score` and checked against the macro in tests/test_terms.py: daily document counts,
zero-filled; baseline = the period before, days on or after the first day of data only;
z = (daily mean - baseline daily mean) / max(baseline sd, sqrt(max(baseline mean, 1))); rising =
at least ``min_documents`` documents, z >= ``min_z``, at least ``min_baseline_days`` baseline days.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

MIN_WORDS, MAX_WORDS = 2, 3
_SEGMENT = re.compile(r"[.,;:!?()\[\]{}\"“”‘’|/\\<>…–—•·]+|\s-\s|\n")
_TOKEN = re.compile(r"[^\W_]+(?:['-][^\W_]+)*", re.UNICODE)
_STOP_TEXT = """
a about above after again against all almost also although always am among an and another any
anyone anything are around as at away back be became because become been before being below
between both but by can could did do does doing done down during each either else even ever every
few first for from further get gets got had has have having he her here hers herself him himself
his how however i if in into is it its itself just last least less like made make many may me
might more most much must my myself near new next no nor not now of off often on once one only or
other others our ours ourselves out over own per perhaps rather really said same say says see
seen several she should since so some such than that the their theirs them themselves then there
these they this those though through thus to too toward under until up upon us very via was we
week weeks well were what when where whether which while who whom whose why will with within
without would year years yet you your yours yourself yourselves today yesterday tomorrow day days
month months time times according told including it's that's there's we're they're
i'm don't doesn't didn't can't won't isn't aren't wasn't weren't i've you've we've they've
mr mrs ms dr inc ltd co corp llc plc percent cent people thing things way lot lots
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
STOP_PHRASES = frozenset({
    "read more", "all rights reserved", "rights reserved", "click here", "sign up", "subscribe now",
    "privacy policy", "terms of service", "cookie policy", "press release", "related articles",
    "related stories", "share this", "follow us", "newsletter sign", "getty images", "file photo",
    # the domain's own vocabulary: nearly every document says it, so it only ever tracks volume
    "live shopping", "live commerce", "live stream", "live streaming", "social commerce",
})


def candidate_phrases(text: str | None) -> set[str]:
    """The 2-3 word candidate phrases of ``text`` (see the module doc), lower-cased, space-joined."""
    out: set[str] = set()
    for segment in _SEGMENT.split((text or "").lower()):
        run: list[str] = []
        for token in [*_TOKEN.findall(segment), ""]:  # "" flushes the last run
            if token and len(token) > 1 and not token.isdigit() and token not in STOP_WORDS:
                run.append(token)
                continue
            for n in range(MIN_WORDS, MAX_WORDS + 1):
                for i in range(len(run) - n + 1):
                    out.add(" ".join(run[i:i + n]))
            run = []
    return out


def normalise(name: str) -> str:
    """A name or alias in the candidates' form (lower-cased tokens joined by one space)."""
    return " ".join(_TOKEN.findall(name.lower()))


@dataclass(frozen=True)
class Known:
    """Names the terms must not repeat: gazetteer names/aliases (a phrase containing one is out)
    and other tracked entities' names/aliases (a phrase equal to one is out)."""

    gazetteer: frozenset[str] = frozenset()
    other: frozenset[str] = frozenset()

    def excludes(self, phrase: str) -> bool:
        if phrase in STOP_PHRASES or phrase in self.other or phrase in self.gazetteer:
            return True
        padded = f" {phrase} "
        return any(f" {g} " in padded for g in self.gazetteer)


def rising_score(daily_counts: dict[date, int], end_day: date, period_days: int, first_day: date | None,
                 min_documents: int, min_z: float, min_baseline_days: int) -> dict[str, Any]:
    """The figures of ``marts.rising_in`` (migration 007) for one series of daily document counts.

    A mirror of the SQL macro, line for line: current = the ``period_days`` ending at ``end_day``;
    baseline = the period before, from ``first_day`` (the first day of data) on; zero-filled days.
    """
    n = period_days
    cur_start = end_day - timedelta(days=n - 1)
    base_start, base_end = end_day - timedelta(days=2 * n - 1), end_day - timedelta(days=n)
    lo = base_start if first_day is None else max(base_start, first_day)
    base_days = max(0, (base_end - lo).days + 1)
    period = sum(c for d, c in daily_counts.items() if cur_start <= d <= end_day)
    base_vals = [c for d, c in daily_counts.items() if base_start <= d <= base_end]
    baseline, base_sq = sum(base_vals), sum(c * c for c in base_vals)
    daily_mean = period / n
    base_mean = baseline / base_days if base_days > 0 else None
    base_sd = (math.sqrt(max(base_sq / base_days - (baseline / base_days) ** 2, 0.0))
               if base_days > 0 else None)
    if base_mean is None:
        sigma = z = None
    else:
        sigma = max(base_sd, math.sqrt(max(base_mean, 1.0)))
        z = (daily_mean - base_mean) / sigma
    rising = bool(z is not None and period >= min_documents and base_days >= min_baseline_days
                  and z >= min_z)
    return {"period_documents": period, "baseline_documents": baseline, "baseline_days": base_days,
            "daily_mean": daily_mean, "baseline_daily_mean": base_mean, "baseline_daily_sd": base_sd,
            "sigma": sigma, "z_score": z, "is_trending": rising}


def count_phrases(docs: Iterable[dict[str, Any]], known: Known) -> dict[str, dict[date, set[str]]]:
    """{phrase: {day: doc ids}} over ``docs`` (dicts with doc_id, day, title, body)."""
    out: dict[str, dict[date, set[str]]] = defaultdict(lambda: defaultdict(set))
    for d in docs:
        text = "\n".join(t for t in (d.get("title"), d.get("body")) if t)
        for phrase in candidate_phrases(text):
            if not known.excludes(phrase):
                out[phrase][d["day"]].add(d["doc_id"])
    return out


def emerging_terms(docs: Iterable[dict[str, Any]], known: Known, end_day: date, period_days: int,
                   first_day: date | None, min_documents: int, min_z: float, min_baseline_days: int,
                   limit: int, near_miss: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Rising phrases, highest z first, each with its current doc ids (sorted).

    A phrase whose current documents are exactly those of a longer rising phrase containing it is
    dropped ("payout delays" under "whatnot payout delays" would say the same thing twice).
    When nothing rises and ``near_miss`` is a list, the strongest phrase with ``min_documents``
    documents is appended to it: "nothing rose" reads better with the closest call and its z.
    """
    counts = count_phrases(docs, known)
    cur_start = end_day - timedelta(days=period_days - 1)
    scored, below = [], []
    for phrase, daily in counts.items():
        current = sorted({i for d, ids in daily.items() if cur_start <= d <= end_day for i in ids})
        if len(current) < min_documents:
            continue  # cheap pre-filter: the rule needs min_documents anyway
        s = rising_score({d: len(ids) for d, ids in daily.items()}, end_day, period_days, first_day,
                         min_documents, min_z, min_baseline_days)
        previous = sorted({i for d, ids in daily.items() if d < cur_start for i in ids})
        row = {"phrase": phrase, **s, "doc_ids": current, "previous_doc_ids": previous}
        (scored if s["is_trending"] else below).append(row)
    if not scored and near_miss is not None:
        ranked = sorted((r for r in below if r["z_score"] is not None),
                        key=lambda r: (-r["z_score"], -r["period_documents"], -len(r["phrase"].split()),
                                       r["phrase"]))
        near_miss.extend(ranked[:1])  # on a tie the longest phrase: it says the most
    scored.sort(key=lambda r: (-r["z_score"], -r["period_documents"], r["phrase"]))
    kept: list[dict[str, Any]] = []
    for r in sorted(scored, key=lambda r: (-len(r["phrase"].split()), r["phrase"])):
        padded = f" {r['phrase']} "
        if any(f" {k['phrase']} ".find(padded) >= 0 and k["doc_ids"] == r["doc_ids"] for k in kept):
            continue
        kept.append(r)
    kept.sort(key=lambda r: (-r["z_score"], -r["period_documents"], r["phrase"]))
    return kept[:limit]
