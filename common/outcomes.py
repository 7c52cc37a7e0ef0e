"""Per-document outcomes and per-night failure notes: what lets one bad input cost only itself.

Why files, not DuckDB: extract tasks may run in parallel and never write the warehouse (it has one
writer), and a night that stops before ``load`` must still leave its record. So:

- a stage that sets one document aside writes it, with its reason, to
  ``work/<night>/<source>.quarantine.jsonl`` (extract's window gate) or
  ``work/<night>/enriched/quarantine.jsonl`` (enrich); ``load`` (or the failure recorder) copies
  every row into ``quarantine.documents``, the document alone, keyed (run_id, doc_id);
- a stage that fails writes ``work/<night>/failures/<stage>.json`` (stage, error, run_id) and
  clears it when a retry succeeds; :func:`pipeline.stages.record_night` turns it into ``ops.runs``.

The window rule lives here too, so the extract's gate and the quality suites' bounds are the same
rule: published in ``[window_start - slack, window_end)`` and not after "now".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common.context import RunContext
from common.documents import parse_utc
from common.jsonl import read_json, read_jsonl, write_json, write_jsonl

log = logging.getLogger(__name__)

QUARANTINE_SUFFIX = ".quarantine.jsonl"
FAILURE_DIR = "failures"  # work/<night>/failures/<stage>.json


# ---------------------------------------------------------------- the window rule
def published_bounds(ctx: RunContext) -> tuple[datetime, datetime]:
    """``[min, end)`` for published_at: the window start minus the slack (never less than the
    lookback, so late comments on overlapping posts pass), and the window end."""
    q = ctx.settings.quality
    slack = timedelta(hours=max(q.window_slack_hours, ctx.settings.lookback_hours))
    return ctx.window_start - slack, ctx.window_end


def window_reason(published_at: Any, ctx: RunContext, now: datetime | None = None) -> str | None:
    """Why a document's published_at breaks the window rule, or None when it is fine.

    Unparseable or naive values are left to the quality suites (their ISO-8601 check names them).
    """
    if not isinstance(published_at, str):
        return None
    try:
        ts = parse_utc(published_at)
    except ValueError:
        return None
    if ts is None:
        return None
    now = now or datetime.now(UTC)
    lo, hi = published_bounds(ctx)
    if ts > now:
        return f"published_at {published_at} is in the future (now {now.isoformat(timespec='seconds')})"
    if ts >= hi:
        return f"published_at {published_at} is after the night's window (ends {hi.isoformat()})"
    if ts < lo:
        return (f"published_at {published_at} is long before the night's window "
                f"(earliest accepted {lo.isoformat()})")
    return None


# ---------------------------------------------------------------- per-document quarantine
def quarantine_row(doc_id: Any, source: Any, url: Any, stage: str, reason: str,
                   record: Any) -> dict[str, Any]:
    """One per-document outcome: which document, which stage set it aside, why, and the row itself
    (kept whole, so nothing is lost: ``quarantine.documents.record``)."""
    return {"doc_id": doc_id if isinstance(doc_id, str) and doc_id else None,
            "source": source if isinstance(source, str) else None,
            "url": url if isinstance(url, str) else None,
            "stage": stage, "reason": reason, "record": record}


def source_quarantine_path(ctx: RunContext, source: str) -> Path:
    return ctx.work_dir / f"{source}{QUARANTINE_SUFFIX}"


def enrich_quarantine_path(work_dir: Path) -> Path:
    return Path(work_dir) / "enriched" / "quarantine.jsonl"


def quarantine_files(ctx: RunContext) -> list[Path]:
    return sorted(ctx.work_dir.glob(f"*{QUARANTINE_SUFFIX}")) + [
        p for p in [enrich_quarantine_path(ctx.work_dir)] if p.is_file()]


def read_quarantine(ctx: RunContext) -> list[dict[str, Any]]:
    """Every per-document outcome the night's stages wrote (unreadable files are logged, skipped)."""
    rows: list[dict[str, Any]] = []
    for path in quarantine_files(ctx):
        try:
            rows.extend(r for r in read_jsonl(path) if isinstance(r, dict))
        except (OSError, ValueError) as exc:
            log.warning("unreadable per-document quarantine file %s: %s", path, exc)
    return rows


def apply_window_gate(ctx: RunContext, source: str, now: datetime | None = None) -> list[dict[str, Any]]:
    """Move the documents of ``work/<night>/<source>.documents.jsonl`` that break the window rule
    to ``<source>.quarantine.jsonl``, one row each with its reason; returns those rows.

    Why at the end of extract: the window expectation is critical, so one document dated in 2099
    (or 1999) would otherwise quarantine the whole night at validate. Re-running the extract
    rewrites both files, so the gate is idempotent.
    """
    docs_path = ctx.work_dir / f"{source}.documents.jsonl"
    out_path = source_quarantine_path(ctx, source)
    if not docs_path.is_file():
        return []
    now = now or datetime.now(UTC)
    keep: list[dict[str, Any]] = []
    moved: list[dict[str, Any]] = []
    for row in read_jsonl(docs_path):
        reason = window_reason(row.get("published_at"), ctx, now) if isinstance(row, dict) else None
        if reason is None:
            keep.append(row)
        else:
            moved.append(quarantine_row(row.get("doc_id"), source, row.get("url"), "window", reason, row))
    if moved:
        write_jsonl(docs_path, keep)
    write_jsonl(out_path, moved)
    return moved


# ---------------------------------------------------------------- per-night failure notes
def _failure_path(ctx: RunContext, stage: str) -> Path:
    return ctx.work_dir / FAILURE_DIR / f"{stage}.json"


def note_failure(ctx: RunContext, stage: str, exc: BaseException) -> None:
    """Remember that ``stage`` failed and why, for the record written at the end of the night.

    One file per stage (the two extracts may fail in parallel tasks). Never raises: failing to
    write the note must not hide the stage's own error.
    """
    try:
        write_json(_failure_path(ctx, stage), {
            "run_id": ctx.run_id, "night": ctx.night.isoformat(), "stage": stage,
            "error": f"{type(exc).__name__}: {exc}"[:2000], "kind": type(exc).__name__,
            "at": datetime.now(UTC).isoformat()})
    except Exception:  # noqa: BLE001
        log.warning("could not write the failure note of stage %s", stage, exc_info=True)


def clear_failure(ctx: RunContext, stage: str) -> None:
    """A stage that succeeded (e.g. on an Airflow retry) removes its own earlier note."""
    _failure_path(ctx, stage).unlink(missing_ok=True)


def read_failures(ctx: RunContext, order: Iterable[str]) -> list[dict[str, Any]]:
    """This run's failure notes in ``order`` (stage names; a mapped stage's notes are
    ``<stage>-<index>``); notes of earlier runs are ignored."""
    notes = []
    for stage in order:
        first = _failure_path(ctx, stage)
        for path in [first, *sorted(first.parent.glob(f"{stage}-*.json"))]:
            try:
                note = read_json(path)
            except (OSError, ValueError):
                continue
            if isinstance(note, dict) and note.get("run_id") == ctx.run_id:
                notes.append(note)
    return notes


def count_by_stage(rows: Iterable[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        out[str(r.get("stage"))] = out.get(str(r.get("stage")), 0) + 1
    return out
