"""Migrations, idempotent nightly loads, in-place updates, rollback and the ops/quality writers."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from common.config import Settings
from common.context import RunContext
from common.source_run import SourceRun
from warehouse import db
from warehouse.load import LoadError, load_night, quarantine, record_quality, record_source_runs

N1 = date(2026, 11, 3)
N2 = date(2026, 11, 4)
COUNTED = [
    "raw.documents",
    "core.documents",
    "core.entities",
    "core.mentions",
    "core.entity_sentiment",
    "ops.runs",
    "ops.source_runs",
    "ops.errors",
]


def doc(doc_id: str, published: str, fetched: str, sentiment: float = 0.0, **kw: Any) -> dict[str, Any]:
    base = {
        "doc_id": doc_id,
        "source": "reddit",
        "kind": "post",
        "channel": "TikTokShop",
        "url": f"https://reddit.example/{doc_id}",
        "title": f"title {doc_id}",
        "body": "body text",
        "author": "someone",
        "published_at": published,
        "fetched_at": fetched,
        "logical_date": published[:10],
        "run_id": "r",
        "raw_ref": "raw.jsonl.gz:1",
        "score": 3,
        "num_comments": 1,
        "language": "en",
        "content_hash": "h",
        "is_deleted": False,
        "extra": {"flair": "x"},
        "sentiment": sentiment,
        "themes": ["shipping"],
    }
    base.update(kw)
    return base


def mention(doc_id: str, entity_id: str, start: int, sentence_idx: int = 0, sentiment: float = 0.0) -> dict:
    return {
        "doc_id": doc_id,
        "entity_id": entity_id,
        "sentence_idx": sentence_idx,
        "start_char": start,
        "end_char": start + 5,
        "surface": "thing",
        "sentence": "a sentence",
        "sentiment": sentiment,
    }


ENTITIES = [
    {
        "entity_id": "platform/tiktok-shop",
        "name": "TikTok Shop",
        "label": "ORG",
        "kind": "platform",
        "aliases": ["tiktok shop"],
        "origin": "gazetteer",
    },
    {
        "entity_id": "platform/whatnot",
        "name": "Whatnot",
        "label": "ORG",
        "kind": "platform",
        "aliases": [],
        "origin": "gazetteer",
    },
]


def write_lines(path: Path, rows: list[dict] | list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8"
    )


def make_night(
    data_dir: Path,
    night: date,
    docs: list,
    mentions: list,
    entities: list | None = None,
    run_id: str | None = None,
    errors: int = 0,
) -> RunContext:
    ctx = RunContext.for_night(Settings(data_dir=data_dir), night, run_id=run_id or f"scheduled__{night}")
    enriched = ctx.work_dir / "enriched"
    write_lines(enriched / "documents.jsonl", docs)
    write_lines(enriched / "mentions.jsonl", mentions)
    write_lines(enriched / "entities.jsonl", ENTITIES if entities is None else entities)
    run = SourceRun(source="reddit", n_documents=len(docs), n_requests=4, raw_path="raw/x.jsonl.gz")
    for i in range(errors):
        run.error(f"https://reddit.example/e{i}", "fetch", "HTTP 503", 503)
    run.finish().save(ctx.work_dir)
    return ctx


def counts(path: Path) -> dict[str, int]:
    con = db.connect(path)
    try:
        # Natural keys of the unindexed tables must hold after every load or rollback.
        assert set(db.key_violations(con).values()) == {0}
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED}
    finally:
        con.close()


@pytest.fixture
def night1(tmp_path: Path) -> RunContext:
    docs = [
        doc("t3_a", "2026-11-03T10:00:00+00:00", "2026-11-03T23:00:00+00:00", 0.5),
        doc("t3_b", "2026-11-02T22:00:00Z", "2026-11-03T23:00:00+00:00", -0.4),
    ]
    ments = [
        mention("t3_a", "platform/tiktok-shop", 0, 0, 0.6),
        mention("t3_a", "platform/tiktok-shop", 20, 1, 0.2),
        mention("t3_b", "platform/whatnot", 0, 0, -0.4),
    ]
    return make_night(tmp_path, N1, docs, ments, errors=2)


def test_migrations_are_idempotent_and_tracked(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    con = db.connect(path)
    versions = sorted(db.applied_versions(con))
    assert versions == [m.version for m in db.discover_migrations()]
    assert db.migrate(con) == []  # nothing pending the second time
    con.close()
    con = db.connect(path)  # reopening applies nothing and keeps one row per migration
    assert con.execute("SELECT count(*) FROM ops.schema_migrations").fetchone()[0] == len(versions)
    con.close()


def test_failed_migration_rolls_back(tmp_path: Path) -> None:
    migs = tmp_path / "migs"
    migs.mkdir()
    (migs / "001_ok.sql").write_text("CREATE SCHEMA s; CREATE TABLE s.t (a INTEGER);")
    (migs / "002_bad.sql").write_text("CREATE TABLE s.u (a INTEGER); SELECT * FROM no_such_table;")
    import duckdb

    con = duckdb.connect(str(tmp_path / "m.duckdb"))
    with pytest.raises(db.MigrationError, match="002_bad.sql failed and was rolled back"):
        db.migrate(con, migs)
    assert db.applied_versions(con) == {1}
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'u'").fetchone()[0] == 0
    (migs / "2_misnamed.sql").write_text("SELECT 1;")
    with pytest.raises(db.MigrationError, match="NNN_lower_snake"):
        db.discover_migrations(migs)
    con.close()


def test_load_twice_gives_same_rows(night1: RunContext) -> None:
    first = load_night(night1)
    assert first["documents"] == 2 and first["mentions"] == 3 and first["entity_sentiment"] == 2
    assert first["affected_days"] == ["2026-11-02", "2026-11-03"]  # ISO strings: XCom-safe
    snapshot = counts(night1.settings.warehouse_path)
    assert snapshot["ops.errors"] == 2 and snapshot["ops.source_runs"] == 1
    load_night(night1)
    assert counts(night1.settings.warehouse_path) == snapshot


def test_entity_sentiment_is_mean_over_distinct_sentences(night1: RunContext) -> None:
    load_night(night1)
    con = db.connect(night1.settings.warehouse_path, read_only=True)
    rows = con.execute(
        "SELECT doc_id, entity_id, n_mentions, sentiment FROM core.entity_sentiment ORDER BY doc_id"
    ).fetchall()
    con.close()
    assert rows[0][:3] == ("t3_a", "platform/tiktok-shop", 2)
    assert rows[0][3] == pytest.approx(0.4)  # (0.6 + 0.2) / 2
    assert rows[1] == ("t3_b", "platform/whatnot", 1, pytest.approx(-0.4))


def test_refetched_doc_is_updated_in_place(night1: RunContext, tmp_path: Path) -> None:
    load_night(night1)
    newer = doc("t3_a", "2026-11-03T10:00:00+00:00", "2026-11-04T23:00:00+00:00", -0.9, score=99)
    ctx2 = make_night(tmp_path, N2, [newer], [mention("t3_a", "platform/whatnot", 5, 0, -0.9)])
    load_night(ctx2)
    con = db.connect(ctx2.settings.warehouse_path, read_only=True)
    assert con.execute("SELECT count(*) FROM core.documents WHERE doc_id = 't3_a'").fetchone()[0] == 1
    assert con.execute("SELECT score, night FROM core.documents WHERE doc_id = 't3_a'").fetchone() == (99, N2)
    # the old version's mentions went with it; raw keeps both nights' versions (history)
    assert con.execute("SELECT entity_id FROM core.mentions WHERE doc_id = 't3_a'").fetchall() == [
        ("platform/whatnot",)
    ]
    assert con.execute("SELECT count(*) FROM raw.documents WHERE doc_id = 't3_a'").fetchone()[0] == 2
    assert con.execute("SELECT night FROM staging.documents WHERE doc_id = 't3_a'").fetchone()[0] == N2
    con.close()
    # re-running the OLDER night must not roll t3_a back to its older fetch
    load_night(night1)
    con = db.connect(ctx2.settings.warehouse_path, read_only=True)
    assert con.execute("SELECT score, night FROM core.documents WHERE doc_id = 't3_a'").fetchone() == (99, N2)
    assert con.execute("SELECT count(*) FROM core.documents").fetchone()[0] == 2
    con.close()


def test_unreadable_file_mid_rerun_rolls_back_previous_night_intact(
    night1: RunContext, tmp_path: Path
) -> None:
    """A whole-file problem still refuses the night, after the first deletes ran: all rolled back."""
    load_night(night1)
    before = counts(night1.settings.warehouse_path)
    docs = [doc("t3_a", "2026-11-03T10:00:00+00:00", "2026-11-03T23:30:00+00:00", 0.1)]
    ctx = make_night(tmp_path, N1, docs, [mention("t3_a", "platform/tiktok-shop", 0)])
    write_lines(ctx.work_dir / "enriched" / "entities.jsonl", ['{"entity_id": "x", "aliases": "not a list"'])
    with pytest.raises(LoadError, match=r"rolled back.*cannot read"):
        load_night(night1)
    assert counts(night1.settings.warehouse_path) == before


def test_mention_of_unknown_entity_quarantines_its_document_and_the_rest_loads(
    night1: RunContext, tmp_path: Path
) -> None:
    """The rerun replaces the night: t3_c (mentioning an entity nobody knows) is set aside alone."""
    load_night(night1)
    docs = [
        doc("t3_a", "2026-11-03T10:00:00+00:00", "2026-11-03T23:30:00+00:00", 0.1),
        doc("t3_c", "2026-11-03T11:00:00+00:00", "2026-11-03T23:30:00+00:00", 0.1),
    ]
    make_night(
        tmp_path, N1, docs, [mention("t3_a", "platform/tiktok-shop", 0), mention("t3_c", "bogus/x", 0)]
    )
    result = load_night(night1)
    assert result["documents_loaded"] == 1 and result["quarantined_at_load"] == 1
    con = db.connect(night1.settings.warehouse_path, read_only=True)
    try:
        assert con.execute("SELECT doc_id FROM core.documents ORDER BY 1").fetchall() == [("t3_a",)]
        assert con.execute("SELECT DISTINCT doc_id FROM core.mentions").fetchall() == [("t3_a",)]
        got = con.execute("SELECT doc_id, reasons, record->>'doc_id' FROM quarantine.documents").fetchall()
        assert got == [("t3_c", "load: mention of an unknown entity", "t3_c")]
        assert "1 document(s) quarantined alone" in con.execute("SELECT message FROM ops.runs").fetchone()[0]
    finally:
        con.close()


def test_constraint_failure_after_deletes_rolls_back(
    night1: RunContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_night(night1)
    before = counts(night1.settings.warehouse_path)
    import warehouse.load as wl

    real = wl._write_ops

    def boom(*args: Any, **kwargs: Any) -> None:  # fail after every core table was rewritten
        real(*args, **kwargs)
        raise RuntimeError("injected crash")

    monkeypatch.setattr(wl, "_write_ops", boom)
    with pytest.raises(RuntimeError, match="injected crash"):
        load_night(night1)
    assert counts(night1.settings.warehouse_path) == before


GOOD = doc("t3_ok", "2026-11-03T10:00:00Z", "2026-11-03T23:00:00Z", 0.2)


@pytest.mark.parametrize(
    ("rows", "key", "reason"),
    [
        ([doc("t3_x", "2026-11-03T10:00:00", "2026-11-03T23:00:00+00:00")], "t3_x",
         "naive or unparseable published_at"),
        ([doc("t3_x", "yesterday", "2026-11-03T23:00:00+00:00")], "t3_x", "unparseable published_at"),
        ([doc(None, "2026-11-03T10:00:00Z", "2026-11-03T23:00:00Z")], "missing-id:", "without doc_id"),
        ([doc("t3_x", "2026-11-03T10:00:00Z", "2026-11-03T23:00:00Z", 1.5)], "t3_x",
         "sentiment outside -1..1"),
        (['{"doc_id": "t3_x", "source": "reddit", "kind": "post", "published_at": "2026-11-03T10:00:00Z", '
          '"fetched_at": "2026-11-03T23:00:00Z", "sentiment": NaN}'], "t3_x", "sentiment outside -1..1"),
        ([doc("t3_x", "2026-11-03T10:00:00Z", "2026-11-03T23:00:00Z", source="tiktok")], "t3_x",
         "unknown source"),
    ],
)
def test_a_document_breaking_the_load_contract_is_quarantined_alone(
    tmp_path: Path, rows: list, key: str, reason: str
) -> None:
    ctx = make_night(tmp_path, N1, [GOOD, *rows], [mention("t3_ok", "platform/whatnot", 0)])
    result = load_night(ctx)
    assert result["documents_loaded"] == 1 and result["quarantined_documents"] == 1
    con = db.connect(ctx.settings.warehouse_path, read_only=True)
    try:
        assert con.execute("SELECT doc_id FROM core.documents").fetchall() == [("t3_ok",)]
        (got,) = con.execute("SELECT doc_id, reasons FROM quarantine.documents").fetchall()
        assert got[0].startswith(key) and got[1].startswith("load: ") and reason in got[1]
    finally:
        con.close()
    load_night(ctx)  # a re-run replaces the outcome: still one row per document
    assert counts(ctx.settings.warehouse_path)["core.documents"] == 1
    con = db.connect(ctx.settings.warehouse_path, read_only=True)
    assert con.execute("SELECT count(*) FROM quarantine.documents").fetchone()[0] == 1
    con.close()


@pytest.mark.parametrize(
    "rows",
    [["{not json"], [doc("t3_x", "2026-11-03T10:00:00Z", "2026-11-03T23:00:00Z", score="lots")]],
)
def test_an_unreadable_documents_file_still_refuses_the_night(tmp_path: Path, rows: list) -> None:
    """Whole-file problems (DuckDB cannot read the file as typed) stay a LoadError."""
    ctx = make_night(tmp_path, N1, rows, [])
    with pytest.raises(LoadError, match="cannot read"):
        load_night(ctx)
    assert counts(ctx.settings.warehouse_path)["core.documents"] == 0


def test_missing_enriched_batch_is_a_clear_error(tmp_path: Path) -> None:
    ctx = RunContext.for_night(Settings(data_dir=tmp_path), N1, run_id="r1")
    with pytest.raises(LoadError, match="enriched batch incomplete"):
        load_night(ctx)


def test_duplicates_in_batch_are_kept_once_and_recorded(tmp_path: Path) -> None:
    docs = [
        doc("t3_a", "2026-11-03T10:00:00Z", "2026-11-03T20:00:00Z", score=1),
        doc("t3_a", "2026-11-03T10:00:00Z", "2026-11-03T22:00:00Z", score=2),
    ]
    ctx = make_night(tmp_path, N1, docs, [mention("t3_a", "platform/whatnot", 0)] * 2)
    result = load_night(ctx)
    assert result["rejected_duplicates"] == 2
    con = db.connect(ctx.settings.warehouse_path, read_only=True)
    assert con.execute("SELECT score FROM core.documents").fetchall() == [(2,)]
    assert con.execute("SELECT count(*) FROM ops.errors WHERE stage = 'load'").fetchone()[0] == 2
    assert con.execute("SELECT count(*) FROM core.mentions").fetchone()[0] == 1
    assert set(db.key_violations(con).values()) == {0}
    con.close()


def test_key_violations_detects_duplicates(tmp_path: Path) -> None:
    con = db.connect(tmp_path / "w.duckdb")
    row = "('d', 'e', 0, 1, 2, 's', 's', 0.0, DATE '2026-11-03')"
    con.execute(f"INSERT INTO core.mentions VALUES {row}, {row}")
    assert db.key_violations(con)["core.mentions"] == 1
    con.close()


def test_record_source_runs_for_a_failed_night(tmp_path: Path) -> None:
    ctx = make_night(tmp_path, N1, [], [], errors=3)
    assert record_source_runs(ctx, "failed", "all sources failed") == 1
    record_source_runs(ctx, "failed", "all sources failed")
    con = db.connect(ctx.settings.warehouse_path, read_only=True)
    assert con.execute("SELECT status, message FROM ops.runs").fetchall() == [
        ("failed", "all sources failed")
    ]
    assert con.execute("SELECT count(*) FROM ops.errors").fetchone()[0] == 3
    con.close()


def test_record_quality_replaces_per_run_and_suite(tmp_path: Path) -> None:
    ctx = RunContext.for_night(Settings(data_dir=tmp_path), N1, run_id="r1")
    res = [
        {
            "suite": "enriched",
            "expectation": "expect_column_values_to_not_be_null",
            "column_name": "doc_id",
            "severity": "critical",
            "success": True,
            "observed": {"unexpected": 0},
        }
    ]
    record_quality(ctx, res)
    record_quality(ctx, res)
    record_quality(ctx, [{**res[0], "suite": "raw_reddit", "success": False}])
    con = db.connect(ctx.settings.warehouse_path, read_only=True)
    assert con.execute(
        "SELECT suite, success, observed FROM ops.quality_results ORDER BY suite"
    ).fetchall() == [("enriched", True, '{"unexpected": 0}'), ("raw_reddit", False, '{"unexpected": 0}')]
    con.close()
    with pytest.raises(ValueError, match="severity must be critical or warning"):
        record_quality(ctx, [{**res[0], "severity": "meh"}])
    with pytest.raises(ValueError, match="lacks suite"):
        record_quality(ctx, [{"expectation": "x", "severity": "warning", "success": True}])


def test_quarantine_is_idempotent_and_keeps_rows_without_ids(tmp_path: Path) -> None:
    ctx = RunContext.for_night(Settings(data_dir=tmp_path), N1, run_id="r1")
    rows = [doc("t3_a", "2026-11-03T10:00:00Z", "x"), {"title": "no id at all"}]
    assert quarantine(ctx, rows, {"t3_a": "fetched_at unparseable"}) == 2
    assert quarantine(ctx, rows, {"t3_a": "fetched_at unparseable"}) == 2
    con = db.connect(ctx.settings.warehouse_path, read_only=True)
    got = con.execute(
        "SELECT doc_id, reasons, record->>'title' FROM quarantine.documents ORDER BY doc_id"
    ).fetchall()
    con.close()
    assert len(got) == 2
    assert got[1] == ("t3_a", "fetched_at unparseable", "title t3_a")
    assert got[0][0].startswith("missing-id:") and got[0][2] == "no id at all"


def test_publish_gives_a_readable_snapshot_while_writer_holds_the_lock(night1: RunContext) -> None:
    load_night(night1)
    path = night1.settings.warehouse_path
    writer = db.connect(path)  # holds the write lock, like the nightly load
    try:
        snap = db.publish(path, con=writer)
        import duckdb

        reader = duckdb.connect(str(snap), read_only=True)
        assert reader.execute("SELECT count(*) FROM core.documents").fetchone()[0] == 2
        reader.close()
    finally:
        writer.close()


def test_kill_9_mid_load_leaves_previous_state_and_rerun_completes(
    night1: RunContext, tmp_path: Path
) -> None:
    import signal
    import subprocess
    import sys

    load_night(night1)
    before = counts(night1.settings.warehouse_path)
    docs = [doc("t3_z", "2026-11-03T09:00:00Z", "2026-11-03T23:50:00Z")]
    make_night(tmp_path, N1, docs, [mention("t3_z", "platform/whatnot", 0)])
    script = (
        "import os, signal, sys\n"
        "from datetime import date\n"
        "from pathlib import Path\n"
        "import warehouse.load as wl\n"
        "from common.config import Settings\n"
        "from common.context import RunContext\n"
        "real = wl._write_ops\n"
        "def die(*a, **k):\n"
        "    real(*a, **k)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "wl._write_ops = die\n"
        f"settings = Settings(data_dir=Path({str(tmp_path)!r}))\n"
        "ctx = RunContext.for_night(settings, date(2026, 11, 3), run_id='r9')\n"
        "wl.load_night(ctx)\n"
    )
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert counts(night1.settings.warehouse_path) == before  # the WAL's open transaction was discarded
    result = load_night(night1)
    assert result["documents"] == 1
    con = db.connect(night1.settings.warehouse_path, read_only=True)
    assert con.execute("SELECT doc_id FROM core.documents").fetchall() == [("t3_z",)]
    con.close()


def test_a_news_outlet_named_in_the_text_is_a_source_not_a_subject(tmp_path: Path) -> None:
    """Kind `media` (warehouse.load.SOURCE_KINDS): the mention is kept, but no entity_sentiment row,
    so no trend figure (mart, alert, newsletter) counts the outlet; the platform beside it counts."""
    outlet = {"entity_id": "media/reuters", "name": "Reuters", "label": "ORG", "kind": "media",
              "aliases": [], "origin": "gazetteer"}
    ctx = make_night(tmp_path, N1, [doc("t3_a", "2026-11-02T10:00:00+00:00", "2026-11-02T11:00:00+00:00")],
                     [mention("t3_a", "media/reuters", 0), mention("t3_a", "platform/whatnot", 20)],
                     entities=[*ENTITIES, outlet])
    summary = load_night(ctx)
    assert summary["mentions"] == 2 and summary["entity_sentiment"] == 1
    from warehouse.marts import refresh_marts

    con = db.connect(ctx.settings.warehouse_path)
    try:
        refresh_marts(con)
        assert con.execute("SELECT entity_id FROM core.mentions ORDER BY 1").fetchall() == [
            ("media/reuters",), ("platform/whatnot",)]
        rows = con.execute("SELECT entity_id FROM core.entity_sentiment").fetchall()
        assert rows == [("platform/whatnot",)]
        assert con.execute("SELECT DISTINCT entity_id FROM marts.daily_entity_stats").fetchall() == [
            ("platform/whatnot",)]
    finally:
        con.close()


def test_migration_011_removes_outlet_rows_a_version_10_warehouse_already_holds(tmp_path: Path) -> None:
    """Nights loaded before the rule: their outlet rows leave core.entity_sentiment and the mart;
    the mentions and every other entity's rows stay."""
    import shutil

    import duckdb

    old = tmp_path / "migs"
    old.mkdir()
    for f in sorted(db.MIGRATIONS_DIR.glob("*.sql")):
        if int(f.name[:3]) <= 10:
            shutil.copy(f, old / f.name)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        db.migrate(con, old)
        con.execute("INSERT INTO core.entities VALUES "
                    "('media/reuters', 'Reuters', 'ORG', 'media', [], 'gazetteer'), "
                    "('platform/whatnot', 'Whatnot', 'ORG', 'platform', [], 'gazetteer')")
        con.execute("INSERT INTO core.entity_sentiment VALUES "
                    "('d1', 'media/reuters', 1, 0.1, DATE '2026-11-03'), "
                    "('d1', 'platform/whatnot', 2, -0.2, DATE '2026-11-03')")
        con.execute("INSERT INTO marts.daily_entity_stats VALUES "
                    "(DATE '2026-11-02', 'media/reuters', 'Reuters', 'ORG', 'media', 'news', 1, 1, 0.1, "
                    "1, 0), "
                    "(DATE '2026-11-02', 'platform/whatnot', 'Whatnot', 'ORG', 'platform', 'news', 2, 1, "
                    "-0.2, 0, 1)")
        assert db.migrate(con)[:1] == [11]  # and any later ones
        whatnot = [("platform/whatnot",)]
        assert con.execute("SELECT entity_id FROM core.entity_sentiment").fetchall() == whatnot
        assert con.execute("SELECT entity_id FROM marts.daily_entity_stats").fetchall() == whatnot
        assert con.execute("SELECT count(*) FROM core.entities").fetchone()[0] == 2
    finally:
        con.close()


