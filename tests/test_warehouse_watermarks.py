"""ops.watermarks: only complete keys advance, values only go up, reads see earlier nights only,
the load advances them inside its own transaction, and the extract's fallbacks (warehouse ->
published snapshot -> backfill) say which they used."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from common.config import Settings
from common.context import RunContext
from warehouse.db import connect
from warehouse.load import LoadError, load_night
from warehouse.watermarks import advance, advance_from_work, export_marks, marks_from_file, read_marks

N1, N2, N3 = date(2026, 11, 10), date(2026, 11, 11), date(2026, 11, 12)


def iso(day: int, hour: int = 0) -> str:
    return datetime(2026, 11, day, hour, tzinfo=UTC).isoformat()


def dt(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def mark(watermark: str | None, complete: bool = True, items: int = 3) -> dict[str, Any]:
    return {"complete": complete, "watermark": watermark, "items": items}


@pytest.fixture()
def con(tmp_path: Path):
    c = connect(tmp_path / "wh.duckdb")
    yield c
    c.close()


def test_only_complete_keys_with_valid_marks_advance(con) -> None:
    written = advance(con, source="reddit", night=N1, run_id="r1", marks={
        "r/A/new": mark(iso(10, 5)),
        "r/B/new": mark(iso(10, 6), complete=False),        # incomplete: never advances
        "r/C/new": mark(None),                              # nothing in window
        "r/D/new": mark("2026-11-10T05:00:00"),             # naive: refused, not guessed
        "r/E/new": mark("yesterday"),
        "r/F/new": "garbage",
    })
    assert written == ["r/A/new"]
    assert read_marks(con, "reddit", N2) == {"r/A/new": dt(10, 5)}


def test_same_night_reload_keeps_the_greater_value(con) -> None:
    advance(con, source="reddit", night=N1, run_id="r1", marks={"k": mark(iso(10, 5))})
    advance(con, source="reddit", night=N1, run_id="r2", marks={"k": mark(iso(10, 2))})  # lower: ignored
    row = con.execute("SELECT watermark, run_id FROM ops.watermarks").fetchall()
    assert row == [(dt(10, 5), "r1")]
    advance(con, source="reddit", night=N1, run_id="r3", marks={"k": mark(iso(10, 9))})
    assert con.execute("SELECT watermark, run_id FROM ops.watermarks").fetchall() == [(dt(10, 9), "r3")]


def test_reads_see_only_earlier_nights_and_never_regress(con) -> None:
    advance(con, source="reddit", night=N1, run_id="r1", marks={"k": mark(iso(10, 5))})
    # Night 2 saw a lower newest item (e.g. the newest post was deleted): the effective mark holds.
    advance(con, source="reddit", night=N2, run_id="r2", marks={"k": mark(iso(10, 3))})
    assert read_marks(con, "reddit", N3) == {"k": dt(10, 5)}
    # Re-running night 1 (or backfilling an older night) must not be cut short by later marks.
    assert read_marks(con, "reddit", N1) == {}
    assert read_marks(con, "reddit", N2) == {"k": dt(10, 5)}
    assert read_marks(con, "news", N3) == {}


def test_read_marks_on_a_warehouse_without_the_table() -> None:
    c = duckdb.connect(":memory:")
    try:
        assert read_marks(c, "reddit", N1) == {}
    finally:
        c.close()


def _ctx(tmp_path: Path, night: date = N1, run_id: str = "run-1") -> RunContext:
    return RunContext.for_night(Settings(data_dir=tmp_path / "data"), night, run_id=run_id)


def _write_watermark_file(ctx: RunContext, sources: dict[str, Any], night: str | None = None) -> None:
    ctx.work_dir.mkdir(parents=True, exist_ok=True)
    (ctx.work_dir / "reddit.watermark.json").write_text(json.dumps(
        {"source": "reddit", "night": night or ctx.night.isoformat(), "run_id": ctx.run_id,
         "sources": sources}))


def test_advance_from_work_skips_bad_or_foreign_files(tmp_path: Path, con) -> None:
    ctx = _ctx(tmp_path)
    ctx.work_dir.mkdir(parents=True)
    (ctx.work_dir / "news.watermark.json").write_text("{not json")
    _write_watermark_file(ctx, {"k": mark(iso(10, 5))}, night="2026-11-09")  # another night's file
    assert advance_from_work(con, ctx) == {}
    _write_watermark_file(ctx, {"k": mark(iso(10, 5))})
    assert advance_from_work(con, ctx) == {"reddit": ["k"]}


def _write_batch(ctx: RunContext, published: str) -> None:
    enriched = ctx.work_dir / "enriched"
    enriched.mkdir(parents=True, exist_ok=True)
    doc = {"doc_id": "t3_x1", "source": "reddit", "kind": "post", "channel": "A", "url": None,
           "canonical_url": None, "parent_id": None, "title": "t", "body": "b", "author": "a",
           "published_at": published, "fetched_at": iso(11, 1), "logical_date": ctx.night.isoformat(),
           "run_id": ctx.run_id, "raw_ref": "raw/x:1", "score": 1, "num_comments": 0, "language": "en",
           "content_hash": "h", "is_deleted": False, "extra": {}, "sentiment": 0.1, "themes": []}
    (enriched / "documents.jsonl").write_text(json.dumps(doc) + "\n")
    (enriched / "mentions.jsonl").write_text("")
    (enriched / "entities.jsonl").write_text("")


def test_load_night_advances_marks_in_its_transaction(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    _write_watermark_file(ctx, {"r/A/new": mark(iso(10, 5)), "r/B/new": mark(iso(10, 6), complete=False)})
    _write_batch(ctx, iso(10, 5))
    # An unreadable documents file: the load refuses the whole batch (a bad row alone would only
    # be quarantined, issue 12).
    (ctx.work_dir / "enriched" / "documents.jsonl").write_text('{"doc_id": "t3_x1", "trunc\n')
    with pytest.raises(LoadError):
        load_night(ctx)
    c = connect(ctx.settings.warehouse_path)
    try:
        assert c.execute("SELECT count(*) FROM ops.watermarks").fetchone()[0] == 0  # rolled back too
    finally:
        c.close()

    _write_batch(ctx, iso(10, 5))
    result = load_night(ctx)
    assert result["watermarks"] == {"reddit": ["r/A/new"]}
    c = connect(ctx.settings.warehouse_path)
    try:
        assert read_marks(c, "reddit", N2) == {"r/A/new": dt(10, 5)}
    finally:
        c.close()


def test_the_marks_file_is_what_extracts_read(tmp_path: Path) -> None:
    """After a load the marks are exported to state/watermarks.json; an extract of night N reads
    the max over earlier nights from it, never the warehouse (issue 14)."""
    settings = Settings(data_dir=tmp_path / "data")
    assert marks_from_file(settings, "reddit", N2) is None  # no file yet: the caller backfills
    c = connect(settings.warehouse_path)
    try:
        advance(c, source="reddit", night=N1, run_id="r1", marks={"k": mark(iso(10, 5))})
        advance(c, source="reddit", night=N2, run_id="r2", marks={"k": mark(iso(11, 7))})
    finally:
        c.close()
    export_marks(settings)
    stored = marks_from_file(settings, "reddit", N2)
    assert stored is not None and stored.origin == "watermarks file"
    assert stored.marks == {"k": dt(10, 5)}  # night N2's own mark is not used for N2
    assert marks_from_file(settings, "news", N2).marks == {}
