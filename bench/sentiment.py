"""Sentiment quality: Pearson r against human mean ratings on the *test* half of ../shared/data/sentiment,
plus sign accuracy on the hand-written live-commerce contrastive set.

Why these figures: the rated sets are the ones VADER was published with, so VADER compound on the
same rows is the anchor printed beside every figure. The sets are split once by bench/split.py
(row id); the models are fitted and their penalties chosen on the tune half only
(bench/train_sentiment.py, bench/finetune_sentiment.py), so the test half is unseen. Printed:
- tune half: nested grouped 5-fold CV r, recomputed from the code;
- test half: r of the *shipped* models (transforms/sentiment_model.json; the fine-tuned MiniLM,
  transforms/sentiment_embed_model.json + the adapter transforms/models/minilm-sentiment-adapter.npz
  merged into the locked base model). Staleness checks: the lexicon file against a refit from the
  code, the fine-tuned model against the figures its torch original had at export
  (EXPORT_TOLERANCE) and against the adapter pin;
- which model the product uses for which text: documents from the routed sources (news and
  Reddit by default, `[nlp] sentiment_embed_sources`) get the embedding model (MiniLM fine-tuned
  for sentiment), sentences the lexicon model; mentions in routed documents the embedding model
  unless a contrast marker splits their sentence into clauses, else the lexicon model. So both
  rated targets are checked on the embedding model; the lexicon model's figures are printed
  beside it.
- contrastive sign accuracy (tests/fixtures/sentiment_contrastive.tsv, an acceptance set written
  by us, not an unseen evaluation), questions excluded by the file's documented rule; also for
  the held-out batches alone (HELD_OUT_BATCHES: written before the changes they could have driven),
  whose wrong rows are never printed.
- sign accuracy on the independent probes (PROBES: synthetic texts by helpers that saw neither
  the project nor the rules): the first probe's tune and held-out halves, the second probe's rows
  (all held out). Only held-out figures are summary rows.
- the test half again without the rows that repeat a tune row up to case and punctuation (the
  split is per row id; a fine-tuned encoder could have memorised them);
- entity sentiment as the nightly computes it for routed documents (and, beside it, the lexicon
  model's, for unrouted ones), on held-out one-sentence texts without contrast
  (:func:`mention_sign_accuracy`), with document sign accuracy of both models split by whether
  the text names an entity.

Exits 1 when a target is missed or the shipped models are stale, 2 when the data is absent.
Run: .venv/bin/python -m bench.sentiment [--limit N] [--cache /tmp/pulse-sentiment]
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".." / "shared" / "data" / "sentiment"
CONTRASTIVE = REPO / "tests" / "fixtures" / "sentiment_contrastive.tsv"
#: SYNTHETIC live-commerce texts written by a helper that had seen neither the project nor the
#: rules (tests/fixtures/README.md): ids "st.." are the tune half (rules in news_lexicon.py were
#: written from their errors), ids "sh.." are held out and only scored.
PROBE = REPO / "tests" / "fixtures" / "sentiment_probe_live_commerce.tsv"
#: A second SYNTHETIC probe by another independent helper (2026-12-02, session 9), written before
#: that session's changes were scored. Every row (ids "p2h..") is held out.
PROBE2 = REPO / "tests" / "fixtures" / "sentiment_probe2_live_commerce.tsv"
#: A third SYNTHETIC probe by another independent helper (2026-12-02, session 11), scored on arrival
#: with the shipped model before anything was trained on the same session's extra training rows.
#: Every row (ids "p3h..") is held out.
PROBE3 = REPO / "tests" / "fixtures" / "sentiment_probe3_live_commerce.tsv"
#: (label, file, {half: id prefix}) of the independent probes; only "held-out" halves are summary rows.
PROBES = (("independent live-commerce probe", PROBE, {"tune": "st", "held-out": "sh"}),
          ("second independent probe", PROBE2, {"held-out": "p2h"}),
          ("third independent probe", PROBE3, {"held-out": "p3h"}))
TARGETS = {"tweets": 0.88, "nyt": 0.60, "contrastive": 0.90}
#: Contrastive batches written before the changes they could have driven and never tuned on (the
#: file's header): their figure is the closest to an unseen estimate, and their wrong rows are not
#: printed, so later tuning does not drift onto them.
HELD_OUT_BATCHES = ("e", "g", "h")
#: The model whose figure is the product's for each kind of text (see module docstring): since
#: 2026-12-02 documents of both default routed sources (news, Reddit) get the fine-tuned model.
ROUTE = {"tweets": "embedding", "nyt": "embedding"}
STALE_TOLERANCE = 0.003
#: The fine-tuned model's test-half r through the product (ONNX, int8 compute) against the torch
#: float32 figure recorded when it was exported: a larger gap means the export or the runtime drifted.
EXPORT_TOLERANCE = 0.01


@dataclass(frozen=True)
class SummaryRow:
    """One line of the `make bench` summary table."""

    name: str
    target: float
    measured: float | None
    anchor: float | None
    passed: bool


@dataclass(frozen=True)
class ContrastiveRow:
    id: str
    expected: str  # "pos", "neg" or "question"
    category: str
    text: str


def load_contrastive(path: Path = CONTRASTIVE) -> list[ContrastiveRow]:
    """Rows of the contrastive set ('#' lines are its header notes); a clear error if malformed."""
    rows: list[ContrastiveRow] = []
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.startswith("#")]
    reader = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    for n, row in enumerate(reader, 2):
        if row.get("expected") not in ("pos", "neg", "question") or not (row.get("text") or "").strip():
            raise ValueError(f"{path}: row {n} needs expected in pos/neg/question and a text: {row}")
        rows.append(ContrastiveRow(row["id"], row["expected"], row["category"], row["text"]))
    if len({r.id for r in rows}) != len(rows):
        raise ValueError(f"{path}: duplicate ids")
    return rows


def sign_accuracy(rows: list[ContrastiveRow], scores: list[float]) -> dict[str, Any]:
    """Share of pos/neg rows whose score has the expected sign (0 counts as wrong); questions are
    excluded (a question asks, it does not judge) and their mean |score| is reported instead.
    Also per batch (the id's letter; see the file's header for which batches drove changes) and
    for the held-out batches together (``held_out``). ``wrong`` lists only the other batches' rows."""
    out = _sign_accuracy(rows, scores)
    out["by_batch"] = {}
    for batch in sorted({r.id[0] for r in rows}):
        keep = [i for i, r in enumerate(rows) if r.id[0] == batch]
        sub = _sign_accuracy([rows[i] for i in keep], [scores[i] for i in keep])
        out["by_batch"][batch] = {"accuracy": sub["accuracy"], "n": sub["n"]}
    keep = [i for i, r in enumerate(rows) if r.id[0] in HELD_OUT_BATCHES]
    held = _sign_accuracy([rows[i] for i in keep], [scores[i] for i in keep]) if keep else None
    out["held_out"] = {"accuracy": held["accuracy"], "n": held["n"]} if held else None
    out["wrong"] = [w for w in out["wrong"] if w[0] not in HELD_OUT_BATCHES]
    return out


