"""The nightly stages, one function each: the only code the DAG, `pulse run` and tests call.

Each takes a :class:`RunContext` and returns a small JSON-able summary (fit for an XCom); data
moves between stages through files under ``data/work/<night>/`` and the warehouse, never through
large XComs. Heavy libraries (PRAW, spaCy, GX, DuckDB) are imported inside the functions so that
importing this module - which the DAG file does at parse time - stays cheap.
"""

from __future__ import annotations

import logging
from typing import Any

from extractors.source_run import PERMANENT_STAGES, SourceFailed, SourceRun
from pipeline.context import RunContext

log = logging.getLogger(__name__)


def _finish_extract(run: SourceRun) -> dict[str, Any]:
    if run.status != "skipped":  # a skipping extractor already said why, in one line
        line = f"{run.source}: {run.status} - {run.n_documents} documents, {len(run.errors)} errors"
        log.info(line + (f" ({run.message})" if run.message else ""))
    if run.status == "failed":
        # Recorded in work/<night>/<source>.source_run.json first; load puts it into ops.*.
        permanent = bool(run.errors) and all(e.stage in PERMANENT_STAGES for e in run.errors)
        raise SourceFailed(f"{run.source} extraction failed: {run.message or 'see ops.errors'}",
                           retryable=not permanent)
    return {"source": run.source, "status": run.status, "documents": run.n_documents,
            "errors": len(run.errors)}


def extract_reddit(ctx: RunContext, from_raw: bool = False) -> dict[str, Any]:
    """Reddit posts and comments via PRAW (or re-parsed from the night's raw landing)."""
    from extractors import reddit

    run = reddit.extract_from_raw(ctx) if from_raw else reddit.extract(ctx)
    return _finish_extract(run)


def extract_news(ctx: RunContext, from_raw: bool = False) -> dict[str, Any]:
    """News feeds and article pages (or re-parsed from the night's raw landing)."""
    from extractors import news

    run = news.extract_from_raw(ctx) if from_raw else news.extract(ctx)
    return _finish_extract(run)


def enrich(ctx: RunContext) -> dict[str, Any]:
    """spaCy entities, sentiment, themes and language for every document the extracts wrote."""
    from transforms.enrich import enrich_night

    return enrich_night(ctx)


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
        record_source_runs(ctx, status="quarantined",
                           message=f"{n} rows quarantined; " + "; ".join(outcome.critical_failures))
        raise error
    return {
        "success": True,
        "documents": outcome.n_documents,
        "mentions": outcome.n_mentions,
        "warnings": len(outcome.warnings),
        "data_docs": str(outcome.data_docs_index) if outcome.data_docs_index else None,
    }


def load(ctx: RunContext) -> dict[str, Any]:
    """Swap the night's rows into the warehouse in one transaction (idempotent per night)."""
    from warehouse.load import load_night

    return load_night(ctx)


def build_marts(ctx: RunContext) -> dict[str, Any]:
    """Refresh the marts for the days this night touched, then publish the analysts' snapshot.

    Analysts and reports read `warehouse.published.duckdb` while the next night holds the writer
    lock, so they always see the last complete night rather than a lock error.
    """
    from warehouse.db import connect, publish
    from warehouse.marts import affected_days, refresh_marts

    con = connect(ctx.settings.warehouse_path)
    try:
        result = refresh_marts(con, affected_days(con, ctx.night))
        result["published"] = str(publish(ctx.settings.warehouse_path, con))
        return result
    finally:
        con.close()


def report(ctx: RunContext) -> dict[str, Any]:
    """The newsletter (Markdown, HTML, JSON, charts) for the period ending on the night."""
    from reports.newsletter import write_report

    paths = write_report(ctx.settings, ctx.night)
    return {fmt: str(path) for fmt, path in paths.items()}


# DAG order; the two extracts come first and are independent (pipeline.runner relies on this).
STAGES = ("extract_reddit", "extract_news", "enrich", "validate", "load", "build_marts", "report")
