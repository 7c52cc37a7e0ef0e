"""The nightly stages, one function each: the only code the DAG, `pulse run` and tests call.

Each takes a :class:`RunContext` and returns a small JSON-able summary (fit for an XCom); data
moves between stages through files under ``data/work/<night>/`` and the warehouse, never through
large XComs. Heavy libraries (PRAW, spaCy, GX, DuckDB) are imported inside the functions so that
importing this module - which the DAG file does at parse time - stays cheap.
"""

from __future__ import annotations

import logging
from typing import Any

from common.context import RunContext
from common.source_run import PERMANENT_STAGES, SourceFailed, SourceRun, StoredWatermarks

log = logging.getLogger(__name__)


def _window_gate(ctx: RunContext, run: SourceRun) -> int:
    """Issue 12: set aside, one by one, documents dated outside the window rule (future, or long
    before the window), so they never quarantine the night at validate. Returns how many."""
    from common.outcomes import apply_window_gate

    moved = apply_window_gate(ctx, run.source)
    if moved:
        run.n_documents = max(0, run.n_documents - len(moved))
        note = f"{len(moved)} document(s) dated outside the window quarantined alone"
        run.message = f"{run.message}; {note}" if run.message else note
        run.save(ctx.work_dir)
        log.warning("%s: %s", run.source, note)
    return len(moved)


def _finish_extract(run: SourceRun, ctx: RunContext | None = None) -> dict[str, Any]:
    outside = _window_gate(ctx, run) if ctx is not None else 0
    if run.status != "skipped":  # a skipping extractor already said why, in one line
        line = f"{run.source}: {run.status} - {run.n_documents} documents, {len(run.errors)} errors"
        log.info(line + (f" ({run.message})" if run.message else ""))
    if run.status == "failed":
        # Recorded in work/<night>/<source>.source_run.json first; load puts it into ops.*.
        permanent = bool(run.errors) and all(e.stage in PERMANENT_STAGES for e in run.errors)
        raise SourceFailed(f"{run.source} extraction failed: {run.message or 'see ops.errors'}",
                           retryable=not permanent)
    summary = {"source": run.source, "status": run.status, "documents": run.n_documents,
               "errors": len(run.errors)}
    if outside:
        summary["outside_window"] = outside
    return summary


def extract_reddit(ctx: RunContext, from_raw: bool = False) -> dict[str, Any]:
    """Reddit posts and comments via PRAW (or re-parsed from the night's raw landing)."""
    from extractors import reddit

    run = reddit.extract_from_raw(ctx) if from_raw else reddit.extract(ctx, stored=_watermarks(ctx, "reddit"))
    return _finish_extract(run, ctx)


def _watermarks(ctx: RunContext, source: str) -> StoredWatermarks:
    """The source's watermarks, read here and handed in, so extractors never open the warehouse;
    never fails the extract (no marks means the backfill window).

    From ``state/watermarks.json`` only (written after each load, and carried by the store to
    whichever worker runs the extract): an extract task never opens the warehouse. Without the
    file (the first night, or the first night after upgrading from a version that kept the marks
    only in ``ops.watermarks``) the backfill window applies, which only widens the fetch.
    """
    try:
        from warehouse.watermarks import marks_from_file

        return marks_from_file(ctx.settings, source, ctx.night) or \
            StoredWatermarks({}, "none", f"no {source} marks yet in state/watermarks.json")
    except Exception as exc:  # noqa: BLE001 - e.g. duckdb missing: fall back to the backfill window
        return StoredWatermarks({}, "none", f"{type(exc).__name__} while reading them")


def extract_news(ctx: RunContext, from_raw: bool = False) -> dict[str, Any]:
    """News feeds and article pages (or re-parsed from the night's raw landing)."""
    from extractors import news

    run = news.extract_from_raw(ctx) if from_raw else news.extract(ctx)
    return _finish_extract(run, ctx)


def enrich_plan(ctx: RunContext) -> dict[str, Any]:
    """Split the night's documents into shards (``[storage] enrich_shard_size``, at most
    ``max_shards``); the DAG maps one ``enrich_shard`` task over them (issue 14)."""
    from transforms.enrich import plan_shards

    plan = plan_shards(ctx)
    return {"shards": plan["shards"], "documents": plan["documents"]}


