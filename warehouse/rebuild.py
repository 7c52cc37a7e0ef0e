"""`pulse rebuild`: recreate a warehouse from the lake's partitions (issue 14).

Why: the warehouse file stays with its single writer and never goes to the store; the store keeps
every accepted night as Parquet (``warehouse.lake``). A lost or corrupt warehouse, a new machine,
or a schema change that is easier replayed than migrated, is one command away: every complete
night is loaded in night order into a fresh database (all migrations applied), exactly as the
nightly ``load`` + ``build_marts`` would, then the marts are recomputed for every day, the
analysts' snapshot is published, and the file atomically replaces the target.

A loaded night's ``ops.source_runs``, ``ops.errors``, ``ops.quality_results``,
``quarantine.documents`` and ``ops.alerts`` / ``ops.alert_deliveries`` come back from the lake's
``_ops`` files (warehouse.ops_lake), replacing what the rebuild's own load recorded. What the lake
does not keep, the rebuilt warehouse does not have: the ops rows of nights that never loaded
(quarantined or failed nights) and the original ``ops.runs`` rows; each rebuilt night gets one
``ops.runs`` row with status ``rebuilt``. ``ops.watermarks`` is restored from
``state/watermarks.json`` when there is one (the file every load writes), so the next extracts
keep their incremental windows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.config import Settings
from common.context import RunContext
from common.files import atomic_path
from warehouse import lake

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

#: Said by the command and the docs: history a rebuild cannot recreate.
NOT_IN_LAKE = ("the ops rows of nights that never loaded (quarantined or failed) and the original "
               "ops.runs rows are not in the lake: each rebuilt night gets one ops.runs row 'rebuilt'")


class RebuildError(RuntimeError):
    """Nothing to rebuild from, or the target is in use; the target was not touched."""


def pull_lake(settings: Settings) -> tuple[int, int]:
    """With ``[storage] url``: mirror the store's ``lake/`` (and the watermarks file) into
    ``data_dir``; returns (files copied, stale local files removed). A no-op without a URL."""
    if not settings.storage.url:
        return 0, 0
    from common.storage import open_store, pull
    from warehouse.watermarks import MARKS_FILE

    return pull(open_store(settings.storage.url), settings.data_dir,
                [f"{lake.LAKE_DIR}/", MARKS_FILE.as_posix()])


def rebuild(settings: Settings, target: Path | None = None,
            progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Build a warehouse from every complete night under ``data_dir/lake/`` (pulled from the
    store first under ``[storage] url``) and atomically replace ``target`` (default: the
    configured warehouse) with it; returns a summary.

    ``progress`` gets one line per night (``rebuild 2026-11-14: 211 documents, ...``). The old
    target is opened (its writer lock held) while it is replaced, so a rebuild never swaps the
    file under a running load: that raises :class:`RebuildError` instead.
    """
    from warehouse.db import connect, publish

    say = progress or (lambda line: log.info("%s", line))
    target = Path(target or settings.warehouse_path)
    _lock(target).close()  # fail fast, before the work, when a load holds the target
    if settings.storage.url:
        copied, removed = pull_lake(settings)
        say(f"rebuild: pulled {copied} lake file(s) from {settings.storage.url}"
            + (f", removed {removed} stale local one(s)" if removed else ""))
    nights, incomplete = lake.nights(settings.data_dir)
    if not nights:
        raise RebuildError(f"no complete night under {lake.lake_root(settings.data_dir)} to rebuild from"
                           + (f" ({len(incomplete)} incomplete)" if incomplete else ""))
    for night in incomplete:
        say(f"rebuild {night}: skipped, its partitions are incomplete (no manifest)")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    totals: dict[str, Any] = {"target": str(target), "nights": len(nights), "documents": 0,
                              "mentions": 0, "quarantined_at_load": 0,
                              "skipped_incomplete": [n.isoformat() for n in incomplete]}
    lock: Any = None
    try:
        with atomic_path(target) as tmp:
            con = connect(tmp)
            try:
                _build(con, settings, nights, stamp, say, totals)
            finally:
                con.close()
                tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
            # Hold the old file's writer lock across the rename (atomic_path renames on leaving
            # this block): a running load fails us here rather than writing on into a replaced file.
            lock = _lock(target)
    finally:
        if lock is not None:
            lock.close()
    totals["published"] = str(publish(target))
    return totals


