"""Sentiment quality: Pearson r against human mean ratings on ../shared/data/sentiment.

Why Pearson r on these sets: they are the human-rated sets VADER was published with, so our
figures compare directly with the baseline the issue quotes (VADER: r 0.879 tweets, 0.538 NYT).
The product sentiment is a small model trained on these same files, so the figures are grouped
5-fold cross-validated (out-of-fold predictions through the product's sentence split and -1..1
scale; see bench/train_sentiment.py), next to plain VADER compound on the same rows.

Run: .venv/bin/python -m bench.sentiment [--limit N]   (skips cleanly when the data is absent)
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".." / "shared" / "data" / "sentiment"
SETS = {"tweets": "tweets_dev.tsv", "nyt": "nytEditorialSnippets_dev.tsv"}
FLOORS = {"tweets": 0.88, "nyt": 0.62}


def load_set(path: Path, limit: int | None = None) -> tuple[list[str], list[float]]:
    texts, ratings = [], []
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            try:
                rating = float(row["mean_rating"])
            except (TypeError, ValueError, KeyError):
                continue
            if row.get("text"):
                texts.append(row["text"])
                ratings.append(rating)
            if limit and len(texts) >= limit:
                break
    return texts, ratings


def pearson(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    if n < 3:
        return float("nan")
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else float("nan")


def evaluate(folds: int = 5, limit: int | None = None) -> dict[str, dict[str, float]]:
    """Grouped k-fold CV r of the product model (bench/train_sentiment.py) and VADER's r, per set.

    The shipped model is fitted on these very files, so scoring them with it would be an in-sample
    figure; the only honest figure is the out-of-fold one, recomputed here from the code."""
    from bench.train_sentiment import cross_validate, load_rated, sentence_parts_for

    data = load_rated(DATA, limit)
    cv = cross_validate(data, sentence_parts_for(data.texts), folds)
    return cv["sets"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="rows per set (default: all)")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"SKIP: {DATA.resolve()} not present (third-party sentiment sets live in ../shared)")
        return 0
    started = time.perf_counter()
    results = evaluate(args.folds, args.limit)
    for name, res in results.items():
        res["floor"] = FLOORS[name]
        print(f"{name:7s} n={res['n']:5d}  ours {args.folds}-fold CV r={res['r_cv']:.3f}  "
              f"vader r={res['r_vader']:.3f}  target {FLOORS[name]:.2f}  "
              f"{'MET' if res['r_cv'] >= FLOORS[name] else 'NOT MET'}")
    print(f"({time.perf_counter() - started:.0f}s)")
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