def enrich_shard(ctx: RunContext, shard: int = 0) -> dict[str, Any]:
    """spaCy entities, sentiment, themes and language for one shard's documents."""
    from transforms.enrich import enrich_shard as run_shard

    summary = run_shard(ctx, shard)
    return {k: v for k, v in summary.items() if k != "rejects"}


def enrich_merge(ctx: RunContext) -> dict[str, Any]:
    """Join the shards into the night's enriched batch (what validate reads)."""
    from transforms.enrich import merge_shards

    summary = merge_shards(ctx)
    return {k: v for k, v in summary.items() if k != "rejects"}


def validate(ctx: RunContext) -> dict[str, Any]:
    """Great Expectations on the enriched batch; a critical failure quarantines the batch.

    On failure the failing rows go to quarantine.documents, the source runs still reach ops.*, and
    QualityGateFailed stops the run before anything is loaded or published.
    """
    from quality.validate import QualityGateFailed, failing_records, validate_night
    from warehouse.load import quarantine, record_quality, record_source_runs

    outcome = validate_night(ctx)
    record_quality(ctx, outcome.results)
    if not outcome.success:
        failing = failing_records(ctx, outcome)
        reasons = {row["doc_id"]: why for row, why in failing if isinstance(row.get("doc_id"), str)}
        n = quarantine(ctx, [row for row, _ in failing], reasons)
        error = QualityGateFailed(ctx.night.isoformat(), outcome.critical_failures, outcome.data_docs_index)
        n += len(outcome.quarantined)  # rows validate already set aside alone (quality.isolation)
        record_source_runs(ctx, status="quarantined",
                           message=f"{n} rows quarantined; " + "; ".join(outcome.critical_failures))
        raise error
    from warehouse.lake import write_night

    # issue 14: the accepted batch as Parquet, lake/<table>/night=<night>/shard=<k>.parquet: what
    # load reads and `pulse rebuild` recreates the warehouse from.
    lake = write_night(ctx)
    return {
        "success": True,
        "documents": outcome.n_documents,
        "mentions": outcome.n_mentions,
        "warnings": len(outcome.warnings),
        "data_docs": str(outcome.data_docs_index) if outcome.data_docs_index else None,
        "lake_shards": lake["shards"],
    }


def load(ctx: RunContext) -> dict[str, Any]:
    """Swap the night's rows into the warehouse in one transaction (idempotent per night)."""
    from warehouse.db import connect
    from warehouse.load import load_night
    from warehouse.ops_lake import LOAD_TABLES
    from warehouse.watermarks import export_marks

    con = connect(ctx.settings.warehouse_path)
    try:
        result = load_night(ctx, con)
        result["watermarks_file"] = str(export_marks(ctx.settings))  # what the next extracts read
        # The night's source runs, errors, quality results and quarantine rows into the lake too,
        # so a rebuild restores the audit trail with the data (warehouse/ops_lake.py).
        result["ops_files"] = _export_ops(con, ctx, LOAD_TABLES)
    finally:
        con.close()
    return result


def _export_ops(con: Any, ctx: RunContext, tables: tuple[str, ...]) -> dict[str, int] | str:
    """The night's ops rows into the lake (warehouse.ops_lake). Why a failure is only logged: the
    night is committed by now; failing the task would mark a loaded night failed and skip its
    marts. A rebuild then lacks this night's history, which the warning and the result say."""
    from warehouse.ops_lake import write_ops

    try:
        return write_ops(con, ctx.settings.data_dir, ctx.night, tables)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        log.warning("night %s: ops history not exported to the lake (a rebuild will lack it): %s: %s",
                    ctx.night, type(exc).__name__, exc)
        return f"not exported: {type(exc).__name__}: {exc}"[:500]


