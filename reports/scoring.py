"""Explainable trend scores: pure functions over daily counts, so every figure can be re-derived.

Why this z-score: a writer must be able to check it by hand. We compare the *current period's
mean daily mentions* with the *baseline period's mean daily mentions*, in units of the baseline's
day-to-day spread. The spread is floored at sqrt(max(baseline mean, 1)) (the Poisson noise of a
count) so an entity that was silent in the baseline (spread 0) gets a large but finite score, and
a handful of mentions can never produce z = 50. Minimum support (mentions and documents in the
current period) stops one chatty thread from "rising".
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class RisingRule:
    min_mentions: int = 5
    min_documents: int = 3
    min_z: float = 2.0


def mean_sd(values: list[float]) -> tuple[float, float]:
    """Population mean and standard deviation (0 for fewer than two values)."""
    if not values:
        return 0.0, 0.0
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    var = sum((v - mean) ** 2 for v in values) / len(values)
    return mean, math.sqrt(var)


def rising_z(current_daily: list[int], baseline_daily: list[int]) -> dict[str, float]:
    """z of the current daily mean against the baseline days, with the Poisson floor on spread."""
    now_mean, _ = mean_sd([float(v) for v in current_daily])
    base_mean, base_sd = mean_sd([float(v) for v in baseline_daily])
    sigma = max(base_sd, math.sqrt(max(base_mean, 1.0)))
    return {
        "daily_mean": now_mean,
        "baseline_daily_mean": base_mean,
        "baseline_daily_sd": base_sd,
        "sigma": sigma,
        "z": (now_mean - base_mean) / sigma,
    }


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
