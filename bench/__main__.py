"""`python -m bench` (`make bench`): every benchmark once, in turn, then one table of targets.

Each script prints its own figures and records one row per target in :mod:`bench.summary`
(target, measured figure on the *test* half where a shared set is split, and the anchor measured
beside it in the same run). A script that exits non-zero, or a row that misses its target or could
not be measured (data absent), fails the whole command. Nothing here is a unit test: wall-clock
figures are measured and reported, never asserted in tests/.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback

from bench import summary

BENCHES = (
    ("extraction", "article body F1 and pages/s (test half, trafilatura beside)"),
    ("sentiment", "sentiment Pearson r (test half, VADER beside) and contrastive sign accuracy"),
    ("entities", "entity precision/recall on real text (test half)"),
    ("reddit_bench", "Reddit parse speed and request budget"),
    ("warehouse", "warehouse load and mart refresh"),
    ("nlp", "spaCy vs full enrich throughput"),
    ("dag_parse", "nightly DAG parse time (Airflow already imported)"),
    ("scaleout", "a 20,000-document night: n_process 1 vs 2, then 1 vs 2 Celery workers"),
)


def main(argv: list[str] | None = None) -> int:
    only = set(argv or sys.argv[1:])
    failed = []
    for name, what in BENCHES:
        if only and name not in only:
            continue
        print(f"\n=== bench.{name}: {what}", flush=True)
        started = time.monotonic()
        try:
            code = importlib.import_module(f"bench.{name}").main([])
        except SystemExit as exc:  # a bench that exits with a message (e.g. data absent)
            code = exc.code
        except Exception:  # a crashed bench fails the run, but the others still run and report
            traceback.print_exc()
            code = "crashed"
        if code not in (0, None):
            failed.append(name)
        elapsed = time.monotonic() - started
        print(f"=== bench.{name} finished in {elapsed:.0f}s (exit {code or 0})", flush=True)
    print("\n=== targets\n" + summary.table())
    missed = [f"{r.bench}: {r.metric}" for r in summary.ROWS if not r.passed]
    if missed:
        print(f"\ntargets missed or not measured: {'; '.join(missed)}")
    if failed:
        print(f"benchmarks that exited non-zero: {', '.join(failed)}")
    return 1 if failed or missed else 0


if __name__ == "__main__":
    sys.exit(main())
