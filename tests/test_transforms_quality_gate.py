"""Quality gate: floors for entity F1 on our own gold set and for sentiment r on the shared sets.

Entity part: tests/fixtures/entities_gold.jsonl (60 live-commerce sentences written for this
project, with the canonical id + label a reader expects, and junk rows that must yield nothing);
never skips. Measured 2026-11-25: F1 0.988 overall (gazetteer 1.000, statistical NER 0.923).
Floors sit a little below so one new honest miss does not block, but a broken ruler, alias or
junk filter does.

Sentiment part: Pearson r of the *shipped* models on the *test* half of the shared rated sets
(bench/split.py; the models were fitted on the tune side only). Document sentiment of news and
Reddit comes from the fine-tuned MiniLM ("embedding", int8 compute; since session 11 a LoRA adapter
on the locked base model, bench/finetune_sentiment.py), and so do their mentions outside contrast
sentences; the lexicon model scores every sentence and the other mentions. Measured 2026-12-02
(session 11): tweets 0.915 (embedding) and 0.890 (lexicon), VADER 0.881; NYT 0.700 (embedding;
the whole-encoder fine-tune it replaced, a 23 MB file, scored 0.732), VADER 0.540; both issue
targets (0.88, 0.60) met. Floors sit just under the measured figures. Also checked: the lexicon
file is what the current code fits on the tune half (so its floors test the code, not a stale
file). The fine-tuned model needs torch to refit, so for it the gate checks that the head belongs
to the pinned adapter and base model, records the training rows and recipe the script selects
today, and scores through the product what its torch original scored at export. Skips when
../shared/data/sentiment is absent.

The contrastive sign accuracy gate (live-commerce sentences we wrote; batches c, d, f were trained
on, e, g, h never) never skips. Measured 2026-12-02 on the held-out batches e+g+h: embedding 0.949
(target 0.90 met; it is the document route of news and Reddit), lexicon 0.744 (NOT met; it scores
sentences, and mentions in contrast sentences or unrouted documents), so a strict xfail holds the
lexicon's target until it is met.
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
SENTIMENT_FLOORS = {("tweets", "lexicon"): 0.885, ("tweets", "embedding"): 0.905, ("nyt", "embedding"): 0.69}
CONTRASTIVE_TARGET = 0.90  # met by the embedding model, not by the lexicon model (the xfail below)
# Regression floors just under the measured sign accuracy, 2026-12-02: all 317 judged rows (batches
# c-h) lexicon 0.861, embedding 0.975 (trained on c, d, f); held-out batches e+g+h 0.744 and 0.949.
CONTRASTIVE_FLOORS = {"lexicon": 0.84, "embedding": 0.96}
CONTRASTIVE_HELD_OUT_FLOORS = {"lexicon": 0.73, "embedding": 0.93}
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
    """Features of every rated row (spaCy split), MiniLM embeddings of the test half, the halves."""
    from bench.train_sentiment import DATA, embeddings_for, features_for, halves, load_rated
    from transforms.sentiment_model import DEFAULT_EMBED_MODEL, load_model

    data = load_rated(DATA)
    embed = load_model(DEFAULT_EMBED_MODEL)
    split = halves(data)
    vectors = embeddings_for([data.texts[i] for i in split["test"]], embed.max_tokens)
    return {"data": data, "feats": features_for(data), "halves": split, "embed": embed,
            "emb": dict(zip(split["test"], vectors, strict=True))}


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
    pred = [model.predict(feats.parts[i], ctx["emb"][i] if model_name == "embedding" else None) for i in rows]
    y = np.array([data.ratings[i] for i in rows])
    return pearson(pred, y), pearson([vader_compound(data.texts[i]) for i in rows], y)


@pytest.mark.shared
@needs_shared
@pytest.mark.parametrize(("set_name", "model_name"), [("tweets", "lexicon"), ("nyt", "embedding"),
                                                      ("tweets", "embedding")])
def test_sentiment_test_half_r_floor_and_beats_vader(sentiment_test_half: dict, set_name: str,
                                                     model_name: str) -> None:
    r, vader = _test_r(sentiment_test_half, model_name, set_name)
    print(f"{set_name} test half: {model_name} r={r:.4f}, VADER r={vader:.4f}")
    floor = SENTIMENT_FLOORS[(set_name, model_name)]
    assert r >= floor, f"{set_name}: test-half r={r:.4f} < floor {floor} ({model_name} model)"
    assert r > vader, f"{set_name}: test-half r={r:.4f} <= VADER {vader:.4f}"


@pytest.mark.shared
@needs_shared
def test_shipped_lexicon_model_is_what_the_code_fits_on_the_tune_half(sentiment_test_half: dict) -> None:
    """Refit the lexicon model on the tune half with the penalties recorded in its file: the
    test-half predictions must match the shipped file's. A stale file (features or code changed
    without retraining), or a file fitted on more than the tune half, fails here."""
    import numpy as np

    from transforms.sentiment_model import fit, load_model

    ctx = sentiment_test_half
    data, feats = ctx["data"], ctx["feats"]
    tune = np.array(ctx["halves"]["tune"])
    y = np.asarray(data.ratings, float)[tune]
    shipped = load_model()
    refit = fit(feats.dense[tune], feats.bow[tune], y, shipped.meta["lambda"], shipped.meta["bow_penalty"])
    for s in ("tweets", "nyt"):
        r_shipped, _ = _test_r(ctx, "lexicon", s, shipped)
        r_refit, _ = _test_r(ctx, "lexicon", s, refit)
        assert r_shipped == pytest.approx(r_refit, abs=0.002), \
            f"lexicon/{s}: shipped file is stale, retrain with bench.train_sentiment --write"


def test_shipped_sentiment_head_belongs_to_the_shipped_encoder() -> None:
    """The fine-tuned head (sentiment_embed_model.json) is only valid on the encoder it was trained
    with: its recorded adapter and base digests must be the ones transforms.encoder_adapter pins."""
    from transforms.encoder_adapter import ADAPTER_SHA256, BASE_SHA256
    from transforms.sentiment_model import DEFAULT_EMBED_MODEL, load_model

    meta = load_model(DEFAULT_EMBED_MODEL).meta
    assert meta["encoder"]["sha256"] == ADAPTER_SHA256
    assert meta["encoder"]["base_sha256"] == BASE_SHA256
    assert meta["trained_by"] == "bench/finetune_sentiment.py"


@pytest.mark.shared
@needs_shared
def test_shipped_sentiment_head_records_the_training_rows_and_recipe_of_the_code() -> None:
    """The fine-tuned model cannot be refitted here (it needs torch), so the gate checks what it
    can without it: the rows the head says it was trained on are the tune-side rows the training
    script selects today, and its recorded recipe is the script's."""
    from bench.finetune_sentiment import EPOCHS, recipe, rows, tune_counts
    from transforms.sentiment_model import DEFAULT_EMBED_MODEL, load_model

    meta = load_model(DEFAULT_EMBED_MODEL).meta
    assert meta["n"] == tune_counts(rows()) == {"tune/rated": 2404, "tune/sign": 241}
    assert {k: v for k, v in meta["recipe"].items() if k != "torch"} == recipe(EPOCHS)