def build_marts(ctx: RunContext) -> dict[str, Any]:
    """Cluster syndicated articles, refresh the marts for the days this night touched, then
    publish the analysts' snapshot.

    Analysts and reports read `warehouse.published.duckdb` while the next night holds the writer
    lock, so they always see the last complete night rather than a lock error.
    """
    from warehouse.db import connect, publish
    from warehouse.marts import affected_days, refresh_marts

    con = connect(ctx.settings.warehouse_path)
    try:
        days = affected_days(con, ctx.night)
        # issue 15: syndication - clusters first, so the marts count each cluster once; days
        # whose articles changed cluster status are refreshed too.
        from transforms.syndication import update_syndication

        syndication = update_syndication(con, ctx.night, days)
        days = sorted(set(days) | set(syndication.pop("changed_days")))
        result = refresh_marts(con, days, on_topic_only=ctx.settings.relevance.exclude_off_topic)
        result["syndication"] = syndication
        if ctx.settings.storage.url:  # issue 14: marts/<mart>.parquet, pushed to the store for analysts
            from warehouse.export import write_mart_files

            result["mart_files"] = len(write_mart_files(con, ctx.settings.data_dir))
        # issue 15: syndication (end)
        result["published"] = str(publish(ctx.settings.warehouse_path, con))
        return result
    finally:
        con.close()


def alerts(ctx: RunContext) -> dict[str, Any]:
    """Spike alerts (entities, topics: volume and sentiment) and source drops, sent once.

    Runs after build_marts so it reads the refreshed marts. Why it never fails the night on a
    receiver: by now the night is loaded and published; a webhook or mail server that is down is
    retried with bounded backoff, recorded in ``ops.alert_deliveries`` and retried by a re-run.
    The snapshot is re-published when the step recorded anything, so analysts see ``ops.alerts``.
    """
    from pipeline.alerts import run_alerts
    from warehouse.db import connect, publish
    from warehouse.ops_lake import ALERT_TABLES

    con = connect(ctx.settings.warehouse_path)
    try:
        result = run_alerts(con, ctx.settings, ctx.night)
        if result.get("raised") or result.get("sent") or result.get("failed"):
            result["published"] = str(publish(ctx.settings.warehouse_path, con))
        result["ops_files"] = _export_ops(con, ctx, ALERT_TABLES)  # for pulse rebuild
        return result
    finally:
        con.close()


def report(ctx: RunContext) -> dict[str, Any]:
    """The newsletter (Markdown, HTML, JSON, charts) for the period ending on the night."""
    from reports.newsletter import write_report

    paths = write_report(ctx.settings, ctx.night)
    return {fmt: str(path) for fmt, path in paths.items()}


# DAG order; the two extracts come first and are independent (pipeline.runner relies on this).
# enrich_shard runs once per shard of the plan (mapped in the DAG), each noting its own failure
# as "enrich_shard-<k>".
STAGES = ("extract_reddit", "extract_news", "enrich_plan", "enrich_shard", "enrich_merge", "validate",
          "load", "build_marts", "alerts", "report")
# Stages whose failure means the night never reached (or never finished) the load.
_BEFORE_LOAD = ("extract_reddit", "extract_news", "enrich_plan", "enrich_shard", "enrich_merge",
                "validate", "load")


# --- issue 12: every night leaves a record ---------------------------------------------------
def run_stage(name: str, ctx: RunContext, **kwargs: Any) -> dict[str, Any]:
    """Run one stage by name, noting a failure for :func:`record_night` (and clearing this
    stage's note when it succeeds, e.g. on an Airflow retry). The DAG and the runner both use it.

    An extract's SourceFailed is not noted: its source-run file already says why, and the night
    goes on with the other source. An extract that crashes is noted and also leaves a failed
    source-run record, so ops.source_runs shows the source even though the night goes on.
    """
    from common.storage import stage_inputs, staged

    trailing = 0
    if name == "validate":
        from quality.validate import VOLUME_TRAILING_NIGHTS as trailing
    wanted = stage_inputs(name, ctx.night, from_raw=bool(kwargs.get("from_raw")), trailing_nights=trailing)
    # issue 14: with [storage] url, the task pulls what it reads and pushes what it wrote.
    with staged(ctx.settings.storage.url, ctx.settings.data_dir, wanted):
        if name == "record_night":  # records the others' notes; its own failure is the night's
            return record_night(ctx)
        return _run_noted(name, ctx, **kwargs)


