"""The one tune/test split every quality figure uses (see ../shared/README.md and README).

Rule, fixed once for all three shared folders: an item is in the *test* half when the first byte
of ``sha256("tune-" + id)`` is odd, else in the *tune* half. The id is the article's file id, the
sentiment row's ``id`` column, or the Reddit cassette's file name (with ``.json``).

Why a hash and not a random shuffle: the assignment of an item never changes when items are added
or removed, needs no stored list, and anyone can recompute it. Everything that is tuned (rules,
thresholds, features, gazetteer patterns, hyper-parameters) looks at the tune half only; reported
figures and the tests' floors come from the test half.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Literal, TypeVar

Half = Literal["tune", "test"]
T = TypeVar("T")


def half_of(item_id: str) -> Half:
    """``"test"`` when the first byte of sha256("tune-" + id) is odd, else ``"tune"``."""
    first = hashlib.sha256(f"tune-{item_id}".encode()).digest()[0]
    return "test" if first % 2 else "tune"


def split(items: Iterable[T], key: Callable[[T], str]) -> dict[Half, list[T]]:
    """Items into ``{"tune": [...], "test": [...]}`` by :func:`half_of` of ``key(item)``."""
    out: dict[Half, list[T]] = {"tune": [], "test": []}
    for item in items:
        out[half_of(key(item))].append(item)
    return out
