"""Entity-level precision / recall / F1 of the enrichment against a hand-written gold set.

Why this unit of scoring: what the product stores and the marts count is "document D mentions
canonical entity E of type T", not character spans. So a prediction is correct only when both the
canonical id (which encodes the canonicalisation: "TikTok's" must be platform/tiktok, "Li Jiaqi"
must be person/austin-li) and the spaCy label agree with the gold row; junk (a "Subscribe" ORG, a
"Facebook and YouTube" span) counts as a false positive, a missed entity as a false negative.
Micro-averaged over (text, id) pairs; also split by origin (gazetteer vs statistical NER) so a
regression can be traced to the list or to the model.

Gold files: JSON lines ``{"id", "text", "entities": [{"id", "label"}, ...]}`` plus an optional
``"source"`` (the article id or cassette file the text was quoted from, so the row can be put in
the tune or test half by bench.split.half_of); ids starting with "ner/" are entities the gazetteer
does not know, spelled as transforms.canonical.ner_entity_id would spell them.

- tests/fixtures/entities_gold.jsonl: 64 *synthetic* live-commerce sentences, a regression set.
- tests/fixtures/entities_gold_real.jsonl: paragraphs quoted from the shared real data, annotated
  by a guideline that is independent of the gazetteer (tests/fixtures/README.md). It is scored
  with :data:`REAL_SCOPE`: the guideline annotates people, organisations, places and products
  only, and folds GPE/LOC/FAC into one "place" type (a client asks "which places", not which
  OntoNotes class), so predictions of other types are set aside and counted, not scored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class GoldSetError(ValueError):
    """A gold row is malformed (the message names the line)."""


@dataclass(frozen=True)
class GoldRow:
    id: str
    text: str
    entities: frozenset[tuple[str, str]]  # (entity id, label)
    source: str = ""  # article id or cassette file name, for the tune/test split


@dataclass(frozen=True)
class Scope:
    """Which predictions a gold set can judge, and how labels are compared.

    ``labels``: the (folded) labels the guideline annotates; a prediction with another label is
    set aside (counted in ``Scores.ignored``), because the annotator never looked for it.
    ``fold``: label -> label used on both sides before comparing ("GPE" -> "PLACE").
    """

    labels: frozenset[str] | None = None
    fold: tuple[tuple[str, str], ...] = ()

    def folded(self, label: str) -> str:
        return dict(self.fold).get(label, label)

    def key(self, entity_id: str, label: str) -> tuple[str, str]:
        new = self.folded(label)
        if new != label and entity_id.startswith(f"ner/{label.lower()}/"):
            entity_id = f"ner/{new.lower()}/" + entity_id[len(label) + 5:]
        return entity_id, new

    def judged(self, label: str) -> bool:
        return self.labels is None or self.folded(label) in self.labels


STRICT = Scope()
REAL_SCOPE = Scope(labels=frozenset({"PERSON", "ORG", "PLACE", "PRODUCT"}),
                   fold=(("GPE", "PLACE"), ("LOC", "PLACE"), ("FAC", "PLACE")))


@dataclass
class Scores:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    ignored: int = 0  # predictions outside the gold set's scope (not scored)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def summary(self) -> dict[str, Any]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "ignored": self.ignored,
                "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


def resolved_id(entity: dict[str, Any], gazetteer: Any = None) -> str:
    """The id a gold entity must have under the current gazetteer.

    A gold row records what the span *is* ("Whalar", an organisation); its id is how the product
    spells that. When a later gazetteer lists the name, the product files it under the list's id
    (company/whalar, not ner/org/whalar), so an entity written as "ner/..." whose ``surface`` the
    gazetteer now knows takes the list's id, but only when the annotator's type agrees with the
    list's (places folded together): "Bloomberg" annotated as a PERSON is not the news outlet the
    list means, and stays the annotator's, so a list entry that swallows a person is scored as the
    error it is. The label stays the annotator's."""
    entity_id = str(entity["id"])
    if gazetteer is not None and entity_id.startswith("ner/") and entity.get("surface"):
        entry = gazetteer.lookup(str(entity["surface"]))
        if entry is not None and REAL_SCOPE.folded(entry.label) == REAL_SCOPE.folded(str(entity["label"])):
            return entry.id
    return entity_id


