"""Sentence, document and entity sentiment on a -1..1 scale.

Why VADER underneath: it ships its lexicon in the wheel (no download), it is fast enough to score
every sentence of a night's corpus, and it handles the social-media register (caps, "!!!",
emoticons, "but") that Reddit comments are written in. Its known weakness is news-like text, where
tone comes from content words it lacks; so the product score is a small trained ridge model over
VADER's sentence outputs and hashed words (transforms/sentiment_model.py, trained and
cross-validated by bench/train_sentiment.py), with a hand-written lexicon extension for VADER.

Levels: a sentence gets the model's score of that sentence; a document gets the model's score of
all its sentences together (see :meth:`SentimentScorer.score_parts`); an entity is the mean over the
sentences (or, for contrastive sentences, the clauses) that mention it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

# Contrast markers: in "Whatnot is great but TikTok Shop is a mess" each side gets its own score.
_CONTRAST = re.compile(r"\s*(?:,\s*)?\b(?:but|however|whereas|while|although|though|yet)\b\s*|;\s*", re.I)


@lru_cache(maxsize=2)
def _vader(extended: bool = False) -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    if extended:
        from transforms.news_lexicon import NEWS_LEXICON

        for word, valence in NEWS_LEXICON.items():
            analyzer.lexicon.setdefault(word, valence)
    return analyzer


def vader_compound(text: str) -> float:
    """Plain VADER compound score (the baseline bench/sentiment.py compares against)."""
    return float(_vader(False).polarity_scores(text)["compound"])


_ALPHA = 15.0  # VADER's own normalisation constant


def to_raw(compound: float) -> float:
    """Invert VADER's normalisation c = s / sqrt(s^2 + alpha) back to the valence sum s."""
    c = max(-0.9999, min(0.9999, compound))
    return c * math.sqrt(_ALPHA) / math.sqrt(1.0 - c * c)


def from_raw(raw: float) -> float:
    return raw / math.sqrt(raw * raw + _ALPHA)


_DEFAULT = object()


class SentimentScorer:
    """Scores text on -1..1.

    ``score`` is what the pipeline stores for a sentence: the trained model's score (see
    transforms/sentiment_model.py) over VADER with its lexicon extended by
    :data:`transforms.news_lexicon.NEWS_LEXICON`. ``model=None`` gives plain (extended) VADER
    compound scores, which is what the model is built on.
    """

    def __init__(self, extended_lexicon: bool = True, model: Any = _DEFAULT) -> None:
        self.analyzer = _vader(extended_lexicon)
        if model is _DEFAULT:
            from transforms.sentiment_model import cached_model

            model = cached_model()
        self.model = model

    def parts(self, sentence: str) -> Any:
        """The per-sentence inputs of the model (one VADER pass), reusable for the document."""
        from transforms.sentiment_model import sentence_parts

        return sentence_parts(self.analyzer, sentence)

    def score_parts(self, parts: Sequence[Any]) -> float:
        """Score of the text made of these sentences (model, or VADER-style sum without one)."""
        if not parts:
            return 0.0
        if self.model is not None:
            return self.model.predict(parts)
        return document_score([p.compound for p in parts]) or 0.0

    def score(self, text: str) -> float:
        text = text.strip()
        if not text:
            return 0.0
        if self.model is not None:
            return self.model.predict([self.parts(text)])
        return float(self.analyzer.polarity_scores(text)["compound"])

    def score_many(self, texts: Iterable[str]) -> list[float]:
        return [self.score(t) for t in texts]

    def clause_scores(
        self, sentence: str, sentence_score: float | None = None
    ) -> list[tuple[int, int, float]]:
        """(start, end, score) per clause of a sentence split on contrast markers ("but", ";").

        A sentence without a contrast marker is one clause with the sentence's score (passed in
        when known, so it is not scored twice). Offsets are relative to the sentence, so callers
        can place an entity mention in its clause.
        """
        if _CONTRAST.search(sentence) is None:
            return [(0, len(sentence), self.score(sentence) if sentence_score is None else sentence_score)]
        parts: list[tuple[int, int]] = []
        pos = 0
        for m in _CONTRAST.finditer(sentence):
            if m.start() > pos:
                parts.append((pos, m.start()))
            pos = m.end()
        if pos < len(sentence):
            parts.append((pos, len(sentence)))
        real = [(a, b) for a, b in parts if re.search(r"\w", sentence[a:b])]
        if len(real) <= 1:
            return [(0, len(sentence), self.score(sentence) if sentence_score is None else sentence_score)]
        return [(a, b, self.score(sentence[a:b])) for a, b in real]

    def mention_score(self, sentence: str, start: int, end: int, sentence_score: float,
                      clauses: list[tuple[int, int, float]] | None = None) -> float:
        """Aspect-style score for a mention at [start, end) of ``sentence``: the score of the
        clause it sits in when the sentence is contrastive, else the sentence score. Pass
        ``clauses`` (from :meth:`clause_scores`) to reuse them for several mentions."""
        if clauses is None:
            clauses = self.clause_scores(sentence, sentence_score)
        if len(clauses) == 1:
            return sentence_score
        for a, b, s in clauses:
            if a <= start < b or (start < a and end > a):
                return s
        return sentence_score


def document_score(sentence_scores: Sequence[float]) -> float | None:
    """Document sentiment from sentence scores: sentence valence sums are added, damped by
    sqrt(sentences / 3) for long documents, and normalised as VADER does.

    Why not the plain mean: averaging dilutes a short text's one strong sentence among neutral
    ones (r on the tweets set drops from 0.88 to 0.81 when averaged). Adding valences reproduces
    whole-text VADER on short texts; the damping keeps a 60-sentence article from saturating at
    +-1 just because it is long.
    """
    if not sentence_scores:
        return None
    total = sum(to_raw(s) for s in sentence_scores)
    total /= math.sqrt(max(1.0, len(sentence_scores) / 3.0))
    value = from_raw(total)
    return max(-1.0, min(1.0, value)) if math.isfinite(value) else None


def mean_or_none(values: Iterable[float]) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return sum(vals) / len(vals) if vals else None