def _run_noted(name: str, ctx: RunContext, **kwargs: Any) -> dict[str, Any]:
    from common.outcomes import clear_failure, note_failure

    note = f"{name}-{kwargs['shard']}" if "shard" in kwargs else name  # mapped tasks: one note each
    try:
        result = globals()[name](ctx, **kwargs)
    except SourceFailed:
        clear_failure(ctx, note)
        raise
    except BaseException as exc:
        note_failure(ctx, note, exc)
        if name in _EXTRACTS and isinstance(exc, Exception):
            _crashed_source_run(ctx, name, exc)
        raise
    clear_failure(ctx, note)
    return result


_EXTRACTS = ("extract_reddit", "extract_news")


def _crashed_source_run(ctx: RunContext, stage: str, exc: BaseException) -> None:
    try:
        run = SourceRun(stage.removeprefix("extract_"))
        run.error(None, "crash", f"{type(exc).__name__}: {exc}"[:500])
        run.finish("failed", f"the extractor crashed: {type(exc).__name__}: {exc}"[:500])
        run.save(ctx.work_dir)
    except Exception:  # noqa: BLE001 - the crash itself is what must surface
        log.warning("could not record the crash of %s", stage, exc_info=True)


class NightFailed(RuntimeError):
    """Raised by :func:`record_night` after recording a night that failed, so the DAG run that
    ends with the recording task is still marked failed."""


def record_night(ctx: RunContext) -> dict[str, Any]:
    """The last task of every night, whatever happened before (trigger rule all_done).

    Why: extract tasks never write the warehouse, so a night that stopped at enrich left its
    source runs and per-URL errors only in ``work/<night>/*.source_run.json``. This copies them to
    ``ops.source_runs`` / ``ops.errors`` (with the per-document quarantine rows) and makes
    ``ops.runs`` say which stage failed and why. A night that loaded already has its record; a
    failure after the load (marts, report) only updates its ``ops.runs`` row, and a crashed
    extract on a night that still loaded marks it ``partial``. Raises :class:`NightFailed` after
    recording a night that failed.
    """
    from common.outcomes import read_failures
    from warehouse.db import connect
    from warehouse.load import record_source_runs

    notes = read_failures(ctx, STAGES)
    crashed = [n for n in notes if n.get("stage") in _EXTRACTS]
    for n in notes:  # "enrich_shard-3" is the stage enrich_shard
        n["stage"] = str(n.get("stage") or "").partition("-")[0]
    stopped = next((n for n in notes if n.get("stage") not in _EXTRACTS), None)
    crash_text = "; ".join(f"{n['stage']} crashed: {n.get('error')}" for n in crashed)
    con = connect(ctx.settings.warehouse_path)
    try:
        row = con.execute("SELECT status, message FROM ops.runs WHERE run_id = ?", [ctx.run_id]).fetchone()
        if stopped is None and row is not None:
            if crashed:  # the night loaded without that source
                con.execute("UPDATE ops.runs SET status = 'partial', message = ? WHERE run_id = ?",
                            [f"{row[1]}; {crash_text}"[:4000], ctx.run_id])
                return {"recorded": True, "status": "partial"}
            return {"recorded": False, "status": row[0]}
        if stopped is not None and stopped.get("stage") not in _BEFORE_LOAD:
            stage, error = stopped["stage"], str(stopped.get("error") or "")
            message = f"{stage} failed: {error}"
            con.execute("UPDATE ops.runs SET status = 'failed', message = ?, finished_at = current_timestamp "
                        "WHERE run_id = ?", [message[:4000], ctx.run_id])
            n = 0
    finally:
        con.close()
    if stopped is None:
        stage, message = None, ("the night never reached the load and no stage said why "
                                "(a task killed, skipped or still upstream_failed?)")
        status = "failed"
    else:
        stage = stopped["stage"]
        message = f"{stage} failed: {stopped.get('error') or ''}"
        status = "quarantined" if stage == "validate" and stopped.get("kind") == "QualityGateFailed" \
            else "failed"
    if crash_text:
        message = f"{message}; {crash_text}"
    if stage is None or stage in _BEFORE_LOAD:
        n = record_source_runs(ctx, status=status, message=message[:4000])
    log.error("night %s recorded as %s: %s", ctx.night, status, message.splitlines()[0][:300])
    raise NightFailed(f"night {ctx.night} {status} at {stage or 'an unknown stage'}: "
                      f"{message.splitlines()[0][:300]} (recorded in ops.runs; {n} source run(s))")
# --- end issue 12 ----------------------------------------------------------------------------