def test_the_sentiment_model_of_each_document_lands_with_it(tmp_path: Path) -> None:
    """Migration 012: the enrich stage's ``extra.sentiment_model`` becomes
    core.documents.sentiment_model; a document without one (enriched before, or no sentiment) has
    NULL. A re-fetch scored by another model replaces the id with its score."""
    docs = [doc("t3_a", "2026-11-03T10:00:00Z", "2026-11-03T23:00:00Z", 0.5,
                extra={"flair": "x", "sentiment_model": "embedding-aaa"}),
            doc("t3_b", "2026-11-03T11:00:00Z", "2026-11-03T23:00:00Z", -0.4)]
    load_night(make_night(tmp_path, N1, docs, []))
    newer = doc("t3_a", "2026-11-03T10:00:00Z", "2026-11-04T23:00:00Z", 0.1,
                extra={"sentiment_model": "embedding-bbb"})
    ctx2 = make_night(tmp_path, N2, [newer], [])
    load_night(ctx2)
    con = db.connect(ctx2.settings.warehouse_path, read_only=True)
    try:
        assert con.execute("SELECT doc_id, sentiment, sentiment_model FROM core.documents ORDER BY 1"
                           ).fetchall() == [("t3_a", 0.1, "embedding-bbb"), ("t3_b", -0.4, None)]
    finally:
        con.close()
