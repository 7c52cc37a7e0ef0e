"""warehouse.sentiment_models: when two periods' sentiment compares (migration 012's ids)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from warehouse.db import migrate
from warehouse.sentiment_models import compare

PREV = (date(2026, 11, 1), date(2026, 11, 7))
CUR = (date(2026, 11, 8), date(2026, 11, 14))


def _warehouse(tmp_path: Path, rows: list[tuple[str, date, str | None]],
               drop_column: bool = False) -> duckdb.DuckDBPyConnection:
    """Documents (source, published day, model id); every one scored."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("SET TimeZone = 'UTC'")
    migrate(con)
    for k, (source, day, model) in enumerate(rows):
        ts = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        con.execute("INSERT INTO core.documents (doc_id, source, kind, published_at, fetched_at, "
                    "is_deleted, sentiment, night, sentiment_model) "
                    "VALUES (?, ?, 'post', ?, ?, false, 0.1, ?, ?)",
                    [f"d{k}", source, ts, ts, day, model])
    if drop_column:
        con.execute("ALTER TABLE core.documents DROP COLUMN sentiment_model")
    return con


def _days(n: int, start: date) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]


@pytest.mark.parametrize(("before", "after", "comparable"), [
    ({"news": "embedding-a", "reddit": "embedding-a"},
     {"news": "embedding-a", "reddit": "embedding-a"}, True),
    ({"news": "embedding-a", "reddit": "lexicon-l"}, {"news": "embedding-a", "reddit": "lexicon-l"}, True),
    ({"news": None, "reddit": None}, {"news": None, "reddit": None}, True),       # before migration 012
    ({"news": None, "reddit": None}, {"news": "embedding-a", "reddit": "embedding-a"}, False),  # upgrade
    ({"news": "embedding-a", "reddit": "embedding-a"},
     {"news": "embedding-b", "reddit": "embedding-b"}, False),
    ({"news": "embedding-a", "reddit": "embedding-a"}, {"news": "embedding-a", "reddit": "lexicon-l"}, False),
])
def test_like_is_compared_with_like(tmp_path: Path, before: dict, after: dict, comparable: bool) -> None:
    rows = [(s, d, m) for d in _days(7, PREV[0]) for s, m in before.items()]
    rows += [(s, d, m) for d in _days(7, CUR[0]) for s, m in after.items()]
    got = compare(_warehouse(tmp_path, rows), PREV, CUR)
    assert got.comparable is comparable
    assert (got.reason is None) is comparable


def test_a_source_seen_in_one_period_only_does_not_block(tmp_path: Path) -> None:
    rows = [("news", d, "embedding-a") for d in _days(7, PREV[0])]
    rows += [("news", d, "embedding-a") for d in _days(7, CUR[0])] + [("reddit", CUR[1], "lexicon-l")]
    assert compare(_warehouse(tmp_path, rows), PREV, CUR).comparable


def test_an_upgrade_inside_the_current_period_is_not_comparable(tmp_path: Path) -> None:
    rows = [("news", d, "embedding-a") for d in _days(7, PREV[0])]
    rows += [("news", d, "embedding-a" if d < date(2026, 11, 11) else "embedding-b")
             for d in _days(7, CUR[0])]
    got = compare(_warehouse(tmp_path, rows), PREV, CUR)
    assert not got.comparable and "news" in (got.reason or "")
    assert got.current == ("embedding-a", "embedding-b") and got.previous == ("embedding-a",)


def test_a_warehouse_without_the_column_compares_as_before(tmp_path: Path) -> None:
    rows = [("news", d, None) for d in _days(14, PREV[0])]
    assert compare(_warehouse(tmp_path, rows, drop_column=True), PREV, CUR).comparable
