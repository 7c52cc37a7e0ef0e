"""Issue 3 item 5: extract with a known fake secret, then enrich + validate + load through the real
stage functions, and find the secret nowhere: logs, raw landing, work files, the DuckDB files'
bytes, and every text column of every warehouse table (DuckDB may compress strings on disk, so
the byte grep alone could miss one; the SELECT cannot)."""

from __future__ import annotations

import gzip
import logging
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from common.config import NewsSettings, NlpSettings, RedditSettings, Settings
from common.context import RunContext
from demo.replay.reddit_api import make_handler
from demo.replay.server import ReplayServer
from pipeline import stages

FAKE_SECRET = "fAkE-SeCrEt-warehouse-91b2"  # noqa: S105 - a known fake, grepped for below
NIGHT = date(2026, 11, 10)
T0 = int(datetime(2026, 11, 10, 8, tzinfo=UTC).timestamp())
pytestmark = pytest.mark.slow  # spaCy + GX + DuckDB for real: ~50 s on the shared box
CORPUS = {"synthetic": True, "subreddits": ["TikTokShop"], "posts": [
    {"id": f"p{i}", "subreddit": "TikTokShop", "title": f"TikTok Shop live sale {i} went great",
     "selftext": "Whatnot and TikTok Shop both ran live shopping streams tonight.", "author": "seller",
     "created_utc": T0 + 3600 * i, "score": 3, "edited": False, "removed": False, "link_url": None,
     "comments": [{"id": f"c{i}", "author": "buyer", "body": "Loved the TikTok Shop stream, great deals.",
                   "created_utc": T0 + 600 + 3600 * i, "score": 1, "deleted": False, "replies": []}]}
    for i in range(4)]}


def text_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in con.execute("""
        SELECT schema_name, table_name, column_name FROM duckdb_columns()
        WHERE database_name = current_database() AND (data_type LIKE 'VARCHAR%' OR data_type = 'JSON')
          AND schema_name NOT IN ('information_schema', 'pg_catalog', 'main')""").fetchall()]


def rows_containing(con: duckdb.DuckDBPyConnection, needle: str) -> list[str]:
    """'schema.table.column' for every text column holding ``needle`` anywhere (lists included)."""
    hits = []
    for schema, table, column in text_columns(con):
        n = con.execute(f'SELECT count(*) FROM "{schema}"."{table}" '
                        f'WHERE strpos(CAST("{column}" AS VARCHAR), ?) > 0', [needle]).fetchone()[0]
        if n:
            hits.append(f"{schema}.{table}.{column}")
    return hits


def file_hits(root: Path, needle: bytes) -> list[Path]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".gz":
                data = gzip.decompress(data)
            if needle in data:
                hits.append(path)
    return hits


@pytest.fixture()
def replay():
    with ReplayServer([make_handler(CORPUS, max_listing_limit=2)]) as srv:
        yield srv


def test_fake_secret_reaches_neither_logs_nor_landing_nor_warehouse(tmp_path, monkeypatch, caplog, replay):
    monkeypatch.setenv("PULSE_REDDIT_CLIENT_ID", "leak-test-client")
    monkeypatch.setenv("PULSE_REDDIT_CLIENT_SECRET", FAKE_SECRET)
    settings = Settings(
        data_dir=tmp_path / "data", backfill_days=3,
        reddit=RedditSettings(subreddits=("TikTokShop",), listings=("new",), search_queries=("TikTok Shop",),
                              oauth_url=replay.base_url, reddit_url=replay.base_url, timeout_s=5.0),
        news=NewsSettings(enabled=False), nlp=NlpSettings(),
    )
    ctx = RunContext.for_night(settings, NIGHT, run_id="leak-1")
    with caplog.at_level(logging.DEBUG):
        assert stages.extract_reddit(ctx)["status"] == "ok"
        stages.enrich_plan(ctx)
        stages.enrich_shard(ctx, 0)
        stages.enrich_merge(ctx)
        stages.validate(ctx)
        loaded = stages.load(ctx)
    assert loaded["documents_loaded"] == 8  # 4 posts + 4 comments reached the warehouse

    # The secret really was used: the replay server saw it (base64 in Basic auth) on the token call.
    token_calls = [r for r in replay.requests if r.path.endswith("/access_token")]
    assert token_calls and all((r.header("Authorization") or "").startswith("Basic ") for r in token_calls)

    assert FAKE_SECRET not in caplog.text
    assert file_hits(settings.data_dir, FAKE_SECRET.encode()) == []  # raw, work, enriched, quality, duckdb
    assert (settings.data_dir / "raw" / "reddit").is_dir() and settings.warehouse_path.is_file()
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM core.documents").fetchone()[0] == 8
        assert len(text_columns(con)) > 20
        assert rows_containing(con, FAKE_SECRET) == []
        assert rows_containing(con, "access_token") == []
    finally:
        con.close()

    # Positive control: the scanners do find a planted secret (else the checks above prove nothing).
    copy = tmp_path / "control.duckdb"
    shutil.copyfile(settings.warehouse_path, copy)
    con = duckdb.connect(str(copy))
    try:
        con.execute("UPDATE ops.source_runs SET message = message || ?", [f" leaked {FAKE_SECRET}"])
        assert rows_containing(con, FAKE_SECRET) == ["ops.source_runs.message"]
    finally:
        con.close()
