"""Scale-out figures (issue 14): a night of 20,000 documents through the enrich stage.

Part 1, one worker: the whole enrich (plan, shards, merge; what `pulse run` does) with
``nlp.n_process`` 1 and 2, each in a fresh subprocess so its peak memory is its own: seconds,
documents/s, words/s and peak RSS (the process plus its spaCy worker processes). The default of
``n_process`` is chosen from these figures (README, docs/deployment.md).

Part 2 (skip with ``--no-celery``): the same night through the real DAG under the CeleryExecutor
(``demo/distributed.py``) on 1 and on 2 workers: per-stage times, the enrich speed-up (target
1.7x) and peak memory per worker.

The night is SYNTHETIC: sentences of the bundled synthetic demo corpus recombined at random (seeded),
as short Reddit posts and comments (the issue's measurement used 3,000 short posts). Figures are
wall-clock on this machine; they are printed and recorded in the target table, never asserted in
tests.

Run: .venv/bin/python -m bench.scaleout [--docs 20000] [--processes 1 2] [--no-celery]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench import summary

REPO = Path(__file__).resolve().parents[1]
NIGHT = date(2026, 11, 14)
SPEEDUP_TARGET = 1.7


def _sentences() -> list[str]:
    from demo.replay.corpus import load_corpus

    corpus = load_corpus()
    texts = []
    for post in corpus.reddit["posts"]:
        texts += [post["title"], post.get("selftext") or ""]
        stack = list(post.get("comments", []))
        while stack:
            c = stack.pop()
            texts.append(c.get("body") or "")
            stack += c.get("replies", [])
    out = []
    for text in texts:
        out += [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 3]
    return sorted(set(out))


def synthetic_documents(n: int, seed: int = 14) -> list[dict]:
    """``n`` SYNTHETIC Reddit documents (1 post in 5, the rest comments), 1-4 sentences each."""
    from common.documents import Document

    rng = random.Random(seed)
    pool = _sentences()
    subs = ["TikTokShop", "whatnot", "LiveShopping", "Flipping", "AmazonSeller"]
    start = datetime.combine(NIGHT, datetime.min.time(), tzinfo=UTC)
    docs = []
    for i in range(n):
        post = i % 5 == 0
        body = " ".join(rng.choice(pool) for _ in range(rng.randint(1, 4)))
        doc_id = f"{'t3' if post else 't1'}_syn{i:06d}"
        docs.append(Document(
            doc_id=doc_id, source="reddit", kind="post" if post else "comment",
            channel=rng.choice(subs), url=None, title=rng.choice(pool) if post else None, body=body,
            author=f"synthetic_user_{rng.randint(1, 2000)}",
            published_at=(start + timedelta(seconds=rng.randint(0, 86_399))).isoformat(),
            fetched_at=(start + timedelta(days=1, hours=2)).isoformat(), logical_date=NIGHT.isoformat(),
            run_id="bench-scaleout", raw_ref=f"synthetic:{i}").to_dict())
    return docs


def _enrich_once(data_dir: str, n_process: int) -> None:
    """Child process: the enrich stage over the prepared night; prints one JSON line."""
    from common.config import load_settings
    from common.context import RunContext
    from transforms.enrich import enrich_night

    base = load_settings()
    settings = dataclasses.replace(base, data_dir=Path(data_dir),
                                   nlp=dataclasses.replace(base.nlp, n_process=n_process))
    started = time.perf_counter()
    summary_ = enrich_night(RunContext.for_night(settings, NIGHT, run_id="bench-scaleout"))
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print("RESULT" + json.dumps({"seconds": seconds, "documents": summary_["documents"],
                                 "words": summary_["words"], "peak_mb": peak_kb / 1024,
                                 "children_peak_mb": children_kb / 1024}))


def one_worker(n_docs: int, processes: list[int]) -> dict[int, dict]:
    from common.jsonl import write_jsonl

    results = {}
    with tempfile.TemporaryDirectory(prefix="pulse-scaleout-") as tmp:
        work = Path(tmp) / "work" / NIGHT.isoformat()
        write_jsonl(work / "reddit.documents.jsonl", synthetic_documents(n_docs))
        print(f"synthetic night: {n_docs} documents in {work}", flush=True)
        for n in processes:
            proc = subprocess.run([sys.executable, "-m", "bench.scaleout", "--child", tmp, str(n)],
                                  cwd=REPO, capture_output=True, text=True, timeout=7200)
            line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")), None)
            if proc.returncode != 0 or line is None:
                print(proc.stderr[-2000:], file=sys.stderr)
                raise SystemExit(f"enrich with n_process={n} failed (exit {proc.returncode})")
            r = json.loads(line[6:])
            results[n] = r
            print(f"n_process={n}: {r['seconds']:.1f} s, {r['documents'] / r['seconds']:.0f} documents/s, "
                  f"{r['words'] / r['seconds']:.0f} words/s, peak RSS {r['peak_mb']:.0f} MB "
                  f"(+ spaCy workers {r['children_peak_mb']:.0f} MB each at most)", flush=True)
    return results


def synthetic_corpus(n_docs: int, dest: Path, seed: int = 14) -> Path:
    """A SYNTHETIC replay corpus for the night: ``n_docs`` Reddit documents as posts with 9
    comments each (one comment-tree request per post), plus the bundled corpus's news."""
    import shutil

    from demo.replay.corpus import CORPUS_DIR

    rng = random.Random(seed)
    pool = _sentences()
    subs = ["TikTokShop", "Whatnot", "LiveShopping", "Flipping"]
    start = int(datetime.combine(NIGHT, datetime.min.time(), tzinfo=UTC).timestamp())
    posts = []
    for i in range(max(1, n_docs // 10)):
        created = start + rng.randint(0, 80_000)
        comments = [{"id": f"c{i:05d}{j}", "author": f"synthetic_user_{rng.randint(1, 2000)}",
                     "body": " ".join(rng.choice(pool) for _ in range(rng.randint(1, 3))),
                     "created_utc": created + 60 * (j + 1), "score": rng.randint(0, 20), "deleted": False,
                     "replies": []} for j in range(9)]
        posts.append({"id": f"p{i:06d}", "subreddit": subs[i % len(subs)], "title": rng.choice(pool),
                      "selftext": " ".join(rng.choice(pool) for _ in range(rng.randint(1, 4))),
                      "author": f"synthetic_user_{rng.randint(1, 2000)}", "created_utc": created,
                      "score": rng.randint(0, 200), "edited": False, "removed": False, "link_url": None,
                      "comments": comments})
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "reddit.json").write_text(json.dumps({
        "synthetic": True, "note": "SYNTHETIC benchmark night generated by bench/scaleout.py",
        "subreddits": subs, "posts": posts}))
    shutil.copy(CORPUS_DIR / "news.json", dest / "news.json")
    return dest


def _stage_seconds(tis: list[dict]) -> dict[str, float]:
    """Wall-clock seconds per task; a mapped task from its first shard's start to its last's end."""
    spans: dict[str, list[datetime]] = {}
    for ti in tis:
        if ti.get("start_date") and ti.get("end_date"):
            a = datetime.fromisoformat(ti["start_date"])
            b = datetime.fromisoformat(ti["end_date"])
            span = spans.setdefault(ti["task_id"], [a, b])
            span[0], span[1] = min(span[0], a), max(span[1], b)
    return {task: round((b - a).total_seconds(), 1) for task, (a, b) in spans.items()}


def _print_shards(store: Path) -> None:
    """Each enrich shard's documents, words and seconds (its summary.json in the store's copy), so
    an unbalanced plan shows as one line out of line."""
    for path in sorted(store.glob("work/*/enriched/shards/shard=*/summary.json"),
                       key=lambda p: int(p.parent.name.partition("=")[2])):
        s = json.loads(path.read_text())
        print(f"   {path.parent.name}: {s.get('documents')} documents, {s.get('words')} words, "
              f"{s.get('seconds')} s", flush=True)


def benchmark_workers(n_docs: int, workers: tuple[int, ...] = (1, 2)) -> dict[int, dict]:
    """The night through the real DAG under the CeleryExecutor with 1 and with 2 workers."""
    from demo.distributed import run_distributed

    results: dict[int, dict] = {}
    with tempfile.TemporaryDirectory(prefix="pulse-scaleout-celery-") as tmp:
        corpus = synthetic_corpus(n_docs, Path(tmp) / "corpus")
        config = Path(tmp) / "bench.toml"
        demo_toml = (REPO / "config" / "demo-distributed.toml").read_text()
        # n_docs // 8 per shard: 8 shards for n_docs documents, 9 with the 5 news documents, which the
        # planner rounds up to 10 (whole waves of PULSE_ENRICH_PARALLEL=2).
        shard = max(1, -(-n_docs // 8))
        # The demo's sources, one night back, 8 enrich shards (4 per worker at 2 workers), and a
        # Reddit request budget and listing depth for one night this big (one comment-tree request
        # per post; the default listing cap of 250 items would stop each subreddit early).
        config.write_text(demo_toml.replace("backfill_days = 14", "backfill_days = 1")
                          .replace("enrich_shard_size = 200", f"enrich_shard_size = {shard}")
                          .replace("[reddit]\n", "[reddit]\nmax_requests_per_run = 20000\n"
                                   "max_items_per_listing = 5000\n", 1))
        for w in workers:
            result: dict = {}
            code = run_distributed(Path(tmp) / f"run-{w}", timeout_s=7200, n_workers=w,
                                   corpus_dir=corpus, config=str(config), result=result,
                                   echo=lambda line: print("   " + line, flush=True))
            if code != 0:
                raise SystemExit(f"the {w}-worker run failed (exit {code})")
            from demo.distributed import warehouse_counts

            counts = warehouse_counts(Path(tmp) / f"run-{w}" / "warehouse.duckdb")
            _print_shards(Path(tmp) / f"run-{w}" / "store")
            stages = _stage_seconds(result["tis"])
            results[w] = {"documents": counts["documents"], "mentions": counts["mentions"],
                          "enrich_seconds": stages.get("enrich_shard", 0.0),
                          **{f"{k}_s": v for k, v in sorted(stages.items())},
                          **{f"peak_mb_{k}": round(v) for k, v in sorted(result["peak_rss_mb"].items())}}
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.scaleout", description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--processes", type=int, nargs="*", default=[1, 2],
                    help="n_process values for the one-worker part (none: skip it)")
    ap.add_argument("--no-celery", dest="celery", action="store_false",
                    help="skip the 1 vs 2 Celery workers part (demo/distributed.py)")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _enrich_once(args.child[0], int(args.child[1]))
        return 0
    results = one_worker(args.docs, args.processes) if args.processes else {}
    if 1 in results and 2 in results:
        ratio = results[1]["seconds"] / results[2]["seconds"]
        summary.record("scaleout", f"enrich n_process 2 vs 1 ({args.docs} docs, one worker)", "measured",
                       f"{ratio:.2f}x", f"{results[1]['seconds']:.0f} s at 1", True)
    if args.celery:
        timings = benchmark_workers(args.docs, workers=(1, 2))
        one, two = timings[1]["enrich_seconds"], timings[2]["enrich_seconds"]
        speedup = one / two if two else 0.0
        for w, t in sorted(timings.items()):
            print(f"{w} worker(s): " + ", ".join(f"{k}={v}" for k, v in t.items()), flush=True)
        summary.record("scaleout", f"enrich speed-up, 2 vs 1 Celery workers ({args.docs} docs)",
                       f">= {SPEEDUP_TARGET}x", f"{speedup:.2f}x", f"{one:.0f} s on 1 worker",
                       speedup >= SPEEDUP_TARGET)
    print(summary.table([r for r in summary.ROWS if r.bench == "scaleout"]))
    return 0 if all(r.passed for r in summary.ROWS if r.bench == "scaleout") else 1


if __name__ == "__main__":
    sys.exit(main())
