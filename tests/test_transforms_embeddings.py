"""The MiniLM embedder and the document sentiment router (transforms/embeddings.py,
transforms/sentiment.py): lazy loading, the sha256 check, batching order, empty texts, routing.

Uses the installed int8 model (no network, no shared data); each test embeds a handful of texts.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from transforms.embeddings import (
    DIM,
    INT8_RECIPE,
    EmbeddingModelError,
    MiniLMEmbedder,
    default_threads,
    int8_model_bytes,
)
from transforms.sentiment import DocumentSentimentRouter, RoutingConfig

REPO = Path(__file__).resolve().parents[1]
TEXTS = ["Great stream!", "The seller never shipped my order and support ignored me for weeks, terrible.",
         "", "ok", "   ", "Honestly Whatnot customer support is terrible.", "Payouts arrived on time."]


def test_importing_does_not_load_onnxruntime() -> None:
    """The DAG imports the transforms at parse time: no onnxruntime, no model read, until used."""
    code = ("import sys, transforms.embeddings, transforms.sentiment, transforms.enrich; "
            "print('onnxruntime' in sys.modules, 'tokenizers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_sha_mismatch_is_a_clear_error_and_nothing_loads_before_use() -> None:
    from transforms.encoder_adapter import base_model_file

    bad = MiniLMEmbedder(model_path=base_model_file(), sha256="0" * 64)
    assert not bad.loaded  # construction is free
    assert bad.embed(["", "  "]).shape == (2, DIM)  # nothing to embed: still not loaded
    assert not bad.loaded
    with pytest.raises(EmbeddingModelError, match="sha256 .* expected 0{64}.*restore it"):
        bad.embed(["some text"])
    assert not bad.loaded


def test_missing_model_and_missing_sha_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingModelError, match="not found"):
        MiniLMEmbedder(model_path=tmp_path / "nope.onnx", sha256="ab" * 32).embed(["x"])
    with pytest.raises(EmbeddingModelError, match="needs both a path and its expected sha256"):
        MiniLMEmbedder(model_path=tmp_path / "nope.onnx")
    with pytest.raises(EmbeddingModelError, match="needs both a path and its expected sha256"):
        MiniLMEmbedder(sha256="ab" * 32)  # a digest alone would only rename the cache, checking nothing


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder(batch_size=2, threads=1)


@pytest.mark.parametrize(("compute", "threads"), [("int8", 1), ("int8", 2), ("float", 1), ("float", 2)])
def test_batches_keep_input_order_and_match_one_by_one(compute: str, threads: int) -> None:
    """Float: sorted batches of 2 (padding inside a batch must not change a vector). Int8: one text
    per call, spread over ``threads`` threads (results must land in input order, and must be the
    same as embedding each text alone: a vector depends on its text only)."""
    embedder = MiniLMEmbedder(batch_size=2, threads=threads, compute=compute)
    batched = embedder.embed(TEXTS)
    assert embedder.loaded
    single = np.stack([embedder.embed([t])[0] for t in TEXTS])
    assert batched.shape == (len(TEXTS), DIM)
    np.testing.assert_allclose(batched, single, atol=1e-4)
    # distinct texts give distinct vectors, so a shuffled order would have been caught above
    assert abs(float(batched[0] @ batched[1])) < 0.99


def test_empty_texts_get_zero_vectors_others_unit_length(embedder: MiniLMEmbedder) -> None:
    out = embedder.embed(TEXTS)
    norms = np.linalg.norm(out, axis=1)
    for text, norm in zip(TEXTS, norms, strict=True):
        assert norm == pytest.approx(0.0 if not text.strip() else 1.0, abs=1e-4), text
    assert embedder.embed([]).shape == (0, DIM)


def test_max_tokens_caps_long_texts() -> None:
    short = MiniLMEmbedder(max_tokens=8, threads=1)
    long_text = "great deals " * 300
    head = "great deals great deals great deals"  # the same first word pieces
    a, b = short.embed([long_text, head])
    assert float(a @ b) > 0.99


def test_threads_default_is_sensible() -> None:
    assert 1 <= default_threads() <= 2
    assert MiniLMEmbedder(threads=3).threads == 3


# ------------------------------------------------------------------ the int8-compute model
def test_int8_compute_stays_close_to_the_pinned_float_compute(tmp_path: Path) -> None:
    """The derived model is what the product runs: it must embed (almost) as the pinned file does,
    and it must really be a different model (so the default does not silently fall back). The
    build must leave the root logger as it found it (onnxruntime's quantizer logs through it)."""
    import logging

    root = logging.getLogger()
    handlers, filters, level = list(root.handlers), list(root.filters), root.level
    texts = [t for t in TEXTS if t.strip()]
    fast = MiniLMEmbedder(threads=1, cache_dir=tmp_path).embed(texts)
    assert (root.handlers, root.filters, root.level) == (handlers, filters, level)
    exact = MiniLMEmbedder(threads=1, compute="float").embed(texts)
    cosines = (fast * exact).sum(axis=1)
    assert cosines.min() > 0.95 and cosines.mean() > 0.97
    assert cosines.max() < 0.99999
    assert len(list(tmp_path.glob(f"*-{INT8_RECIPE}-*.onnx"))) == 1


@pytest.fixture
def fake_build(monkeypatch: pytest.MonkeyPatch) -> tuple[Callable[[], bytes], list[bytes]]:
    """A tiny source and a stand-in for the real derivation (which takes seconds), recording each
    build: the cache logic does not depend on what the bytes are."""
    import transforms.embeddings as emb

    calls: list[bytes] = []

    def build(source: bytes, workdir: Path) -> Path:
        calls.append(source)
        out = workdir / "int8.onnx"
        out.write_bytes(b"derived from " + source)
        return out

    monkeypatch.setattr(emb, "_build_int8", build)
    return (lambda: b"weights"), calls


def test_int8_model_is_cached_reused_and_rebuilt_when_corrupt(
        tmp_path: Path, fake_build: tuple[Callable[[], bytes], list[bytes]]) -> None:
    source, calls = fake_build
    cache = tmp_path / "cache"
    first = int8_model_bytes(source, "ab" * 32, cache)
    assert first == b"derived from weights" and len(calls) == 1
    assert int8_model_bytes(source, "ab" * 32, cache) == first and len(calls) == 1  # from the cache
    (cached,) = cache.glob("*.onnx")
    cached.write_bytes(b"truncated")
    assert int8_model_bytes(source, "ab" * 32, cache) == first and len(calls) == 2  # not trusted: rebuilt
    assert cached.read_bytes() == first
    assert int8_model_bytes(source, "cd" * 32, cache) == first and len(calls) == 3  # another source digest


def test_int8_model_without_a_writable_cache_is_built_per_process(
        tmp_path: Path, fake_build: tuple[Callable[[], bytes], list[bytes]]) -> None:
    source, calls = fake_build
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    assert int8_model_bytes(source, "ab" * 32, not_a_dir / "cache") == b"derived from weights"
    assert int8_model_bytes(source, "ab" * 32, not_a_dir / "cache") == b"derived from weights"
    assert len(calls) == 2


def test_a_cached_model_that_does_not_load_is_derived_again_then_a_clear_error(
        tmp_path: Path, fake_build: tuple[Callable[[], bytes], list[bytes]]) -> None:
    """The stand-in build writes bytes onnxruntime cannot read, with a matching digest: the
    embedder derives once more (bypassing the cache), then gives up with a clear error."""
    _, calls = fake_build
    embedder = MiniLMEmbedder(threads=1, cache_dir=tmp_path / "cache")
    with pytest.raises(EmbeddingModelError, match="does not load.*compute='float'"):
        embedder.embed(["some text"])
    assert len(calls) == 2 and not embedder.loaded


def test_a_failed_derivation_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import transforms.embeddings as emb

    def broken(source: bytes, workdir: Path) -> Path:
        raise RuntimeError("quantizer exploded")

    monkeypatch.setattr(emb, "_build_int8", broken)
    with pytest.raises(EmbeddingModelError, match="could not derive.*quantizer exploded"):
        int8_model_bytes(lambda: b"weights", "ab" * 32, tmp_path / "cache")


def test_model_cache_dir_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from transforms.embeddings import model_cache_dir

    monkeypatch.setenv("PULSE_MODEL_CACHE", str(tmp_path / "m"))
    assert model_cache_dir() == tmp_path / "m"
    monkeypatch.delenv("PULSE_MODEL_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert model_cache_dir() == tmp_path / "xdg" / "liveshop-pulse" / "models"


def test_unknown_compute_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="compute must be one of"):
        MiniLMEmbedder(compute="fp16")


# ------------------------------------------------------------------ routing
def test_routing_config_reads_settings_with_defaults() -> None:
    from common.config import NlpSettings

    assert RoutingConfig.from_settings(SimpleNamespace(nlp=NlpSettings())) == RoutingConfig()
    nlp = NlpSettings(sentiment_embed_sources=("news", "reddit"), sentiment_embed_min_words=40,
                      sentiment_embed_max_tokens=128, sentiment_embed_threads=1)
    cfg = RoutingConfig.from_settings(SimpleNamespace(nlp=nlp))
    assert cfg == RoutingConfig(("news", "reddit"), 40, 128, 1)


def test_router_routes_by_source_and_length() -> None:
    router = DocumentSentimentRouter(RoutingConfig(("news",), min_words=3))
    assert router.routes("news", "one two three")
    assert not router.routes("news", "one two")
    assert not router.routes("reddit", "one two three four")
    assert not router.routes("news", "   ")
    assert not DocumentSentimentRouter(RoutingConfig(())).enabled


class _FakeEmbedder:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.array([[float(len(t))] for t in texts])


class _FakeModel:
    uses_embedding = True
    max_tokens = 16
    dense_weights = (1.0,)  # reads sentence features, so the router computes them
    bow_weights = ()

    def predict(self, parts: list, embedding: np.ndarray) -> float:
        return float(embedding[0]) / 100.0


def test_router_scores_in_order_in_one_batch_and_empty_is_zero() -> None:
    fake = _FakeEmbedder()
    router = DocumentSentimentRouter(model=_FakeModel(), embedder=fake)
    text = "Good. Bad!"
    sentences = [[{"start_char": 0, "end_char": 5}, {"start_char": 6, "end_char": 10}], [],
                 [{"start_char": 0, "end_char": 4}]]
    scores = router.score_analyses([text, "", "abcd"], sentences)
    assert scores == [pytest.approx(0.10), 0.0, pytest.approx(0.04)]
    assert fake.calls == [[text, "", "abcd"]]  # one batched call, input order
    assert router.score_parts([], []) == []
    with pytest.raises(ValueError):
        router.score_parts(["a"], [])


def test_mentions_take_their_sentence_score_once_per_sentence_except_in_contrast() -> None:
    fake = _FakeEmbedder()
    router = DocumentSentimentRouter(model=_FakeModel(), embedder=fake)
    mentions = [{"sentence": "Whatnot paid out fast.", "sentiment": 0.5},
                {"sentence": "Whatnot paid out fast.", "sentiment": 0.1},  # same sentence: one embedding
                {"sentence": "Great host, but shipping took weeks.", "sentiment": -0.2},  # contrast: kept
                {"sentence": "", "sentiment": 0.3}, {"sentiment": 0.4}]
    assert router.rescore_mentions(mentions) == 2
    assert fake.calls == [["Whatnot paid out fast."]]
    assert [m["sentiment"] for m in mentions] == [0.22, 0.22, -0.2, 0.3, 0.4]
    known = [{"sentence": "Payouts are late.", "sentiment": 0.1},
             {"sentence": "Fees went up.", "sentiment": 0.1}]
    # "Payouts are late." is a one-sentence document already scored: its score is reused
    assert router.rescore_mentions(known, {"Payouts are late.": -0.7}) == 2
    assert fake.calls[1:] == [["Fees went up."]] and [m["sentiment"] for m in known] == [-0.7, 0.13]
    off = DocumentSentimentRouter(RoutingConfig(mentions=False), model=_FakeModel(), embedder=_FakeEmbedder())
    assert off.rescore_mentions([{"sentence": "Payouts are late.", "sentiment": 0.1}]) == 0


def test_the_enrich_stage_scores_mentions_of_routed_documents_only(tmp_path: Path) -> None:
    """Same text as a news document (routed) and as a Reddit document (routing set to news only):
    the news document's mentions carry the embedding model's score of their sentence, the other's
    keep the lexicon score; a contrast sentence keeps the lexicon score in both."""
    import dataclasses

    from common.config import Settings
    from transforms.enrich import Enricher

    body = "Whatnot payouts are late again. Whatnot hosts are fun, but TikTok Shop support never answers."
    docs = [_news("n1", body), _news("x1", body, "reddit")]
    base = Settings(data_dir=tmp_path, config_dir=REPO / "config")
    settings = dataclasses.replace(base, nlp=dataclasses.replace(base.nlp, sentiment_embed_sources=("news",)))
    enricher = Enricher(settings)
    result = enricher.enrich_documents(docs)
    by_doc: dict[str, list[dict]] = {}
    for m in result.mentions:
        by_doc.setdefault(m["doc_id"], []).append(m)
    assert result.stats["mentions_embedded"] == 1
    (plain_routed, *contrast_routed) = by_doc["n1"]
    (plain_other, *contrast_other) = by_doc["x1"]
    sentence = plain_routed["sentence"]
    whole = [[{"start_char": 0, "end_char": len(sentence)}]]
    want = enricher.sentiment_router.score_analyses([sentence], whole)[0]
    assert plain_routed["sentiment"] == pytest.approx(want, abs=1e-4)
    assert plain_other["sentiment"] != plain_routed["sentiment"]
    assert [m["sentiment"] for m in contrast_routed] == [m["sentiment"] for m in contrast_other]
    off = dataclasses.replace(settings, nlp=dataclasses.replace(settings.nlp, sentiment_embed_mentions=False))
    again = Enricher(off).enrich_documents(docs)
    assert again.stats["mentions_embedded"] == 0
    assert [m["sentiment"] for m in again.mentions if m["doc_id"] == "n1"] == \
        [m["sentiment"] for m in again.mentions if m["doc_id"] == "x1"]


@pytest.fixture
def counting_enricher(tmp_path: Path) -> tuple[object, list[str]]:
    """An Enricher whose sentiment router records every text it embeds (with the real model)."""
    from common.config import Settings
    from transforms.enrich import Enricher

    enricher = Enricher(Settings(data_dir=tmp_path, config_dir=REPO / "config"))
    real = enricher.sentiment_router.embedder
    seen: list[str] = []

    class Counting:
        def embed(self, texts: list[str]) -> np.ndarray:
            seen.extend(texts)
            return real.embed(texts)

    enricher.sentiment_router._embedder = Counting()
    return enricher, seen


def test_a_one_sentence_document_is_embedded_once_and_a_but_sentence_is_rescored(
        counting_enricher: tuple) -> None:
    """The nightly reuses a one-sentence document's score for its mentions (no second embedding);
    a sentence that merely starts with "But" is one clause, so its mentions are re-scored too."""
    enricher, seen = counting_enricher
    one = "Whatnot payouts are three weeks late again."
    two = "I sold cards all week. But Whatnot support never answered my ticket."
    result = enricher.enrich_documents([_news("n1", one), _news("n2", two)])
    assert sorted(seen) == sorted([one, two, "But Whatnot support never answered my ticket."])
    scores = {r["doc_id"]: r["sentiment"] for r in result.documents}
    mentions = {m["doc_id"]: m["sentiment"] for m in result.mentions}
    assert mentions["n1"] == scores["n1"] < 0
    assert mentions["n2"] < 0 and result.stats["mentions_embedded"] == 2


def test_pulse_enrich_scores_a_routed_texts_sentences_and_reuses_them_for_mentions(
        counting_enricher: tuple) -> None:
    """`pulse enrich --source news`: each sentence is embedded once; the mention outside a contrast
    sentence takes its sentence's score, the one inside keeps the lexicon clause score."""
    enricher, seen = counting_enricher
    first = "Whatnot payouts are three weeks late."
    second = "The hosts are great, but TikTok Shop fees are brutal."
    text = f"{first} {second}"
    out = enricher.enrich_text(text, source="news")
    lexicon = enricher.enrich_text(text)
    assert sorted(seen) == sorted([text, first, second])  # the document, then each sentence once
    assert [s["text"] for s in out["sentences"]] == [first, second]
    by_sentence = {s["text"]: s["sentiment"] for s in out["sentences"]}
    assert by_sentence != {s["text"]: s["sentiment"] for s in lexicon["sentences"]}
    entities = {e["id"]: e["sentiment"] for e in out["entities"]}
    assert entities["platform/whatnot"] == by_sentence[first] < 0
    assert entities["platform/tiktok-shop"] == {e["id"]: e["sentiment"] for e in lexicon["entities"]}[
        "platform/tiktok-shop"]


def test_shipped_embedding_model_scores_the_issue_sentence_negative() -> None:
    from transforms.sentiment import SentimentScorer

    router = DocumentSentimentRouter(RoutingConfig(threads=1))
    scorer = SentimentScorer(model=None)
    texts = ["Honestly Whatnot customer support is terrible.",
             "The hosts were wonderful and the deals great!"]
    neg, pos = router.score_parts(texts, [[scorer.parts(t)] for t in texts])
    assert neg < 0 < pos


def test_enrich_stage_routes_document_sentiment_by_source(tmp_path: Path) -> None:
    """Same text, two sources. By default (common.config.NlpSettings, as config/pipeline.toml says
    too) both news and Reddit documents get the embedding model. With only news routed, the news
    document's score is the embedding model's and the Reddit document's stays the lexicon model's;
    sentence scores are the lexicon model's either way."""
    import dataclasses

    from common.config import Settings
    from common.documents import Document
    from transforms.enrich import Enricher

    def doc(doc_id: str, source: str, kind: str) -> Document:
        return Document(doc_id=doc_id, source=source, kind=kind, channel="c", url=None, title="Payout delays",
                        body="Sellers say payouts are late again. Support has not answered for a week.",
                        author="a", published_at="2026-11-03T10:00:00+00:00",
                        fetched_at="2026-11-04T01:00:00+00:00", logical_date="2026-11-03", run_id="r1",
                        raw_ref="raw:1")

    docs = [doc("n1", "news", "article"), doc("r1", "reddit", "post")]
    settings = Settings(data_dir=tmp_path, config_dir=REPO / "config")
    by_default = Enricher(settings).enrich_documents(docs)
    assert by_default.stats["sentiment_embedded"] == 2
    default = {r["doc_id"]: r for r in by_default.documents}
    assert default["n1"]["sentiment"] == pytest.approx(default["r1"]["sentiment"], abs=1e-6)
    news_only = dataclasses.replace(settings, nlp=dataclasses.replace(settings.nlp,
                                                                      sentiment_embed_sources=("news",)))
    enricher = Enricher(news_only)
    result = enricher.enrich_documents(docs)
    rows = {r["doc_id"]: r for r in result.documents}
    assert result.stats["sentiment_embedded"] == 1
    text = rows["n1"]["title"] + "\n\n" + rows["n1"]["body"]
    analysis = next(enricher.analyze_texts([text]))
    expected_news = enricher.sentiment_router.score_analyses([text], [analysis["sentences"]])[0]
    assert rows["n1"]["sentiment"] == pytest.approx(expected_news, abs=1e-4)
    assert rows["r1"]["sentiment"] == pytest.approx(analysis["sentiment"], abs=1e-4)
    assert rows["n1"]["sentiment"] != rows["r1"]["sentiment"]


def _news(doc_id: str, body: str, source: str = "news") -> object:
    from common.documents import Document

    return Document(doc_id=doc_id, source=source, kind="article", channel="c", url=None, title=None,
                    body=body, author="a", published_at="2026-11-03T10:00:00+00:00",
                    fetched_at="2026-11-04T01:00:00+00:00", logical_date="2026-11-03", run_id="r1",
                    raw_ref="raw:1")


def test_the_embedding_runs_beside_spacy_and_scores_as_after_it(tmp_path: Path) -> None:
    """issue 11: with n_process 1 the routed documents are embedded in a thread while spaCy runs;
    the scores are those of embedding after spaCy (the n_process > 1 path), and the thread is gone
    when the stage returns."""
    import dataclasses
    import threading

    from common.config import Settings
    from transforms.enrich import Enricher

    bodies = ["Sellers say payouts are late again and support has not answered.",
              "Whatnot's new seller tools launched today to strong reviews.",
              "Die Auszahlungen kommen wieder zu spät und niemand antwortet darauf.",  # not English
              "TikTok Shop raised its fees, and small sellers are angry about it."]
    docs = [_news(f"n{i}", b) for i, b in enumerate(bodies)] + [_news("r1", bodies[0], "reddit")]
    base = Settings(data_dir=tmp_path, config_dir=REPO / "config")
    beside = Enricher(base).enrich_documents(docs)
    assert not [t for t in threading.enumerate() if t.name.startswith("pulse-embed")]
    after_settings = dataclasses.replace(base, nlp=dataclasses.replace(base.nlp, n_process=2))
    enricher = Enricher(after_settings)
    after = enricher.enrich_documents(docs)
    assert beside.stats["sentiment_embedded"] == after.stats["sentiment_embedded"] == 4  # not the German one
    got = {r["doc_id"]: r["sentiment"] for r in beside.documents}
    want = {r["doc_id"]: r["sentiment"] for r in after.documents}
    assert got.keys() == want.keys()
    for doc_id in want:
        assert got[doc_id] == pytest.approx(want[doc_id], abs=2e-4), doc_id


def test_an_embedding_error_surfaces_only_when_a_document_needs_it() -> None:
    from transforms.enrich import BesideSpacy

    class Broken:
        enabled = True
        config = RoutingConfig()

        def routes(self, source: str | None, text: str | None) -> bool:
            return source == "news"

        def embed(self, texts: list[str], threads: int | None = None) -> None:
            raise RuntimeError("model file missing")

    docs = [_news("n1", "Payouts are late."), _news("r1", "Payouts are late.", "reddit")]
    unused = BesideSpacy(Broken(), docs)
    unused.close()  # nothing routed in the end (say, not English): the error is not raised
    used = BesideSpacy(Broken(), docs)
    with pytest.raises(RuntimeError, match="model file missing"):
        used.vectors([0])
    used.close()
    off = BesideSpacy(Broken(), docs, enabled=False)
    assert off.vectors([0]) is None
    off.close()


def test_closing_stops_the_embedding_between_chunks() -> None:
    """A night that fails while spaCy runs does not wait for the whole MiniLM pass: the thread
    checks between chunks of BesideSpacy.CHUNK texts."""
    import threading

    import numpy as np

    from transforms.enrich import BesideSpacy

    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    class Slow:
        enabled = True
        config = RoutingConfig()

        def routes(self, source: str | None, text: str | None) -> bool:
            return True

        def embed(self, texts: list[str], threads: int | None = None) -> np.ndarray:
            calls.append(len(texts))
            started.set()
            release.wait(10)
            return np.zeros((len(texts), 384), dtype=np.float32)

    docs = [_news(f"n{i}", "Payouts are late.") for i in range(BesideSpacy.CHUNK * 5)]
    beside = BesideSpacy(Slow(), docs)
    assert started.wait(10)
    closer = threading.Thread(target=beside.close)
    closer.start()
    assert beside._stop.wait(10)  # close() asked the thread to stop; only then the chunk returns
    release.set()
    closer.join(10)
    assert not closer.is_alive() and calls == [BesideSpacy.CHUNK]


def test_a_head_that_ignores_sentence_features_is_scored_without_them() -> None:
    """The shipped fine-tuned head weighs the VADER sentence features at zero, so score_analyses
    skips computing them; the scores must be those of the full features, and a document with no
    non-blank sentence still scores 0."""
    from transforms.sentiment import SentimentScorer

    router = DocumentSentimentRouter(RoutingConfig(threads=1))
    assert not any(router.model.dense_weights) and not any(router.model.bow_weights)
    scorer = SentimentScorer(model=None)
    texts = ["Payouts are late again. Support never answers.", "Great breaks tonight, thanks!", "   "]
    sentences = [[{"start_char": 0, "end_char": 23}, {"start_char": 24, "end_char": 47}],
                 [{"start_char": 0, "end_char": 29}], [{"start_char": 0, "end_char": 3}]]
    full = router.score_parts(texts, [[scorer.parts(t[s["start_char"]:s["end_char"]]) for s in ss
                                       if t[s["start_char"]:s["end_char"]].strip()]
                                      for t, ss in zip(texts, sentences, strict=True)])
    got = router.score_analyses(texts, sentences)
    assert got == pytest.approx(full, abs=1e-9)
    assert got[0] < 0 < got[1] and got[2] == 0.0
