"""The spaCy pipeline: model + paragraph breaks + gazetteer EntityRuler + our analysis component.

Why the analysis (sentences, sentiment, entity canonicalisation, themes) runs as a pipeline
component instead of after ``nlp.pipe``: with ``n_process=2`` spaCy parses in worker processes and
the parent only collects results. Doing our work in the parent would serialise it behind the
parse and cap the stage far below raw spaCy throughput; as a component it runs in the workers and
comes back as plain data in ``doc.user_data["pulse"]``.

This module imports spaCy at top level, so only import it lazily (transforms.enrich does).
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

import numpy
import spacy
from spacy.language import Language
from spacy.tokens import Doc

from transforms.canonical import KIND_BY_LABEL, junk_reason, ner_entity_id, normalize_surface
from transforms.gazetteer import Gazetteer, load_gazetteer
from transforms.sentiment import SentimentScorer
from transforms.themes import ThemeTagger, load_themes

USER_KEY = "pulse"


@Language.component("pulse_paragraph_breaks")
def paragraph_breaks(doc: Doc) -> Doc:
    """Force a sentence start after a line break, so a title never merges with the first body
    sentence (Document.text is title + "\\n\\n" + body) and list items stay separate; and forbid
    one inside a gazetteer entity (the small parser splits "TikTok | Shop is amazing")."""
    for i, token in enumerate(doc[:-1]):
        if token.is_space and "\n" in token.text:
            doc[i + 1].is_sent_start = True
    for ent in doc.ents:
        for token in ent[1:]:
            token.is_sent_start = False
    return doc


class PulseAnalyzer:
    """Turns a parsed Doc into plain data: sentences with scores, mentions, themes, sentiment.

    Results go to ``doc.user_data["pulse"]`` (serialisable, so they survive multiprocessing).
    """

    def __init__(self, nlp: Language, gazetteer_path: str, themes_path: str) -> None:
        self.gazetteer: Gazetteer = load_gazetteer(Path(gazetteer_path))
        self.scorer = SentimentScorer()

        def lemmatize(term: str) -> list[str]:
            # Lemmatise terms with the tagger+lemmatizer only: cheap and deterministic.
            doc = nlp.make_doc(term)
            for name in ("tok2vec", "tagger", "attribute_ruler", "lemmatizer"):
                if name in nlp.pipe_names:
                    doc = nlp.get_pipe(name)(doc)
            return [t.lemma_ or t.text for t in doc if not t.is_punct]

        self.tagger = ThemeTagger(load_themes(Path(themes_path)), lemmatize=lemmatize)

    def __call__(self, doc: Doc) -> Doc:
        sents = list(doc.sents)
        sent_index = {s.start: i for i, s in enumerate(sents)}
        sent_parts = [self.scorer.parts(s.text) for s in sents]
        sent_scores = [self.scorer.score_parts([p]) for p in sent_parts]
        words: list[str] = []
        lemmas: list[str] = []
        lowercase_forms: set[str] = set()  # words this doc writes in lower case somewhere
        for t in doc:  # one pass: Token objects are built on each iteration, so don't iterate twice
            if not (t.is_space or t.is_punct):
                words.append(t.lower_)
                lemmas.append((t.lemma_ or t.text).lower())
                if t.is_lower:
                    lowercase_forms.add(t.text)
        mentions: list[dict[str, Any]] = []
        rejected: list[tuple[str, str]] = []
        clause_cache: dict[int, list[tuple[int, int, float]]] = {}
        for ent in doc.ents:
            info = self._resolve(ent, rejected, lowercase_forms)
            if info is None:
                continue
            start, end, surface = self._trim(ent)
            sent = ent.sent
            idx = sent_index.get(sent.start, 0)
            if idx not in clause_cache:  # several mentions in one sentence share its clauses
                clause_cache[idx] = self.scorer.clause_scores(sent.text, sent_scores[idx])
            score = self.scorer.mention_score(
                sent.text, start - sent.start_char, end - sent.start_char, sent_scores[idx], clause_cache[idx]
            )
            mentions.append(
                {
                    **info,
                    "sentence_idx": idx,
                    "start_char": start,
                    "end_char": end,
                    "surface": surface,
                    "sentence": sent.text.strip(),
                    "sentiment": round(score, 4),
                }
            )
        doc.user_data[USER_KEY] = {
            "sentiment": self.scorer.score_parts(sent_parts) if sent_parts else None,
            # sentence level: character offsets into the text and the sentence's score
            "sentences": [{"start_char": s.start_char, "end_char": s.end_char, "sentiment": round(v, 4)}
                          for s, v in zip(sents, sent_scores, strict=True) if s.text.strip()],
            "themes": self.tagger.tag(words, lemmas),
            "mentions": mentions,
            "rejected": rejected,
            "n_words": len(words),
        }
        # Nothing downstream reads the tok2vec tensor (96 floats per token); with n_process > 1
        # every Doc is serialised back to the parent, so dropping it here cuts that traffic.
        doc.tensor = numpy.zeros((0,), dtype="float32")
        return doc

    @staticmethod
    def _trim(ent: Any) -> tuple[int, int, str]:
        """Offsets of the canonical part of the span (drops a leading "the", a trailing "'s")."""
        name = normalize_surface(ent.text)
        pos = ent.text.find(name) if name else -1
        if pos < 0:
            return ent.start_char, ent.end_char, ent.text
        start = ent.start_char + pos
        return start, start + len(name), name

    def _resolve(self, ent: Any, rejected: list[tuple[str, str]], lowercase_forms: AbstractSet[str]
                 ) -> dict[str, Any] | None:
        """Gazetteer entity (by ruler id, or by canonical key for NER spans), NER entity, or junk."""
        if ent.ent_id_:
            entry = self.gazetteer.get(ent.ent_id_)
            if entry is not None:
                return {"entity_id": entry.id, "name": entry.name, "label": entry.label,
                        "kind": entry.kind, "origin": "gazetteer"}
        reason = junk_reason(ent.text, ent.label_)
        if reason is not None:
            if ent.label_ not in ("DATE", "CARDINAL", "MONEY", "PERCENT", "TIME", "ORDINAL", "QUANTITY"):
                rejected.append((ent.text, reason))
            return None
        entry = self.gazetteer.lookup(ent.text)
        if entry is not None:
            return {"entity_id": entry.id, "name": entry.name, "label": entry.label,
                    "kind": entry.kind, "origin": "gazetteer"}
        reason = sentence_initial_common_word(ent, lowercase_forms)
        if reason is not None:
            rejected.append((ent.text, reason))
            return None
        name = normalize_surface(ent.text)
        return {"entity_id": ner_entity_id(ent.label_, name), "name": name, "label": ent.label_,
                "kind": KIND_BY_LABEL.get(ent.label_, "other"), "origin": "ner"}


_PROPER_TAGS = frozenset({"NNP", "NNPS"})


def sentence_initial_common_word(ent: Any, lowercase_forms: AbstractSet[str]) -> str | None:
    """Why a one-word NER span at the start of a sentence is an ordinary word, or None.

    Why: the small model takes a capitalised first word for a name ("Retailers said...",
    "Based in Germany...", "Congrats!", "Mod post."), and these polluted the report's places and
    organisations. Such a word is junk when the tagger does not call it a proper noun (nationality
    adjectives like "German" excepted), or when the same document writes it in lower case
    elsewhere ("Seller blocked me... the seller never answered"). Acronyms and words inside a
    sentence are left to NER; gazetteer names never reach this check.
    """
    if len(ent) != 1:
        return None
    token = ent[0]
    if token.text.isupper() or not token.text[:1].isupper():
        return None
    sent = token.sent
    if any(not (t.is_punct or t.is_space) for t in sent[: token.i - sent.start]):
        return None  # not the sentence's first word (opening quotes and dashes are skipped)
    if token.tag_ not in _PROPER_TAGS and not (ent.label_ == "NORP" and token.tag_ == "JJ"):
        return "sentence-initial common word"
    if token.text.lower() in lowercase_forms:
        return "sentence-initial common word (lower case elsewhere)"
    return None


@Language.factory("pulse_analyzer", default_config={"gazetteer_path": "", "themes_path": ""})
def make_analyzer(nlp: Language, name: str, gazetteer_path: str, themes_path: str) -> PulseAnalyzer:
    return PulseAnalyzer(nlp, gazetteer_path, themes_path)


def freeze_msgpack_extensions() -> None:
    """Make srsly's msgpack extension look-up a dictionary read instead of a package scan.

    Why: every ``srsly.msgpack_dumps``/``msgpack_loads`` (three per Doc each way when a Doc carries
    ``user_data``, as ours do, to come back from a worker process) calls ``get_all()`` on two
    catalogue registries, which scans the entry points of every installed distribution and copies
    catalogue's whole global registry. With Airflow's ~180 packages installed that took ~1.3 ms
    per call: most of the parent's CPU at ``n_process=2``, enough to cap the stage at 0.74x raw
    spaCy. Registrations are snapshotted once (entry-point extensions included), so behaviour is
    unchanged unless a package registering a msgpack extension is installed mid-run. Applied
    process-wide, so raw spaCy in the same process (bench/nlp.py's baseline) gains it too.
    """
    import srsly.msgpack as srsly_msgpack

    for registry in (srsly_msgpack.msgpack_encoders, srsly_msgpack.msgpack_decoders):
        snapshot = dict(registry.get_all())  # a second call snapshots the snapshot: harmless
        registry.get_all = lambda snapshot=snapshot: snapshot  # type: ignore[method-assign]


def build_pipeline(
    model: str, gazetteer_path: Path, themes_path: str | Path, analyzer: bool = True
) -> Language:
    """Load ``model`` (an installed package name or a path; never downloaded) and add our parts.

    ``analyzer=False`` leaves out our analysis component: bench/train_sentiment.py uses that to
    split training texts into sentences exactly as production does, before any model exists.

    Raises a clear error if the model is not installed, instead of spaCy's hint to download it.
    """
    freeze_msgpack_extensions()
    try:
        nlp = spacy.load(model)
    except OSError as exc:
        raise RuntimeError(
            f"spaCy model {model!r} is not installed (settings.nlp.spacy_model / PULSE_SPACY_MODEL);"
            " install it from the lock, nothing is downloaded at run time"
        ) from exc
    gazetteer = load_gazetteer(Path(gazetteer_path))
    # The ruler only needs tokens, so it runs before the parser (which then cannot split a
    # gazetteer name across sentences) and before "ner" (which keeps the ruler's spans).
    anchor = next((n for n in ("parser", "ner") if n in nlp.pipe_names), None)
    where = {"before": anchor} if anchor else {}
    ruler_config = {"validate": True, "overwrite_ents": False, "phrase_matcher_attr": "LOWER"}
    ruler = nlp.add_pipe("entity_ruler", config=ruler_config, **where)
    with nlp.select_pipes(enable="entity_ruler"):  # phrase patterns need only the tokenizer
        ruler.add_patterns(gazetteer.ruler_patterns(nlp.tokenizer))
    if "parser" in nlp.pipe_names:
        nlp.add_pipe("pulse_paragraph_breaks", before="parser")
    if not analyzer:
        return nlp
    nlp.add_pipe(
        "pulse_analyzer",
        last=True,
        config={"gazetteer_path": str(gazetteer_path), "themes_path": str(themes_path)},
    )
    return nlp
