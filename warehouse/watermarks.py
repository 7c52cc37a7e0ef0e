"""Per-source incremental watermarks in ``ops.watermarks``: advanced at load, then exported to
``state/watermarks.json``, which is what the extract stage reads (never the warehouse).

Why the split: extract tasks never write DuckDB (one writer; two extracts may run in parallel), so
an extractor writes ``work/<night>/<source>.watermark.json`` and the load stage, inside its one
night transaction, copies the COMPLETE source keys into the warehouse. A night whose load never
happens (quarantined, crashed) therefore never advances anything: the watermark reflects only
what landed in the warehouse.

Why one row per (source, source_key, night): a night reads ``max(watermark)`` over EARLIER nights
only, so re-running night N uses the same window as its first run and a backfill of an old night
is never cut short by a newer mark. The effective mark per key only ever advances: it is a max,
and re-loading a night keeps the greater of the old and new value.

Watermark file (written by the extractor)::

    {"source": "reddit", "night": "2026-11-10", "run_id": "...",
     "sources": {"r/TikTokShop/new": {"complete": true, "watermark": "2026-11-10T12:00:00+00:00",
                                      "items": 42, ...}}}
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.jsonl import read_json
from common.source_run import StoredWatermarks

if TYPE_CHECKING:
    import duckdb

    from common.config import Settings
    from common.context import RunContext

log = logging.getLogger(__name__)

WATERMARK_SUFFIX = ".watermark.json"
#: The marks as a file under data_dir, rewritten after each load: what extract tasks read, so they
#: never open the warehouse (on a distributed deployment their worker has none; issue 14).
MARKS_FILE = Path("state") / "watermarks.json"


def read_marks(con: duckdb.DuckDBPyConnection, source: str, night: date) -> dict[str, datetime]:
    """Effective watermark per source key for an extract of ``night``: max over earlier nights.

    A warehouse that predates migration 003 has no table: that is "no watermarks", not an error.
    """
    import duckdb

    try:
        rows = con.execute(
            "SELECT source_key, max(watermark) FROM ops.watermarks WHERE source = ? AND night < ? "
            "GROUP BY source_key", [source, night]).fetchall()
    except duckdb.CatalogException:
        return {}
    return {str(k): v for k, v in rows if isinstance(v, datetime) and v.tzinfo is not None}


def _parse_ts(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        return None
    return ts if ts.tzinfo is not None else None  # naive timestamps are refused, never guessed


def advance(con: duckdb.DuckDBPyConnection, *, source: str, night: date, run_id: str,
            marks: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Upsert the complete keys' marks for ``night`` (greatest value wins); returns keys written.

    Incomplete keys, keys without a watermark (nothing in the window) and malformed values are
    skipped (logged): skipping is always safe, it only means the next night looks further back.
    Runs on the caller's connection so it joins the load's transaction.
    """
    rows = []
    now = datetime.now(UTC)
    for key, mark in sorted(marks.items()):
        if not isinstance(mark, Mapping) or mark.get("complete") is not True:
            continue
        if mark.get("watermark") is None:
            continue
        ts = _parse_ts(mark.get("watermark"))
        if ts is None:
            log.warning("watermarks: %s %s: unusable watermark %r, not advanced", source, key,
                        mark.get("watermark"))
            continue
        items = mark.get("items")
        rows.append([source, str(key), night, ts, run_id, items if isinstance(items, int) else None, now])
    if rows:
        con.executemany("""
            INSERT INTO ops.watermarks (source, source_key, night, watermark, run_id, items, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (source, source_key, night) DO UPDATE SET
                run_id = CASE WHEN excluded.watermark > ops.watermarks.watermark
                              THEN excluded.run_id ELSE ops.watermarks.run_id END,
                items = CASE WHEN excluded.watermark > ops.watermarks.watermark
                             THEN excluded.items ELSE ops.watermarks.items END,
                watermark = greatest(ops.watermarks.watermark, excluded.watermark),
                updated_at = excluded.updated_at""", rows)
    return [r[1] for r in rows]


def advance_from_work(con: duckdb.DuckDBPyConnection, ctx: RunContext) -> dict[str, list[str]]:
    """Advance from every ``work/<night>/*.watermark.json``; called once by the night's load.

    A file that is unreadable or belongs to another night is skipped with a warning rather than
    failing the load: the documents are fine, the marks merely do not advance.
    """
    written: dict[str, list[str]] = {}
    for path in sorted(Path(ctx.work_dir).glob(f"*{WATERMARK_SUFFIX}")):
        try:
            data = read_json(path)
            source = str(data["source"])
            marks = data["sources"]
            if data.get("night") != ctx.night.isoformat() or not isinstance(marks, Mapping):
                raise ValueError(f"night {data.get('night')!r} / sources of type {type(marks).__name__}")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("watermarks: ignoring %s: %s", path, exc)
            continue
        written[source] = advance(con, source=source, night=ctx.night,
                                  run_id=str(data.get("run_id") or ctx.run_id), marks=marks)
    return written


def export_marks(settings: Settings) -> Path:
    """Write every ``ops.watermarks`` row to ``data_dir/state/watermarks.json`` (after a load).

    All rows, not the effective maxima: an extract of night N takes the max over nights before N
    only (see :func:`read_marks`), so a re-run or a backfill of an old night needs the history.
    """
    from common.jsonl import write_json
    from warehouse.db import connect

    con = connect(settings.warehouse_path)
    try:
        rows = con.execute("SELECT source, source_key, night, watermark FROM ops.watermarks "
                           "ORDER BY source, source_key, night").fetchall()
    finally:
        con.close()
    path = settings.data_dir / MARKS_FILE
    write_json(path, {"marks": [{"source": s, "source_key": k, "night": n.isoformat(),
                                 "watermark": w.astimezone(UTC).isoformat()} for s, k, n, w in rows]})
    return path


def marks_from_file(settings: Settings, source: str, night: date) -> StoredWatermarks | None:
    """The marks an extract of ``night`` uses, from :data:`MARKS_FILE`; None when there is no file
    (a warehouse from before the file existed: the caller may read the warehouse instead)."""
    path = settings.data_dir / MARKS_FILE
    if not path.is_file():
        return None
    try:
        rows = read_json(path)["marks"]
        best: dict[str, datetime] = {}
        for row in rows:
            if row["source"] != source or date.fromisoformat(row["night"]) >= night:
                continue
            ts = _parse_ts(row["watermark"])
            if ts is not None and (row["source_key"] not in best or ts > best[row["source_key"]]):
                best[str(row["source_key"])] = ts
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return StoredWatermarks({}, "none", f"{MARKS_FILE} unreadable ({type(exc).__name__})")
    return StoredWatermarks(best, "watermarks file")
