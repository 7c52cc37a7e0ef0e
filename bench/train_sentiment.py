"""Train the lexicon sentiment model on the *tune* half of the human-rated sets; measure on the *test* half.

The product has two sentiment models (transforms/sentiment_model.py):
- ``lexicon``: ridge over VADER-derived sentence features + 4,096 hashed words
  (transforms/sentiment_model.json), fitted here. Cheap; scores every sentence, every mention and
  every document not routed to the other model.
- ``embedding``: all-MiniLM-L6-v2 fine-tuned for sentiment (transforms/sentiment_embed_model.json
  and the adapter transforms/models/minilm-sentiment-adapter.npz). It needs torch to train, so
  bench/finetune_sentiment.py trains it, in its own virtualenv; documents routed to it
  (transforms.sentiment.DocumentSentimentRouter) get it. Until 2026-12-02 it was a ridge over the
  same features plus the *frozen* MiniLM vector, fitted here (docs/sentiment-experiments.md).

Protocol (issue 11, ../shared/README.md):
- Split once by bench/split.py ``half_of(row id)``. Everything fitted or chosen (coefficients,
  ridge penalties) sees the tune half only; the test half is scored once, by the shipped model.
- Penalties are chosen by grouped k-fold CV inside the tune half. The tune-half figure we print
  is *nested*: for each outer fold, penalties are re-chosen by an inner CV on the outer training
  part only, so the figure does not flatter the selection.
- Why grouped folds: NYT snippets come several per editorial (id "12_3" is snippet 3 of editorial
  12) and a few texts appear twice; folds keep a group together (groups = editorial / tweet,
  merged on equal text; fold = crc32(salt + group) % k). The split rule itself is per row id, as
  the project fixed it, so snippets of one editorial can sit in both halves.
- Both sets train one model (the pipeline cannot tell a "tweet" from a "snippet"); r is
  reported per set, on predictions passed through the product's -1..1 scale.

Run: .venv/bin/python -m bench.train_sentiment [--write] [--limit N]
     (--write rewrites transforms/sentiment_model.json; exits 2 when the data is absent)
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".." / "shared" / "data" / "sentiment"
SETS = {"tweets": "tweets_dev.tsv", "nyt": "nytEditorialSnippets_dev.tsv"}
FOLDS = 5
INNER_FOLDS = 3
# Penalty grids searched by CV on the tune half. Lexicon model: lam on the dense block, lam *
# bow_penalty on the hashed words (kernel solves cost seconds each, so the grid is small).
GRID_LEXICON = tuple((lam, bow) for lam in (0.3, 1.0, 3.0) for bow in (1.0, 3.0, 10.0))


@dataclass
class RatedSet:
    texts: list[str]
    ratings: list[float]
    sets: list[str]  # "tweets" / "nyt" per row
    groups: list[str]
    ids: list[str] = field(default_factory=list)  # the row's `id` column (the split key)

    def subset(self, rows: list[int]) -> RatedSet:
        return RatedSet([self.texts[i] for i in rows], [self.ratings[i] for i in rows],
                        [self.sets[i] for i in rows], [self.groups[i] for i in rows],
                        [self.ids[i] for i in rows] if self.ids else [])


def load_rated(data_dir: Path = DATA, limit: int | None = None) -> RatedSet:
    """Both sets, with group keys (editorial for NYT, tweet id for tweets, merged on equal text)."""
    texts: list[str] = []
    ratings: list[float] = []
    sets: list[str] = []
    groups: list[str] = []
    ids: list[str] = []
    for name, fname in SETS.items():
        n = 0
        with open(data_dir / fname, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
                try:
                    rating = float(row["mean_rating"])
                except (TypeError, ValueError, KeyError):
                    continue
                text = row.get("text") or ""
                if not text.strip():
                    continue
                rid = row.get("id") or str(len(texts))
                texts.append(text)
                ratings.append(rating)
                sets.append(name)
                ids.append(rid)
                groups.append(f"{name}:{rid.split('_')[0] if name == 'nyt' else rid}")
                n += 1
                if limit and n >= limit:
                    break
    # Union rows with the same normalised text into one group.
    parent: dict[str, str] = {}

    def find(g: str) -> str:
        while parent.get(g, g) != g:
            g = parent[g]
        return g

    first: dict[str, str] = {}
    for text, g in zip(texts, groups, strict=True):
        key = " ".join(text.lower().split())
        if key in first:
            a, b = find(g), find(first[key])
            if a != b:
                parent[a] = b
        else:
            first[key] = g
    return RatedSet(texts, ratings, sets, [find(g) for g in groups], ids)


def halves(data: RatedSet) -> dict[str, list[int]]:
    """Row indices of the tune and test halves (bench/split.py's rule on the row id)."""
    from bench.split import half_of

    out: dict[str, list[int]] = {"tune": [], "test": []}
    for i, rid in enumerate(data.ids):
        out[half_of(rid)].append(i)
    return out


def fold_of(group: str, k: int, salt: str = "") -> int:
    return zlib.crc32(f"{salt}{group}".encode()) % k


def sentence_parts_for(texts: list[str]) -> list[list[Any]]:
    """SentenceParts per text, split into sentences by the product's own spaCy pipeline (built
    without our analysis component, which needs a trained model), so training features match
    production features."""
    from common.config import Settings
    from transforms.nlp import build_pipeline
    from transforms.sentiment import SentimentScorer

    settings = Settings(data_dir=REPO / "data", config_dir=REPO / "config")
    nlp = build_pipeline(settings.nlp.spacy_model, settings.config_file(settings.nlp.gazetteer),
                         settings.config_file(settings.nlp.themes), analyzer=False)
    scorer = SentimentScorer(model=None)
    out: list[list[Any]] = []
    for doc in nlp.pipe(texts, batch_size=128):
        out.append([scorer.parts(s.text) for s in doc.sents])
    return out


def embeddings_for(texts: list[str], max_tokens: int, cache: Path | None = None) -> Any:
    """[n, 384] MiniLM embeddings (the product's embedder); cached as .npy keyed by the texts'
    hash when ``cache`` is a directory, because embedding both sets takes about a minute."""
    import hashlib

    import numpy as np

    from transforms.embeddings import DEFAULT_COMPUTE, INT8_RECIPE, MiniLMEmbedder, ModelSource

    path = None
    if cache is not None:  # keyed by the encoder too: a retrained model must not reuse old vectors
        tail = f"|{max_tokens}|{DEFAULT_COMPUTE}|{INT8_RECIPE}|{ModelSource().digest}"
        key = hashlib.sha256(("\x00".join(texts) + tail).encode()).hexdigest()[:16]
        path = Path(cache) / f"minilm-{key}.npy"
        if path.exists():
            return np.load(path)
    emb = MiniLMEmbedder(max_tokens=max_tokens).embed(texts)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, emb)
    return emb


