"""
### live_commerce_nightly

Nightly social listening for live-stream commerce (TikTok Shop, Whatnot, TalkShopLive, ...).

| task | what it does |
|---|---|
| `extract_reddit` | PRAW: configured subreddits and search queries, posts and comment trees; raw JSON landed under `data/raw/reddit/<night>/` |
| `extract_news` | RSS/Atom feeds, then article pages fetched politely and parsed with bs4; raw bytes landed under `data/raw/news/<night>/` |
| `enrich` | spaCy entities (gazetteer + NER, canonicalised), sentiment per document/sentence/entity, themes, language |
| `validate` | Great Expectations suites; a critical failure quarantines the batch and stops here |
| `load` | swaps the night into DuckDB (`core.*`, `ops.*`) in one transaction |
| `build_marts` | refreshes `marts.*` for the days this night touched |
| `report` | writes the newsletter (Markdown, HTML, JSON, charts) to `data/reports/<night>/` |

The two extract tasks are independent: `enrich` runs when both are done, whatever their state,
and works with what landed. A run with logical date *D* processes the night *D - 1 day* (UTC).
Settings come from `config/` (overlay with `PULSE_CONFIG`); Reddit credentials from
`PULSE_REDDIT_CLIENT_ID`/`PULSE_REDDIT_CLIENT_SECRET` or the connection `reddit_default`.

Every task is a thin call into `pipeline.stages`; nothing here touches the network, the database,
spaCy or GX at parse time.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import dag, task

# Retry delay is an env knob so `pulse demo` can shorten it; production keeps the default.
RETRY_DELAY = timedelta(seconds=int(os.environ.get("PULSE_RETRY_DELAY_S", "300")))

DEFAULT_ARGS = {
    "owner": "liveshop-pulse",
    "retries": 2,
    "retry_delay": RETRY_DELAY,
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
}


def _ctx(context):
    """Build the RunContext for this task from Airflow's context (cheap; no I/O beyond config)."""
    from pipeline.airflow_support import run_context_from_airflow

    return run_context_from_airflow(context)


def _no_pointless_retry(stage, ctx):
    """Run an extract stage; a failure no retry can fix (bad credentials) fails the task at once."""
    from extractors.source_run import SourceFailed

    try:
        return stage(ctx)
    except SourceFailed as exc:
        if exc.retryable:
            raise
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(str(exc)) from None


@dag(
    dag_id="live_commerce_nightly",
    schedule="0 2 * * *",
    start_date=datetime(2026, 11, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["liveshop-pulse", "social-listening"],
)
def live_commerce_nightly():
    @task
    def extract_reddit(**context) -> dict:
        from pipeline import stages

        return _no_pointless_retry(stages.extract_reddit, _ctx(context))

    @task
    def extract_news(**context) -> dict:
        from pipeline import stages

        return _no_pointless_retry(stages.extract_news, _ctx(context))

    @task(trigger_rule="all_done")
    def enrich(**context) -> dict:
        from pipeline import stages

        return stages.enrich(_ctx(context))

    @task
    def validate(**context) -> dict:
        from pipeline import stages

        return stages.validate(_ctx(context))

    @task
    def load(**context) -> dict:
        from pipeline import stages

        return stages.load(_ctx(context))

    @task
    def build_marts(**context) -> dict:
        from pipeline import stages

        return stages.build_marts(_ctx(context))

    @task
    def report(**context) -> dict:
        from pipeline import stages

        return stages.report(_ctx(context))

    enriched = enrich()
    [extract_reddit(), extract_news()] >> enriched
    enriched >> validate() >> load() >> build_marts() >> report()


live_commerce_nightly()
