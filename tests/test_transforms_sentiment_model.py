"""The trained sentiment models: fitting, (de)serialisation, loading errors, the tune/test protocol.

No spaCy and no shared data needed: sentences are given directly, embeddings are synthetic.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench.split import half_of
from bench.train_sentiment import Features, RatedSet, fold_of, halves, load_rated, run_protocol
from transforms.sentiment import SentimentScorer, sentiment_model_ids, vader_compound
from transforms.sentiment_model import (
    DEFAULT_EMBED_MODEL,
    DEFAULT_MODEL,
    EMBED_DIM,
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
    assert data.ids == ["1", "2", "7_1", "7_2", "8_1"]


def test_embedding_variant_round_trip_and_errors(tmp_path: Path) -> None:
    parts, y = _toy()
    dense, _ = design_matrix(parts)
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(len(y), EMBED_DIM)) + y[:, None] * 0.05
    model = fit(dense, None, y, emb=emb, emb_penalty=0.1, max_tokens=64)
    assert model.uses_embedding and not model.bow_weights and model.max_tokens == 64
    path = tmp_path / "e.json"
    path.write_text(json.dumps(model.to_json()))
    loaded = load_model(path)
    assert loaded.predict(parts[0], emb[0]) == pytest.approx(model.predict(parts[0], emb[0]), abs=1e-4)
    with pytest.raises(SentimentModelError, match="needs the text's MiniLM embedding"):
        loaded.predict(parts[0])
    data = model.to_json()
    data["emb_weights"] = data["emb_weights"][:10]
    path.write_text(json.dumps(data))
    with pytest.raises(SentimentModelError, match="embedding block"):
        load_model(path)


def test_shipped_embedding_model_is_small_and_fitted_on_the_tune_half() -> None:
    assert DEFAULT_EMBED_MODEL.stat().st_size < 100_000
    model = load_model(DEFAULT_EMBED_MODEL)
    assert model.uses_embedding and model.max_tokens >= 64
    assert "tune half" in model.meta["trained_on"]
    assert "tune half" in load_model().meta["trained_on"]


def test_halves_follow_the_split_rule() -> None:
    ids = [str(i) for i in range(40)] + [f"{i}_1" for i in range(40)]
    data = RatedSet(["t"] * 80, [0.0] * 80, ["tweets"] * 80, ids, ids)
    h = halves(data)
    assert sorted(h["tune"] + h["test"]) == list(range(80))
    assert all(half_of(ids[i]) == "test" for i in h["test"])
    assert h["tune"] and h["test"]


def _toy_protocol_data(n_each: int = 40) -> tuple[RatedSet, Features]:
    texts = (POS * 20)[:n_each] + (NEG * 20)[:n_each]
    ratings = [2.0] * n_each + [-2.0] * n_each
    sets = ["tweets", "nyt"] * n_each
    ids = [f"{i}" for i in range(2 * n_each)]
    data = RatedSet(texts, ratings, sets, [f"g{i}" for i in ids], ids)
    parts = _parts(texts)
    dense, bow = design_matrix(parts)
    return data, Features(parts, dense, bow)


def test_protocol_reports_both_halves_and_never_fits_on_the_test_half() -> None:
    data, feats = _toy_protocol_data()
    res = run_protocol(data, feats)
    assert set(res["models"]) == {"lexicon"}  # the embedding model is fine-tuned elsewhere (torch)
    r = res["models"]["lexicon"]["r"]
    assert set(r) == {"tune_cv/tweets", "tune_cv/nyt", "test/tweets", "test/nyt"}
    assert r["test/tweets"] > 0.5 and r["tune_cv/nyt"] > 0.5
    assert len(res["models"]["lexicon"]["nested_fold_choices"]) == 5
    assert res["n"]["tune/tweets"] + res["n"]["test/tweets"] == 40
    # Changing the test half's ratings must not change the shipped models (fitted on tune only).
    test_rows = set(halves(data)["test"])
    flipped = RatedSet(data.texts, [-r if i in test_rows else r for i, r in enumerate(data.ratings)],
                       data.sets, data.groups, data.ids)
    res2 = run_protocol(flipped, feats)
    assert res2["_shipped"]["lexicon"] == res["_shipped"]["lexicon"]
    assert res2["models"]["lexicon"]["r"]["tune_cv/nyt"] == res["models"]["lexicon"]["r"]["tune_cv/nyt"]
    assert res2["models"]["lexicon"]["r"]["test/nyt"] < 0  # the flipped test ratings are seen only here
    one_group = RatedSet(data.texts, data.ratings, data.sets, ["g"] * len(data.texts), data.ids)
    with pytest.raises(ValueError, match="fold"):
        run_protocol(one_group, feats)


def test_bench_fails_clearly_when_the_data_is_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    import bench.sentiment as bs

    monkeypatch.setattr(bs, "DATA", tmp_path / "absent")
    rows = bs.summary_rows()
    assert rows and all(not r.passed and r.measured is None for r in rows)
    assert bs.main([]) == 2
    assert "not present" in capsys.readouterr().out


@pytest.mark.parametrize(("sentence", "sign"), [
    ("My payout has been on hold for three weeks.", -1),
    ("Still waiting on my refund from the March show.", -1),
    ("Paying to list an item is a cash grab.", -1),
    ("I got charged twice for one card.", -1),
    ("The seller made it right with a discount.", 1),
    ("Fees are lower than on eBay.", 1),
    ("Can't say enough good things about this host.", 1),
    ("Never had a problem with this shop.", 1),
    ("Refund approved in an hour, no hoops to jump through.", 1),
    ("My account was reinstated the same day.", 1),
    # session 6, from tune batches c, d and f
    ("Nobody from the shop replied to my messages.", -1),
    ("The new fees eat most of my margin.", -1),
    ("My order has been in transit for three weeks.", -1),
    ("I waited three weeks for my refund.", -1),
    ("Their prices are well above retail.", -1),
    ("The signature on the card was printed, not signed.", -1),
    ("Glad the mods banned the spammers.", 1),
    ("I'm obsessed with this seller's vintage finds.", 1),
    ("Fees keep eating into my margins.", -1),
    ("My payout has been pending for over two weeks.", -1),
    ("I waited a month for my payout.", -1),
    # session 7, from the tune half of a probe written by a helper who had not seen the rules
    ("The card show last night was straight fire.", 1),
    ("Honestly a massive L for buyers, the auction closed early.", -1),
    ("Huge W for small sellers this week.", 1),
    ("I could not be happier with the packaging.", 1),
    ("Quarterly sales beat analyst estimates again.", 1),
    ("Revenue missed Wall Street expectations by a wide margin.", -1),
    ("The seller sent a replacement the same day I wrote.", 1),
    ("The seller didn't reply to any of my messages.", -1),
    ("I still didn't get my refund.", -1),
    ("They credited my account within an hour.", 1),
    ("The marketplace sided with me after looking at the photos.", 1),
    ("They froze my earnings after one chargeback.", -1),
    ("The shop still hasn't replied to my email.", -1),
    ("I still haven't received my package from the October show.", -1),
    ("They kept the fee, so I'm out twelve dollars.", -1),
    ("Tracking still says pre-transit.", -1),
    ("Not a single hiccup with my last ten orders.", 1),
    ("The platform waived listing fees for new shops.", 1),
])
def test_marketplace_phrases_get_their_tone(sentence: str, sign: int) -> None:
    """issue 11, tune batch f: phrases whose words alone are neutral or point the wrong way
    (transforms/news_lexicon.py) score with their tone under the extended analyzer (no model),
    while plain VADER, the anchor, is unchanged by them."""
    extended = SentimentScorer(model=None).score(sentence)
    assert extended * sign > 0, f"{sentence!r}: {extended:+.3f}"


def test_plain_vader_keeps_its_own_reading() -> None:
    assert vader_compound("Fees are lower than on eBay.") < 0  # "lower" is -1.2 in VADER's lexicon


@pytest.mark.parametrize("sentence", [
    "Hold the line, we support the plan.",
    "Sellers will put items on hold until payday.",
    "Still waiting for the drop tonight, so excited!",
    "If the fees were lower I would stay.",
    "I wish the fees were lower.",
    "Lower the volume please.",
    "Nobody does it better than this host.",
    "I got banned as a bot for no reason.",
    "The signature scent is printed on the box.",
    "Well above average quality for the price.",
    # a review's counterexamples to the session-6 rewrites
    "Nobody else answers questions as quickly as she does!",
    "Nobody could have helped more than they did.",
    "I've been processing orders for three weeks straight, loving it.",
    "Sold it well above market, so happy!",
    "The autograph was not printed, it's real.",
    "The signature is hand-signed, not printed.",
    "My account was blocked by spammers reporting me.",
    "Why is this platform obsessed with pushing ads?",
    "Not obsessed with the new layout.",
    "It was in transit for a day, then arrived.",
    # counterexamples to the session-7 rewrites
    "The warehouse was fire-damaged last year.",
    "We sold a W-2 organizer and an L.A. Lakers cap.",
    "Is that an L or a 1 on the label?",
    "Analysts expect the company to beat the deadline.",
    "The sellers were out of stock by nine.",
    "If they waived the fees I would sell there.",
    "Tracking says delivered.",
    "She shipped it in the morning and it arrived on time.",
    # a review's counterexamples to the first session-7 version
    "Commuters who take the L downtown faced delays on Monday.",
    "Big W will close 20 stores, Woolworths said.",
    "Investigators said the cause of the outage was fire.",
    "It was fire season in California.",
    "Crews said the house was fire damaged.",
    "Not a single issue I reported was resolved.",
    "He missed the forecast meeting.",
    "He was shot and sent to the hospital within an hour.",
    "The judge waived the fee for the indigent defendant.",
])
def test_phrase_rewrites_leave_other_uses_alone(sentence: str) -> None:
    """The batch-f rewrites match only the marketplace sense (a review found these over-matches)."""
    from transforms.sentiment import vader_input

    assert vader_input(sentence) == sentence


@pytest.mark.parametrize("word", ["ban", "eats", "nobody", "waited", "pending for", "autograph was",
                                  "obsessed", "refunded", "beat", "missed", "still", "i'm out", "was",
                                  "massive", "couldn't be", "waived", "hasn't"])
def test_phrase_rewrites_stay_linear_on_long_whitespace(word: str) -> None:
    """A rewrite with two whitespace quantifiers in a row tries every split of a run of spaces:
    "ban" + 5,000 spaces took 2.8 s, 20,000 would take about 45 s per sentence. Sentences come
    from raw posts (up to nlp.max_text_chars), so every rewrite must stay linear; a regression
    here shows up as this test taking minutes."""
    from transforms.sentiment import vader_input

    text = word + " " * 20_000 + "x"
    assert vader_input(text) == text


def test_phrase_rewrites_keep_the_rest_of_the_sentence() -> None:
    from transforms.sentiment import vader_input

    assert vader_input("Prices are lower than last year.") == "affordable than last year."
    assert vader_input("My payout is on hold again.") == "My payout is withheld again."
    assert vader_input("Quick question about combined shipping.") == "question about combined shipping."
    assert SentimentScorer(model=None).score("Quick question about combined shipping.") == 0


def test_model_ids_name_what_moves_a_score(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """core.documents.sentiment_model (migration 012): the same files and settings give the same id
    in every process; another lexicon model file, another token cap or mention routing gives
    another id, so the alerts and reports never compare scores across them."""
    import transforms.sentiment_model as sm

    ids = sentiment_model_ids()
    assert ids == sentiment_model_ids(0, True)
    assert ids["lexicon"].startswith("lexicon-") and ids["embedding"].startswith("embedding-")
    assert len({ids["lexicon"], ids["embedding"]}) == 2
    assert sentiment_model_ids(128)["embedding"] != ids["embedding"]
    assert sentiment_model_ids(0, False)["embedding"] != ids["embedding"]
    assert sentiment_model_ids(128)["lexicon"] == ids["lexicon"]  # the token cap is the encoder's
    other = tmp_path / "model.json"
    other.write_text(sm.DEFAULT_MODEL.read_text(encoding="utf-8") + " ", encoding="utf-8")
    monkeypatch.setattr(sm, "DEFAULT_MODEL", other)
    sentiment_model_ids.cache_clear()
    try:
        changed = sentiment_model_ids()
        assert changed["lexicon"] != ids["lexicon"] and changed["embedding"] != ids["embedding"]
    finally:
        sentiment_model_ids.cache_clear()