def _sign_accuracy(rows: list[ContrastiveRow], scores: list[float]) -> dict[str, Any]:
    judged = [(r, s) for r, s in zip(rows, scores, strict=True) if r.expected != "question"]
    right = [r.id for r, s in judged if (s > 0 if r.expected == "pos" else s < 0)]
    wrong = [f"{r.id} ({s:+.2f}) {r.text}" for r, s in judged if r.id not in right]
    questions = [abs(s) for r, s in zip(rows, scores, strict=True) if r.expected == "question"]
    return {"accuracy": round(len(right) / len(judged), 4) if judged else float("nan"), "n": len(judged),
            "wrong": wrong,
            "questions_mean_abs": round(sum(questions) / len(questions), 4) if questions else None}


def held_out_sign_rows() -> list[ContrastiveRow]:
    """Every held-out sign row: contrastive batches HELD_OUT_BATCHES and every probe's "held-out" rows."""
    rows = [r for r in load_contrastive() if r.id[0] in HELD_OUT_BATCHES]
    for _, path, prefixes in PROBES:
        rows += [r for r in load_contrastive(path) if r.id.startswith(prefixes["held-out"])]
    return rows


def mention_sign_accuracy(rows: list[ContrastiveRow] | None = None) -> dict[str, Any]:
    """Entity sentiment as the nightly computes it, on sign texts (default: the held-out ones,
    :func:`held_out_sign_rows`) that are one sentence with no contrast marker, so the text's
    expected sign is each entity's too. There an entity's score in a routed document (news and
    Reddit by default) is the fine-tuned model's score of its sentence
    (DocumentSentimentRouter.rescore_mentions); in an unrouted one, its sentence's lexicon score.
    It does not test how a mixed or contrastive text is attributed to each entity.

    Returned: ``accuracy`` (share of entity scores with the expected sign in routed documents, 0
    counts as wrong; one per entity per text), ``entities``, ``lexicon`` (the same for unrouted
    documents), and document sign accuracy of both models on all those texts, split by whether
    they name an entity."""
    from common.config import Settings
    from transforms.enrich import Enricher
    from transforms.sentiment import has_contrast

    rows = [r for r in (held_out_sign_rows() if rows is None else rows)
            if r.expected != "question" and not has_contrast(r.text)]

    def right(score: float | None, expected: str) -> bool:
        return (score or 0) > 0 if expected == "pos" else (score or 0) < 0

    with tempfile.TemporaryDirectory() as tmp:
        enricher = Enricher(Settings(data_dir=Path(tmp), config_dir=REPO / "config"))
        lexicon = enricher.enrich_texts([r.text for r in rows])
        tuned = enricher.enrich_texts([r.text for r in rows], source="news")
    ent_right = ent_total = lexicon_right = texts = 0
    docs: dict[str, list[bool]] = {}
    for r, lex, ft in zip(rows, lexicon, tuned, strict=True):
        if "error" in lex:
            continue
        named = bool(lex.get("entities"))
        kind = "names an entity" if named else "names none"
        docs.setdefault(f"lexicon, {kind}", []).append(right(lex["sentiment"], r.expected))
        docs.setdefault(f"fine-tuned, {kind}", []).append(right(ft["sentiment"], r.expected))
        if len(lex.get("sentences", ())) != 1 or not named:
            continue
        texts += 1
        for e_lex, e_ft in zip(lex["entities"], ft["entities"], strict=True):
            ent_total += 1
            ent_right += right(e_ft["sentiment"], r.expected)
            lexicon_right += right(e_lex["sentiment"], r.expected)
    return {"accuracy": round(ent_right / ent_total, 4) if ent_total else float("nan"),
            "entities": ent_total, "texts": texts, "candidates": len(rows),
            "lexicon": round(lexicon_right / ent_total, 4) if ent_total else float("nan"),
            "documents": {k: {"accuracy": round(sum(v) / len(v), 4), "n": len(v)}
                          for k, v in sorted(docs.items())}}


