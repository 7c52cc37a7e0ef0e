"""A small trained sentiment model on top of VADER: ridge regression on VADER-derived features of a
text's sentences plus a hashed bag of words.

Why: VADER alone scores r 0.88 on tweets but only 0.54 on news-like text (the register our articles
are written in), because news tone comes from content words and from how sentences combine, which a
fixed lexicon does not weigh. A linear model over (a) VADER's sentence scores aggregated over the
text, (b) lexicon positive/negative mass, negation and punctuation rates, and (c) 4096 hashed word
buckets learns those weights from human ratings while staying tiny (a JSON file of coefficients),
deterministic (closed-form ridge, crc32 hashing) and fast (one VADER pass per sentence, which the
pipeline does anyway, plus a dot product).

Features take a list of *sentences*: the pipeline passes spaCy's sentences, and the training script
(bench/train_sentiment.py) splits its training texts with the same spaCy pipeline, so the features
the model was validated on are the ones it sees in production.

The format can also hold a third block, weights on a 384-d all-MiniLM-L6-v2 embedding of the whole
text (transforms/embeddings.py): kind "ridge-vader-bow-minilm", transforms/sentiment_embed_model.json,
what documents routed to the embedding scorer get (transforms.sentiment.DocumentSentimentRouter).
Since 2026-12-02 that file holds the linear head of the *fine-tuned* encoder
(bench/finetune_sentiment.py), with the VADER-feature and hashed-word weights at zero; before, it
was a ridge over those features plus the frozen encoder's vector.

Pure numpy-free scoring for the lexicon model (the model is a dict of floats); numpy is only used to
fit, and by the embedding variant.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

FEATURE_VERSION = 1
N_BUCKETS = 4096
RATING_SCALE = 4.0  # the human ratings are on VADER's -4..4 scale; outputs are divided by this
DEFAULT_MODEL = Path(__file__).resolve().parent / "sentiment_model.json"
DEFAULT_EMBED_MODEL = Path(__file__).resolve().parent / "sentiment_embed_model.json"
EMBED_DIM = 384

_TOKEN = re.compile(r"[a-z][a-z']+")
_NEGATIONS = frozenset({"not", "no", "never", "nothing", "nobody", "none", "nor", "neither", "without",
                        "cannot", "hardly", "barely"})
_ALPHA = 15.0  # VADER's normalisation constant

DENSE_NAMES = (
    "compound_of_sum", "damped_raw_sum", "mean_compound", "max_compound", "min_compound",
    "frac_positive", "frac_negative", "mean_pos", "mean_neg", "mean_neu", "lexicon_pos",
    "lexicon_neg", "log_tokens", "exclaim_rate", "negation_rate", "question_rate",
)


class SentimentModelError(ValueError):
    """The model file is missing, malformed, or was built for other features."""


def _to_raw(compound: float) -> float:
    c = max(-0.9999, min(0.9999, compound))
    return c * math.sqrt(_ALPHA) / math.sqrt(1.0 - c * c)


def _from_raw(raw: float) -> float:
    return raw / math.sqrt(raw * raw + _ALPHA)


@dataclass(frozen=True)
class SentenceParts:
    """What the model needs from one sentence; computed once and reused for sentence and document."""

    pos: float
    neg: float
    neu: float
    compound: float
    tokens: tuple[str, ...]
    lex_pos: float
    lex_neg: float
    exclaims: int
    questions: int


def sentence_parts(analyzer: Any, sentence: str, vader_text: str | None = None) -> SentenceParts:
    """VADER polarity and token statistics of one sentence (``analyzer`` is a VADER analyzer).

    ``vader_text`` is what VADER scores when given (transforms.sentiment.vader_input rewrites
    context-dependent words) and what the lexicon mass is counted on; the hashed-word tokens
    always come from the sentence itself."""
    p = analyzer.polarity_scores(sentence if vader_text is None else vader_text)
    tokens = tuple(_TOKEN.findall(sentence.lower()))
    lex = analyzer.lexicon
    lp = ln = 0.0
    for t in (tokens if vader_text is None else _TOKEN.findall(vader_text.lower())):
        v = lex.get(t)
        if v:
            if v > 0:
                lp += v
            else:
                ln += v
    return SentenceParts(p["pos"], p["neg"], p["neu"], p["compound"], tokens, lp, ln,
                         sentence.count("!"), sentence.count("?"))


def dense_features(parts: Sequence[SentenceParts]) -> list[float]:
    """The dense feature vector (order = DENSE_NAMES) of a text given its sentences.

    Sums are damped by sqrt(n/3) sentences (or n/20 tokens) so a long article is not extreme just
    because it is long; everything else is a mean or a rate.
    """
    n = len(parts)
    if n == 0:
        return [0.0] * len(DENSE_NAMES)
    comps = [p.compound for p in parts]
    raw = sum(_to_raw(c) for c in comps) / math.sqrt(max(1.0, n / 3.0))
    ntok = sum(len(p.tokens) for p in parts)
    tok_damp = math.sqrt(max(1.0, ntok / 20.0))
    per_tok = 1.0 / max(1, ntok)
    negs = sum(1 for p in parts for t in p.tokens if t in _NEGATIONS or t.endswith("n't"))
    return [
        _from_raw(raw), raw / 10.0, sum(comps) / n, max(comps), min(comps),
        sum(1 for c in comps if c > 0.05) / n, sum(1 for c in comps if c < -0.05) / n,
        sum(p.pos for p in parts) / n, sum(p.neg for p in parts) / n, sum(p.neu for p in parts) / n,
        sum(p.lex_pos for p in parts) / 10.0 / tok_damp, sum(p.lex_neg for p in parts) / 10.0 / tok_damp,
        math.log1p(ntok), sum(p.exclaims for p in parts) * per_tok, negs * per_tok,
        sum(p.questions for p in parts) * per_tok,
    ]


def bucket(token: str) -> int:
    """Deterministic hash bucket of a token (crc32: stable across processes and Python versions)."""
    return zlib.crc32(token.encode("utf-8")) % N_BUCKETS


def bow_features(parts: Sequence[SentenceParts]) -> dict[int, float]:
    """Sparse hashed bag of words: presence of each bucket, L2-normalised (1/sqrt(#buckets))."""
    buckets = {bucket(t) for p in parts for t in p.tokens}
    if not buckets:
        return {}
    v = 1.0 / math.sqrt(len(buckets))
    return dict.fromkeys(buckets, v)


@dataclass(frozen=True)
class SentimentModel:
    """Fitted coefficients. ``predict`` returns a score on -1..1 (rating / 4, clipped)."""

    dense_mean: tuple[float, ...]
    dense_scale: tuple[float, ...]
    dense_weights: tuple[float, ...]
    bow_weights: tuple[float, ...]
    intercept: float
    meta: dict[str, Any]
    #: Weights of the MiniLM embedding block; empty for the lexicon-only model.
    emb_weights: tuple[float, ...] = ()
    #: Word pieces per text the embedding was computed with (the embedding variant only).
    max_tokens: int = 0

    @property
    def uses_embedding(self) -> bool:
        return bool(self.emb_weights)

    def rating(self, parts: Sequence[SentenceParts], embedding: Sequence[float] | None = None) -> float:
        """Predicted human rating (-4..4 scale) of the text made of these sentences (and, for the
        embedding variant, the text's embedding)."""
        x = dense_features(parts)
        total = self.intercept
        for xi, m, s, w in zip(x, self.dense_mean, self.dense_scale, self.dense_weights, strict=True):
            total += (xi - m) / s * w
        if self.bow_weights:
            for b, v in bow_features(parts).items():
                total += self.bow_weights[b] * v
        if self.emb_weights:
            if embedding is None or len(embedding) != len(self.emb_weights):
                raise SentimentModelError("this sentiment model needs the text's MiniLM embedding")
            total += sum(float(e) * w for e, w in zip(embedding, self.emb_weights, strict=True))
        return total

    def predict(self, parts: Sequence[SentenceParts], embedding: Sequence[float] | None = None) -> float:
        if not parts:
            return 0.0
        return max(-1.0, min(1.0, self.rating(parts, embedding) / RATING_SCALE))

    def to_json(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.emb_weights:
            extra = {"emb_dim": len(self.emb_weights), "max_tokens": self.max_tokens,
                     "emb_weights": [round(v, 6) for v in self.emb_weights]}
        return {
            "kind": "ridge-vader-bow-minilm" if self.emb_weights else "ridge-vader-bow",
            "feature_version": FEATURE_VERSION, "n_buckets": N_BUCKETS, **extra,
            "dense_names": list(DENSE_NAMES), "dense_mean": [round(v, 6) for v in self.dense_mean],
            "dense_scale": [round(v, 6) for v in self.dense_scale],
            "dense_weights": [round(v, 6) for v in self.dense_weights],
            "bow_weights": [round(v, 5) for v in self.bow_weights],
            "intercept": round(self.intercept, 6), "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SentimentModel:
        try:
            if data.get("feature_version") != FEATURE_VERSION or data.get("n_buckets") != N_BUCKETS:
                raise SentimentModelError(
                    f"model built for features v{data.get('feature_version')}"
                    f"/{data.get('n_buckets')} buckets,"
                    f" code expects v{FEATURE_VERSION}/{N_BUCKETS}: retrain with bench/train_sentiment.py "
                    "(lexicon model) or bench/finetune_sentiment.py (embedding model)")
            if list(data["dense_names"]) != list(DENSE_NAMES):
                raise SentimentModelError("model dense feature names differ from the code's: retrain")
            model = cls(tuple(map(float, data["dense_mean"])), tuple(map(float, data["dense_scale"])),
                        tuple(map(float, data["dense_weights"])), tuple(map(float, data["bow_weights"])),
                        float(data["intercept"]), dict(data.get("meta", {})),
                        tuple(map(float, data.get("emb_weights", ()))), int(data.get("max_tokens", 0)))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, SentimentModelError):
                raise
            raise SentimentModelError(f"malformed sentiment model: {exc!r}") from exc
        n = len(DENSE_NAMES)
        if not (len(model.dense_mean) == len(model.dense_scale) == len(model.dense_weights) == n
                and len(model.bow_weights) == (0 if model.emb_weights else N_BUCKETS)):
            raise SentimentModelError("sentiment model has wrong coefficient counts")
        if model.emb_weights and (len(model.emb_weights) != EMBED_DIM or model.max_tokens < 3):
            raise SentimentModelError("sentiment model has a malformed embedding block")
        if any(s <= 0 for s in model.dense_scale):
            raise SentimentModelError("sentiment model has a non-positive feature scale")
        return model


def load_model(path: Path | str = DEFAULT_MODEL) -> SentimentModel:
    """Load the coefficients (no network, no pickle); a clear SentimentModelError if unusable."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SentimentModelError(
            f"sentiment model not found: {path} (train: bench/train_sentiment.py --write)") from exc
    except (OSError, ValueError) as exc:
        raise SentimentModelError(f"sentiment model {path} unreadable: {exc}") from exc
    if not isinstance(data, dict):
        raise SentimentModelError(f"sentiment model {path} is not a JSON object")
    return SentimentModel.from_json(data)


@lru_cache(maxsize=4)
def cached_model(path: str = str(DEFAULT_MODEL)) -> SentimentModel:
    return load_model(path)



# ---------------------------------------------------------------- fitting (numpy, training only)
def design_matrix(texts_parts: Sequence[Sequence[SentenceParts]]) -> tuple[Any, Any]:
    """(dense [n, d], bow [n, N_BUCKETS]) float arrays for many texts."""
    import numpy as np

    dense = np.array([dense_features(p) for p in texts_parts], dtype=float).reshape(-1, len(DENSE_NAMES))
    bow = np.zeros((len(texts_parts), N_BUCKETS), dtype=float)
    for i, p in enumerate(texts_parts):
        for b, v in bow_features(p).items():
            bow[i, b] = v
    return dense, bow


def fit(dense: Any, bow: Any | None, y: Any, lam: float = 1.0, bow_penalty: float = 3.0,
        meta: dict[str, Any] | None = None, emb: Any = None, emb_penalty: float = 1.0,
        max_tokens: int = 0) -> SentimentModel:
    """Closed-form ridge: dense features z-scored with penalty ``lam``, bag-of-words buckets with
    penalty ``lam * bow_penalty`` (they are many and sparse, so they are shrunk harder) and, when
    ``emb`` is given, embedding dimensions with penalty ``lam * emb_penalty``. ``bow=None`` leaves
    the hashed words out (the embedding variant: they added nothing next to the embedding and
    would make every CV solve n x n instead of 400 x 400)."""
    import numpy as np

    mean = dense.mean(0)
    scale = dense.std(0)
    scale[scale < 1e-9] = 1.0
    z = (dense - mean) / scale
    if bow is None:  # the embedding variant has no hashed-word block
        bow = np.zeros((z.shape[0], 0))
    embm = np.asarray(emb, float) if emb is not None else np.zeros((z.shape[0], 0))
    x = np.hstack([z, bow, embm])
    pen = np.r_[np.full(z.shape[1], lam), np.full(bow.shape[1], lam * bow_penalty),
                np.full(embm.shape[1], lam * emb_penalty)]
    xm = x.mean(0)
    xc = x - xm
    ym = float(np.mean(y))
    # Solve in the scaled space so one uniform penalty applies: x' = x / sqrt(pen).
    root = np.sqrt(pen)
    xs = xc / root
    if xs.shape[0] < xs.shape[1]:  # dual form is cheaper when there are fewer texts than features
        alpha = np.linalg.solve(xs @ xs.T + np.eye(xs.shape[0]), y - ym)
        w = xs.T @ alpha
    else:
        w = np.linalg.solve(xs.T @ xs + np.eye(xs.shape[1]), xs.T @ (y - ym))
    w = w / root
    intercept = ym - float(xm @ w)
    d, nb = z.shape[1], bow.shape[1]
    return SentimentModel(tuple(mean.tolist()), tuple(scale.tolist()), tuple(w[:d].tolist()),
                          tuple(w[d:d + nb].tolist()), intercept, dict(meta or {}),
                          tuple(w[d + nb:].tolist()), max_tokens if emb is not None else 0)
