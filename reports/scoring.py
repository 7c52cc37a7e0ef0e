"""Explainable trend figures: the rising rule's parameters and small pure helpers.

The rising score itself is computed in SQL, once, by the table macro ``marts.rising`` (warehouse
migration 004), which both ``marts.trending_entities`` and the newsletter call, so the two can
never disagree. Why this z-score: a writer must be able to check it by hand. We compare the
*current period's mean daily documents* with the *baseline period's mean daily documents*, in
units of the baseline's day-to-day spread. The spread is floored at sqrt(max(baseline mean, 1))
(the Poisson noise of a count) so an entity that was silent in the baseline gets a large but
finite score, and a handful of documents can never produce z = 50. Minimum support stops one
chatty thread from "rising", and a minimum of baseline days stops a first week from rising
against no history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class RisingRule:
    min_documents: int = 3
    min_z: float = 2.0
    min_baseline_days: int = 3


def pct_change(now: float | None, before: float | None) -> float | None:
    """Relative change in percent; None when there is no baseline to compare with."""
    if now is None or before is None or before == 0:
        return None
    return (now - before) / abs(before) * 100.0


def rnd(value: float | None, digits: int = 3) -> float | None:
    """Round for output; -0.0 becomes 0.0 so JSON and text are stable."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    out = round(float(value), digits)
    return 0.0 if out == 0 else out
