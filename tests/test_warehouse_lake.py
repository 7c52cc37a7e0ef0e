"""The lake (issue 14): nights as Parquet partitions, the load reading them, `pulse rebuild`, and
the marts as Parquet for the store."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from test_warehouse_load import doc, make_night, mention, write_lines

from common.config import Settings, StorageSettings
from common.context import RunContext
from warehouse import db, lake
from warehouse.export import write_mart_files
from warehouse.load import LoadError, load_night
from warehouse.marts import affected_days, refresh_marts
from warehouse.rebuild import RebuildError, rebuild

N1 = date(2026, 11, 3)
N2 = date(2026, 11, 4)
WIRE = ("Live shopping platforms reported record sales during the autumn festival as sellers streamed "
        "product demonstrations to millions of viewers across several markets this week while analysts "
        "expected the trend to continue into the holiday season")


def _news(doc_id: str, published: str, fetched: str, channel: str) -> dict[str, Any]:
    return doc(doc_id, published, fetched, 0.1, source="news", kind="article", channel=channel,
               body=WIRE, url=f"https://{channel}/{doc_id}")


def _night1(data_dir: Path, plan: dict[str, Any] | None = None) -> RunContext:
    docs = [doc("t3_a", "2026-11-03T10:00:00+00:00", "2026-11-03T23:00:00+00:00", 0.5),
            doc("t3_b", "2026-11-02T22:00:00Z", "2026-11-03T23:00:00+00:00", -0.4,
                extra={"n": [1, {"x": None}]}),
            _news("news_1", "2026-11-03T08:00:00Z", "2026-11-03T23:00:00Z", "a.example"),
            _news("news_2", "2026-11-03T09:00:00Z", "2026-11-03T23:00:00Z", "b.example")]
    ments = [mention("t3_a", "platform/tiktok-shop", 0, 0, 0.6),
             mention("t3_a", "platform/tiktok-shop", 20, 1, 0.2),
             mention("t3_b", "platform/whatnot", 0, 0, -0.4), mention("news_1", "platform/whatnot", 0),
             mention("news_2", "platform/whatnot", 0)]
    ctx = make_night(data_dir, N1, docs, ments)
    enriched = ctx.work_dir / "enriched"
    write_lines(enriched / "document_topics.jsonl", [{"doc_id": "t3_a", "topic": "shipping"},
                                                     {"doc_id": "news_2", "topic": "shipping"}])
    if plan is not None:
        (enriched / "plan.json").write_text(json.dumps(plan))
    return ctx


def _night2(data_dir: Path) -> RunContext:
    docs = [doc("t3_a", "2026-11-03T10:00:00+00:00", "2026-11-04T23:00:00+00:00", -0.9, score=99),
            doc("t3_c", "2026-11-04T12:00:00Z", "2026-11-04T23:00:00Z", 0.3),
            _news("news_3", "2026-11-04T07:00:00Z", "2026-11-04T23:00:00Z", "c.example")]
    ments = [mention("t3_a", "platform/whatnot", 5, 0, -0.9), mention("t3_c", "platform/tiktok-shop", 0),
             mention("news_3", "platform/whatnot", 0)]
    return make_night(data_dir, N2, docs, ments)


def _nightly(ctx: RunContext) -> dict[str, Any]:
    """load + what build_marts does (syndication for the touched days, then the marts)."""
    from transforms.syndication import update_syndication

    counts = load_night(ctx)
    con = db.connect(ctx.settings.warehouse_path)
    try:
        days = affected_days(con, ctx.night)
        changed = update_syndication(con, ctx.night, days)["changed_days"]
        refresh_marts(con, sorted(set(days) | set(changed)), on_topic_only=True)
    finally:
        con.close()
    return counts


def _facts(path: Path) -> dict[str, Any]:
    con = db.connect(path, read_only=True)
    try:
        return {
            "documents": con.execute("SELECT doc_id, night, score FROM core.documents ORDER BY 1").fetchall(),
            "mentions": con.execute("SELECT count(*) FROM core.mentions").fetchone()[0],
            "mention_rows": con.execute("SELECT * FROM core.mentions ORDER BY ALL").fetchall(),
            "entity_sentiment": con.execute("SELECT * FROM core.entity_sentiment ORDER BY ALL").fetchall(),
            "topics": con.execute("SELECT * FROM core.document_topics ORDER BY ALL").fetchall(),
            "syndication": con.execute("SELECT * FROM core.syndication ORDER BY ALL").fetchall(),
            "daily_entity_stats": con.execute(
                "SELECT * FROM marts.daily_entity_stats ORDER BY ALL").fetchall(),
            "raw": con.execute("SELECT doc_id, night, extra FROM raw.documents ORDER BY ALL").fetchall(),
        }
    finally:
        con.close()


def test_write_night_partitions_by_shard_with_the_explicit_schemas(tmp_path: Path) -> None:
    ctx = _night1(tmp_path, {"shards": 2, "assignment": {"t3_a": 0, "t3_b": 1, "news_1": 1, "news_2": 7}})
    result = lake.write_night(ctx)
    assert (result["shards"], result["documents"], result["mentions"], result["entities"],
            result["document_topics"]) == (2, 4, 5, 2, 2)
    base = tmp_path / "lake"
    for table in ("documents", "mentions", "document_topics"):
        assert sorted(p.name for p in (base / table / "night=2026-11-03").iterdir()) == \
            ["shard=0.parquet", "shard=1.parquet"]
    assert [p.name for p in (base / "entities" / "night=2026-11-03").iterdir()] == ["shard=0.parquet"]
    # news_2's assignment is outside 0..1: shard 0; a document's mentions and topics follow it
    docs = {k: pq.read_table(base / "documents" / "night=2026-11-03" / f"shard={k}.parquet") for k in (0, 1)}
    assert docs[0].column("doc_id").to_pylist() == ["t3_a", "news_2"]
    assert docs[1].column("doc_id").to_pylist() == ["t3_b", "news_1"]
    ments1 = pq.read_table(base / "mentions" / "night=2026-11-03" / "shard=1.parquet")
    assert sorted(set(ments1.column("doc_id").to_pylist())) == ["news_1", "t3_b"]
    for table in lake.TABLES:
        for path in (base / table / "night=2026-11-03").glob("*.parquet"):
            assert pq.read_schema(path).remove_metadata() == lake.schema(table)
    assert json.loads(docs[1].column("extra")[0].as_py()) == {"n": [1, {"x": None}]}  # JSON text
    manifest = json.loads((base / "_manifest" / "night=2026-11-03.json").read_text())
    assert manifest["tables"]["documents"] == {"rows": 4, "files": ["shard=0.parquet", "shard=1.parquet"]}
    assert lake.nights(tmp_path) == ([N1], [])


def test_a_rerun_with_fewer_shards_removes_the_stale_files(tmp_path: Path) -> None:
    ctx = _night1(tmp_path, {"shards": 3, "assignment": {"t3_a": 2}})
    lake.write_night(ctx)
    (ctx.work_dir / "enriched" / "plan.json").unlink()  # no plan: one shard
    lake.write_night(ctx)
    for table in lake.TABLES:
        folder = tmp_path / "lake" / table / "night=2026-11-03"
        assert [p.name for p in folder.iterdir()] == ["shard=0.parquet"]


def test_load_from_the_lake_alone_equals_the_load_from_jsonl(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    from_jsonl = load_night(_night1(a))
    ctx = _night1(b, {"shards": 2, "assignment": {"t3_b": 1}})
    lake.write_night(ctx)
    for path in (ctx.work_dir / "enriched").glob("*.jsonl"):  # a worker that pulled only the lake
        path.unlink()
    from_lake = load_night(ctx)
    assert {k: v for k, v in from_lake.items() if k != "watermarks"} == \
        {k: v for k, v in from_jsonl.items() if k != "watermarks"}
    assert _facts(a / "warehouse.duckdb") == _facts(b / "warehouse.duckdb")


def test_a_re_enriched_night_is_rewritten_before_the_load(tmp_path: Path) -> None:
    ctx = _night1(tmp_path)
    load_night(ctx)
    write_lines(ctx.work_dir / "enriched" / "documents.jsonl",
                [doc("t3_z", "2026-11-03T10:00:00Z", "2026-11-03T23:00:00Z")])
    write_lines(ctx.work_dir / "enriched" / "mentions.jsonl", [])
    assert load_night(ctx)["documents_loaded"] == 1
    assert [d[0] for d in _facts(ctx.settings.warehouse_path)["documents"]] == ["t3_z"]


def test_an_incomplete_night_is_rewritten_by_the_load_and_skipped_by_a_rebuild(tmp_path: Path) -> None:
    ctx = _night1(tmp_path)
    lake.write_night(ctx)
    (tmp_path / "lake" / "_manifest" / "night=2026-11-03.json").unlink()  # a crash mid-write
    assert lake.nights(tmp_path) == ([], [N1])
    with pytest.raises(RebuildError, match="no complete night.*1 incomplete"):
        rebuild(ctx.settings, tmp_path / "rebuilt.duckdb")
    with pytest.raises(LoadError, match="no complete lake partitions"):
        load_night(ctx, lake_only=True)
    assert load_night(ctx)["documents_loaded"] == 4  # the load rewrites it from the JSONL
    assert lake.nights(tmp_path) == ([N1], [])


def test_hostile_rows_reach_the_lake_and_are_still_quarantined_alone_at_the_load(tmp_path: Path) -> None:
    good = doc("t3_ok", "2026-11-03T10:00:00Z", "2026-11-03T23:00:00Z", 0.2)
    ctx = make_night(tmp_path, N1, [
        good, doc("t3_naive", "2026-11-03T10:00:00", "2026-11-03T23:00:00Z"), doc(None, "x", "y"),
        '{"doc_id": "t3_nan", "source": "reddit", "kind": "post", "published_at": "2026-11-03T10:00:00Z", '
        '"fetched_at": "2026-11-03T23:00:00Z", "sentiment": NaN, "extra": "a JSON string"}',
    ], [mention("t3_ok", "platform/whatnot", 0), mention("t3_naive", "bogus/x", 0)])
    assert lake.write_night(ctx)["documents"] == 4
    for path in (ctx.work_dir / "enriched").glob("*.jsonl"):
        path.unlink()
    result = load_night(ctx)
    assert result["documents_loaded"] == 1 and result["quarantined_at_load"] == 3
    con = db.connect(ctx.settings.warehouse_path, read_only=True)
    try:
        reasons = dict(con.execute("SELECT doc_id, reasons FROM quarantine.documents").fetchall())
    finally:
        con.close()
    assert "naive or unparseable published_at" in reasons["t3_naive"]
    assert "mention of an unknown entity" in reasons["t3_naive"]
    assert "sentiment outside -1..1" in reasons["t3_nan"]
    assert any(k.startswith("missing-id:") for k in reasons)


def test_an_unreadable_batch_leaves_the_previous_partitions_alone(tmp_path: Path) -> None:
    ctx = _night1(tmp_path)
    lake.write_night(ctx)
    before = {p: p.read_bytes() for p in (tmp_path / "lake").rglob("*") if p.is_file()}
    write_lines(ctx.work_dir / "enriched" / "documents.jsonl", ["{not json"])
    with pytest.raises(lake.LakeError, match="cannot read"):
        lake.write_night(ctx)
    assert {p: p.read_bytes() for p in (tmp_path / "lake").rglob("*") if p.is_file()} == before


def test_rebuild_recreates_the_same_warehouse_from_the_lake(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = _nightly(_night1(data, {"shards": 2, "assignment": {"t3_b": 1, "news_2": 1}}))
    assert first["documents_loaded"] == 4
    _nightly(_night2(data))
    live = _facts(data / "warehouse.duckdb")
    assert live["syndication"] and live["daily_entity_stats"]  # the fixture exercises both
    (data / "state").mkdir(exist_ok=True)
    (data / "state" / "watermarks.json").write_text(json.dumps({"marks": [
        {"source": "reddit", "source_key": "r/A/new", "night": "2026-11-04",
         "watermark": "2026-11-04T10:00:00+00:00"}]}))
    lines: list[str] = []
    target = tmp_path / "other" / "rebuilt.duckdb"
    summary = rebuild(Settings(data_dir=data), target, progress=lines.append)
    assert lines == ["rebuild 2026-11-03: 4 documents, 5 mentions",
                     "rebuild 2026-11-04: 3 documents, 3 mentions"]
    assert (summary["nights"], summary["watermarks"]) == (2, 1)
    got = _facts(target)
    assert got["documents"] == live["documents"]
    assert got["mentions"] == live["mentions"]
    assert got["daily_entity_stats"] == live["daily_entity_stats"]
    assert got == live
    con = db.connect(target, read_only=True)
    try:
        runs = con.execute("SELECT night, status FROM ops.runs ORDER BY night").fetchall()
        assert runs == [(N1, "rebuilt"), (N2, "rebuilt")]
        assert con.execute("SELECT count(*) FROM ops.source_runs").fetchone()[0] == 0  # not in the lake
        assert con.execute("SELECT count(*) FROM ops.watermarks").fetchone()[0] == 1
        assert set(db.key_violations(con).values()) == {0}
    finally:
        con.close()
    assert db.published_path(target).is_file()
    assert not list(target.parent.glob(".*.tmp"))


def test_rebuild_pulls_the_lake_from_the_store(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    lake.write_night(_night1(shared))
    lake.write_night(_night2(shared))
    store = tmp_path / "store"
    import shutil

    shutil.copytree(shared / "lake", store / "lake")
    worker = tmp_path / "worker"  # a fresh machine: nothing local but the configuration
    settings = Settings(data_dir=worker, storage=dataclasses.replace(StorageSettings(), url=store.as_uri()))
    lines: list[str] = []
    summary = rebuild(settings, progress=lines.append)
    assert lines[0].startswith("rebuild: pulled 10 lake file(s)")
    assert summary["documents"] == 7 and (worker / "warehouse.duckdb").is_file()


def test_pulse_rebuild_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.cli import main

    data = tmp_path / "data"
    _nightly(_night1(data))
    monkeypatch.setenv("PULSE_DATA_DIR", str(data))
    monkeypatch.delenv("PULSE_STORAGE_URL", raising=False)
    monkeypatch.delenv("PULSE_CONFIG", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["rebuild"])
    assert exit_info.value.code == 2
    assert "exists: pass --yes" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["rebuild", "--yes"])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 0, err
    assert "pulse: rebuild 2026-11-03: 4 documents, 5 mentions" in err
    assert "nights that never loaded" in err and "not rebuilt: the ops rows of nights" in out
    assert "rebuilt " in out and "1 night(s), 4 documents" in out
    assert "0 ops history rows from lake/_ops" in out  # this lake was written by load_night alone
    con = db.connect(data / "warehouse.duckdb", read_only=True)
    try:
        assert con.execute("SELECT count(*), min(status) FROM ops.runs").fetchone() == (1, "rebuilt")
        assert con.execute("SELECT count(*) FROM core.documents").fetchone()[0] == 4
    finally:
        con.close()


def test_mart_files_for_the_store(tmp_path: Path) -> None:
    ctx = _night1(tmp_path)
    _nightly(ctx)
    (tmp_path / "marts").mkdir()
    (tmp_path / "marts" / "dropped_mart.parquet").write_bytes(b"old")
    con = db.connect(ctx.settings.warehouse_path)
    try:
        written = write_mart_files(con, tmp_path)
        rows = con.execute("SELECT count(*) FROM marts.daily_entity_stats").fetchone()[0]
    finally:
        con.close()
    names = sorted(p.name for p in (tmp_path / "marts").iterdir())
    assert names == sorted(p.name for p in written) and "daily_entity_stats.parquet" in names
    assert pq.read_table(tmp_path / "marts" / "daily_entity_stats.parquet").num_rows == rows > 0