def pearson(xs: Any, ys: Any) -> float:
    import numpy as np

    return float(np.corrcoef(np.asarray(xs, float), np.asarray(ys, float))[0, 1])


# ------------------------------------------------------------------ fast ridge CV (kernel form)
class _Grams:
    """The lexicon model's CV in kernel form: the hashed-word Gram matrix over the tune rows is
    computed once, so each fold and penalty costs one n x n solve (n = training rows < 4,112
    features)."""

    def __init__(self, dense: Any, bow: Any) -> None:
        self.dense = dense
        self.gb = bow @ bow.T

    def predict_grid(self, tr: Any, ev: Any, y: Any, grid: list[tuple[float, float]]) -> list[Any]:
        """For each (lam, bow_penalty) in ``grid``: ridge fitted on rows ``tr`` (penalties as
        transforms.sentiment_model.fit), predicted ratings on rows ``ev``. Centering and the dense
        z-scoring use ``tr`` only."""
        import numpy as np

        zc = _zscored(self.dense, tr)
        idx = np.r_[tr, ev]
        n = len(tr)
        sub = self.gb[np.ix_(idx, tr)]
        col = sub.mean(1)  # x_i . mu for every row i (mu: mean of the training rows)
        kb = sub - col[:, None] - col[:n][None, :] + col[:n].mean()
        kz = zc[idx] @ zc[tr].T
        ym = y[tr].mean()
        out = []
        for lam, bow_penalty in grid:
            k = kz + kb / bow_penalty
            alpha = np.linalg.solve(k[:n] + lam * np.eye(n), y[tr] - ym)
            out.append(ym + k[n:] @ alpha)
        return out