def test_the_extra_training_rows_never_repeat_a_held_out_text() -> None:
    """tests/fixtures/sentiment_train_live_commerce.tsv (training only, used by --extra-rows) must
    not contain any held-out sign text, up to case and punctuation: training on one would turn a
    held-out figure into a training figure."""
    from bench.finetune_sentiment import TRAIN_EXTRA
    from bench.sentiment import _words as words
    from bench.sentiment import held_out_sign_rows, load_contrastive

    held = {words(r.text) for r in held_out_sign_rows()}
    extra = load_contrastive(TRAIN_EXTRA)
    assert len(extra) == 240 and {r.expected for r in extra} == {"pos", "neg"}
    assert not {words(r.text) for r in extra} & held


@pytest.mark.shared
@needs_shared
@pytest.mark.parametrize("set_name", ["tweets", "nyt"])
def test_onnx_int8_product_scores_like_the_torch_model_it_was_exported_from(sentiment_test_half: dict,
                                                                            set_name: str) -> None:
    """The export (ONNX, int8 weight storage) and the product's int8 compute must keep the
    figures the torch model had on the test half when it was written (recorded in its meta)."""
    r, _ = _test_r(sentiment_test_half, "embedding", set_name)
    recorded = sentiment_test_half["embed"].meta["torch_float32"][set_name]
    assert r == pytest.approx(recorded, abs=0.01), f"{set_name}: product int8 r {r:.4f} vs torch {recorded}"


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


@pytest.mark.parametrize("name", ["lexicon", "embedding"])
def test_contrastive_sign_accuracy_floor_on_the_held_out_batches(contrastive: tuple[list, dict],
                                                                  name: str) -> None:
    from bench.sentiment import sign_accuracy

    rows, scores = contrastive
    held = sign_accuracy(rows, scores[name])["held_out"]
    assert held["n"] == 156
    assert held["accuracy"] >= CONTRASTIVE_HELD_OUT_FLOORS[name], f"{name}: {held}"


