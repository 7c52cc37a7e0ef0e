"""Sentiment quality: Pearson r against human mean ratings on ../shared/data/sentiment.

Why Pearson r on these sets: they are the human-rated sets VADER was published with, so our
figures compare directly with the baseline the issue quotes (VADER: r 0.879 tweets, 0.538 NYT).
Scores the product path (Enricher: language routing, sentence split, sentence scores, document
mean), plus plain VADER compound on the same rows as the baseline. Nothing here is trained on
these files, so no cross-validation is needed; the figures are dev-set figures.

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


def evaluate(enricher, texts: list[str], ratings: list[float]) -> dict[str, float]:
    """r of the product sentiment and of plain VADER, on the same texts. A text the product does
    not score (routed as non-English) counts as 0.0, so routing mistakes cost accuracy."""
    from transforms.sentiment import vader_compound

    scores = [a["sentiment"] for a in enricher.analyze_texts(texts)]
    unscored = sum(1 for s in scores if s is None)
    ours = [0.0 if s is None else s for s in scores]
    base = [vader_compound(t) for t in texts]
    return {"n": len(texts), "r_ours": pearson(ours, ratings), "r_vader": pearson(base, ratings),
            "unscored": unscored}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="rows per set (default: all)")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"SKIP: {DATA.resolve()} not present (third-party sentiment sets live in ../shared)")
        return 0
    from pipeline.config import Settings
    from transforms.enrich import Enricher

    enricher = Enricher(Settings(data_dir=REPO / "data"))
    results = {}
    for name, fname in SETS.items():
        texts, ratings = load_set(DATA / fname, args.limit)
        started = time.perf_counter()
        res = evaluate(enricher, texts, ratings)
        res["seconds"] = round(time.perf_counter() - started, 1)
        res["floor"] = FLOORS[name]
        results[name] = res
        print(f"{name:7s} n={res['n']:5d}  ours r={res['r_ours']:.3f}  vader r={res['r_vader']:.3f}  "
              f"floor {FLOORS[name]:.2f}  {'OK' if res['r_ours'] >= FLOORS[name] else 'BELOW'}")
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
