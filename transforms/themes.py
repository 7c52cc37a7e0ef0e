"""Theme tagging from the versioned taxonomy in config/themes.toml.

Why rules and not a classifier: there is no labelled live-commerce data to train on, the themes
must be explainable to the newsletter reader ("tagged Logistics because it says 'shipping
delays'"), and analysts can edit the TOML without touching code. Terms match on the case-folded
word or on its lemma, so "refunds", "refunded" and "Refund" all hit "refund".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.config import read_toml

_WORD = re.compile(r"[\w\-]+(?:'[\w]+)?", re.UNICODE)


class ThemesError(ValueError):
    """The theme taxonomy file is missing or malformed."""


@dataclass(frozen=True)
class Theme:
    id: str
    name: str
    terms: tuple[str, ...]
    min_hits: int = 1
    description: str = ""


@dataclass(frozen=True)
class Taxonomy:
    version: str
    themes: tuple[Theme, ...]


def load_themes(path: Path) -> Taxonomy:
    data = read_toml(path, ThemesError, "themes file")
    themes = []
    seen: set[str] = set()
    for i, raw in enumerate(data.get("theme", [])):
        where = f"theme #{i + 1} ({raw.get('id', '?')})"
        if not isinstance(raw.get("id"), str) or not isinstance(raw.get("name"), str):
            raise ThemesError(f"{where}: 'id' and 'name' must be strings")
        terms = raw.get("terms")
        if not isinstance(terms, list) or not terms or not all(isinstance(t, str) and t for t in terms):
            raise ThemesError(f"{where}: 'terms' must be a non-empty list of strings")
        if raw["id"] in seen:
            raise ThemesError(f"{where}: duplicate id")
        seen.add(raw["id"])
        min_hits = raw.get("min_hits", 1)
        if not isinstance(min_hits, int) or min_hits < 1:
            raise ThemesError(f"{where}: min_hits must be a positive integer")
        themes.append(
            Theme(raw["id"], raw["name"], tuple(terms), min_hits, str(raw.get("description", "")))
        )
    if not themes:
        raise ThemesError(f"themes file {path} has no [[theme]] entries")
    return Taxonomy(version=str(data.get("version", "unversioned")), themes=tuple(themes))


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.casefold() for w in _WORD.findall(text))


class ThemeTagger:
    """Counts term hits per theme over a document's tokens (surface and lemma forms).

    ``lemmatize`` maps a term's words to lemmas (the Enricher passes a spaCy-backed function so
    terms and text are lemmatised the same way); without it terms match surface forms only.
    """

    def __init__(self, taxonomy: Taxonomy, lemmatize: Any = None) -> None:
        self.taxonomy = taxonomy
        # theme id -> set of term word-tuples (surface and lemma variants)
        self._terms: dict[str, set[tuple[str, ...]]] = {}
        self._max_len = 1
        for theme in taxonomy.themes:
            variants: set[tuple[str, ...]] = set()
            for term in theme.terms:
                words = _words(term)
                if not words:
                    continue
                variants.add(words)
                if lemmatize is not None:
                    variants.add(tuple(w.casefold() for w in lemmatize(term)))
                self._max_len = max(self._max_len, len(words))
            self._terms[theme.id] = variants
        # gram -> theme ids, so a position counts once per theme even if surface and lemma both hit
        self._index: dict[tuple[str, ...], set[str]] = {}
        for theme_id, variants in self._terms.items():
            for v in variants:
                self._index.setdefault(v, set()).add(theme_id)
        # Words that can start a term: most positions of a text start none, and are skipped
        # before any n-gram tuple is built (the n-gram loop was the tagger's whole cost).
        self._first_words = frozenset(v[0] for v in self._index)

    def hits(self, words: Sequence[str], lemmas: Sequence[str] | None = None) -> dict[str, int]:
        """Theme id -> number of term matches in the token sequence(s). Sequences are case-folded
        words (and optionally their lemmas, aligned)."""
        out: dict[str, int] = {}
        n = len(words)
        first = self._first_words
        for i in range(n):
            if words[i] not in first and (lemmas is None or lemmas[i] not in first):
                continue
            for k in range(1, min(self._max_len, n - i) + 1):
                forms = {tuple(words[i : i + k])}
                if lemmas is not None:
                    forms.add(tuple(lemmas[i : i + k]))
                for theme_id in {t for form in forms for t in self._index.get(form, ())}:
                    out[theme_id] = out.get(theme_id, 0) + 1
        return out

    def tag(self, words: Sequence[str], lemmas: Sequence[str] | None = None) -> list[str]:
        """Theme ids (taxonomy order) whose hit count reaches the theme's ``min_hits``."""
        hits = self.hits(words, lemmas)
        return [t.id for t in self.taxonomy.themes if hits.get(t.id, 0) >= t.min_hits]

    def tag_text(self, text: str) -> list[str]:
        """Surface-only tagging for callers without a spaCy Doc."""
        return self.tag(_words(text))