def contrastive_scores(texts: list[str]) -> dict[str, list[float]]:
    """Scores of the contrastive texts by the shipped lexicon model, the shipped embedding model and
    plain VADER, each on the product's spaCy sentence split."""
    from bench.train_sentiment import sentence_parts_for
    from transforms.sentiment import DocumentSentimentRouter, SentimentScorer, vader_compound

    parts = sentence_parts_for(texts)
    lexicon = SentimentScorer()
    return {"lexicon": [lexicon.score_parts(p) for p in parts],
            "embedding": DocumentSentimentRouter().score_parts(texts, parts),
            "vader": [vader_compound(t) for t in texts]}


def _words(text: str) -> str:
    """A text's lower-cased words: equal for texts that differ only in case and punctuation."""
    return " ".join(re.findall(r"\w+", text.lower()))


def evaluate(limit: int | None = None, cache: Path | None = None) -> dict[str, Any]:
    """Every figure this bench prints (see the module docstring), as a dict."""
    import numpy as np

    from bench.finetune_sentiment import EPOCHS, recipe, tune_counts
    from bench.finetune_sentiment import rows as finetune_rows
    from bench.train_sentiment import embeddings_for, features_for, halves, load_rated, pearson, run_protocol
    from transforms.encoder_adapter import ADAPTER_SHA256
    from transforms.sentiment import SentimentScorer, vader_compound
    from transforms.sentiment_model import DEFAULT_EMBED_MODEL, load_model

    data = load_rated(DATA, limit)
    shipped_embed = load_model(DEFAULT_EMBED_MODEL)
    feats = features_for(data)
    result = run_protocol(data, feats)
    result.pop("_shipped")
    test = halves(data)["test"]
    emb = embeddings_for([data.texts[i] for i in test], shipped_embed.max_tokens, cache)
    y = np.asarray(data.ratings, float)
    sets = np.array(data.sets)
    lexicon = SentimentScorer()
    shipped_pred = {
        "lexicon": np.array([lexicon.score_parts(feats.parts[i]) for i in test]),
        "embedding": np.array([shipped_embed.predict(feats.parts[i], vec)
                               for i, vec in zip(test, emb, strict=True)]),
    }
    result["shipped"] = {}
    result["stale"] = []
    # The lexicon file must be what the code fits now; the fine-tuned head must belong to the pinned
    # encoder and score, through the product's int8 compute, what the torch model scored at export.
    expected = {"lexicon": {s: result["models"]["lexicon"]["r"][f"test/{s}"] for s in ROUTE},
                "embedding": dict(shipped_embed.meta.get("torch_float32", {}))}
    tolerance = {"lexicon": STALE_TOLERANCE, "embedding": EXPORT_TOLERANCE}
    if shipped_embed.meta.get("encoder", {}).get("sha256") != ADAPTER_SHA256:
        result["stale"].append(f"embedding: {DEFAULT_EMBED_MODEL.name} was trained with another adapter "
                               "than transforms.encoder_adapter pins")
    meta = shipped_embed.meta
    if (meta.get("n") != tune_counts(finetune_rows())
            or {k: v for k, v in meta.get("recipe", {}).items() if k != "torch"} != recipe(EPOCHS)):
        result["stale"].append("embedding: the training rows or recipe recorded in "
                               f"{DEFAULT_EMBED_MODEL.name} differ from bench/finetune_sentiment.py's")
    for name, pred in shipped_pred.items():
        result["shipped"][name] = {}
        for s in ROUTE:
            m = sets[test] == s
            r = round(pearson(pred[m], y[test][m]), 4)
            result["shipped"][name][s] = r
            want = expected[name].get(s)
            if limit is None and (want is None or abs(r - want) > tolerance[name]):
                result["stale"].append(f"{name}/{s}: shipped {r:.4f} vs {want} "
                                       f"({'refit from code' if name == 'lexicon' else 'torch at export'})")
    # The split is per row id, so some test rows repeat a tune row up to case and punctuation: the
    # figures without them, for every model and VADER (a fine-tuned encoder could memorise them).
    tune_texts = {_words(data.texts[i]) for i in halves(data)["tune"]}
    fresh = np.array([_words(data.texts[i]) not in tune_texts for i in test])
    vader = np.array([vader_compound(data.texts[i]) for i in test])
    result["test_without_near_duplicates"] = {"dropped": int((~fresh).sum())}
    for s in ROUTE:
        m = (sets[test] == s) & fresh
        scored = (*shipped_pred.items(), ("vader", vader))
        result["test_without_near_duplicates"][s] = {name: round(pearson(pred[m], y[test][m]), 4)
                                                     for name, pred in scored}
    rows = load_contrastive()
    probes = [(label, load_contrastive(path), prefixes) for label, path, prefixes in PROBES]
    # One scoring pass over the contrastive set and every probe (it builds the spaCy pipeline and
    # embeds; each text's scores depend on that text alone).
    texts = [r.text for r in rows] + [r.text for _, probe, _ in probes for r in probe]
    everything = contrastive_scores(texts)
    result["contrastive"] = {k: sign_accuracy(rows, v[:len(rows)]) for k, v in everything.items()}
    result["probes"] = {}
    start = len(rows)
    for label, probe, prefixes in probes:
        probe_scores = {k: v[start:start + len(probe)] for k, v in everything.items()}
        start += len(probe)
        result["probes"][label] = {}
        for half, prefix in prefixes.items():
            keep = [i for i, r in enumerate(probe) if r.id.startswith(prefix)]
            result["probes"][label][half] = {
                k: _sign_accuracy([probe[i] for i in keep], [v[i] for i in keep])["accuracy"]
                for k, v in probe_scores.items()}
            result["probes"][label][half]["n"] = len(keep)
    result["mentions"] = mention_sign_accuracy()
    return result


