"""Entity-level precision / recall / F1 of the enrichment against a hand-written gold set.

Why this unit of scoring: what the product stores and the marts count is "document D mentions
canonical entity E of type T", not character spans. So a prediction is correct only when both the
canonical id (which encodes the canonicalisation: "TikTok's" must be platform/tiktok, "Li Jiaqi"
must be person/austin-li) and the spaCy label agree with the gold row; junk (a "Subscribe" ORG, a
"Facebook and YouTube" span) counts as a false positive, a missed entity as a false negative.
Micro-averaged over (text, id) pairs; also split by origin (gazetteer vs statistical NER) so a
regression can be traced to the list or to the model.

Gold file: JSON lines ``{"id", "text", "entities": [{"id", "label"}, ...]}``
(tests/fixtures/entities_gold.jsonl); ids starting with "ner/" are entities the gazetteer does not
know, spelled as transforms.canonical.ner_entity_id would spell them.
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


@dataclass
class Scores:
    tp: int = 0
    fp: int = 0
    fn: int = 0
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
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


def load_gold(path: Path) -> list[GoldRow]:
    rows: list[GoldRow] = []
    seen: set[str] = set()
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                ents = frozenset((str(e["id"]), str(e["label"])) for e in raw["entities"])
                row = GoldRow(str(raw["id"]), str(raw["text"]), ents)
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


def score(gold: Sequence[GoldRow], predicted: Iterable[Iterable[tuple[str, str]]]) -> dict[str, Scores]:
    """Scores overall ("all") and per origin; ``predicted`` holds (id, label) pairs per gold row.

    A predicted id with the wrong label is both a false positive and a false negative (the marts
    would file it under the wrong type)."""
    out = {"all": Scores(), "gazetteer": Scores(), "ner": Scores()}
    preds = list(predicted)
    if len(preds) != len(gold):
        raise ValueError(f"{len(preds)} predictions for {len(gold)} gold rows")
    for row, pred in zip(gold, preds, strict=True):
        p = set(pred)
        for key in row.entities | p:
            ok_gold, ok_pred = key in row.entities, key in p
            kind = "tp" if ok_gold and ok_pred else ("fn" if ok_gold else "fp")
            for bucket in ("all", _origin(key[0])):
                setattr(out[bucket], kind, getattr(out[bucket], kind) + 1)
            if kind != "tp":
                out["all"].errors.append({"row": row.id, kind: key})
    return out


def evaluate_enricher(enricher: Any, gold: Sequence[GoldRow]) -> dict[str, Scores]:
    """Run the product path (Enricher.enrich_texts, batched, model loaded once) over the gold texts."""
    results = enricher.enrich_texts([r.text for r in gold])
    return score(gold, [{(e["id"], e["label"]) for e in res["entities"]} for res in results])
