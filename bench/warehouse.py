"""Warehouse benchmark: load throughput and incremental mart refresh vs history size.

Run: ``.venv/bin/python -m bench.warehouse [--mentions 1000000] [--docs-per-night 2000]``.

Prints
1. load rows/s: ``load_night`` on a synthetic night of N mention rows (default 1,000,000; 5 per
   document) written as enriched JSONL, end to end (read_json, checks, raw + core + ops, commit);
2. mart refresh time for ONE new night on top of 30 and of 365 nights of history. The history is
   generated straight into core.documents / core.entity_sentiment in night order (as nightly loads
   would have appended it), the new night goes through ``load_night`` and only
   ``refresh_marts(con, affected_days)`` is timed (best of 3; it is idempotent). The two figures
   should be about equal; the full rebuild is printed for contrast.
Synthetic data only; everything lives in a temp dir that is removed afterwards.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench import summary
from common.config import Settings
from common.context import RunContext
from warehouse.db import connect
from warehouse.load import load_night
from warehouse.marts import refresh_marts

N_ENTITIES = 60


def _say(msg: str) -> None:
    print(msg, flush=True)


def write_night(con, ctx: RunContext, n_docs: int, mentions_per_doc: int, prefix: str) -> None:
    """Write a synthetic enriched batch with DuckDB's JSON writer (fast, no Python loop)."""
    enriched = ctx.work_dir / "enriched"
    enriched.mkdir(parents=True, exist_ok=True)
    day = ctx.night.isoformat()
    con.execute(f"""
        COPY (SELECT '{prefix}' || i AS doc_id, 'reddit' AS source, 'post' AS kind, 'TikTokShop' AS channel,
                     'https://reddit.example/' || i AS url, 'title ' || i AS title,
                     'body text mentioning things ' || i AS body, 'user' || (i % 997) AS author,
                     '{day}T' || lpad(CAST((i % 24) AS VARCHAR), 2, '0') || ':00:00+00:00' AS published_at,
                     '{day}T23:30:00+00:00' AS fetched_at, '{day}' AS logical_date, '{ctx.run_id}' AS run_id,
                     'raw.jsonl.gz:' || i AS raw_ref, i % 50 AS score, i % 7 AS num_comments,
                     'en' AS language, false AS is_deleted, (hash(i) % 2000) / 1000.0 - 1 AS sentiment,
                     ['shipping'] AS themes
              FROM range({n_docs}) t(i))
        TO '{enriched / "documents.jsonl"}' (FORMAT json)""")
    con.execute(f"""
        COPY (SELECT '{prefix}' || (j // {mentions_per_doc}) AS doc_id,
                     'bench/e' || (hash(j) % {N_ENTITIES}) AS entity_id,
                     CAST(j % {mentions_per_doc} AS INTEGER) AS sentence_idx,
                     CAST((j % {mentions_per_doc}) * 40 AS INTEGER) AS start_char,
                     CAST((j % {mentions_per_doc}) * 40 + 8 AS INTEGER) AS end_char, 'Entity' AS surface,
                     'A sentence about Entity.' AS sentence, (hash(j * 7) % 2000) / 1000.0 - 1 AS sentiment
              FROM range({n_docs * mentions_per_doc}) t(j))
        TO '{enriched / "mentions.jsonl"}' (FORMAT json)""")
    con.execute(f"""
        COPY (SELECT 'bench/e' || k AS entity_id, 'Entity ' || k AS name, 'ORG' AS label,
                     CASE WHEN k < 10 THEN 'platform' ELSE 'brand' END AS kind, [] AS aliases,
                     'gazetteer' AS origin FROM range({N_ENTITIES}) t(k))
        TO '{enriched / "entities.jsonl"}' (FORMAT json)""")


