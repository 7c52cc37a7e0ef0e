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

Documents from routed sources (news and Reddit by default) get their *document* score from a
second model, all-MiniLM-L6-v2 fine-tuned for sentiment (:class:`DocumentSentimentRouter`,
transforms/embeddings.py, bench/finetune_sentiment.py; issue 11). Lexicon features stop near r
0.57 on news-like text and at 0.74 sign accuracy on held-out live-commerce sentences (negation,
contrast, complaints without a sentiment word); the fine-tuned model reaches 0.70 on the unseen NYT
half and 0.95 on those sentences. In routed documents it also scores each distinct sentence that
mentions an entity, unless the sentence has two contrast-split clauses (there the lexicon model's
clause scores tell two entities apart): the trend figures are built from mention sentiment
(:meth:`DocumentSentimentRouter.rescore_mentions`). The nightly stores no sentence scores, so it
embeds no other sentence; `pulse enrich` shows each sentence of a routed text with the fine-tuned
model's score (:meth:`DocumentSentimentRouter.text_scores`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# Contrast markers: in "Whatnot is great but TikTok Shop is a mess" each side gets its own score.
_CONTRAST = re.compile(r"\s*(?:,\s*)?\b(?:but|however|whereas|while|although|though|yet)\b\s*|;\s*", re.I)


def has_contrast(text: str) -> bool:
    """True when ``text`` holds a contrast marker, so a mention's score is its clause's, not the
    sentence's (:meth:`SentimentScorer.mention_score`)."""
    return _CONTRAST.search(text) is not None


def clause_spans(sentence: str) -> list[tuple[int, int]]:
    """(start, end) of each clause of ``sentence`` split on contrast markers ("but", ";"); a
    sentence with fewer than two clauses holding a word ("But it works.") is one span, the whole."""
    if _CONTRAST.search(sentence) is None:
        return [(0, len(sentence))]
    parts: list[tuple[int, int]] = []
    pos = 0
    for m in _CONTRAST.finditer(sentence):
        if m.start() > pos:
            parts.append((pos, m.start()))
        pos = m.end()
    if pos < len(sentence):
        parts.append((pos, len(sentence)))
    real = [(a, b) for a, b in parts if re.search(r"\w", sentence[a:b])]
    return real if len(real) > 1 else [(0, len(sentence))]


@lru_cache(maxsize=2)
def _vader(extended: bool = False) -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    if extended:
        from transforms.news_lexicon import DISCOURSE_MARKERS, NEWS_LEXICON

        for word, valence in NEWS_LEXICON.items():
            analyzer.lexicon.setdefault(word, valence)
        for word in DISCOURSE_MARKERS:
            analyzer.lexicon.pop(word, None)
    return analyzer


_SUPPORT = re.compile(r"(?:(\S+)\s+)?\bsupport\b", re.I)


@lru_cache(maxsize=1)
def _idioms() -> tuple[tuple[tuple[re.Pattern[str], str], ...], tuple[tuple[re.Pattern[str], str], ...],
                       re.Pattern[str]]:
    """(rewrites always applied, rewrites applied outside a condition, the condition pattern)."""
    from transforms.news_lexicon import CONDITION_WORDS, IDIOM_REWRITES, OUTSIDE_CONDITION_REWRITES

    def compiled(rewrites: tuple[tuple[str, str], ...]) -> tuple[tuple[re.Pattern[str], str], ...]:
        return tuple((re.compile(p, re.I), r) for p, r in rewrites)

    return compiled(IDIOM_REWRITES), compiled(OUTSIDE_CONDITION_REWRITES), re.compile(CONDITION_WORDS, re.I)


