"""Throughput of the enrich stage against raw spaCy, and memory over a long run.

Why this comparison: raw ``nlp.pipe`` on the same model is the ceiling; the gap between it and the
full stage (language routing, gazetteer ruler, sentiment, canonicalisation, themes) is what our own
code costs. Issue 5 asks for >= 0.85x raw on 2 processes, and flat memory (spaCy memory zones):
``--rss`` runs the full stage over the corpus N times and prints peak RSS after each pass.

Texts: article bodies (../shared/data/articles/ground-truth.json) and the tweets/NYT snippets
(../shared/data/sentiment). Skips cleanly when ../shared/data is absent.

Run: .venv/bin/python -m bench.nlp [--limit N] [--processes 1 2] [--rss 10]
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".." / "shared" / "data"


def load_corpus(limit: int | None = None) -> list[str]:
    texts: list[str] = []
    truth = DATA / "articles" / "ground-truth.json"
    if truth.exists():
        for item in json.loads(truth.read_text(encoding="utf-8")).values():
            body = item.get("articleBody") if isinstance(item, dict) else None
            if body:
                texts.append(body)
    for name in ("tweets_dev.tsv", "nytEditorialSnippets_dev.tsv"):
        path = DATA / "sentiment" / name
        if path.exists():
            with open(path, encoding="utf-8", newline="") as fh:
                texts += [r["text"] for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
                          if r.get("text")]
    return texts[:limit] if limit else texts


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="use only the first N texts")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rss", type=int, default=0, metavar="N", help="also run the full stage N times")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"SKIP: {DATA.resolve()} not present")
        return 0
    import spacy

    from pipeline.config import Settings
    from transforms.enrich import Enricher

    texts = load_corpus(args.limit)
    words = sum(len(t.split()) for t in texts)
    settings = Settings(data_dir=REPO / "data")
    print(f"corpus: {len(texts)} texts, {words} words; model {settings.nlp.spacy_model}")
    raw_nlp = spacy.load(settings.nlp.spacy_model)
    enricher = Enricher(settings)
    _ = enricher.nlp
    results = {}
    for n in args.processes:
        started = time.perf_counter()
        with raw_nlp.memory_zone():
            for _doc in raw_nlp.pipe(texts, batch_size=settings.nlp.batch_size, n_process=n):
                pass
        raw_wps = words / (time.perf_counter() - started)
        started = time.perf_counter()
        for _a in enricher.analyze_texts(texts, n_process=n):
            pass
        full_wps = words / (time.perf_counter() - started)
        results[n] = {"raw_words_per_s": round(raw_wps), "full_words_per_s": round(full_wps),
                      "ratio": round(full_wps / raw_wps, 3)}
        print(f"n_process={n}: raw nlp.pipe {raw_wps:,.0f} words/s | full enrich {full_wps:,.0f} words/s | "
              f"ratio {full_wps / raw_wps:.2f}", flush=True)
    if args.rss:
        print(f"peak RSS before long run: {peak_rss_mb():.0f} MB")
        for i in range(args.rss):
            for _a in enricher.analyze_texts(texts, n_process=1):
                pass
            print(f"  pass {i + 1}/{args.rss}: peak RSS {peak_rss_mb():.0f} MB", flush=True)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