def load_gold(path: Path, gazetteer: Any = None) -> list[GoldRow]:
    """Gold rows from ``path``; with ``gazetteer``, ids follow it (see :func:`resolved_id`)."""
    rows: list[GoldRow] = []
    seen: set[str] = set()
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                ents = frozenset((resolved_id(e, gazetteer), str(e["label"])) for e in raw["entities"])
                row = GoldRow(str(raw["id"]), str(raw["text"]), ents, str(raw.get("source", "")))
            except (ValueError, KeyError, TypeError) as exc:
                raise GoldSetError(f"{path}:{n}: malformed gold row: {exc!r}") from exc
            if row.id in seen or not row.text.strip():
                raise GoldSetError(f"{path}:{n}: duplicate id or empty text ({row.id!r})")
            seen.add(row.id)
            rows.append(row)
    if not rows:
        raise GoldSetError(f"{path}: no gold rows")
    return rows


def _origin(entity_id: str) -> str:
    return "ner" if entity_id.startswith("ner/") else "gazetteer"


def score(gold: Sequence[GoldRow], predicted: Iterable[Iterable[tuple[str, str]]],
          scope: Scope = STRICT) -> dict[str, Scores]:
    """Scores overall ("all") and per origin; ``predicted`` holds (id, label) pairs per gold row.

    A predicted id with the wrong label is both a false positive and a false negative (the marts
    would file it under the wrong type). ``scope`` folds labels and sets aside predictions of
    types the gold set does not annotate (see :class:`Scope`)."""
    out = {"all": Scores(), "gazetteer": Scores(), "ner": Scores()}
    preds = list(predicted)
    if len(preds) != len(gold):
        raise ValueError(f"{len(preds)} predictions for {len(gold)} gold rows")
    for row, pred in zip(gold, preds, strict=True):
        p: set[tuple[str, str]] = set()
        for eid, label in pred:
            if scope.judged(label):
                p.add(scope.key(eid, label))
            else:
                out["all"].ignored += 1
                out[_origin(eid)].ignored += 1
        gold_keys = {scope.key(eid, label) for eid, label in row.entities}
        for key in gold_keys | p:
            ok_gold, ok_pred = key in gold_keys, key in p
            kind = "tp" if ok_gold and ok_pred else ("fn" if ok_gold else "fp")
            for bucket in ("all", _origin(key[0])):
                setattr(out[bucket], kind, getattr(out[bucket], kind) + 1)
            if kind != "tp":
                out["all"].errors.append({"row": row.id, kind: key})
    return out


def predict(enricher: Any, gold: Sequence[GoldRow]) -> list[set[tuple[str, str]]]:
    """(id, label) pairs the product path (Enricher.enrich_texts, batched) finds in each gold text."""
    results = enricher.enrich_texts([r.text for r in gold])
    return [{(e["id"], e["label"]) for e in res["entities"]} for res in results]


def predict_pipeline(nlp: Any, gold: Sequence[GoldRow]) -> list[set[tuple[str, str]]]:
    """(id, label) pairs the production spaCy pipeline (transforms.nlp.build_pipeline: gazetteer
    ruler, NER, our analysis component) finds in each gold text.

    Why beside :func:`predict`: entities come only from this pipeline, and the Enricher around it
    also loads the sentiment model files, so an entity bench run through it fails whenever those
    are being retrained. Same mentions as the Enricher for English text (every gold text is)."""
    from transforms.nlp import USER_KEY

    return [{(m["entity_id"], m["label"]) for m in doc.user_data[USER_KEY]["mentions"]}
            for doc in nlp.pipe([r.text for r in gold])]


def evaluate_enricher(enricher: Any, gold: Sequence[GoldRow], scope: Scope = STRICT) -> dict[str, Scores]:
    """Run the product path (Enricher.enrich_texts, batched, model loaded once) over the gold texts."""
    return score(gold, predict(enricher, gold), scope)