def vader_input(sentence: str) -> str:
    """The text the extended analyzer scores (the hashed-word features still see the original).

    - Praising idioms built from a negation and a negative word ("no issues", "nothing but";
      news_lexicon.IDIOM_REWRITES) become a word of their tone; so do lower fees, outside a wish or
      a condition (news_lexicon.OUTSIDE_CONDITION_REWRITES).
    - "support" used as a noun (a help desk: "customer support is terrible", "support ignores
      me") becomes the neutral "helpdesk", so a complaint about support is not lifted by VADER's
      +1.7 for "support" as in "I support the plan". It stays when the word before makes it a
      verb (news_lexicon.SUPPORT_VERB_CONTEXT).
    """
    always, outside_condition, condition = _idioms()
    for pattern, replacement in always:
        sentence = pattern.sub(replacement, sentence)
    for pattern, replacement in outside_condition:
        if pattern.search(sentence) and not condition.search(sentence):
            sentence = pattern.sub(replacement, sentence)
    if "upport" not in sentence:
        return sentence
    from transforms.news_lexicon import SUPPORT_VERB_CONTEXT

    def sub(m: re.Match[str]) -> str:
        before = (m.group(1) or "").lower().strip(".,;:!?\"'()")
        if before in SUPPORT_VERB_CONTEXT:
            return m.group(0)
        return m.group(0)[: m.end(0) - m.start(0) - len("support")] + "helpdesk"

    return _SUPPORT.sub(sub, sentence)


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
        self.extended = extended_lexicon
        self.analyzer = _vader(extended_lexicon)
        if model is _DEFAULT:
            from transforms.sentiment_model import cached_model

            model = cached_model()
        self.model = model

    def parts(self, sentence: str) -> Any:
        """The per-sentence inputs of the model (one VADER pass), reusable for the document."""
        from transforms.sentiment_model import sentence_parts

        return sentence_parts(self.analyzer, sentence, vader_input(sentence) if self.extended else None)

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
        return float(self.analyzer.polarity_scores(vader_input(text) if self.extended else text)["compound"])

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
        spans = clause_spans(sentence)
        if len(spans) == 1:
            return [(0, len(sentence), self.score(sentence) if sentence_score is None else sentence_score)]
        return [(a, b, self.score(sentence[a:b])) for a, b in spans]

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


# ---------------------------------------------------------------- which model scored a document
#: Bump when a change to the scoring *rules* here (idioms, contrast splitting, document pooling)
#: moves scores; model files, the VADER release and the lexicon extension are hashed by themselves.
RULES_VERSION = 1


@lru_cache(maxsize=4)
def sentiment_model_ids(max_tokens: int = 0, mentions: bool = True) -> dict[str, str]:
    """The identity of each document scorer, as stored with every document
    (``core.documents.sentiment_model``): ``{"lexicon": "lexicon-<12 hex>", "embedding":
    "embedding-<12 hex>"}``.

    Why: a document's score only compares with scores from the same model. While two periods were
    scored by different models the sentiment alerts pause and the newsletter compares no sentiment
    (warehouse.sentiment_models), so an upgrade does not read as a swing in opinion. The
    lexicon id covers its model file, the VADER release, the lexicon extension and idioms
    (transforms.news_lexicon) and RULES_VERSION;
    the embedding id covers the encoder (its pinned digests), its head, the lexicon id (mentions
    in contrast sentences keep lexicon scores) and the two routing settings that change a routed
    document's scores (RoutingConfig ``max_tokens`` and ``mentions``; which sources are routed
    changes which id a document gets, not what the id means). Cheap: hashes two small JSON files,
    no model loads.
    """
    import hashlib
    import json
    from importlib.metadata import version

    from transforms import encoder_adapter as ea
    from transforms import news_lexicon as nl
    from transforms.sentiment_model import DEFAULT_EMBED_MODEL, DEFAULT_MODEL

    def digest(*parts: bytes) -> str:
        h = hashlib.sha256()
        for part in parts:
            h.update(hashlib.sha256(part).digest())
        return h.hexdigest()[:12]

    extension = json.dumps([sorted(nl.NEWS_LEXICON.items()), sorted(nl.DISCOURSE_MARKERS), nl.IDIOM_REWRITES,
                            nl.OUTSIDE_CONDITION_REWRITES, nl.CONDITION_WORDS]).encode()
    lexicon = "lexicon-" + digest(DEFAULT_MODEL.read_bytes(), version("vaderSentiment").encode(),
                                  extension, str(RULES_VERSION).encode())
    encoder = ea.model_digest(ea.ADAPTER_SHA256).encode()
    routing = f"max_tokens={max_tokens};mentions={mentions}".encode()
    embedding = "embedding-" + digest(encoder, DEFAULT_EMBED_MODEL.read_bytes(), lexicon.encode(), routing)
    return {"lexicon": lexicon, "embedding": embedding}