def _build(con: duckdb.DuckDBPyConnection, settings: Settings, nights: list[date], stamp: str,
           say: Callable[[str], None], totals: dict[str, Any]) -> None:
    """Every night in order, then the marts for all days and the watermarks; adds to ``totals``."""
    from warehouse.marts import refresh_marts

    for night in nights:
        ctx = RunContext.for_night(settings, night, run_id=f"rebuilt__{night.isoformat()}__{stamp}")
        counts = _night(con, ctx)
        for key in ("documents", "mentions", "quarantined_at_load"):
            totals[key] += counts["documents_loaded" if key == "documents" else key]
        set_aside = counts["quarantined_at_load"]
        say(f"rebuild {night}: {counts['documents_loaded']} documents, {counts['mentions']} mentions"
            + (f", {set_aside} quarantined alone" if set_aside else ""))
    from warehouse.ops_lake import OpsRestoreError, restore_ops

    try:
        totals["ops_rows"] = restore_ops(con, settings.data_dir, nights)
    except OpsRestoreError as exc:
        raise RebuildError(f"ops history not restorable, nothing replaced: {exc}") from exc
    marts = refresh_marts(con, None, on_topic_only=settings.relevance.exclude_off_topic)
    totals["mart_days"], totals["mart_rows"] = marts["days"], marts["rows"]
    totals["watermarks"] = _restore_watermarks(con, settings)
    con.execute("CHECKPOINT")


def _night(con: duckdb.DuckDBPyConnection, ctx: RunContext) -> dict[str, Any]:
    """One night as the nightly stages do it: load (from the lake only), then syndication for
    the days it touched, so clusters get the same ``night`` and the same neighbourhoods."""
    from transforms.syndication import update_syndication
    from warehouse.load import load_night

    counts = load_night(ctx, con, lake_only=True)
    update_syndication(con, ctx.night, counts["affected_days"])
    return counts


def _restore_watermarks(con: duckdb.DuckDBPyConnection, settings: Settings) -> int:
    """ops.watermarks from ``state/watermarks.json`` (all rows, as the last load exported them);
    returns how many. A missing or unreadable file means none: extracts then use their backfill
    window, which is safe (only wider)."""
    from common.jsonl import read_json
    from warehouse.watermarks import MARKS_FILE

    path = settings.data_dir / MARKS_FILE
    try:
        marks = read_json(path)["marks"] if path.is_file() else []
        rows = [[m["source"], m["source_key"], m["night"], m["watermark"]] for m in marks]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("rebuild: %s unreadable (%s); ops.watermarks left empty", path, exc)
        return 0
    if rows:
        con.executemany("""
            INSERT OR REPLACE INTO ops.watermarks
                (source, source_key, night, watermark, run_id, items, updated_at)
            VALUES (?, ?, CAST(? AS DATE), CAST(? AS TIMESTAMPTZ), 'rebuilt', NULL, current_timestamp)""",
                        rows)
    return len(rows)


class _NoLock:
    def close(self) -> None:
        pass


def _lock(target: Path) -> Any:
    """A writable connection to the existing ``target`` (its lock), or a no-op when it does not
    exist yet; RebuildError when another process holds it."""
    import duckdb

    if not target.exists():
        return _NoLock()
    try:
        con = duckdb.connect(str(target))
    except duckdb.IOException as exc:
        raise RebuildError(f"cannot open {target} to replace it (in use by another process, e.g. a "
                           f"running load?); nothing was replaced: {exc}") from exc
    con.execute("CHECKPOINT")  # its WAL (if any) folded in, so no stale WAL meets the new file
    return con
