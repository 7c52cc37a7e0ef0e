"""Peak RSS of a whole night whose batch holds one very long document (issue 12).

Why a tool and not a test: the figure depends on the machine and the spaCy model; it is measured
and reported (README / the issue), not asserted. Usage::

    python -m tools.measure_long_doc_rss --chars 10000000     # the night with the long post
    python -m tools.measure_long_doc_rss --chars 0            # the same night without it

The night runs through the project's runner (`pulse run`'s code path) against a replay of Reddit's
API serving a few ordinary posts plus, when ``--chars`` > 0, one post whose selftext has that many
characters (the demo corpus's news paragraphs repeated: ordinary prose, ordinary entity density).
News is off. The replay server runs in a child process, so the figure is the pipeline's own:
``ru_maxrss`` of this process after every stage (spaCy model, GX, DuckDB, report included).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NIGHT = date(2026, 11, 14)


def _corpus(chars: int) -> dict:
    news = json.loads((ROOT / "demo" / "corpus" / "news.json").read_text(encoding="utf-8"))
    prose = " ".join(p for s in news["sites"] for a in s["articles"] for p in a["paragraphs"])
    start = datetime(2026, 11, 14, 8, tzinfo=UTC)
    posts = []
    for i in range(20):
        posts.append({"id": f"p{i}", "subreddit": "TikTokShop", "title": f"Post {i} about TikTok Shop",
                      "selftext": prose[i * 500:(i + 1) * 500], "author": f"user{i}",
                      "created_utc": (start + timedelta(minutes=i)).timestamp(), "score": 1,
                      "edited": False, "removed": False, "link_url": None, "comments": []})
    if chars:
        body = (prose + "\n\n") * (chars // (len(prose) + 2) + 1)
        posts.append({"id": "longpost", "subreddit": "TikTokShop", "title": "A very long post",
                      "selftext": body[:chars], "author": "verbose",
                      "created_utc": (start + timedelta(hours=2)).timestamp(), "score": 1,
                      "edited": False, "removed": False, "link_url": None, "comments": []})
    return {"synthetic": True, "subreddits": ["TikTokShop"], "posts": posts}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _serve(corpus: dict, conn) -> None:
    from demo.replay import reddit_api
    from demo.replay.server import ReplayServer

    with ReplayServer([reddit_api.make_handler(corpus)]) as server:
        conn.send(server.base_url)
        conn.recv()  # until the parent says stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=10_000_000)
    args = parser.parse_args(argv)

    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.get_context("fork").Process(target=_serve, args=(_corpus(args.chars), child),
                                                       daemon=True)
    proc.start()
    base_url = parent.recv()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            overlay = Path(tmp) / "rss.toml"
            overlay.write_text(f"""
[pipeline]
data_dir = "{tmp}/data"
[reddit]
subreddits = ["TikTokShop"]
search_queries = []
comment_streams = false
oauth_url = "{base_url}"
reddit_url = "{base_url}"
[news]
enabled = false
""", encoding="utf-8")
            os.environ.update({"PULSE_REDDIT_CLIENT_ID": "rss", "PULSE_REDDIT_CLIENT_SECRET": "rss",
                               "AIRFLOW_HOME": f"{tmp}/airflow"})
            for var in ("PULSE_CONFIG", "PULSE_DATA_DIR"):
                os.environ.pop(var, None)
            from common.config import load_settings
            from common.context import RunContext
            from pipeline.runner import run_all

            settings = load_settings(overlay)
            started = time.monotonic()
            def echo(line: str) -> None:  # the peak so far after each stage: which stage costs it
                print(f"{line[:120]}  [peak RSS so far {_peak_mb():.0f} MB]")

            outcome = run_all(RunContext.for_night(settings, NIGHT, run_id="rss-1"), echo=echo)
            elapsed = time.monotonic() - started
    finally:
        parent.send("stop")
        proc.join(timeout=10)
    peak_mb = _peak_mb()
    print(json.dumps({"chars": args.chars, "max_text_chars": settings.nlp.max_text_chars,
                      "loaded": "load" in outcome.results, "errors": outcome.errors,
                      "peak_rss_mb": round(peak_mb, 1), "seconds": round(elapsed, 1)}))
    return 0 if "load" in outcome.results else 1


if __name__ == "__main__":
    sys.exit(main())
