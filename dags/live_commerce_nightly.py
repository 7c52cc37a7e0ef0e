"""
### live_commerce_nightly

Nightly social listening for live-stream commerce (TikTok Shop, Whatnot, TalkShopLive, ...).

| task | what it does |
|---|---|
| `extract_reddit` | PRAW: configured subreddits and search queries, posts and comment trees; raw JSON landed under `data/raw/reddit/<night>/` |
| `extract_news` | RSS/Atom feeds, then article pages fetched politely and parsed with bs4; raw bytes landed under `data/raw/news/<night>/` |
| `enrich_plan` | splits the night's documents into contiguous shards of about equal words (about `[storage] enrich_shard_size` documents each, rounded up to whole waves of `PULSE_ENRICH_PARALLEL` unless one shard holds the night, at most `max_shards`) |
| `enrich_shard` | mapped over the shards, on any worker: spaCy entities (gazetteer + NER, canonicalised), sentiment per document/sentence/entity, themes, language |
| `enrich_merge` | joins the shards into the night's enriched batch, exactly what one pass writes |
| `validate` | Great Expectations suites; a critical failure quarantines the batch and stops here |
| `load` | swaps the night into DuckDB (`core.*`, `ops.*`) in one transaction |
| `build_marts` | refreshes `marts.*` for the days this night touched |
| `alerts` | spike alerts (entities, topics: volume and sentiment) and source drops (subreddits, feeds), recorded in `ops.alerts` and sent once to the `[alerts]` webhooks, Slack and SMTP; a receiver that is down is retried, recorded and never fails the night |
| `report` | writes the newsletter (Markdown, HTML, JSON, charts) to `data/reports/<night>/` |
| `record_night` | always runs last (`all_done`): whatever failed, the night's source runs, per-URL errors and per-document outcomes reach `ops.*`, and `ops.runs` says which stage failed and why |

The two extract tasks are independent: `enrich_plan` runs when both are done, whatever their
state, and works with what landed. Deterministic failures (quality gate, bad config or credentials) fail
at once; only transient ones are retried. A run with logical date *D* processes the night *D - 1 day* (UTC).
Settings come from `config/` (overlay with `PULSE_CONFIG`); Reddit credentials from
`PULSE_REDDIT_CLIENT_ID`/`PULSE_REDDIT_CLIENT_SECRET` or the connection `reddit_default`.

**Before unpausing:** the DAG is created paused. A run uses the `PULSE_CONFIG` of the Airflow
processes. Under `make airflow` that is `config/demo.toml` (the local replay server, nothing leaves
the machine); anywhere else, without `PULSE_CONFIG`, it is the real `config/pipeline.toml`, which
fetches from Reddit and news sites and writes `data/`.

**Several workers** (CeleryExecutor, KubernetesExecutor; docs/deployment.md): with `[storage] url`
each task pulls its inputs from the store and pushes its outputs, so no task needs another's disk.
The warehouse writers (`validate`, `load`, `build_marts`, `alerts`, `report`, `record_night`) run on the queue
`PULSE_WAREHOUSE_QUEUE` (one worker owns the DuckDB file); the extracts take a slot of the pools
named by `PULSE_POOL_REDDIT` / `PULSE_POOL_NEWS` (create them with 1 slot), so the Reddit request
budget and per-host news delays hold across workers and overlapping runs. At most
`PULSE_ENRICH_PARALLEL` (default 2) enrich shards of a night run at once.

Every task is a thin call into `pipeline.stages`; nothing here touches the network, the database,
spaCy or GX at parse time.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import dag, task

from common.config import enrich_parallel  # stdlib only: cheap at parse time

# Retry delay is an env knob so `make demo` can shorten it; production keeps the default.
RETRY_DELAY = timedelta(seconds=int(os.environ.get("PULSE_RETRY_DELAY_S", "300")))

# issue 14: where tasks run when there are several workers. Unset, everything uses Airflow's
# defaults (one machine): a pool that does not exist would keep a task from ever being scheduled,
# so the DAG never names one the operator did not create.
WAREHOUSE_QUEUE = os.environ.get("PULSE_WAREHOUSE_QUEUE") or "default"
REDDIT_POOL = os.environ.get("PULSE_POOL_REDDIT") or "default_pool"
NEWS_POOL = os.environ.get("PULSE_POOL_NEWS") or "default_pool"
# Enrich shards of one night running at once, across all workers: each holds spaCy and MiniLM
# (~1 GB measured) and one core, so a LocalExecutor's parallelism of 32 must not start them all on
# one laptop. Raise it to the number of worker slots on a cluster.
ENRICH_PARALLEL = enrich_parallel()  # the planner rounds the shard count to a multiple of it

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


def _run(name, context, **kwargs):
    """Run one stage; a failure no retry can fix fails the task at once, others keep the retries.

    Deterministic failures (quality gate, bad config, bad credentials, a batch breaking the load
    contract: ``pipeline.airflow_support.is_deterministic``) raise AirflowFailException instead of
    waiting out two retries with backoff. ``stages.run_stage`` notes the failure for the final
    ``record_night`` task.
    """
    from pipeline import stages
    from pipeline.airflow_support import is_deterministic

    try:
        return stages.run_stage(name, _ctx(context), **kwargs)
    except Exception as exc:
        if not is_deterministic(exc):
            raise
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc


@dag(
    dag_id="live_commerce_nightly",
    schedule="0 2 * * *",
    start_date=datetime(2026, 11, 1),
    catchup=False,
    # Paused until someone decides which config it runs with (see "Before unpausing" above).
    is_paused_upon_creation=True,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["liveshop-pulse", "social-listening"],
)
def live_commerce_nightly():
    @task(pool=REDDIT_POOL)
    def extract_reddit(**context) -> dict:
        return _run("extract_reddit", context)

    @task(pool=NEWS_POOL)
    def extract_news(**context) -> dict:
        return _run("extract_news", context)

    @task(trigger_rule="all_done")
    def enrich_plan(**context) -> list[int]:
        """The shard numbers: the list the mapped enrich_shard task expands over."""
        return list(range(_run("enrich_plan", context)["shards"]))

    @task(map_index_template="shard {{ task.op_kwargs['shard'] }}", max_active_tis_per_dagrun=ENRICH_PARALLEL)
    def enrich_shard(shard: int, **context) -> dict:
        return _run("enrich_shard", context, shard=shard)

    @task
    def enrich_merge(**context) -> dict:
        return _run("enrich_merge", context)

    @task(queue=WAREHOUSE_QUEUE)  # records ops.quality_results (and a failed gate's quarantine)
    def validate(**context) -> dict:
        return _run("validate", context)

    @task(queue=WAREHOUSE_QUEUE)
    def load(**context) -> dict:
        return _run("load", context)

    @task(queue=WAREHOUSE_QUEUE)
    def build_marts(**context) -> dict:
        return _run("build_marts", context)

    @task(queue=WAREHOUSE_QUEUE)
    def alerts(**context) -> dict:
        return _run("alerts", context)

    @task(queue=WAREHOUSE_QUEUE)
    def report(**context) -> dict:
        return _run("report", context)

    @task(trigger_rule="all_done", queue=WAREHOUSE_QUEUE)
    def record_night(**context) -> dict:
        """Always runs last: the night's source runs, per-URL errors and per-document outcomes
        reach ops.* whatever failed, and ops.runs says which stage failed and why. Fails (without
        retry) when the night failed, so the DAG run is marked failed too."""
        from pipeline import stages

        try:
            return stages.run_stage("record_night", _ctx(context))
        except stages.NightFailed as exc:
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(str(exc)) from None

    extracts = [extract_reddit(), extract_news()]
    plan = enrich_plan()
    extracts >> plan
    enriched = enrich_merge()
    enrich_shard.expand(shard=plan) >> enriched
    reported = enriched >> validate() >> load() >> build_marts() >> alerts() >> report()
    [*extracts, reported] >> record_night()


live_commerce_nightly()
