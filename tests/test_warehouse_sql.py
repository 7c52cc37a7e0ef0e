"""Analyst access: read-only sandbox refusals, formatting, and the data dictionary in sync."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest

from warehouse import db
from warehouse.schema_doc import BEGIN_MARK, END_MARK, data_dictionary, undocumented
from warehouse.sql import ReadOnlyQueryError, check_query, format_rows, query_readonly

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def wh(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    con = db.connect(path)
    con.execute("INSERT INTO ops.runs VALUES ('r1', DATE '2026-11-03', NULL, NULL, 'ok', 'a|b, \"c\"')")
    con.close()
    return path


def test_select_works(wh: Path) -> None:
    cols, rows = query_readonly(wh, "SELECT run_id, night, status FROM ops.runs")
    assert cols == ["run_id", "night", "status"]
    assert rows == [("r1", date(2026, 11, 3), "ok")]
    assert query_readonly(wh, "WITH x AS (SELECT 41 + 1 AS n) SELECT n FROM x")[1] == [(42,)]


@pytest.mark.parametrize(
    ("sql", "match"),
    [
        ("COPY ops.runs TO '/tmp/out.csv'", "COPY statements are not allowed"),
        ("ATTACH '/tmp/other.duckdb' AS o", "ATTACH statements are not allowed"),
        ("INSTALL httpfs", "INSTALL/LOAD"),
        ("LOAD httpfs", "INSTALL/LOAD"),
        ("SET enable_external_access = true", "SET/RESET"),
        ("PRAGMA enable_profiling", "PRAGMA"),
        ("INSERT INTO ops.runs VALUES ('x', DATE '2026-11-03', NULL, NULL, 'ok', '')", "INSERT statements"),
        ("DELETE FROM ops.runs", "DELETE statements"),
        ("UPDATE ops.runs SET status = 'x'", "UPDATE statements"),
        ("DROP TABLE ops.runs", "DROP statements"),
        ("CREATE TABLE t AS SELECT 1", "CREATE statements"),
        ("EXPORT DATABASE '/tmp/x'", "EXPORT"),
        ("SELECT 1; DELETE FROM ops.runs", "exactly one statement"),
        ("", "empty query"),
        ("SELEC oops", "cannot parse"),
    ],
)
def test_refusals_are_clear(wh: Path, sql: str, match: str) -> None:
    with pytest.raises(ReadOnlyQueryError, match=match):
        query_readonly(wh, sql)
    assert query_readonly(wh, "SELECT count(*) FROM ops.runs")[1] == [(1,)]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM glob('/etc/*')",
        "SELECT * FROM '/etc/passwd'",  # no file scan at all: read as an (unknown) table name
    ],
)
def test_file_access_is_refused_by_the_sandbox(wh: Path, sql: str) -> None:
    with pytest.raises(ReadOnlyQueryError, match="refused|Table with name /etc/passwd does not exist"):
        query_readonly(wh, sql)


def test_engine_level_defences_hold_even_without_our_check(wh: Path) -> None:
    """If check_query missed something, the connection config still refuses it."""
    import duckdb

    from warehouse.sql import READONLY_CONFIG

    con = duckdb.connect(str(wh), read_only=True, config=dict(READONLY_CONFIG))
    for sql in (
        "SET enable_external_access = true",
        "COPY ops.runs TO '/tmp/never.csv'",
        "DELETE FROM ops.runs",
        "ATTACH ':memory:' AS m",
    ):
        with pytest.raises(duckdb.Error):
            con.execute(sql)
    con.close()
    assert not Path("/tmp/never.csv").exists()


def test_check_query_returns_the_statement() -> None:
    assert check_query("  select 1 ;").lower().startswith("select 1")


def test_missing_warehouse(tmp_path: Path) -> None:
    with pytest.raises(ReadOnlyQueryError, match="does not exist"):
        query_readonly(tmp_path / "nope.duckdb", "SELECT 1")


def test_formats(wh: Path) -> None:
    cols, rows = query_readonly(wh, "SELECT run_id, night, message, [1, 2] AS xs, NULL AS n FROM ops.runs")
    table = format_rows(cols, rows, "table")
    assert '| r1     | 2026-11-03 | a|b, "c" | [1, 2] |   |' in table and table.endswith("(1 row)")
    parsed = list(csv.reader(io.StringIO(format_rows(cols, rows, "csv"))))
    assert parsed == [cols, ["r1", "2026-11-03", 'a|b, "c"', "[1, 2]", ""]]
    assert json.loads(format_rows(cols, rows, "json")) == [
        {"run_id": "r1", "night": "2026-11-03", "message": 'a|b, "c"', "xs": [1, 2], "n": None}
    ]
    with pytest.raises(ValueError, match="unknown format"):
        format_rows(cols, rows, "xml")


def test_every_table_and_column_is_commented(tmp_path: Path) -> None:
    con = db.connect(tmp_path / "w.duckdb")
    assert undocumented(con) == []
    con.close()


def test_docs_hold_the_generated_dictionary(tmp_path: Path) -> None:
    con = db.connect(tmp_path / "w.duckdb")
    generated = data_dictionary(con)
    con.close()
    assert "## core.documents (table)" in generated and "| doc_id | VARCHAR | no |" in generated
    assert "## marts.trending_entities (view)" in generated
    text = (ROOT / "docs" / "warehouse.md").read_text(encoding="utf-8")
    block = text.split(BEGIN_MARK, 1)[1].split(END_MARK, 1)[0]
    assert block.strip() == generated.strip(), "docs/warehouse.md is stale: regenerate with `pulse schema`"


def test_export_marts_to_parquet(tmp_path: Path) -> None:
    import duckdb

    from warehouse.export import export_marts

    path = tmp_path / "warehouse.duckdb"
    con = db.connect(path)
    con.execute("INSERT INTO marts.daily_entity_stats VALUES "
                "(DATE '2026-11-03', 'platform/whatnot', 'Whatnot', 'ORG', 'platform', 'reddit', "
                "3, 2, 0.5, 1, 0)")
    con.close()
    files = export_marts(path, tmp_path / "out")
    names = sorted(f.name for f in files)
    assert names == ["daily_entity_stats.parquet", "entity_sentiment_trend.parquet", "share_of_voice.parquet",
                     "source_health.parquet", "top_authors.parquet", "top_documents.parquet",
                     "topic_daily.parquet", "topic_share_of_voice.parquet", "trending_entities.parquet"]
    got = duckdb.connect().execute(
        f"SELECT entity_id, mentions, share FROM '{tmp_path / 'out' / 'share_of_voice.parquet'}'").fetchall()
    assert got == [("platform/whatnot", 3, 1.0)]
    with pytest.raises(ValueError, match="unknown export format"):
        export_marts(path, tmp_path / "out", "xlsx")


def test_analyst_reads_published_snapshot_while_writer_holds_lock(wh: Path) -> None:
    db.publish(wh)
    writer = db.connect(wh)  # the nightly load holds the write lock ...
    try:
        writer.execute("INSERT INTO ops.runs VALUES ('r2', DATE '2026-11-04', NULL, NULL, 'ok', 'new')")
        with pytest.raises(ReadOnlyQueryError, match="published snapshot"):
            query_readonly(wh, "SELECT 1")
        # ... and the analyst gets the last published data, not a lock error.
        assert query_readonly(db.published_path(wh), "SELECT run_id FROM ops.runs")[1] == [("r1",)]
        db.publish(wh, con=writer)
    finally:
        writer.close()
    assert query_readonly(db.published_path(wh), "SELECT count(*) FROM ops.runs")[1] == [(2,)]
