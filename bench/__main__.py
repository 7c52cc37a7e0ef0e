"""`python -m bench` (`make bench`): every benchmark once, in turn, each printing its own figures.

Benchmarks needing ../shared/data say so and are skipped when it is absent. Nothing here asserts
on wall-clock time; the quality floors live in the tests' gates.
"""

from __future__ import annotations

import importlib
import sys
import time

BENCHES = (
    ("extraction", "article body F1 and pages/s"),
    ("sentiment", "sentiment Pearson r (5-fold CV)"),
    ("reddit_bench", "Reddit parse speed and request budget"),
    ("warehouse", "warehouse load and mart refresh"),
    ("nlp", "spaCy vs full enrich throughput"),
)


def main() -> int:
    failed = []
    for name, what in BENCHES:
        print(f"\n=== bench.{name}: {what}", flush=True)
        started = time.monotonic()
        try:
            code = importlib.import_module(f"bench.{name}").main([])
        except SystemExit as exc:  # a bench that exits with a message (e.g. data absent)
            code = exc.code
        if code not in (0, None):
            failed.append(name)
        elapsed = time.monotonic() - started
        print(f"=== bench.{name} finished in {elapsed:.0f}s (exit {code or 0})", flush=True)
    if failed:
        print(f"\nbenchmarks that failed or were skipped: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
