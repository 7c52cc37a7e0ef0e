"""The trained sentiment model: fitting, (de)serialisation, loading errors, grouping for CV.

No spaCy and no shared data needed: sentences are given directly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench.train_sentiment import RatedSet, cross_validate, fold_of, load_rated
from transforms.sentiment import SentimentScorer, vader_compound
from transforms.sentiment_model import (
    DEFAULT_MODEL,
    N_BUCKETS,
    SentimentModel,
    SentimentModelError,
    design_matrix,
    fit,
    load_model,
)

POS = ["I love this, it is wonderful", "Great host and amazing deals", "Fantastic stream, happy buyers",
       "Best purchase ever, so good", "The seller was kind and helpful"]
NEG = ["This is terrible and awful", "Horrible seller, I hate it", "The package was broken and late",
       "Worst stream, total scam", "Rude host, sad and angry buyers"]


def _parts(texts: list[str]) -> list[list]:
    scorer = SentimentScorer(model=None)
    return [[scorer.parts(t)] for t in texts]


def _toy() -> tuple[list[list], np.ndarray]:
    texts = POS * 4 + NEG * 4
    y = np.array([2.5] * 20 + [-2.5] * 20)
    return _parts(texts), y


def test_fit_is_deterministic_and_separates_signs() -> None:
    parts, y = _toy()
    dense, bow = design_matrix(parts)
    assert bow.shape == (40, N_BUCKETS)
    m1 = fit(dense, bow, y)
    m2 = fit(dense, bow, y)
    assert m1 == m2
    preds = [m1.predict(p) for p in parts]
    assert all(-1.0 <= p <= 1.0 for p in preds)
    assert min(preds[:20]) > 0 > max(preds[20:])


def test_json_round_trip_and_validation(tmp_path: Path) -> None:
    parts, y = _toy()
    model = fit(*design_matrix(parts), y, meta={"x": 1})
    path = tmp_path / "m.json"
    path.write_text(json.dumps(model.to_json()))
    loaded = load_model(path)
    assert loaded.meta == {"x": 1}
    assert loaded.predict(parts[0]) == pytest.approx(model.predict(parts[0]), abs=1e-4)
    data = model.to_json()
    data["feature_version"] = 999
    path.write_text(json.dumps(data))
    with pytest.raises(SentimentModelError, match="retrain"):
        load_model(path)
    data = model.to_json()
    data["bow_weights"] = data["bow_weights"][:10]
    path.write_text(json.dumps(data))
    with pytest.raises(SentimentModelError, match="coefficient counts"):
        load_model(path)
    path.write_text("{not json")
    with pytest.raises(SentimentModelError, match="unreadable"):
        load_model(path)
    with pytest.raises(SentimentModelError, match="not found"):
        load_model(tmp_path / "missing.json")
    with pytest.raises(SentimentModelError, match="malformed"):
        SentimentModel.from_json({"feature_version": 1, "n_buckets": N_BUCKETS})


def test_shipped_model_is_small_and_sensible() -> None:
    assert DEFAULT_MODEL.stat().st_size < 300_000
    scorer = SentimentScorer()
    assert scorer.score("The hosts were wonderful and the deals were great!") > 0.3
    assert scorer.score("The seller scammed me and the refund never came.") < -0.1
    assert scorer.score("") == 0.0
    # the model=None path is VADER (extended lexicon) so baselines stay reproducible
    plain = SentimentScorer(extended_lexicon=False, model=None)
    assert plain.score("I love it") == vader_compound("I love it")


def test_load_rated_groups_editorials_and_duplicate_texts(tmp_path: Path) -> None:
    (tmp_path / "tweets_dev.tsv").write_text(
        "id\tmean_rating\ttext\n1\t2.0\tgood day\n2\t-1.0\tSame text here\n3\tbad\tunrated row\n")
    (tmp_path / "nytEditorialSnippets_dev.tsv").write_text(
        "id\tmean_rating\ttext\n7_1\t0.5\tfirst snippet\n7_2\t-0.5\tsecond snippet\n"
        "8_1\t0.1\tsame text HERE\n")
    data = load_rated(tmp_path)
    assert len(data.texts) == 5  # the unrated row is skipped
    g = dict(zip(data.texts, data.groups, strict=True))
    assert g["first snippet"] == g["second snippet"]  # one editorial, one group
    assert g["Same text here"] == g["same text HERE"]  # equal texts merged across sets
    assert g["good day"] != g["first snippet"]
    assert fold_of("nyt:7", 5) == fold_of("nyt:7", 5)


def test_cross_validate_reports_out_of_fold_per_set() -> None:
    texts = POS * 6 + NEG * 6
    ratings = [2.0] * 30 + [-2.0] * 30
    sets = ["tweets", "nyt"] * 30
    data = RatedSet(texts, ratings, sets, [f"g{i}" for i in range(60)])
    cv = cross_validate(data, _parts(texts), k=5)
    assert set(cv["sets"]) == {"tweets", "nyt"}
    assert cv["sets"]["tweets"]["n"] == 30
    assert cv["sets"]["nyt"]["r_cv"] > 0.5
    one_group = RatedSet(texts, ratings, sets, ["g"] * 60)
    with pytest.raises(ValueError, match="fold"):
        cross_validate(one_group, _parts(texts), k=5)