def _zscored(dense: Any, tr: Any) -> Any:
    """Dense features z-scored and centred with the training rows' statistics (as fit does)."""
    mean, scale = dense[tr].mean(0), dense[tr].std(0)
    scale[scale < 1e-9] = 1.0
    z = (dense - mean) / scale
    return z - z[tr].mean(0)


def _clip(r: Any) -> Any:
    import numpy as np

    from transforms.sentiment_model import RATING_SCALE

    return np.clip(r / RATING_SCALE, -1.0, 1.0)


def _folds(rows: Any, groups: list[str], k: int, salt: str) -> Any:
    import numpy as np

    folds = np.array([fold_of(groups[i], k, salt) for i in rows])
    for f in range(k):
        if not (folds == f).any() or (folds == f).all():
            raise ValueError(f"fold {f} is empty or holds everything: too few groups for {k} folds")
    return folds


def _cv_choose(grams: _Grams, rows: Any, groups: list[str], y: Any, k: int, salt: str) -> tuple[float, float]:
    """Penalties with the best grouped k-fold CV r (product -1..1 scale) over ``rows``."""
    import numpy as np

    grid = list(GRID_LEXICON)
    folds = _folds(rows, groups, k, salt)
    preds = np.zeros((len(grid), len(rows)))
    for f in range(k):
        ev = folds == f
        for g, p in enumerate(grams.predict_grid(rows[~ev], rows[ev], y, grid)):
            preds[g, ev] = p
    scores = [pearson(_clip(p), y[rows]) for p in preds]
    return grid[int(np.argmax(scores))]


def nested_cv(grams: _Grams, rows: Any, groups: list[str], y: Any,
              k: int = FOLDS, inner: int = INNER_FOLDS) -> tuple[Any, list[tuple[float, float]]]:
    """Out-of-fold predictions over ``rows`` where each outer fold's penalties were chosen by an
    inner grouped CV on that fold's training rows only; also the penalties each fold chose."""
    import numpy as np

    folds = _folds(rows, groups, k, "")
    pred = np.zeros(len(rows))
    chosen = []
    for f in range(k):
        ev = folds == f
        params = _cv_choose(grams, rows[~ev], groups, y, inner, f"inner{f}-")
        chosen.append(params)
        pred[ev] = grams.predict_grid(rows[~ev], rows[ev], y, [params])[0]
    return _clip(pred), chosen


# ------------------------------------------------------------------ the whole protocol
@dataclass
class Features:
    parts: list[list[Any]]
    dense: Any
    bow: Any


def features_for(data: RatedSet) -> Features:
    from transforms.sentiment_model import design_matrix

    parts = sentence_parts_for(data.texts)
    dense, bow = design_matrix(parts)
    return Features(parts, dense, bow)


