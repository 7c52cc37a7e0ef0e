"""Article body extraction benchmark: F1/precision/recall and pages per second.

Usage: ``python -m bench.extraction [FOLDER]`` where FOLDER has the layout of
``../shared/data/articles`` (``html/<id>.html.gz`` + ``ground-truth.json`` mapping id to
``{"articleBody", "url"}``). The metric is the public article-extraction benchmark's (see
../shared/README.md): ``\\w+`` tokens in 4-token shingles with counts; per page tp/fp/fn are
normalised to sum to 1; precision and recall are averaged over pages; F1 comes from those
averages. Speed is timed over extraction only (files are read and decompressed first), on one core.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_FOLDER = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "articles"
_TOKEN = re.compile(r"\w+")


def shingles(text: str | None, n: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    if len(tokens) < n:
        return Counter([tuple(tokens)]) if tokens else Counter()
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def page_scores(predicted: str | None, expected: str | None) -> tuple[float, float, float]:
    """(tp, fp, fn) for one page, normalised to sum to 1 (the benchmark's convention)."""
    pred, true = shingles(predicted), shingles(expected)
    tp = sum((pred & true).values())
    fp = sum((pred - true).values())
    fn = sum((true - pred).values())
    total = tp + fp + fn
    if total == 0:
        return 1.0, 0.0, 0.0  # both empty: a perfect (trivial) page
    return tp / total, fp / total, fn / total


@dataclass
class BenchResult:
    pages: int
    precision: float
    recall: float
    f1: float
    pages_per_s: float
    worst: list[tuple[str, float]]

    def summary(self) -> str:
        return (
            f"pages={self.pages} F1={self.f1:.4f} precision={self.precision:.4f} "
            f"recall={self.recall:.4f} speed={self.pages_per_s:.1f} pages/s"
        )


def load_folder(folder: Path) -> list[tuple[str, bytes, str, str | None]]:
    """[(id, html bytes, expected body, url)] for every id that has both truth and a page."""
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    out = []
    for page_id, item in sorted(truth.items()):
        path = folder / "html" / f"{page_id}.html.gz"
        if not path.exists():
            path = folder / "html" / f"{page_id}.html"
            if not path.exists():
                continue
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        out.append((page_id, data, item.get("articleBody") or "", item.get("url")))
    return out


def run(folder: Path, extract: Callable[[bytes, str | None], str | None] | None = None) -> BenchResult:
    if extract is None:
        from extractors.news.article import extract_article

        def extract(data: bytes, url: str | None) -> str | None:
            return extract_article(data, url).body

    pages = load_folder(folder)
    if not pages:
        raise SystemExit(f"no pages with ground truth in {folder}")
    predictions: list[str | None] = []
    start = time.process_time()  # CPU time of this process: "pages/s on one core"
    for _, data, _, url in pages:
        predictions.append(extract(data, url))
    elapsed = max(time.process_time() - start, 1e-9)
    precisions, recalls, per_page = [], [], []
    for (page_id, _, expected, _), predicted in zip(pages, predictions, strict=True):
        tp, fp, fn = page_scores(predicted, expected)
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        precisions.append(p)
        recalls.append(r)
        per_page.append((page_id, 2 * p * r / (p + r) if p + r else 0.0))
    precision = sum(precisions) / len(precisions)
    recall = sum(recalls) / len(recalls)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    worst = sorted(per_page, key=lambda x: x[1])[:5]
    return BenchResult(len(pages), precision, recall, f1, len(pages) / elapsed, worst)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Article body extraction benchmark")
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--worst", action="store_true", help="also list the five worst pages")
    args = parser.parse_args(argv)
    if not (args.folder / "ground-truth.json").exists():
        print(f"no ground-truth.json in {args.folder}", file=sys.stderr)
        return 2
    result = run(args.folder)
    print(result.summary())
    if args.worst:
        for page_id, f1 in result.worst:
            print(f"  worst: {page_id} F1={f1:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