def summary_rows(result: dict[str, Any] | None = None, limit: int | None = None,
                 cache: Path | None = None) -> list[SummaryRow]:
    """The rows this bench contributes to `make bench`'s summary table: (name, target, measured,
    anchor, passed). ``result`` is :func:`evaluate`'s output (computed when None). When the data
    is absent, the rated-set rows are returned with measured None and passed False."""
    if result is None:
        if not DATA.is_dir():
            return [SummaryRow(f"sentiment r {s} test half (data absent)", TARGETS[s], None, None, False)
                    for s in ROUTE]
        result = evaluate(limit, cache)
    out = []
    for s, model in ROUTE.items():
        measured = result["shipped"][model][s]
        out.append(SummaryRow(f"sentiment r {s} test half ({model} model)", TARGETS[s], measured,
                              result["vader"][f"test/{s}"], measured >= TARGETS[s] and not result["stale"]))
    c = result["contrastive"]
    out.append(SummaryRow("sentiment contrastive sign accuracy (lexicon model, acceptance set)",
                          TARGETS["contrastive"], c["lexicon"]["accuracy"], c["vader"]["accuracy"],
                          c["lexicon"]["accuracy"] >= TARGETS["contrastive"]))
    out.append(SummaryRow("sentiment contrastive sign accuracy (embedding model, acceptance set)",
                          TARGETS["contrastive"], c["embedding"]["accuracy"], c["vader"]["accuracy"],
                          c["embedding"]["accuracy"] >= TARGETS["contrastive"]))
    batches = "+".join(HELD_OUT_BATCHES)
    for model in ("lexicon", "embedding"):
        held, anchor = c[model].get("held_out"), c["vader"].get("held_out")
        if held:
            out.append(SummaryRow(f"sentiment contrastive sign accuracy ({model} model, held-out batches "
                                  f"{batches}, n={held['n']})", TARGETS["contrastive"], held["accuracy"],
                                  anchor["accuracy"] if anchor else None,
                                  held["accuracy"] >= TARGETS["contrastive"]))
    for label, probe in result["probes"].items():
        held = probe["held-out"]
        for model in ("lexicon", "embedding"):
            name = f"sentiment sign accuracy ({model} model, {label}, held-out, n={held['n']})"
            out.append(SummaryRow(name, TARGETS["contrastive"], held[model], held["vader"],
                                  held[model] >= TARGETS["contrastive"]))
    mentions = result["mentions"]
    name = ("sentiment sign accuracy of entities (as the nightly scores routed documents; held-out "
            f"single-sentence texts without contrast, n={mentions['entities']})")
    out.append(SummaryRow(name, TARGETS["contrastive"], mentions["accuracy"], None,
                          mentions["accuracy"] >= TARGETS["contrastive"]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="rows per set (default: all)")
    parser.add_argument("--cache", type=Path, default=None, help="directory to cache embeddings in")
    args = parser.parse_args(argv)
    try:
        from bench import summary
    except ImportError:  # pragma: no cover - the collector ships with the bench package
        summary = None  # type: ignore[assignment]
    if not DATA.is_dir():
        print(f"ERROR: {DATA.resolve()} not present: the sentiment figures cannot be measured "
              "(third-party rated sets live in ../shared/data/sentiment)")
        if summary is not None:
            for row in summary_rows():
                summary.missing("sentiment", row.name, f">= {row.target:.2f}",
                                "../shared/data/sentiment absent")
        return 2
    started = time.perf_counter()
    result = evaluate(args.limit, args.cache)
    print(f"split: {result['split']}; n = " + ", ".join(f"{k} {v}" for k, v in result["n"].items()))
    res = result["models"]["lexicon"]
    print(f"lexicon   penalties lam={res['lambda']} bow={res['bow_penalty']} "
          f"(chosen by {result['folds']}-fold CV on the tune half)")
    for s in ROUTE:
        print(f"  {s:6s} tune nested-CV r={res['r'][f'tune_cv/{s}']:.3f}  "
              f"test r={result['shipped']['lexicon'][s]:.3f} (shipped file)  "
              f"VADER tune {result['vader'][f'tune/{s}']:.3f} / test {result['vader'][f'test/{s}']:.3f}"
              f"{'   <- product route' if ROUTE[s] == 'lexicon' else ''}")
    print("embedding MiniLM fine-tuned on the tune side (bench/finetune_sentiment.py; no CV figure: "
          "its epoch count was chosen on an inner fifth of the tune side)")
    for s in ROUTE:
        print(f"  {s:6s} test r={result['shipped']['embedding'][s]:.3f} (shipped files, int8 compute)"
              f"{'   <- product route' if ROUTE[s] == 'embedding' else ''}")
    dedup = result["test_without_near_duplicates"]
    print(f"test half without the {dedup['dropped']} rows that repeat a tune row up to case and punctuation: "
          + "; ".join(f"{s} " + ", ".join(f"{k} {v:.3f}" for k, v in dedup[s].items()) for s in ROUTE))
    for name, c in result["contrastive"].items():
        batches = ", ".join(f"batch {b} {v['accuracy']:.3f} of {v['n']}" for b, v in c["by_batch"].items())
        print(f"contrastive sign accuracy {name:9s} {c['accuracy']:.3f} of {c['n']} ({batches}; "
              f"questions mean |score| {c['questions_mean_abs']})")
        if c.get("held_out"):
            print(f"  held-out batches {'+'.join(HELD_OUT_BATCHES)}: {c['held_out']['accuracy']:.3f} of "
                  f"{c['held_out']['n']} (their wrong rows are not printed)")
        for w in c["wrong"] if name != "vader" else ():
            print(f"    wrong: {w}")
    for label, probe in result["probes"].items():
        for half, res in probe.items():
            print(f"{label}, {half} (n={res['n']}): lexicon {res['lexicon']:.3f}  "
                  f"embedding {res['embedding']:.3f}  VADER {res['vader']:.3f}")
    m = result["mentions"]
    print(f"entities (as the nightly scores routed documents: the fine-tuned model on their sentence) in "
          f"held-out single-sentence texts without contrast: {m['accuracy']:.3f} of {m['entities']} in "
          f"{m['texts']} texts; the lexicon model (unrouted documents) {m['lexicon']:.3f}")
    print("  document sign on the " + str(m["candidates"]) + " held-out texts without contrast: " + "; ".join(
        f"{k} {v['accuracy']:.3f} of {v['n']}" for k, v in m["documents"].items()))
    for stale in result["stale"]:
        print(f"STALE MODEL: {stale} (retrain: python -m bench.train_sentiment --write, or "
              "bench.finetune_sentiment --write for the embedding model)")
    rows = summary_rows(result)
    print("\n| figure | target | measured | anchor (VADER) | |")
    print("|---|---|---|---|---|")
    for r in rows:
        measured = "-" if r.measured is None else f"{r.measured:.3f}"
        anchor = "-" if r.anchor is None else f"{r.anchor:.3f}"
        print(f"| {r.name} | {r.target:.2f} | {measured} | {anchor} | {'met' if r.passed else 'NOT MET'} |")
        if summary is not None:
            summary.record("sentiment", r.name, f">= {r.target:.2f}", measured, f"VADER {anchor}", r.passed)
    print(f"({time.perf_counter() - started:.0f}s)")
    print(json.dumps(result, default=str))
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