def bench_load(root: Path, n_mentions: int) -> None:
    import duckdb

    settings = Settings(data_dir=root / "load")
    ctx = RunContext.for_night(settings, date(2026, 11, 3), run_id="bench_load")
    per_doc = 5
    n_docs = max(1, n_mentions // per_doc)
    _say(f"[load] writing synthetic batch: {n_docs:,} documents, {n_docs * per_doc:,} mentions ...")
    scratch = duckdb.connect()
    write_night(scratch, ctx, n_docs, per_doc, "t3_")
    scratch.close()
    con = connect(settings.warehouse_path)
    _say("[load] load_night ...")
    t0 = time.perf_counter()
    counts = load_night(ctx, con=con)
    dt = time.perf_counter() - t0
    _say(f"[load] {counts['mentions']:,} mention rows (+{counts['documents']:,} documents, "
         f"{counts['entity_sentiment']:,} entity_sentiment) in {dt:.2f} s "
         f"= {counts['mentions'] / dt:,.0f} mention rows/s")
    t0 = time.perf_counter()
    load_night(ctx, con=con)
    dt2 = time.perf_counter() - t0
    n = con.execute("SELECT count(*) FROM core.mentions").fetchone()[0]
    _say(f"[load] same night again (replace, idempotent): {dt2:.2f} s, core.mentions still {n:,}")
    summary.record("warehouse", "re-load of a night adds no rows", f"core.mentions = {counts['mentions']:,}",
                   f"{n:,} ({counts['mentions'] / dt:,.0f} mention rows/s)", "", n == counts["mentions"])
    con.close()


def build_history(con, first: date, nights: int, docs_per_night: int) -> None:
    """Append `nights` nights to core in night order, as nightly loads would have."""
    con.execute("BEGIN")
    con.execute(f"""
        INSERT INTO core.entities
        SELECT 'bench/e' || k, 'Entity ' || k, 'ORG', CASE WHEN k < 10 THEN 'platform' ELSE 'brand' END,
               [], 'gazetteer' FROM range({N_ENTITIES}) t(k) ON CONFLICT DO NOTHING""")
    con.execute(f"""
        INSERT INTO core.documents
        SELECT 'h' || n || '_' || i, 'reddit', 'post', 'TikTokShop', NULL, NULL, NULL, 'title', 'body', 'u',
               CAST(DATE '{first}' + CAST(n AS INTEGER) AS TIMESTAMPTZ) + to_seconds((i * 37) % 86400),
               CAST(DATE '{first}' + CAST(n AS INTEGER) AS TIMESTAMPTZ) + INTERVAL 23 HOUR,
               CAST(i % 50 AS INTEGER), 0, 'en', NULL, false, 0.1, [], NULL, 'hist',
               DATE '{first}' + CAST(n AS INTEGER), 1.0, true,  -- relevance, on_topic (migration 004)
               NULL  -- sentiment_model (migration 012)
        FROM range({nights}) a(n), range({docs_per_night}) b(i) ORDER BY n""")
    con.execute(f"""
        INSERT INTO core.entity_sentiment
        SELECT 'h' || n || '_' || i, 'bench/e' || ((i + k * 17) % {N_ENTITIES}), 2,
               (hash(n, i, k) % 2000) / 1000.0 - 1, DATE '{first}' + CAST(n AS INTEGER)
        FROM range({nights}) a(n), range({docs_per_night}) b(i), range(3) c(k) ORDER BY n""")
    con.execute("COMMIT")


def bench_marts(root: Path, history: int, docs_per_night: int) -> float:
    import duckdb

    settings = Settings(data_dir=root / f"marts{history}")
    new_night = date(2026, 11, 3)
    first = new_night - timedelta(days=history)
    con = connect(settings.warehouse_path)
    _say(f"[marts] building {history} nights x {docs_per_night:,} docs of history "
         f"({history * docs_per_night * 3:,} entity_sentiment rows) ...")
    build_history(con, first, history, docs_per_night)
    t0 = time.perf_counter()
    refresh_marts(con, None)
    full = time.perf_counter() - t0
    ctx = RunContext.for_night(settings, new_night, run_id="bench_new")
    scratch = duckdb.connect()
    write_night(scratch, ctx, docs_per_night, 5, "t3_new")
    scratch.close()
    days = load_night(ctx, con=con)["affected_days"]
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        refresh_marts(con, days)
        best = min(best, time.perf_counter() - t0)
    _say(f"[marts] {history:>3} nights of history: one new night refresh {best * 1000:.1f} ms "
         f"(full rebuild {full * 1000:.0f} ms)")
    con.close()
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.warehouse", description=__doc__.split("\n")[0])
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--docs-per-night", type=int, default=2_000)
    parser.add_argument("--skip-load", action="store_true")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="bench-warehouse-"))
    try:
        if not args.skip_load:
            bench_load(root, args.mentions)
        t30 = bench_marts(root, 30, args.docs_per_night)
        t365 = bench_marts(root, 365, args.docs_per_night)
        _say(f"[marts] ratio 365/30 = {t365 / t30:.2f} "
             "(about 1 means cost follows the new night, not the history)")
        ratio = t365 / t30
        summary.record("warehouse", "mart refresh, 365 vs 30 nights of history", "ratio <= 1.5",
                       f"{ratio:.2f} ({t30 * 1000:.0f} / {t365 * 1000:.0f} ms)",
                       "full rebuild grows with history",
                       ratio <= 1.5)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if all(r.passed for r in summary.ROWS if r.bench == "warehouse") else 1


if __name__ == "__main__":
    sys.exit(main())