def test_contrastive_sign_accuracy_target_for_the_document_route(contrastive: tuple[list, dict]) -> None:
    """Issue 11's 0.90 on the held-out batches (never trained or tuned on), for the model that
    scores news and Reddit documents."""
    from bench.sentiment import sign_accuracy

    rows, scores = contrastive
    assert sign_accuracy(rows, scores["embedding"])["held_out"]["accuracy"] >= CONTRASTIVE_TARGET


@pytest.mark.xfail(strict=True, reason="issue 11 target 0.90 not met by the lexicon model (2026-12-02): "
                                       "all 317 rows 0.861, held-out batches e+g+h 0.744; it scores "
                                       "sentences of unrouted sources and mentions in contrast "
                                       "sentences; remove this mark when it passes")
def test_contrastive_sign_accuracy_target_for_the_lexicon_model(contrastive: tuple[list, dict]) -> None:
    from bench.sentiment import sign_accuracy

    rows, scores = contrastive
    acc = sign_accuracy(rows, scores["lexicon"])
    assert acc["accuracy"] >= CONTRASTIVE_TARGET
    assert acc["held_out"]["accuracy"] >= CONTRASTIVE_TARGET


# The independent probes (SYNTHETIC, each written by a helper that had seen neither the project nor
# the rules): floors on their held-out rows, just under what was measured. First probe
# (sentiment_probe_live_commerce.tsv, 80 held-out rows, ids sh..), 2026-12-02: lexicon 0.838,
# fine-tuned embedding (the LoRA adapter, session 11) 0.938, VADER 0.613. Second probe
# (sentiment_probe2_live_commerce.tsv, 120 rows, ids p2h.., all held out): lexicon 0.717, fine-tuned
# embedding 0.767, VADER 0.542. Third probe (sentiment_probe3_live_commerce.tsv, 120 rows, ids p3h..,
# all held out; session 11, scored on arrival with the adapter model): lexicon 0.792, fine-tuned
# embedding 0.892, VADER 0.533.
PROBE_FLOORS = {"sh": {"lexicon": 0.82, "embedding": 0.91}, "p2h": {"lexicon": 0.70, "embedding": 0.75},
                "p3h": {"lexicon": 0.77, "embedding": 0.87}}


@pytest.mark.parametrize(("prefix", "n"), [("sh", 80), ("p2h", 120), ("p3h", 120)])
@pytest.mark.parametrize("name", ["lexicon", "embedding"])
def test_sign_accuracy_floor_on_the_independent_probes_held_out(name: str, prefix: str, n: int) -> None:
    from bench.sentiment import PROBES, _sign_accuracy, contrastive_scores, load_contrastive

    (path,) = [path for _, path, halves in PROBES if halves.get("held-out") == prefix]
    rows = [r for r in load_contrastive(path) if r.id.startswith(prefix)]
    assert len(rows) == n
    scores = contrastive_scores([r.text for r in rows])
    acc = _sign_accuracy(rows, scores[name])["accuracy"]
    assert acc >= PROBE_FLOORS[prefix][name], f"{name} on {prefix}: {acc:.3f}"
    assert acc > _sign_accuracy(rows, scores["vader"])["accuracy"]  # beats the anchor


def test_the_bench_checks_each_target_on_the_model_the_default_config_routes_to() -> None:
    """bench.sentiment.ROUTE says which model's figure is the product's: it must follow the
    default routing (tweets stand for Reddit text, NYT snippets for news)."""
    import tomllib

    from bench.sentiment import ROUTE
    from common.config import NlpSettings

    sources = NlpSettings().sentiment_embed_sources
    shipped = tomllib.loads((REPO / "config" / "pipeline.toml").read_text(encoding="utf-8"))
    assert tuple(shipped["nlp"]["sentiment_embed_sources"]) == sources  # the file says what the code does
    assert {"tweets": "embedding" if "reddit" in sources else "lexicon",
                     "nyt": "embedding" if "news" in sources else "lexicon"} == ROUTE


def test_entity_mention_sign_accuracy_floor() -> None:
    """Entity sentiment as the nightly computes it for routed documents (since session 11 the
    fine-tuned model's score of the mention's sentence), on held-out single-sentence texts with no
    contrast marker: 0.871 of 171 entities (the lexicon model, still used for unrouted documents:
    0.836), short of the issue's 0.90 (the trend figures are built from these scores). Floors just
    under, so a regression shows; the shortfall is reported by bench.sentiment."""
    from bench.sentiment import mention_sign_accuracy

    got = mention_sign_accuracy()
    assert got["entities"] >= 170
    assert got["accuracy"] >= 0.85 and got["lexicon"] >= 0.82, got
