"""The enrich stage: Documents in, enriched documents + entity mentions + entities out.

Why this shape: the stage function (:func:`enrich_night`) only does file I/O around an
:class:`Enricher`, which `pulse enrich`, the benchmarks and the tests use directly. The Enricher
loads spaCy once, lazily (the DAG imports this module at parse time, so nothing heavy happens on
import), routes tombstones and non-English documents around the English NLP, and runs the rest
through ``nlp.pipe`` inside spaCy memory zones so memory stays flat over a long night.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.config import Settings, enrich_parallel
from common.context import RunContext
from common.documents import Document
from common.jsonl import read_json, read_jsonl, write_json, write_jsonl
from common.outcomes import enrich_quarantine_path, quarantine_row
from transforms.sentiment import mean_or_none

log = logging.getLogger(__name__)

ZONE_SIZE = 500  # documents per spaCy memory zone: bounded memory, negligible zone overhead
# Words per nlp.pipe batch. Why: tok2vec/parser activations scale with the words in a batch, so 64
# long articles at once peaked at ~890 MB where 16 stayed under 400 MB; short comments still get
# the configured batch size. The batch size is chosen per zone from its mean text length.
WORDS_PER_BATCH = 10_000
ZONE_WORDS = 50_000  # a zone also ends at this many words, so long articles share zones (and batch sizes)
PROGRESS_EVERY_S = 10.0


@dataclass
class EnrichResult:
    documents: list[dict[str, Any]] = field(default_factory=list)
    mentions: list[dict[str, Any]] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    # Documents set aside alone (common.outcomes.quarantine_row), with why: issue 12.
    quarantined: list[dict[str, Any]] = field(default_factory=list)


def _word_count(text: str) -> int:
    return len(text.split())


def adaptive_batch_size(texts: list[str], configured: int, words_per_batch: int = WORDS_PER_BATCH) -> int:
    """``configured`` texts per batch, fewer when the texts are long (see WORDS_PER_BATCH)."""
    if not texts:
        return max(1, configured)
    mean_words = sum(len(t.split()) for t in texts) / len(texts)
    return max(1, min(configured, int(words_per_batch // max(1.0, mean_words))))


# --- issue 12: bounded NLP input, per-document isolation ------------------------------------
def cap_text(text: str, max_chars: int) -> str:
    """``text`` cut to at most ``max_chars``, at the last paragraph break, else line break, else
    whitespace in the last tenth before the cap (so no word or sentence is cut mid-way when it can
    be helped). Offsets stay valid: the result is a prefix of ``text``."""
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    floor = max_chars - max_chars // 10
    for sep in ("\n\n", "\n", " "):
        cut = head.rfind(sep, floor)
        if cut > 0:
            return head[:cut]
    return head


def _failed_analysis(exc: BaseException) -> dict[str, Any]:
    """The analysis of a text that raised: no NLP results, and the reason for the quarantine."""
    reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    return {"language": "und", "skipped": "error", "error": reason, "sentiment": None, "themes": [],
            "mentions": [], "sentences": [], "n_words": 0}
# --- end issue 12 helpers ------------------------------------------------------------------


class BesideSpacy:
    """issue 11: the MiniLM embeddings of the documents routed to the embedding sentiment model,
    computed in one background thread while spaCy analyses the night.

    Why: the embedding needs only a document's text, not spaCy's analysis, and onnxruntime and
    ``tokenizers`` release the GIL. With ``nlp.n_process = 1`` (the default) spaCy keeps one core
    busy and the embedding, on one onnxruntime thread, takes the other, instead of starting when
    spaCy is done. With spaCy worker processes (``n_process > 1``) both cores are busy already and
    forking workers while a thread runs native code is unsafe, so the embedding then runs after
    spaCy, as before (``enabled=False``). Candidates are chosen by source and text before the
    language is known; one spaCy later skips (not English) was embedded for nothing.
    """

    #: Texts per embedding call: between calls the thread checks whether the stage gave up, so a
    #: failing night does not wait for the whole MiniLM pass.
    CHUNK = 256

    def __init__(self, router: Any, docs: list[Document], enabled: bool = True) -> None:
        import threading

        self._future: Any = None
        self._executor: Any = None
        self._index: dict[int, int] = {}
        self._stop = threading.Event()
        if not enabled or not router.enabled:
            return
        todo = [k for k, d in enumerate(docs) if router.routes(d.source, d.text)]
        if not todo:
            return
        from concurrent.futures import ThreadPoolExecutor

        self._index = {k: i for i, k in enumerate(todo)}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pulse-embed")
        # One onnxruntime thread unless [nlp] sentiment_embed_threads says otherwise: spaCy has the
        # other core.
        threads = router.config.threads or 1
        self._future = self._executor.submit(self._embed_all, router, [docs[k].text for k in todo], threads)

    def _embed_all(self, router: Any, texts: list[str], threads: int) -> Any:
        import numpy as np

        parts = []
        for start in range(0, len(texts), self.CHUNK):
            if self._stop.is_set():
                return None
            parts.append(router.embed(texts[start:start + self.CHUNK], threads))
        return np.concatenate(parts)

    def vectors(self, doc_indexes: list[int]) -> Any:
        """The embeddings of these documents (positions in the night's list), in that order, or
        None when they were not computed beside spaCy (the caller computes them then). An error
        in the background thread is raised here, where the one-pass path would have raised it."""
        if self._future is None or any(k not in self._index for k in doc_indexes):
            return None
        vectors = self._future.result()
        return None if vectors is None else vectors[[self._index[k] for k in doc_indexes]]

    def close(self) -> None:
        """Stop and wait for the thread (a night never leaves one running); an unused result or
        error is dropped."""
        if self._executor is not None:
            self._stop.set()
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


class Enricher:
    """Entities, sentiment, themes and language for documents or plain texts."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.gazetteer_path = settings.config_file(settings.nlp.gazetteer)
        self.themes_path = settings.config_file(settings.nlp.themes)
        self._nlp: Any = None
        self._gazetteer: Any = None
        self._relevance_rules: Any = None
        # Validate the config files now (cheap, no spaCy): a broken gazetteer fails at startup.
        from transforms.gazetteer import load_gazetteer
        from transforms.themes import load_themes

        self._gazetteer = load_gazetteer(self.gazetteer_path)
        self.themes = load_themes(self.themes_path)
        from transforms.sentiment_model import cached_model

        self.sentiment_model = cached_model()  # 34 KB of JSON; a missing/stale model fails here, clearly
        # --- issue 11: document sentiment of routed sources (news and Reddit by default) comes from
        # the fine-tuned MiniLM (transforms.sentiment.DocumentSentimentRouter); its JSON is checked
        # now, the ONNX session loads on the first routed document.
        from transforms.sentiment import DocumentSentimentRouter, RoutingConfig

        self.sentiment_router = DocumentSentimentRouter(RoutingConfig.from_settings(settings))
        if self.sentiment_router.enabled:
            _ = self.sentiment_router.model
        # --- end issue 11

    @property
    def nlp(self) -> Any:
        """The spaCy pipeline, built on first use and then reused."""
        if self._nlp is None:
            from transforms.nlp import build_pipeline

            started = time.perf_counter()
            self._nlp = build_pipeline(self.settings.nlp.spacy_model, self.gazetteer_path, self.themes_path)
            log.info("loaded spaCy %s in %.1fs (gazetteer %s, themes %s)",
                     self.settings.nlp.spacy_model, time.perf_counter() - started,
                     self._gazetteer.version, self.themes.version)
        return self._nlp

    def relevance(self, doc: Document, analysis: dict[str, Any]) -> Any:
        """Live-commerce relevance of one analysed document (transforms/relevance.py)."""
        from transforms.relevance import RelevanceRules, score_relevance

        if self._relevance_rules is None:
            cfg = self.settings.relevance
            self._relevance_rules = RelevanceRules(cfg.min_score, cfg.channels, cfg.terms)
        kinds = [(m["entity_id"], m["kind"]) for m in analysis["mentions"] if m.get("origin") == "gazetteer"]
        return score_relevance(self._relevance_rules, text=doc.text, channel=doc.channel,
                               entities=kinds, themes=analysis["themes"])

    # ------------------------------------------------------------------ core
    def analyze_texts(self, texts: Iterable[str], n_process: int | None = None) -> Iterator[dict[str, Any]]:
        """One analysis dict per input text, in order.

        Keys: language, sentiment, themes, mentions (list), sentences (list), n_words, skipped
        (None, "empty", "non-english" or "error"), capped_from (the full length when the text was
        longer than ``nlp.max_text_chars`` and only its capped prefix was analysed, else None), and
        error (why, when skipped is "error"). English texts go through ``nlp.pipe`` in memory zones.

        One text that raises (in spaCy, our component or language detection) costs only itself:
        the zone is redone one text at a time and only the failing text gets ``skipped="error"``.

        Language detection runs lazily inside the generator that feeds ``nlp.pipe``: with
        ``n_process=2`` spaCy pulls input as its workers need it, so the parent detects the
        language of the next texts while the workers parse the previous ones (detecting a whole
        zone up front left both workers idle meanwhile and capped the stage at 1-process speed).
        """
        from transforms.language import detect_language
        from transforms.nlp import USER_KEY

        nlp = self.nlp
        n_process = n_process or self.settings.nlp.n_process
        zone: list[str] = []
        zone_capped: list[int | None] = []  # issue 12: full length of each capped text, else None
        max_chars = self.settings.nlp.max_text_chars

        def skipped(text: str) -> dict[str, Any] | None:
            if not text or not text.strip():
                return {"language": "und", "skipped": "empty", "sentiment": None, "themes": [],
                        "mentions": [], "n_words": 0}
            lang = detect_language(text)
            if lang != "en":
                return {"language": lang, "skipped": "non-english", "sentiment": None, "themes": [],
                        "mentions": [], "n_words": _word_count(text)}
            return None

        def flush() -> Iterator[dict[str, Any]]:
            out: dict[int, dict[str, Any]] = {}
            pending: deque[int] = deque()  # zone positions of the texts sent to spaCy, in order

            def english() -> Iterator[str]:
                for i, text in enumerate(zone):
                    routed = skipped(text)
                    if routed is None:
                        pending.append(i)
                        yield text
                    else:
                        out[i] = routed

            batch_size = adaptive_batch_size([t for t in zone if t], self.settings.nlp.batch_size)
            try:
                with nlp.memory_zone():
                    # Plain strings, not as_tuples: spaCy tokenises and serialises as_tuples input in
                    # the parent process, which capped 2 processes at 1.1x one process. nlp.pipe keeps
                    # input order, so the positions queue says which text each Doc is.
                    for doc in nlp.pipe(english(), batch_size=batch_size, n_process=n_process):
                        out[pending.popleft()] = {"language": "en", "skipped": None,
                                                  **(doc.user_data.get(USER_KEY) or {})}
            except Exception as exc:  # noqa: BLE001 - issue 12: find the culprit, keep the others
                log.warning("enrich: a zone of %d texts failed (%s: %s); redoing it one text at a time",
                            len(zone), type(exc).__name__, str(exc)[:200])
                out.clear()
                pending.clear()
                with nlp.memory_zone():
                    for i, text in enumerate(zone):
                        try:
                            routed = skipped(text)
                            if routed is None:
                                doc = nlp(text)
                                routed = {"language": "en", "skipped": None,
                                          **(doc.user_data.get(USER_KEY) or {})}
                        except Exception as one:  # noqa: BLE001
                            routed = _failed_analysis(one)
                        out[i] = routed
            for i in range(len(zone)):
                yield {**out.pop(i), "capped_from": zone_capped[i]}
            zone.clear()
            zone_capped.clear()

        zone_words = 0
        for text in texts:
            text = text if isinstance(text, str) else ""
            zone_capped.append(len(text) if len(text) > max_chars else None)
            zone.append(cap_text(text, max_chars))  # before any split(): a 10M-char text stays cheap
            zone_words += _word_count(zone[-1])
            if len(zone) >= ZONE_SIZE or zone_words >= ZONE_WORDS:
                yield from flush()
                zone_words = 0
        if zone:
            yield from flush()

    def enrich_documents(self, docs: Iterable[Document]) -> EnrichResult:
        """Enrich documents; see docs/architecture.md for the three output row shapes."""
        result = EnrichResult()
        entities: dict[str, dict[str, Any]] = {}
        ner_aliases: dict[str, set[str]] = {}
        doc_list = list(docs)
        started = time.perf_counter()
        last_log = started
        words = 0
        counts = {"documents": 0, "tombstones": 0, "non_english": 0, "empty": 0, "english": 0,
                  "nlp_capped": 0}
        rejected = 0
        routed: list[tuple[int, int, list[dict[str, Any]]]] = []  # issue 11: (row, doc, sentences)
        routed_mentions: list[int] = []  # issue 11: indices into result.mentions of routed documents
        mentions_embedded = 0
        model_ids = self.sentiment_router.model_ids()
        embedding = BesideSpacy(self.sentiment_router, doc_list,
                                enabled=self.settings.nlp.n_process == 1)
        try:
            analyses = self.analyze_texts(d.text for d in doc_list)
            for n, (doc, a) in enumerate(zip(doc_list, analyses, strict=True), 1):
                # --- issue 12: a document whose analysis raised, or whose rows cannot be built, is
                # quarantined alone with its reason; the night goes on. ---------------------------
                if a.get("error"):
                    result.quarantined.append(quarantine_row(doc.doc_id, doc.source, doc.url, "enrich",
                                                             a["error"], doc.to_dict()))
                    continue
                marks = (len(result.documents), len(result.mentions), dict(counts), words, rejected)
                try:
                    row = doc.to_dict()
                    row["language"] = a["language"]
                    row["sentiment"] = None if a["sentiment"] is None else round(a["sentiment"], 4)
                    if row["sentiment"] is not None:  # which model scored it (warehouse.sentiment_models)
                        row["extra"] = {**(row.get("extra") or {}), "sentiment_model": model_ids["lexicon"]}
                    row["themes"] = list(a["themes"])
                    counts["documents"] += 1
                    if a["skipped"] == "empty":
                        kind = "tombstone" if doc.body is None else "empty"
                        counts["tombstones" if kind == "tombstone" else "empty"] += 1
                        row["language"] = doc.language or "und"
                        row["extra"] = {**row.get("extra", {}), "nlp_skipped": kind}
                    elif a["skipped"] == "non-english":
                        counts["non_english"] += 1
                        row["extra"] = {**row.get("extra", {}), "nlp_skipped": "non-english"}
                    else:
                        counts["english"] += 1
                    if a.get("capped_from"):  # issue 12: full text kept, only its prefix analysed
                        counts["nlp_capped"] += 1
                        row["extra"] = {**row.get("extra", {}), "nlp_capped_from": a["capped_from"],
                                        "nlp_capped_at": self.settings.nlp.max_text_chars}
                    words += a.get("n_words", 0)
                    rejected += len(a.get("rejected", ()))
                    rel = self.relevance(doc, a)
                    row["relevance"], row["on_topic"] = rel.score, rel.on_topic
                    result.documents.append(row)
                    for m in a["mentions"]:
                        eid = m["entity_id"]
                        result.mentions.append({
                            "doc_id": doc.doc_id, "entity_id": eid, "sentence_idx": m["sentence_idx"],
                            "start_char": m["start_char"], "end_char": m["end_char"], "surface": m["surface"],
                            "sentence": m["sentence"], "sentiment": m["sentiment"],
                        })
                        if eid not in entities:
                            if m["origin"] == "gazetteer":
                                entities[eid] = self._gazetteer.get(eid).to_entity()
                            else:
                                entities[eid] = {"entity_id": eid, "name": m["name"], "label": m["label"],
                                                 "kind": m["kind"], "aliases": [], "origin": "ner"}
                                ner_aliases[eid] = set()
                        if m["origin"] == "ner" and m["surface"] != entities[eid]["name"]:
                            ner_aliases[eid].add(m["surface"])
                except Exception as exc:  # noqa: BLE001
                    del result.documents[marks[0]:], result.mentions[marks[1]:]
                    counts, words, rejected = marks[2], marks[3], marks[4]
                    reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
                    result.quarantined.append(quarantine_row(doc.doc_id, doc.source, doc.url, "enrich",
                                                             reason, doc.to_dict()))
                    continue
                # --- end issue 12 -------------------------------------------------------------------
                if a["skipped"] is None and self.sentiment_router.routes(doc.source, doc.text):  # issue 11
                    routed.append((len(result.documents) - 1, n - 1, a.get("sentences") or []))
                    routed_mentions.extend(range(marks[1], len(result.mentions)))
                now = time.perf_counter()
                if now - last_log >= PROGRESS_EVERY_S:
                    log.info("enrich: %d/%d documents, %.0f words/s", n, len(doc_list),
                             words / (now - started))
                    last_log = now
            # --- issue 11: re-score the document sentiment of routed documents, batched, then their
            # mentions (DocumentSentimentRouter.rescore_mentions).
            if routed:
                docs_routed = [k for _, k, _ in routed]
                scores = self.sentiment_router.score_analyses([doc_list[k].text for k in docs_routed],
                                                              [x for _, _, x in routed],
                                                              embedding.vectors(docs_routed))
                for (i, _, _), score in zip(routed, scores, strict=True):
                    result.documents[i]["sentiment"] = round(score, 4)
                    result.documents[i]["extra"] = {**(result.documents[i].get("extra") or {}),
                                                    "sentiment_model": model_ids["embedding"]}
                # A one-sentence document's mention sentence is its text: no second embedding.
                known = {doc_list[k].text.strip(): score
                         for (_, k, sents), score in zip(routed, scores, strict=True) if len(sents) == 1}
                mentions_embedded = self.sentiment_router.rescore_mentions(
                    [result.mentions[j] for j in routed_mentions], known)
            # --- end issue 11
        finally:
            embedding.close()
        for eid, aliases in ner_aliases.items():
            entities[eid]["aliases"] = sorted(aliases)
        result.entities = sorted(entities.values(), key=lambda e: e["entity_id"])
        elapsed = time.perf_counter() - started
        result.stats = {
            **counts, "mentions": len(result.mentions), "entities": len(result.entities),
            "rejected_spans": rejected, "words": words, "seconds": round(elapsed, 3),
            "words_per_s": round(words / elapsed, 1) if elapsed > 0 else None,
            "quarantined": len(result.quarantined),
            "sentiment_embedded": len(routed), "mentions_embedded": mentions_embedded,  # issue 11
        }
        return result

    def enrich_text(self, text: str, source: str | None = None) -> dict[str, Any]:
        """What `pulse enrich PATH` prints: language, sentiment (document level; with ``source``,
        also ``sentiment_model``, see :meth:`enrich_texts`), themes, entities with mentions and
        entity-level sentiment, and sentences with sentence-level sentiment."""
        return self.enrich_texts([text], source)[0]

    def enrich_texts(self, texts: Iterable[str], source: str | None = None) -> list[dict[str, Any]]:
        """Batch form of :meth:`enrich_text` (the model loads once for all texts).

        ``source``: score each text's *document* sentiment as the nightly would for a document of
        that source (the fine-tuned embedding model when ``[nlp] sentiment_embed_sources`` routes
        it, else the lexicon model) and say which model in ``sentiment_model`` (its id, as the
        warehouse stores it: transforms.sentiment.sentiment_model_ids). A routed text's
        entities get the embedding model's mention scores too, as in the nightly
        (DocumentSentimentRouter.rescore_mentions), and its sentences the embedding model's score
        of each sentence (the nightly stores no sentence scores). None keeps the lexicon model."""
        out = []
        texts = list(texts)
        model_ids = self.sentiment_router.model_ids()  # as core.documents.sentiment_model stores them
        analyses = list(self.analyze_texts(texts))
        routed = [k for k, (t, a) in enumerate(zip(texts, analyses, strict=True))
                  if source is not None and not a.get("error") and a.get("skipped") is None
                  and self.sentiment_router.routes(source, t)]
        document_scores: dict[int, float] = {}
        if routed:
            sentences = [analyses[k].get("sentences") or [] for k in routed]
            scores = self.sentiment_router.score_analyses([texts[k] for k in routed], sentences)
            document_scores = dict(zip(routed, scores, strict=True))
            known = {texts[k].strip(): score for k, score in document_scores.items()
                     if len(analyses[k].get("sentences") or ()) == 1}
            # Sentences of a routed text are shown with the embedding model's score too (the
            # nightly stores no sentence scores); its mentions then reuse those scores.
            for k in routed:
                for sent in analyses[k].get("sentences") or ():
                    sent["text"] = texts[k][sent["start_char"]:sent["end_char"]].strip()
            known = self.sentiment_router.text_scores(
                [sent["text"] for k in routed for sent in analyses[k].get("sentences") or ()], known)
            for k in routed:
                for sent in analyses[k].get("sentences") or ():
                    sent["sentiment"] = round(known[sent["text"]], 4)
            mentions = [m for k in routed for m in analyses[k]["mentions"]]
            self.sentiment_router.rescore_mentions(mentions, known)
        for k, (text, a) in enumerate(zip(texts, analyses, strict=True)):
            grouped: dict[str, dict[str, Any]] = {}
            scores: dict[str, list[float]] = {}
            for m in a["mentions"]:
                e = grouped.setdefault(m["entity_id"], {"name": m["name"], "label": m["label"],
                                                         "id": m["entity_id"], "kind": m["kind"],
                                                         "mentions": 0, "sentiment": None})
                e["mentions"] += 1
                scores.setdefault(m["entity_id"], []).append(m["sentiment"])
            for eid, e in grouped.items():
                s = mean_or_none(scores[eid])
                e["sentiment"] = None if s is None else round(s, 4)
            if a.get("error"):  # issue 12: this text alone failed; say why instead of raising
                out.append({"error": f"enrichment failed: {a['error']}"})
                continue
            sentiment = document_scores.get(k, a["sentiment"])
            capped = {"nlp_capped_from": a["capped_from"]} if a.get("capped_from") else {}
            model = {} if source is None else {  # None: no model scored it (empty or not English)
                "sentiment_model": None if sentiment is None else model_ids["embedding"]
                if k in document_scores else model_ids["lexicon"]}
            out.append({
                **capped,
                "language": a["language"],
                "sentiment": None if sentiment is None else round(sentiment, 4),
                **model,
                "themes": list(a["themes"]),
                "entities": sorted(grouped.values(), key=lambda e: (-e["mentions"], e["id"])),
                "sentences": [
                    {"text": text[s["start_char"]:s["end_char"]].strip(), "sentiment": s["sentiment"]}
                    for s in a.get("sentences", ())
                ],
            })
        return out


JSONL_BATCH = 64  # texts per enrich_texts call in `pulse enrich --jsonl`: nlp.pipe batching, bounded memory


def enrich_jsonl_lines(enricher: Enricher, lines: Iterable[str], batch_size: int = JSONL_BATCH,
                       source: str | None = None) -> Iterator[dict[str, Any]]:
    """What `pulse enrich --jsonl` writes: one object per non-blank input line, in input order.

    Each good line ``{"id", "text"}`` gives ``{"id", language, sentiment, themes, entities}`` (and
    ``sentiment_model`` when ``source`` is given, as `pulse enrich --source` does by default); a bad
    line gives ``{"line", "id" (if any), "error"}`` instead of stopping the run. Texts are enriched
    in batches through one Enricher (model loaded once, ``nlp.pipe`` batching), but results are
    still streamed batch by batch, so a long stdin stream is not held in memory.
    """
    pending: list[tuple[int, Any, str | None, str | None]] = []  # (line, id, text, error)

    def flush() -> Iterator[dict[str, Any]]:
        texts = [t for _, _, t, err in pending if err is None]
        results = iter(enricher.enrich_texts(texts, source)) if texts else iter(())
        for n, item_id, _, err in pending:
            if err is not None:
                row: dict[str, Any] = {"line": n, "error": err}
                if item_id is not None:
                    row["id"] = item_id
                yield row
            else:
                yield {"id": item_id, **next(results)}
        pending.clear()

    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            pending.append((n, None, None, f"bad input line: not JSON ({exc.msg})"))
        else:
            if not isinstance(item, dict):
                pending.append((n, None, None, "bad input line: not a JSON object"))
            elif not isinstance(item.get("text"), str):
                pending.append((n, item.get("id"), None, 'bad input line: "text" missing or not a string'))
            else:
                pending.append((n, item.get("id"), item["text"], None))
        if sum(1 for p in pending if p[3] is None) >= batch_size:
            yield from flush()
    if pending:
        yield from flush()


def _read_documents(work_dir: Path) -> tuple[list[Document], list[dict[str, Any]]]:
    """Documents from every ``*.documents.jsonl`` (sorted, last duplicate wins) + rejected rows."""
    docs: dict[str, Document] = {}
    rejects: list[dict[str, Any]] = []
    for path in sorted(work_dir.glob("*.documents.jsonl")):
        try:
            rows = list(read_jsonl(path))
        except (OSError, ValueError) as exc:
            rejects.append({"file": path.name, "line": None, "reason": f"unreadable: {exc}"})
            continue
        for line_no, raw in enumerate(rows, 1):
            try:
                if not isinstance(raw, dict):
                    raise ValueError("row is not a JSON object")
                doc = Document.from_dict(raw)
                if not isinstance(doc.doc_id, str) or not doc.doc_id:
                    raise ValueError("missing doc_id")
                for name in ("title", "body"):
                    if getattr(doc, name) is not None and not isinstance(getattr(doc, name), str):
                        raise ValueError(f"{name} is not a string")
            except (TypeError, ValueError) as exc:
                rejects.append({"file": path.name, "line": line_no, "reason": str(exc), "row": raw,
                                "doc_id": raw.get("doc_id") if isinstance(raw, dict) else None})
                continue
            docs[doc.doc_id] = doc
    return list(docs.values()), rejects


# --- issue 14: enrich fans out over shards of the night's documents --------------------------
#: work/<night>/enriched/plan.json: how many shards and which documents each one enriches.
PLAN_FILE = "plan.json"
SHARDS_DIR = "shards"
_SHARD_FILES = ("documents", "mentions", "entities")
_JSON_COLUMNS_KEY = b"pulse.json_columns"


def write_rows_parquet(path: Path, rows: list[dict[str, Any]]) -> int:
    """A shard's rows as one Parquet file, written atomically; returns the row count.

    Why JSON text for some columns: the enriched rows carry free-form values (a document's
    ``extra`` dict, lists of themes or aliases) whose Parquet types could vary from shard to
    shard; a column holding any nested value, mixed types or a key some rows lack is stored as
    JSON text (named in the file's metadata), so every row reads back exactly as written
    (:func:`read_rows_parquet`). The typed, analyst-facing Parquet is the lake's (warehouse.lake).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from common.files import atomic_path

    keys: list[str] = list(dict.fromkeys(k for row in rows for k in row))
    as_json = []
    arrays: dict[str, list[Any]] = {}
    for key in keys:
        values = [row.get(key, _MISSING) for row in rows]
        kinds = {type(v) for v in values if v is not None}
        if kinds - {str, int, float, bool} or len(kinds) > 1 or not _parquet_safe(values):
            as_json.append(key)  # ASCII escapes: a lone surrogate (not UTF-8) survives as well
            values = [None if v is None else json.dumps(v, ensure_ascii=True, default=str)
                      if v is not _MISSING else _MISSING_JSON for v in values]
        arrays[key] = values
    table = pa.table(arrays) if keys else pa.table({"_row": [None] * len(rows)})
    table = table.replace_schema_metadata({_JSON_COLUMNS_KEY: json.dumps(as_json).encode()})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return len(rows)


def read_rows_parquet(path: Path) -> list[dict[str, Any]]:
    """The rows :func:`write_rows_parquet` wrote, exactly (keys, order, values and types)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    as_json = set(json.loads((table.schema.metadata or {}).get(_JSON_COLUMNS_KEY, b"[]")))
    if table.column_names == ["_row"]:
        return [{} for _ in range(table.num_rows)]
    out = []
    for row in table.to_pylist():
        decoded = {}
        for key, value in row.items():
            if key in as_json and value is not None:
                if value == _MISSING_JSON:
                    continue  # this row did not have the key
                value = json.loads(value)
            decoded[key] = value
        out.append(decoded)
    return out


def _parquet_safe(values: list[Any]) -> bool:
    """Whether Parquet holds every value as it is: UTF-8 text and 64-bit integers. One hostile
    value (a lone surrogate, a score of 10**30) sends its column to JSON text instead of failing
    the whole shard."""
    try:
        for v in values:
            if isinstance(v, str):
                v.encode("utf-8")
            elif isinstance(v, int) and not isinstance(v, bool) and not -(2**63) <= v < 2**63:
                return False
    except UnicodeEncodeError:
        return False
    return True


class _Missing:
    """A key a row does not have (unlike a key holding None)."""


_MISSING = _Missing()
_MISSING_JSON = "\x00missing"  # never valid JSON, so never a real value's text


def shard_dir(work_dir: Path, shard: int) -> Path:
    return Path(work_dir) / "enriched" / SHARDS_DIR / f"shard={shard}"


def _cost(doc: Document, max_chars: int) -> int:
    """A document's enrich cost: the words spaCy will see (its text up to the NLP cap), plus one
    for its fixed per-document work."""
    return 1 + len(cap_text(doc.text or "", max_chars).split())


def balanced_assignment(docs: list[Document], shards: int, max_chars: int = 100_000) -> dict[str, int]:
    """doc_id -> shard: contiguous slices of the reading order with about equal words each.

    Why words, not documents: spaCy's cost grows with the words, and a night mixes one-line
    comments with long posts and articles; equal counts left one shard of a benchmark night 50%
    slower than the rest, which the other worker then waited for. Words are counted up to
    ``max_chars`` (``nlp.max_text_chars``), as spaCy sees them. Falls back to equal counts when a
    very long document would leave a shard empty (every shard must have work). ``shards`` is
    clamped to ``1..len(docs)``."""
    n = len(docs)
    if n == 0:
        return {}
    shards = max(1, min(shards, n))
    costs = [_cost(d, max_chars) for d in docs]
    total = sum(costs)
    out: dict[str, int] = {}
    before = 0
    for doc, cost in zip(docs, costs, strict=True):
        out[doc.doc_id] = min(shards - 1, (before + cost // 2) * shards // total)
        before += cost
    if len(set(out.values())) < shards:
        return {doc.doc_id: i * shards // n for i, doc in enumerate(docs)}
    return out


def plan_shards(ctx: RunContext) -> dict[str, Any]:
    """Split the night's documents into contiguous shards of about equal words; write the plan.

    Why contiguous slices of the reading order: merging the shards in order then reproduces the
    one-pass output exactly (rows in the same order, each NER entity named by its first mention).
    The shard count is ``ceil(n / enrich_shard_size)`` rounded up to a multiple of
    :func:`~common.config.enrich_parallel` (shards running at once), bounded by ``max_shards``
    (far under Airflow's max_map_length) and by the number of documents. A night without
    documents still gets one shard, so the DAG's mapped task and the merge run the same way on an
    empty night.
    """
    import math
    import shutil

    work_dir = Path(ctx.work_dir)
    docs, rejects = _read_documents(work_dir)
    from transforms.topics import load_topics  # a broken config/topics.toml fails here, in seconds

    load_topics(ctx.settings.config_file("topics.toml"), missing_ok=True)
    cfg = ctx.settings.storage
    n = len(docs)
    shards = math.ceil(n / cfg.enrich_shard_size)
    parallel = enrich_parallel()
    if shards > 1 and parallel > 1:  # whole waves: no worker idles while the last shard runs
        shards = math.ceil(shards / parallel) * parallel
    shards = max(1, min(cfg.max_shards, n, shards))
    plan = {"night": ctx.night.isoformat(), "run_id": ctx.run_id, "shards": shards, "documents": n,
            "rejected_rows": len(rejects),
            "assignment": balanced_assignment(docs, shards, ctx.settings.nlp.max_text_chars)}
    write_json(Path(work_dir) / "enriched" / PLAN_FILE, plan)
    root = Path(work_dir) / "enriched" / SHARDS_DIR
    for stale in sorted(root.glob("shard=*")) if root.is_dir() else []:
        if int(stale.name.partition("=")[2]) >= shards:  # a re-run with fewer shards
            shutil.rmtree(stale, ignore_errors=True)
    log.info("enrich %s: %d documents in %d shard(s) of about equal words (~%d documents each)",
             ctx.night, n, shards, -(-n // shards) if n else 0)
    return plan


def _read_plan(work_dir: Path) -> dict[str, Any]:
    path = Path(work_dir) / "enriched" / PLAN_FILE
    try:
        plan = read_json(path)
        if not isinstance(plan.get("shards"), int) or not isinstance(plan.get("assignment"), dict):
            raise ValueError("no shard count or assignment")
        return plan
    except (OSError, ValueError) as exc:
        raise RuntimeError(f"no usable enrich plan at {path} ({exc}): run enrich_plan first") from exc


def enrich_shard(ctx: RunContext, shard: int, enricher: Enricher | None = None) -> dict[str, Any]:
    """Enrich one shard's documents into ``enriched/shards/shard=<k>/`` (documents, mentions,
    entities, quarantine, summary). Unreadable extract rows are set aside by shard 0 only, so
    each is quarantined once. Re-running a shard rewrites the same files."""
    work_dir = Path(ctx.work_dir)
    plan = _read_plan(work_dir)
    if not 0 <= shard < plan["shards"]:
        raise ValueError(f"shard {shard} is outside the plan's 0..{plan['shards'] - 1}")
    docs, rejects = _read_documents(work_dir)
    mine = [d for d in docs if plan["assignment"].get(d.doc_id) == shard]
    rejects = rejects if shard == 0 else []
    for r in rejects[:20]:
        log.warning("enrich: rejected %s line %s: %s", r["file"], r["line"], r["reason"])
    log.info("enrich %s shard %d/%d: %d documents", ctx.night, shard + 1, plan["shards"], len(mine))
    enricher = enricher or Enricher(ctx.settings)
    result = enricher.enrich_documents(mine)
    out_dir = shard_dir(work_dir, shard)
    for name in _SHARD_FILES:  # Parquet, partitioned by night and shard (work/<night>/.../shard=<k>/)
        write_rows_parquet(out_dir / f"{name}.parquet", getattr(result, name))
    # issue 12: every document set aside alone (unreadable rows and documents whose enrichment
    # raised) has one row, which load copies to quarantine.documents with its reason.
    quarantined = [quarantine_row(r.get("doc_id"), None, None, "enrich",
                                  f"unreadable row {r['file']}:{r['line']}: {r['reason']}", r.get("row"))
                   for r in rejects] + result.quarantined
    write_jsonl(out_dir / "quarantine.jsonl", quarantined)
    for q in result.quarantined[:20]:
        log.warning("enrich: quarantined %s alone: %s", q["doc_id"], q["reason"])
    summary = {"night": ctx.night.isoformat(), "run_id": ctx.run_id, "shard": shard, **result.stats,
               "rejected_rows": len(rejects), "rejects": [{k: v for k, v in r.items() if k != "row"}
                                                           for r in rejects[:100]]}
    write_json(out_dir / "summary.json", summary)
    return summary


def merge_shards(ctx: RunContext) -> dict[str, Any]:
    """Join the shards into ``enriched/{documents,mentions,entities,document_topics}.jsonl`` and
    the night's quarantine and summary: exactly what one pass over the night writes.

    Entities: the first shard's row wins (shards are in reading order); an NER entity's aliases
    are recomputed from all its mentions, as one pass collects them. Topics are tagged here, on
    the whole batch. A missing shard fails the merge (its task did not finish), never a silent gap.
    """
    from transforms.topics import load_topics, write_document_topics

    work_dir = Path(ctx.work_dir)
    plan = _read_plan(work_dir)
    documents: list[dict[str, Any]] = []
    mentions: list[dict[str, Any]] = []
    entities: dict[str, dict[str, Any]] = {}
    quarantined: list[dict[str, Any]] = []
    summaries: list[dict[str, Any]] = []
    for shard in range(plan["shards"]):
        folder = shard_dir(work_dir, shard)
        try:
            summary = read_json(folder / "summary.json")
            if summary.get("run_id") != ctx.run_id:
                raise ValueError(f"written by run {summary.get('run_id')!r}, not {ctx.run_id!r}")
            documents += read_rows_parquet(folder / "documents.parquet")
            mentions += read_rows_parquet(folder / "mentions.parquet")
            for row in read_rows_parquet(folder / "entities.parquet"):
                entities.setdefault(row["entity_id"], row)
            quarantined += list(read_jsonl(folder / "quarantine.jsonl"))
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"enrich shard {shard} of {plan['shards']} is missing or stale in "
                               f"{folder} ({exc}); re-run that shard") from exc
        summaries.append(summary)
    surfaces: dict[str, set[str]] = {}
    for m in mentions:
        if entities.get(m["entity_id"], {}).get("origin") == "ner":
            surfaces.setdefault(m["entity_id"], set()).add(m["surface"])
    for eid, seen in surfaces.items():
        entities[eid]["aliases"] = sorted(seen - {entities[eid]["name"]})
    out_dir = work_dir / "enriched"
    ordered = sorted(entities.values(), key=lambda e: e["entity_id"])
    write_jsonl(out_dir / "documents.jsonl", documents)
    write_jsonl(out_dir / "mentions.jsonl", mentions)
    write_jsonl(out_dir / "entities.jsonl", ordered)
    topics = load_topics(ctx.settings.config_file("topics.toml"), missing_ok=True)  # issue 15
    n_topics = write_document_topics(out_dir / "document_topics.jsonl", documents, mentions, topics, ordered)
    write_jsonl(enrich_quarantine_path(work_dir), quarantined)
    numbers = {}
    for s in summaries:
        for key, value in s.items():
            if isinstance(value, int | float) and not isinstance(value, bool) and key != "shard":
                numbers[key] = numbers.get(key, 0) + value
    numbers.pop("words_per_s", None)
    seconds = numbers.get("seconds") or 0
    summary = {"night": ctx.night.isoformat(), "run_id": ctx.run_id, **numbers,
               "seconds": round(seconds, 3), "entities": len(ordered), "document_topics": n_topics,
               "words_per_s": round(numbers.get("words", 0) / seconds, 1) if seconds > 0 else None,
               "shards": plan["shards"], "rejects": summaries[0].get("rejects", []) if summaries else []}
    write_json(out_dir / "summary.json", summary)
    log.info("enrich %s: %s", ctx.night, {k: v for k, v in summary.items() if k != "rejects"})
    return summary


def enrich_night(ctx: RunContext, enricher: Enricher | None = None) -> dict[str, Any]:
    """The whole enrich of one night in this process: plan, every shard, merge (what the DAG's
    mapped tasks do across workers). Writes enriched/{documents,mentions,entities,
    document_topics}.jsonl atomically and returns the summary (also enriched/summary.json).

    Re-running rewrites the same files from the same inputs, so it never duplicates.
    """
    plan = plan_shards(ctx)
    enricher = enricher or Enricher(ctx.settings)
    for shard in range(plan["shards"]):
        enrich_shard(ctx, shard, enricher)
    return merge_shards(ctx)
# --- end issue 14 ----------------------------------------------------------------------------
