"""Quality gate: floors for entity F1 on our own gold set and for sentiment r on the shared sets.

Entity part: tests/fixtures/entities_gold.jsonl (60 live-commerce sentences written for this
project, with the canonical id + label a reader expects, and junk rows that must yield nothing);
never skips. Measured 2026-11-25: F1 0.988 overall (gazetteer 1.000, statistical NER 0.923).
Floors sit a little below so one new honest miss does not block, but a broken ruler, alias or
junk filter does.

Sentiment part: grouped 5-fold cross-validated Pearson r of the trained model, recomputed here
from the code and the data (never read from the model file, never scored in-sample). Measured:
tweets 0.890 (VADER 0.879), NYT 0.567 (VADER 0.538); the issue's NYT target 0.62 is NOT met.
Skips when ../shared/data/sentiment is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import Settings
from transforms.entity_eval import GoldRow, GoldSetError, evaluate_enricher, load_gold, score

REPO = Path(__file__).resolve().parents[1]
GOLD = REPO / "tests" / "fixtures" / "entities_gold.jsonl"
SENTIMENT = REPO / ".." / "shared" / "data" / "sentiment"
ENTITY_FLOORS = {"all": 0.95, "gazetteer": 0.97, "ner": 0.80}
SENTIMENT_FLOORS = {"tweets": 0.885, "nyt": 0.555}

needs_shared = pytest.mark.skipif(not SENTIMENT.is_dir(),
                                  reason="../shared/data/sentiment absent (third-party rated sets)")


def test_entity_f1_floors(tmp_path: Path) -> None:
    from transforms.enrich import Enricher

    gold = load_gold(GOLD)
    assert len(gold) >= 40
    scores = evaluate_enricher(Enricher(Settings(data_dir=tmp_path, config_dir=REPO / "config")), gold)
    report = {k: v.summary() for k, v in scores.items()}
    print(report, scores["all"].errors)
    for part, floor in ENTITY_FLOORS.items():
        assert scores[part].f1 >= floor, f"entity F1 ({part}) {scores[part].f1:.3f} < {floor}: " \
                                         f"{scores['all'].errors}"


def test_entity_scoring_counts_wrong_label_junk_and_misses() -> None:
    gold = [GoldRow("a", "x", frozenset({("platform/tiktok", "ORG"), ("ner/person/jo-li", "PERSON")})),
            GoldRow("b", "Subscribe now", frozenset())]
    pred = [{("platform/tiktok", "ORG"), ("ner/org/jo-li", "ORG")}, {("ner/org/subscribe", "ORG")}]
    s = score(gold, pred)
    assert (s["all"].tp, s["all"].fp, s["all"].fn) == (1, 2, 1)
    assert s["gazetteer"].f1 == 1.0
    assert s["ner"].tp == 0 and s["ner"].f1 == 0.0
    assert s["all"].f1 == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))
    with pytest.raises(ValueError):
        score(gold, pred[:1])


def test_gold_loader_rejects_bad_rows(tmp_path: Path) -> None:
    bad = tmp_path / "g.jsonl"
    bad.write_text('{"id": "1", "text": "ok", "entities": []}\n{"id": "2", "text": "x"}\n')
    with pytest.raises(GoldSetError, match=":2:"):
        load_gold(bad)
    bad.write_text('{"id": "1", "text": "ok", "entities": []}\n{"id": "1", "text": "y", "entities": []}\n')
    with pytest.raises(GoldSetError, match="duplicate"):
        load_gold(bad)


@pytest.fixture(scope="module")
def sentiment_cv() -> dict:
    from bench.train_sentiment import DATA, cross_validate, load_rated, sentence_parts_for

    data = load_rated(DATA)
    return cross_validate(data, sentence_parts_for(data.texts), k=5)


@pytest.mark.shared
@needs_shared
@pytest.mark.parametrize("name", ["tweets", "nyt"])
def test_sentiment_cv_r_floor_and_beats_vader(sentiment_cv: dict, name: str) -> None:
    res = sentiment_cv["sets"][name]
    print(name, res)
    assert res["r_cv"] >= SENTIMENT_FLOORS[name], f"{name}: CV r={res['r_cv']:.3f} < {SENTIMENT_FLOORS[name]}"
    assert res["r_cv"] > res["r_vader"], f"{name}: CV r={res['r_cv']:.3f} <= VADER {res['r_vader']:.3f}"


@pytest.mark.shared
@needs_shared
def test_shipped_model_was_trained_by_current_code(sentiment_cv: dict) -> None:
    """The CV figures stored in the shipped model's provenance must match a fresh CV run: if the
    features or hyper-parameters changed without retraining, this fails (retrain with --write)."""
    from transforms.sentiment_model import load_model

    stored = load_model().meta["cv"]
    for name, res in sentiment_cv["sets"].items():
        assert stored["sets"][name]["n"] == res["n"]
        assert stored["sets"][name]["r_cv"] == pytest.approx(res["r_cv"], abs=0.003)