# ---------------------------------------------------------------- document routing (embedding model)
#: Defaults of the routing settings (read from ``settings.nlp`` when present; see RoutingConfig).
DEFAULT_EMBED_SOURCES: tuple[str, ...] = ("news", "reddit")


@dataclass(frozen=True)
class RoutingConfig:
    """Which documents get the embedding sentiment model instead of the lexicon model.

    Why route at all: the fine-tuned MiniLM model is the better document scorer on every set we
    measure, but it is a transformer pass per document. By default news and Reddit documents
    (``sources``) pay for it (measured: the stage at 0.81x raw spaCy with 1 process, 0.70x with
    2); a source left out, or documents under ``min_words``, keep the lexicon model. Each document
    is embedded on its first ``max_tokens`` word pieces (0: the model's cap, 256; a lower cap is
    faster on long articles but is not what the test-half figure measured). ``min_words``: a
    minimum length in words (0: any length).
    ``threads``: embedding threads (0: the available cores, at most 2).
    ``mentions``: a routed document's entity mentions take the embedding model's score of their
    sentence too, unless a contrast marker splits it into clauses (:meth:`DocumentSentimentRouter.
    rescore_mentions`); False leaves every mention on the lexicon model.
    ``sources=()`` turns the embedding model off.
    """

    sources: tuple[str, ...] = DEFAULT_EMBED_SOURCES
    min_words: int = 0
    max_tokens: int = 0
    threads: int = 0
    mentions: bool = True

    @classmethod
    def from_settings(cls, settings: Any) -> RoutingConfig:
        """Read ``settings.nlp.sentiment_embed_{sources,min_words,max_tokens,threads,mentions}``
        (typed and validated in common.config.NlpSettings)."""
        nlp = settings.nlp
        return cls(tuple(nlp.sentiment_embed_sources), nlp.sentiment_embed_min_words,
                   nlp.sentiment_embed_max_tokens, nlp.sentiment_embed_threads,
                   nlp.sentiment_embed_mentions)


