"""A loaded night's ops history in the lake (warehouse/ops_lake.py): written by the load and
alerts stages, restored by `pulse rebuild`, so a lost warehouse does not lose the audit trail."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from test_warehouse_lake import _night1, _night2

from common.config import Settings
from common.context import RunContext
from common.source_run import SourceRun
from pipeline import stages
from warehouse import db, ops_lake
from warehouse.load import quarantine, record_quality
from warehouse.rebuild import rebuild

TABLES = tuple(ops_lake.NIGHT_ROWS)


def _ops(path: Path) -> dict[str, list[Any]]:
    con = db.connect(path, read_only=True)
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}
    finally:
        con.close()


def _alert(con: Any, night: date, n: int) -> None:
    alert_id = f"{night}/volume/entity/platform/whatnot/{n}"
    con.execute("INSERT INTO ops.alerts VALUES (?, ?, 'volume', 'entity', 'platform/whatnot', 'Whatnot', "
                "'up', 4.0, 1.0, 3.2, 4, 3, 'volume rose', ['t3_a'], ?, current_timestamp)",
                [alert_id, night, json.dumps({"n": n})])
    con.execute("INSERT INTO ops.alert_deliveries VALUES (?, 'https://hooks.example/x', 'webhook', 'failed', "
                "3, 'HTTP 503', current_timestamp, current_timestamp, NULL)", [alert_id])


def _night_with_history(ctx: RunContext) -> None:
    """What the nightly stages record besides core: quality results and a quarantined row (as
    validate does), a source run with a failed URL (the load copies it from the work folder), the
    load, an alert."""
    run = SourceRun(source="news", n_documents=2, n_requests=3)
    run.error("https://news.example/a", "fetch", "HTTP 503", 503)
    run.finish().save(ctx.work_dir)
    record_quality(ctx, [{"suite": "enriched", "expectation": "expect_column_values_to_not_be_null",
                          "column_name": "doc_id", "severity": "critical", "success": True, "observed": 0},
                         {"suite": "enriched", "expectation": "expect_table_row_count_to_be_between",
                          "severity": "warning", "success": False, "observed": 4}])
    quarantine(ctx, [{"doc_id": f"bad_{ctx.night}", "body": None}], {f"bad_{ctx.night}": "no body"})
    stages.load(ctx)
    con = db.connect(ctx.settings.warehouse_path)
    try:
        _alert(con, ctx.night, 1)
        ops_lake.write_ops(con, ctx.settings.data_dir, ctx.night, ops_lake.ALERT_TABLES)
    finally:
        con.close()


def test_a_rebuild_restores_the_ops_history_of_every_loaded_night(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _night_with_history(_night1(data))
    _night_with_history(_night2(data))
    live = _ops(data / "warehouse.duckdb")
    assert all(live[t] for t in TABLES), {t: len(v) for t, v in live.items()}  # the fixture has each
    files = sorted(p.relative_to(data).as_posix() for p in (data / "lake" / ops_lake.OPS_DIR).rglob("*"))
    assert "lake/_ops/ops.quality_results/night=2026-11-03.parquet" in files
    assert not [f for f in files if f.endswith(".tmp")]

    target = tmp_path / "rebuilt.duckdb"
    summary = rebuild(Settings(data_dir=data), target)
    assert _ops(target) == live
    assert summary["ops_rows"]["ops.quality_results"] == len(live["ops.quality_results"]) == 4
    con = db.connect(target, read_only=True)
    try:  # the runs themselves are the rebuild's; the history points at the original run ids
        assert {r[0] for r in con.execute("SELECT status FROM ops.runs").fetchall()} == {"rebuilt"}
        assert con.execute("SELECT DISTINCT run_id FROM ops.quality_results ORDER BY 1").fetchall() == [
            ("scheduled__2026-11-03",), ("scheduled__2026-11-04",)]
    finally:
        con.close()


def test_a_rerun_replaces_the_nights_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ctx = _night1(data)
    _night_with_history(ctx)
    con = db.connect(ctx.settings.warehouse_path)
    try:
        con.execute("DELETE FROM ops.alert_deliveries")
        counts = ops_lake.write_ops(con, data, ctx.night, ops_lake.ALERT_TABLES)
    finally:
        con.close()
    assert counts == {"ops.alerts": 1, "ops.alert_deliveries": 0}
    target = tmp_path / "rebuilt.duckdb"
    rebuild(Settings(data_dir=data), target)
    got = _ops(target)
    assert len(got["ops.alerts"]) == 1 and got["ops.alert_deliveries"] == []


def test_a_lake_without_ops_files_rebuilds_as_before(tmp_path: Path) -> None:
    """Lakes written before the ops files existed: the core comes back, the history is empty."""
    from warehouse.load import load_night

    data = tmp_path / "data"
    load_night(_night1(data))
    summary = rebuild(Settings(data_dir=data), tmp_path / "rebuilt.duckdb")
    assert summary["documents"] == 4
    assert set(summary["ops_rows"].values()) == {0}


def test_a_rebuild_restores_only_the_rebuilt_nights_and_only_their_rows(tmp_path: Path) -> None:
    """A night the rebuild skips (incomplete partitions) gets no ops rows back, and a file holding
    another night's rows (copied by hand) brings back none of them."""
    import shutil

    data = tmp_path / "data"
    _night_with_history(_night1(data))
    _night_with_history(_night2(data))
    quality = data / "lake" / ops_lake.OPS_DIR / "ops.quality_results"

    def nights_of_quality(target: Path) -> list[date]:
        rebuild(Settings(data_dir=data), target)
        return sorted(row[1] for row in _ops(target)["ops.quality_results"])

    manifest = data / "lake" / "_manifest" / "night=2026-11-04.json"
    kept = manifest.read_bytes()
    manifest.unlink()  # night 2 is now incomplete: skipped, and so is its history
    assert nights_of_quality(tmp_path / "a.duckdb") == [date(2026, 11, 3)] * 2
    manifest.write_bytes(kept)
    shutil.copy(quality / "night=2026-11-04.parquet", quality / "night=2026-11-03.parquet")
    assert nights_of_quality(tmp_path / "b.duckdb") == [date(2026, 11, 4)] * 2


def test_an_unreadable_ops_file_stops_the_rebuild_with_its_path(tmp_path: Path) -> None:
    from warehouse.rebuild import RebuildError

    data = tmp_path / "data"
    _night_with_history(_night1(data))
    bad = ops_lake.ops_file(data, "ops.errors", date(2026, 11, 3))
    bad.write_bytes(b"not parquet")
    target = tmp_path / "rebuilt.duckdb"
    with pytest.raises(RebuildError, match=r"ops\.errors/night=2026-11-03\.parquet"):
        rebuild(Settings(data_dir=data), target)
    assert not target.exists()


def test_an_export_that_fails_does_not_fail_the_loaded_night(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    ctx = _night1(data)

    def broken(*_: Any, **__: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(ops_lake, "write_ops", broken)
    result = stages.load(ctx)
    assert result["documents_loaded"] == 4
    assert result["ops_files"].startswith("not exported: OSError: disk full")
