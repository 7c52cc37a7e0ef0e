"""Experiment, not shipped: re-type or drop the statistical NER's names with a classifier over
MiniLM token vectors.

Why it was tried: most of the entity errors left on real text (bench.entities, tune half) are the
small spaCy model choosing the wrong type for a name it did find ("Bruins" a person, "Ukraine" an
organisation, "Stadia" an organisation instead of a product) or taking a non-name for one. A
wrong type costs a false positive *and* a false negative, so a second opinion on the type of each
name the NER finds could move both precision and recall. The project already ships the
all-MiniLM-L6-v2 encoder (the sentiment route), whose token vectors carry context.

What it does, on tune-side data only (nothing of the test side is read):
- candidates: the pipeline's statistical mentions (origin "ner", types PERSON/ORG/GPE/LOC/FAC/
  PRODUCT) in the synthetic training paragraphs (tests/fixtures/entities_train_synthetic.jsonl,
  rows using a guideline example name left out as in bench.train_ner), the first probe's tune
  rows and the real gold set's tune half;
- target: the annotated type of the same name in that paragraph (places folded), or NONE;
- features: the spaCy type, the mean of the *base* encoder's token vectors over the name in its
  sentence (384), optionally the name embedded alone (384) and a few shape features;
- a multinomial logistic regression (L2, scipy L-BFGS), scored by leave-one-article-out over the
  real tune half, training on everything else.

Result (2026-12-02, docs/entity-experiments.md): of 141 real tune-half candidates the spaCy type
is right for 109; the best setting got 112 right (3 fixed, none broken) and every setting that
changed more than a handful broke about as many as it fixed. Not shipped.

Run: .venv/bin/python -m bench.retype_ner (about 1-2 minutes; exits 2 when ../shared/data is
absent).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".." / "shared" / "data"
LABELS = ("PERSON", "ORG", "GPE", "LOC", "FAC", "PRODUCT")
FOLD = {"GPE": "PLACE", "LOC": "PLACE", "FAC": "PLACE"}
CLASSES = ("NONE", "PERSON", "ORG", "PLACE", "PRODUCT")
#: (features, L2 weight) compared; the first is the spaCy type alone (the baseline's information).
SETTINGS = ((("ctx",), 1e-3), (("ctx",), 1e-4), (("ctx", "alone"), 1e-3), (("ctx", "alone"), 1e-4),
            (("ctx", "alone", "shape"), 1e-3))


def _rows() -> list[tuple[str, str, str, list[dict[str, Any]]]]:
    """(kind, group, text, entities) of every tune-side annotated paragraph."""
    from bench.entities import PROBE_GOLD, REAL_GOLD
    from bench.split import half_of
    from bench.train_ner import GUIDELINE_EXAMPLES, TRAIN, _occurrences

    out = []
    for line in TRAIN.read_text(encoding="utf-8").splitlines():
        raw = json.loads(line)
        if not any(_occurrences(raw["text"], name) for name in GUIDELINE_EXAMPLES):
            out.append(("train", raw["id"], raw["text"], raw["entities"]))
    for line in PROBE_GOLD.read_text(encoding="utf-8").splitlines():
        raw = json.loads(line)
        if raw["id"].startswith("lct"):
            out.append(("probe", raw["id"], raw["text"], raw["entities"]))
    for line in REAL_GOLD.read_text(encoding="utf-8").splitlines():
        raw = json.loads(line)
        if half_of(raw["source"]) == "tune":
            out.append(("real", raw["source"], raw["text"], raw["entities"]))
    return out


def _gold_types(entities: list[dict[str, Any]]) -> dict[str, str]:
    """canonical key -> folded type; a person named in full also answers to the surname."""
    from transforms.canonical import canonical_key

    out: dict[str, str] = {}
    for ent in entities:
        label = FOLD.get(ent["label"], ent["label"])
        if label in CLASSES:
            out[canonical_key(ent["surface"])] = label
            parts = ent["surface"].split()
            if label == "PERSON" and len(parts) > 1:
                out.setdefault(canonical_key(parts[-1]), label)
    return out


class _Encoder:
    """The locked base all-MiniLM-L6-v2 (no adapter): token vectors with character offsets."""

    def __init__(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from transforms.embeddings import default_tokenizer_file
        from transforms.encoder_adapter import base_model_file

        self.tok = Tokenizer.from_file(str(default_tokenizer_file()))
        self.tok.no_padding()
        self.tok.enable_truncation(max_length=256)
        self.sess = ort.InferenceSession(str(base_model_file()), providers=["CPUExecutionProvider"])
        self.names = {i.name for i in self.sess.get_inputs()}

    def vectors(self, text: str, start: int = 0, end: int | None = None) -> Any:
        import numpy as np

        enc = self.tok.encode(text)
        ids = np.array([enc.ids], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        hidden = self.sess.run(None, {k: v for k, v in feeds.items() if k in self.names})[0][0]
        end = len(text) if end is None else end
        idx = [i for i, (a, b) in enumerate(enc.offsets) if b > a and a < end and b > start]
        v = hidden[idx].mean(0) if idx else np.zeros(hidden.shape[1], np.float32)
        return v / max(float(np.linalg.norm(v)), 1e-9)


def features() -> dict[str, Any]:
    """One record per candidate: kind, group, spaCy type, target and feature blocks."""
    import numpy as np

    from common.config import Settings
    from transforms.canonical import canonical_key
    from transforms.nlp import USER_KEY, build_pipeline

    with tempfile.TemporaryDirectory() as tmp:
        st = Settings(data_dir=Path(tmp), config_dir=REPO / "config")
    nlp = build_pipeline(st.nlp.spacy_model, st.config_file(st.nlp.gazetteer), st.config_file(st.nlp.themes))
    enc = _Encoder()
    rows = _rows()
    keys = ("kind", "group", "label", "target", "ctx", "alone", "shape")
    cols: dict[str, list[Any]] = {k: [] for k in keys}
    for (kind, group, _, ents), doc in zip(rows, nlp.pipe([r[2] for r in rows]), strict=True):
        gold = _gold_types(ents)
        sents = list(doc.sents)
        for m in doc.user_data[USER_KEY]["mentions"]:
            if m["origin"] != "ner" or m["label"] not in LABELS:
                continue
            s = next((x for x in sents if x.start_char <= m["start_char"] < x.end_char), sents[0])
            before = doc.text[max(0, m["start_char"] - 4):m["start_char"]].lower()
            name = m["name"]
            cols["kind"].append(kind)
            cols["group"].append(group)
            cols["label"].append(m["label"])
            cols["target"].append(gold.get(canonical_key(name), "NONE"))
            start, end = m["start_char"] - s.start_char, m["end_char"] - s.start_char
            cols["ctx"].append(enc.vectors(s.text, start, end))
            cols["alone"].append(enc.vectors(name))
            cols["shape"].append([len(name.split()), name.isupper(), name.endswith("s"),
                                  before.endswith("the "), start == 0, any(c.isdigit() for c in name)])
    return {k: np.array(v) for k, v in cols.items()}


def _fit(X: Any, y: Any, lam: float) -> Any:
    import numpy as np
    from scipy.optimize import minimize
    from scipy.special import logsumexp

    n, p = X.shape
    k = len(CLASSES)

    def loss(theta: Any) -> tuple[float, Any]:
        W = theta.reshape(p, k)
        Z = X @ W
        lse = logsumexp(Z, axis=1)
        P = np.exp(Z - lse[:, None])
        P[np.arange(n), y] -= 1
        grad = X.T @ P / n
        grad[:-1] += 2 * lam * W[:-1]  # the last row is the bias: not penalised
        return float((lse - Z[np.arange(n), y]).mean() + lam * (W[:-1] ** 2).sum()), grad.ravel()

    fitted = minimize(loss, np.zeros(p * k), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return fitted.x.reshape(p, k)


def main() -> int:
    import numpy as np

    if not (DATA / "articles" / "ground-truth.json").exists():
        print(f"ERROR: {DATA.resolve()} is absent (the real gold set quotes it)")
        return 2
    d = features()
    y = np.array([CLASSES.index(t) for t in d["target"]])
    spacy_type = np.array([FOLD.get(lab, lab) for lab in d["label"]])
    onehot = np.array([[lab == x for x in LABELS] for lab in d["label"]], np.float64)
    real = np.where(d["kind"] == "real")[0]
    right = spacy_type[real] == d["target"][real]
    print(f"{len(y)} candidates; real tune half: {len(real)}, spaCy type right for {int(right.sum())}")
    for blocks, lam in SETTINGS:
        X = np.hstack([onehot, *[d[b].astype(np.float64) for b in blocks], np.ones((len(y), 1))])
        pred = np.empty(len(y), int)
        for group in sorted(set(d["group"][real])):
            test = np.where((d["kind"] == "real") & (d["group"] == group))[0]
            train = np.where(d["group"] != group)[0]
            pred[test] = (X[test] @ _fit(X[train], y[train], lam)).argmax(1)
        new = np.array(CLASSES)[pred[real]]
        changed = new != spacy_type[real]
        print(f"{'+'.join(blocks):<16} L2 {lam:g}: right {int((new == d['target'][real]).sum())}, "
              f"changed {int(changed.sum())}, fixed {int((changed & (new == d['target'][real])).sum())}, "
              f"broke {int((changed & right).sum())}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
