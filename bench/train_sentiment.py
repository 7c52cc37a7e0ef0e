"""Train the sentiment model on the human-rated sets and report grouped k-fold CV figures.

Why grouped CV: the NYT snippets come several per editorial (id "12_3" is snippet 3 of editorial
12) and a few texts appear twice; if snippets of one editorial sat in both train and test, the
model could learn the editorial's topic words and the figure would flatter it. Groups are the
editorial (NYT) or the tweet, merged when two rows have the same text; a group's fold is
crc32(group) % k, so folds are deterministic. Only these out-of-fold figures are ever reported;
the shipped model is then fitted on all rows (its in-sample score is meaningless and not printed).

Both sets are trained together (one model serves Reddit comments and news articles alike), and r is
reported per set on the out-of-fold predictions, passed through the product's -1..1 scale.

Run: .venv/bin/python -m bench.train_sentiment [--folds 5] [--write] [--limit N]
     (--write rewrites transforms/sentiment_model.json; skips cleanly when the data is absent)
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".." / "shared" / "data" / "sentiment"
SETS = {"tweets": "tweets_dev.tsv", "nyt": "nytEditorialSnippets_dev.tsv"}
LAMBDA = 1.0
BOW_PENALTY = 3.0


@dataclass
class RatedSet:
    texts: list[str]
    ratings: list[float]
    sets: list[str]  # "tweets" / "nyt" per row
    groups: list[str]


def load_rated(data_dir: Path = DATA, limit: int | None = None) -> RatedSet:
    """Both sets, with group keys (editorial for NYT, tweet id for tweets, merged on equal text)."""
    texts: list[str] = []
    ratings: list[float] = []
    sets: list[str] = []
    groups: list[str] = []
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
    return RatedSet(texts, ratings, sets, [find(g) for g in groups])


def fold_of(group: str, k: int) -> int:
    return zlib.crc32(group.encode("utf-8")) % k


def sentence_parts_for(texts: list[str]) -> list[list[Any]]:
    """SentenceParts per text, split into sentences by the product's own spaCy pipeline (built
    without our analysis component, which needs a trained model), so training features match
    production features."""
    from pipeline.config import Settings
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


def pearson(xs: Any, ys: Any) -> float:
    import numpy as np

    return float(np.corrcoef(np.asarray(xs, float), np.asarray(ys, float))[0, 1])


def cross_validate(data: RatedSet, parts: list[list[Any]], k: int = 5, lam: float = LAMBDA,
                   bow_penalty: float = BOW_PENALTY) -> dict[str, Any]:
    """Grouped k-fold CV; returns per-set out-of-fold r (ours, product -1..1 scale) and VADER's r."""
    import numpy as np

    from transforms.sentiment_model import design_matrix, fit

    dense, bow = design_matrix(parts)
    y = np.asarray(data.ratings, float)
    folds = np.array([fold_of(g, k) for g in data.groups])
    pred = np.zeros(len(y))
    for f in range(k):
        test = folds == f
        if not test.any() or test.all():
            raise ValueError(f"fold {f} is empty or holds everything: too few groups for {k} folds")
        model = fit(dense[~test], bow[~test], y[~test], lam, bow_penalty)
        pred[test] = [model.predict(parts[i]) for i in np.flatnonzero(test)]
    names = np.array(data.sets)
    from transforms.sentiment import vader_compound

    vader = np.array([vader_compound(t) for t in data.texts])
    out: dict[str, Any] = {"folds": k, "lambda": lam, "bow_penalty": bow_penalty, "sets": {}}
    for name in SETS:
        m = names == name
        if m.sum() < 3:
            continue
        out["sets"][name] = {"n": int(m.sum()), "groups": len({g for g, s in zip(data.groups, data.sets,
                                                                                 strict=True) if s == name}),
                             "r_cv": round(pearson(pred[m], y[m]), 4),
                             "r_vader": round(pearson(vader[m], y[m]), 4)}
    return out


def train(data: RatedSet, parts: list[list[Any]], cv: dict[str, Any]) -> Any:
    """The production model: fitted on every row; carries the CV figures as provenance only."""
    import numpy as np

    from transforms.sentiment_model import design_matrix, fit

    dense, bow = design_matrix(parts)
    meta = {"trained_on": {s: cv["sets"].get(s, {}).get("n") for s in SETS}, "cv": cv,
            "note": "figures in cv are grouped k-fold out-of-fold; in-sample scores are not reported"}
    return fit(dense, bow, np.asarray(data.ratings, float), cv["lambda"], cv["bow_penalty"], meta)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--limit", type=int, default=None, help="rows per set (default: all)")
    parser.add_argument("--write", action="store_true", help="fit on all rows and write the model JSON")
    parser.add_argument("--out", type=Path, default=None, help="model path (default: transforms/...)")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"SKIP: {DATA.resolve()} not present (third-party sentiment sets live in ../shared)")
        return 0
    from transforms.sentiment_model import DEFAULT_MODEL

    started = time.perf_counter()
    data = load_rated(DATA, args.limit)
    print(f"{len(data.texts)} rated texts, {len(set(data.groups))} groups; sentence-splitting...", flush=True)
    parts = sentence_parts_for(data.texts)
    cv = cross_validate(data, parts, args.folds)
    for name, res in cv["sets"].items():
        print(f"{name:7s} n={res['n']:5d} groups={res['groups']:5d}  {args.folds}-fold CV r={res['r_cv']:.3f}"
              f"  (VADER r={res['r_vader']:.3f})")
    if args.write:
        model = train(data, parts, cv)
        out = args.out or DEFAULT_MODEL
        out.write_text(json.dumps(model.to_json(), separators=(",", ":")) + "\n", encoding="utf-8")
        print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KB)")
    print(f"done in {time.perf_counter() - started:.0f}s")
    print(json.dumps(cv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
