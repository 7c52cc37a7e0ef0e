"""Quality gate: floors for entity F1 on our own gold set and for sentiment r on the shared sets.

Entity part: tests/fixtures/entities_gold.jsonl (60 live-commerce sentences written for this
project, with the canonical id + label a reader expects, and junk rows that must yield nothing);
never skips. Measured 2026-11-25: F1 0.988 overall (gazetteer 1.000, statistical NER 0.923).
Floors sit a little below so one new honest miss does not block, but a broken ruler, alias or
junk filter does.

Sentiment part: Pearson r of the *shipped* model files on the *test* half of the shared rated
sets (bench/split.py; the models were fitted on the tune half only), each set scored by the model
the product uses for that kind of text: tweets (social text, Reddit's route) by the lexicon model,
NYT snippets (news, the embedding route) by the MiniLM embedding model (int8 compute, refitted
2026-12-02). Measured 2026-12-02: tweets 0.890 (VADER 0.881), NYT 0.647 (VADER 0.540); both issue
targets (0.88, 0.60) met.
Floors sit just under the measured figures. Also checked: the shipped files are
what the current code fits on the tune half (so the floors test the code, not a stale file). Skips
when ../shared/data/sentiment is absent. The contrastive sign accuracy gate (our hand-written
acceptance set, not an unseen evaluation) never skips: measured 0.861 (lexicon) and 0.880
(embedding) on all 317 rows, 0.744 and 0.821 on the held-out batches, against the issue's 0.90, so
the target is NOT met; floors pin the measured figures and a strict xfail holds the 0.90 target
until it is met.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from common.config import Settings
from transforms.entity_eval import GoldRow, GoldSetError, evaluate_enricher, load_gold, score

REPO = Path(__file__).resolve().parents[1]
GOLD = REPO / "tests" / "fixtures" / "entities_gold.jsonl"
SENTIMENT = REPO / ".." / "shared" / "data" / "sentiment"
ENTITY_FLOORS = {"all": 0.95, "gazetteer": 0.97, "ner": 0.80}
SENTIMENT_FLOORS = {"tweets": 0.885, "nyt": 0.64}
CONTRASTIVE_TARGET = 0.90  # the issue's target: NOT met yet (see test_contrastive_sign_accuracy_target)
# Regression floors just under the measured sign accuracy (317 judged rows, batches c-h, 2026-12-02:
# lexicon 0.861, embedding 0.880; the held-out batches e+g+h alone: 0.744 and 0.821).
CONTRASTIVE_FLOORS = {"lexicon": 0.84, "embedding": 0.87}
ISSUE_SENTENCE = "Honestly Whatnot customer support is terrible."

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
def sentiment_test_half() -> dict:
    """Features of every rated row (spaCy split + MiniLM embedding) and the halves."""
    from bench.train_sentiment import DATA, features_for, halves, load_rated
    from transforms.sentiment_model import DEFAULT_EMBED_MODEL, load_model

    data = load_rated(DATA)
    embed = load_model(DEFAULT_EMBED_MODEL)
    feats = features_for(data, embed.max_tokens)
    return {"data": data, "feats": feats, "halves": halves(data), "embed": embed}


def _test_r(ctx: dict, model_name: str, set_name: str, model: object | None = None) -> tuple[float, float]:
    """(r of the model, r of VADER compound) on the test half of one set."""
    import numpy as np

    from bench.train_sentiment import pearson
    from transforms.sentiment import vader_compound
    from transforms.sentiment_model import load_model

    data, feats = ctx["data"], ctx["feats"]
    rows = [i for i in ctx["halves"]["test"] if data.sets[i] == set_name]
    if model is None:
        model = ctx["embed"] if model_name == "embedding" else load_model()
    pred = [model.predict(feats.parts[i], feats.emb[i] if model_name == "embedding" else None) for i in rows]
    y = np.array([data.ratings[i] for i in rows])
    return pearson(pred, y), pearson([vader_compound(data.texts[i]) for i in rows], y)


@pytest.mark.shared
@needs_shared
@pytest.mark.parametrize(("set_name", "model_name"), [("tweets", "lexicon"), ("nyt", "embedding")])
def test_sentiment_test_half_r_floor_and_beats_vader(sentiment_test_half: dict, set_name: str,
                                                     model_name: str) -> None:
    r, vader = _test_r(sentiment_test_half, model_name, set_name)
    print(f"{set_name} test half: {model_name} r={r:.4f}, VADER r={vader:.4f}")
    floor = SENTIMENT_FLOORS[set_name]
    assert r >= floor, f"{set_name}: test-half r={r:.4f} < floor {floor} ({model_name} model)"
    assert r > vader, f"{set_name}: test-half r={r:.4f} <= VADER {vader:.4f}"


@pytest.mark.shared
@needs_shared
def test_shipped_models_are_what_the_code_fits_on_the_tune_half(sentiment_test_half: dict) -> None:
    """Refit both models on the tune half with the penalties recorded in the files: the test-half
    predictions must match the shipped files'. A stale file (features or code changed without
    retraining), or a file fitted on more than the tune half, fails here."""
    import numpy as np

    from transforms.sentiment_model import fit, load_model

    ctx = sentiment_test_half
    data, feats = ctx["data"], ctx["feats"]
    tune = np.array(ctx["halves"]["tune"])
    y = np.asarray(data.ratings, float)[tune]
    for name, shipped in (("lexicon", load_model()), ("embedding", ctx["embed"])):
        meta = shipped.meta
        with_emb = name == "embedding"
        refit = fit(feats.dense[tune], None if with_emb else feats.bow[tune], y, meta["lambda"],
                    meta["bow_penalty"] or 1.0, emb=feats.emb[tune] if with_emb else None,
                    emb_penalty=meta["emb_penalty"] or 1.0, max_tokens=shipped.max_tokens)
        for s in ("tweets", "nyt"):
            r_shipped, _ = _test_r(ctx, name, s, shipped)
            r_refit, _ = _test_r(ctx, name, s, refit)
            assert r_shipped == pytest.approx(r_refit, abs=0.002), \
                f"{name}/{s}: shipped file is stale, retrain with bench.train_sentiment --write"


@pytest.fixture(scope="module")
def contrastive() -> tuple[list, dict]:
    from bench.sentiment import contrastive_scores, load_contrastive

    rows = load_contrastive()
    return rows, contrastive_scores([r.text for r in rows])


@pytest.mark.parametrize("name", ["lexicon", "embedding"])
def test_contrastive_sign_accuracy_floor(contrastive: tuple[list, dict], name: str) -> None:
    """Hand-written live-commerce acceptance set (tests/fixtures/sentiment_contrastive.tsv):
    sign accuracy of each shipped model at or above its regression floor (questions excluded by
    the file's rule), and the issue's sentence negative."""
    from bench.sentiment import sign_accuracy

    rows, scores = contrastive
    assert len([r for r in rows if r.expected != "question"]) >= 60
    acc = sign_accuracy(rows, scores[name])
    print(name, acc)
    assert acc["accuracy"] >= CONTRASTIVE_FLOORS[name], f"{name}: {acc}"
    issue = next(i for i, r in enumerate(rows) if r.text == ISSUE_SENTENCE)
    assert scores[name][issue] < 0, f"{name}: {ISSUE_SENTENCE!r} scored {scores[name][issue]:+.3f}"


@pytest.mark.xfail(strict=True, reason="issue 11 target 0.90 not met (2026-12-02): all 317 rows lexicon "
                                       "0.861, embedding 0.880; held-out batches e+g+h 0.744 and 0.821; "
                                       "remove this mark when it passes")
def test_contrastive_sign_accuracy_target(contrastive: tuple[list, dict]) -> None:
    """The target holds on the whole set and on the held-out batches (never tuned on) alone."""
    from bench.sentiment import sign_accuracy

    rows, scores = contrastive
    for name in ("lexicon", "embedding"):
        acc = sign_accuracy(rows, scores[name])
        assert acc["accuracy"] >= CONTRASTIVE_TARGET, name
        assert acc["held_out"]["accuracy"] >= CONTRASTIVE_TARGET, name


# The independent probes (SYNTHETIC, each written by a helper that had seen neither the project nor
# the rules): floors on their held-out rows, just under what was measured. First probe
# (sentiment_probe_live_commerce.tsv, 80 held-out rows, ids sh..), 2026-12-02: lexicon 0.838,
# embedding 0.812, VADER 0.613. Second probe (sentiment_probe2_live_commerce.tsv, 120 rows, ids
# p2h.., all held out), scored once on arrival, 2026-12-02: lexicon 0.717, embedding 0.733, VADER 0.542.
PROBE_FLOORS = {"sh": {"lexicon": 0.82, "embedding": 0.80}, "p2h": {"lexicon": 0.70, "embedding": 0.71}}


@pytest.mark.parametrize(("prefix", "n"), [("sh", 80), ("p2h", 120)])
@pytest.mark.parametrize("name", ["lexicon", "embedding"])
def test_sign_accuracy_floor_on_the_independent_probes_held_out(name: str, prefix: str, n: int) -> None:
    from bench.sentiment import PROBE, PROBE2, _sign_accuracy, contrastive_scores, load_contrastive

    rows = [r for r in load_contrastive(PROBE if prefix == "sh" else PROBE2) if r.id.startswith(prefix)]
    assert len(rows) == n
    scores = contrastive_scores([r.text for r in rows])
    acc = _sign_accuracy(rows, scores[name])["accuracy"]
    assert acc >= PROBE_FLOORS[prefix][name], f"{name} on {prefix}: {acc:.3f}"
    assert acc > _sign_accuracy(rows, scores["vader"])["accuracy"]  # beats the anchor
