"""Quality gate: sentiment Pearson r on the shared human-rated sets must not regress.

Floors pin what the product measures today on the first 800 rows of each set (tweets: VADER-level,
the issue's 0.88 target is met on the full set; NYT: 0.62 target NOT yet met, see bench/sentiment).
Skips when ../shared/data is absent.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import Settings
from transforms.enrich import Enricher
from transforms.sentiment import vader_compound

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".." / "shared" / "data" / "sentiment"
ROWS = 800

pytestmark = [pytest.mark.shared,
              pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data/sentiment absent (third-party)")]


def load_set(path: Path, limit: int) -> tuple[list[str], list[float]]:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE) if r.get("text")]
    rows = rows[:limit]
    return [r["text"] for r in rows], [float(r["mean_rating"]) for r in rows]


def pearson(xs: list[float], ys: list[float]) -> float:
    return float(np.corrcoef(xs, ys)[0, 1])


@pytest.fixture(scope="module")
def enricher(tmp_path_factory: pytest.TempPathFactory) -> Enricher:
    return Enricher(Settings(data_dir=tmp_path_factory.mktemp("d"), config_dir=REPO / "config"))


@pytest.mark.parametrize(("fname", "floor"),
                         [("tweets_dev.tsv", 0.89), ("nytEditorialSnippets_dev.tsv", 0.53)])
def test_sentiment_r_floor_and_not_below_vader(enricher: Enricher, fname: str, floor: float) -> None:
    texts, ratings = load_set(DATA / fname, ROWS)
    ours = [a["sentiment"] or 0.0 for a in enricher.analyze_texts(texts)]
    print(fname, "r =", round(pearson(ours, ratings), 4))
    r = pearson(ours, ratings)
    r_vader = pearson([vader_compound(t) for t in texts], ratings)
    assert r >= floor, f"{fname}: r={r:.3f} < floor {floor}"
    assert r >= r_vader - 0.005, f"{fname}: r={r:.3f} worse than plain VADER {r_vader:.3f}"