class DocumentSentimentRouter:
    """Document-level sentiment from the embedding model for routed documents.

    The lexicon model (SentimentScorer) still scores every sentence, mention and unrouted
    document inside the spaCy workers; this re-scores the *document* sentiment of routed documents
    afterwards, and their mentions (:meth:`rescore_mentions`), in batches, from the text and the
    sentence boundaries spaCy found (the model format
    reads sentence features too; the shipped fine-tuned head weighs them at zero). The embeddings
    themselves need only the text, so the enrich stage may compute them beside spaCy (:meth:`embed`,
    transforms.enrich.BesideSpacy) and hand them in. The ONNX session loads on the first routed
    batch, never at import or construction.
    """

    def __init__(self, config: RoutingConfig | None = None, model: Any = None, embedder: Any = None) -> None:
        self.config = config or RoutingConfig()
        self._model = model
        self._embedder = embedder
        self._scorer: SentimentScorer | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.config.sources)

    @property
    def model(self) -> Any:
        if self._model is None:
            from transforms.sentiment_model import DEFAULT_EMBED_MODEL, SentimentModelError, cached_model

            model = cached_model(str(DEFAULT_EMBED_MODEL))
            if not model.uses_embedding:
                raise SentimentModelError(f"{DEFAULT_EMBED_MODEL} has no embedding block: retrain")
            self._model = model
        return self._model

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from transforms.embeddings import shared_embedder

            self._embedder = shared_embedder(self.config.threads or None,
                                             self.config.max_tokens or self.model.max_tokens)
        return self._embedder

    def model_ids(self) -> dict[str, str]:
        """:func:`sentiment_model_ids` under this router's settings (what each document records);
        a token cap of 0 means the model's own, so both spell one id."""
        return sentiment_model_ids(self.config.max_tokens or self.model.max_tokens, self.config.mentions)

    def routes(self, source: str | None, text: str | None) -> bool:
        """True when a document of this source and text gets the embedding model."""
        if not text or not text.strip() or source not in self.config.sources:
            return False
        return self.config.min_words <= 0 or len(text.split()) >= self.config.min_words

    def score_parts(self, texts: Sequence[str], parts: Sequence[Sequence[Any]],
                    vectors: Any = None) -> list[float]:
        """Embedding-model scores (-1..1), in input order, of texts whose sentence parts are known.
        ``vectors``: the texts' embeddings when already computed (:meth:`embed`), else computed here."""
        if len(texts) != len(parts):
            raise ValueError("texts and parts differ in length")
        if not texts:
            return []
        vectors = self.embed(texts) if vectors is None else vectors
        if len(vectors) != len(texts):
            raise ValueError("texts and vectors differ in length")
        return [self.model.predict(p, v) if p else 0.0 for p, v in zip(parts, vectors, strict=True)]

    def embed(self, texts: Sequence[str], threads: int | None = None) -> Any:
        """The MiniLM embeddings of ``texts`` ([n, 384]). Needs only the texts, not spaCy's
        analysis, so the enrich stage can run it beside spaCy (transforms.enrich.BesideSpacy).
        ``threads``: embedding threads for this call's embedder (default: the configured ones)."""
        if threads is None or self._embedder is not None:  # an injected embedder is used as given
            return self.embedder.embed(list(texts))
        from transforms.embeddings import shared_embedder

        return shared_embedder(threads, self.config.max_tokens or self.model.max_tokens).embed(list(texts))

    def score_analyses(self, texts: Sequence[str], sentences: Sequence[Sequence[dict[str, Any]]],
                       vectors: Any = None) -> list[float]:
        """Scores from texts and the ``sentences`` (start_char/end_char) of their analyses.

        A model that weighs the sentence features at zero (the shipped fine-tuned head) reads only
        the embedding, so its documents skip the second VADER pass over their sentences: each gets
        one empty sentence's parts instead, which is enough to mark it as having sentences."""
        if self._scorer is None:
            self._scorer = SentimentScorer(model=None)
        reads_sentences = any(self.model.dense_weights) or any(self.model.bow_weights)
        blank = None if reads_sentences else self._scorer.parts("")
        parts = []
        for text, sents in zip(texts, sentences, strict=True):
            spans = [text[s["start_char"]:s["end_char"]] for s in sents]
            spans = [span for span in spans if span.strip()]
            parts.append([self._scorer.parts(span) for span in spans] if reads_sentences
                         else [blank] if spans else [])
        return self.score_parts(texts, parts, vectors)

    def rescore_mentions(self, mentions: Sequence[dict[str, Any]],
                         known: dict[str, float] | None = None) -> int:
        """Give routed documents' mentions the embedding model's score of their sentence, in place.

        Why: the trend figures are built from mention sentiment, and the lexicon model misses
        complaints without a sentiment word. Measured on the tune side (240 synthetic sentences the
        shipped model never trained on; docs/sentiment-experiments.md), entities in one-sentence
        texts without contrast had the expected sign 0.55 of the time with the lexicon score and
        0.70 with the embedding model's. A sentence of two or more clauses split by a contrast
        marker ("but", ";": :func:`clause_spans`) keeps the lexicon model's clause-level score,
        which can tell two entities in it apart; one sentence score cannot. Each distinct sentence
        is embedded once (its score depends on its text alone); ``known`` maps texts already scored
        (a one-sentence document's own text) to their score, which is reused instead of embedding
        them again. Returns how many mentions were re-scored; with ``config.mentions`` False, none."""
        if not self.config.mentions:
            return 0
        todo = [m for m in mentions
                if (m.get("sentence") or "").strip() and len(clause_spans(m["sentence"])) == 1]
        scores = self.text_scores([m["sentence"] for m in todo], known)
        for m in todo:
            m["sentiment"] = round(scores[m["sentence"]], 4)
        return len(todo)

    def text_scores(self, texts: Iterable[str], known: dict[str, float] | None = None) -> dict[str, float]:
        """The embedding model's score of each distinct text (a sentence, scored as a one-sentence
        document), taking the ones in ``known`` from there instead of embedding them again."""
        scores = dict(known or {})
        todo = sorted(set(texts) - set(scores))
        if todo:
            whole = [[{"start_char": 0, "end_char": len(t)}] for t in todo]
            scores.update(zip(todo, self.score_analyses(todo, whole), strict=True))
        return scores