def run_protocol(data: RatedSet, feats: Features) -> dict[str, Any]:
    """Nested CV on the tune half, penalties chosen by CV on the whole tune half, the lexicon model
    fitted on the tune half and scored once on the test half. Returns figures and the model."""
    import numpy as np

    from transforms.sentiment import vader_compound
    from transforms.sentiment_model import fit

    split = halves(data)
    tune, test = np.array(split["tune"]), np.array(split["test"])
    if len(tune) < 20 or len(test) < 3:
        raise ValueError(f"too few rows: tune {len(tune)}, test {len(test)}")
    y = np.asarray(data.ratings, float)
    sets = np.array(data.sets)
    vader = np.array([vader_compound(t) for t in data.texts])
    out: dict[str, Any] = {"folds": FOLDS, "inner_folds": INNER_FOLDS, "models": {}, "vader": {},
                           "n": {}, "split": "bench/split.py half_of(row id)"}
    for half, rows in (("tune", tune), ("test", test)):
        for name in SETS:
            m = rows[sets[rows] == name]
            out["n"][f"{half}/{name}"] = int(len(m))
            out["vader"][f"{half}/{name}"] = round(pearson(vader[m], y[m]), 4) if len(m) > 2 else None
    grams = _Grams(feats.dense[tune], feats.bow[tune])
    local = np.arange(len(tune))
    y_t = y[tune]
    groups = [data.groups[i] for i in tune]
    nested_pred, per_fold = nested_cv(grams, local, groups, y_t)
    lam, bow_pen = _cv_choose(grams, local, groups, y_t, FOLDS, "")
    res: dict[str, Any] = {"lambda": lam, "bow_penalty": bow_pen, "nested_fold_choices": per_fold, "r": {}}
    for name in SETS:
        m = sets[tune] == name
        res["r"][f"tune_cv/{name}"] = round(pearson(nested_pred[m], y_t[m]), 4) if m.sum() > 2 else None
    model = fit(feats.dense[tune], feats.bow[tune], y_t, lam, bow_pen)
    # Test half: through the shipped model's own predict (the product path), once.
    pred = np.array([model.predict(feats.parts[i]) for i in test])
    for name in SETS:
        m = sets[test] == name
        res["r"][f"test/{name}"] = round(pearson(pred[m], y[test][m]), 4) if m.sum() > 2 else None
    out["models"]["lexicon"] = res
    out["_shipped"] = {"lexicon": model}
    return out


def provenance(result: dict[str, Any], model_name: str) -> dict[str, Any]:
    """What the model file records about how it was fitted (figures for reference only: the bench
    and the tests recompute them)."""
    res = result["models"][model_name]
    return {"trained_on": "tune half of ../shared/data/sentiment (bench/split.py)",
            "n": result["n"], "lambda": res["lambda"], "bow_penalty": res["bow_penalty"],
            "r": res["r"], "vader": result["vader"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="rows per set (default: all)")
    parser.add_argument("--write", action="store_true", help="write the lexicon model's JSON file")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"ERROR: {DATA.resolve()} not present (third-party sentiment sets live in ../shared)")
        return 2
    from transforms.sentiment_model import DEFAULT_MODEL

    started = time.perf_counter()
    data = load_rated(DATA, args.limit)
    print(f"{len(data.texts)} rated texts; sentence-splitting...", flush=True)
    result = run_protocol(data, features_for(data))
    for name, res in result["models"].items():
        print(f"{name:9s} lam={res['lambda']} bow={res['bow_penalty']}  " +
              "  ".join(f"{k}={v:.3f}" for k, v in res["r"].items()))
    print("vader     " + "  ".join(f"{k}={v:.3f}" for k, v in result["vader"].items()))
    if args.write:
        model = result["_shipped"]["lexicon"]
        model = type(model)(**{**model.__dict__, "meta": provenance(result, "lexicon")})
        DEFAULT_MODEL.write_text(json.dumps(model.to_json(), separators=(",", ":")) + "\n", encoding="utf-8")
        print(f"wrote {DEFAULT_MODEL} ({DEFAULT_MODEL.stat().st_size / 1024:.0f} KB)")
    print(f"done in {time.perf_counter() - started:.0f}s")
    print(json.dumps({k: v for k, v in result.items() if k != "_shipped"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
