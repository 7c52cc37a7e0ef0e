"""Analyst access: run one read-only query safely, and format the result.

Why two layers of defence: the connection itself is opened read-only with external access
disabled, extension auto-loading off and the configuration locked, so DuckDB refuses file reads,
COPY ... TO, ATTACH, INSTALL/LOAD and SET even if our own checks missed something. Before that,
each statement is classified with DuckDB's own parser (not a regex) and anything but a plain
SELECT / EXPLAIN is refused with a :class:`ReadOnlyQueryError` saying why, which is clearer than
the engine's error. Point it at ``warehouse.db.published_path(...)`` during the nightly load.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

READONLY_CONFIG: dict[str, Any] = {
    "enable_external_access": False,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "lock_configuration": True,
}
FORMATS = ("table", "csv", "json")
#: The same sandbox for a stock ``duckdb`` CLI session (docs/warehouse.md, "Analyst access"):
#: ``duckdb -readonly -cmd "<CLI_SANDBOX_SQL>" data/warehouse.published.duckdb``. Both settings can
#: only be tightened at run time, and lock_configuration freezes the rest.
CLI_SANDBOX_SQL = "SET enable_external_access = false; SET lock_configuration = true;"

_WHY = {
    "COPY": "COPY reads or writes files",
    "ATTACH": "ATTACH opens other databases",
    "DETACH": "DETACH changes the catalog",
    "LOAD": "INSTALL/LOAD would add extensions",
    "SET": "SET/RESET would change the configuration",
    "VARIABLE_SET": "SET VARIABLE would change session state",
    "PRAGMA": "PRAGMA can change settings",
    "EXPORT": "EXPORT DATABASE writes files",
    "CALL": "CALL runs table functions that may touch files or settings",
}


class ReadOnlyQueryError(ValueError):
    """The query was refused (not read-only, or not allowed for analysts) or failed."""


class WarehouseBusyError(ReadOnlyQueryError):
    """The file could not be opened (the nightly writer holds its lock): retry on the snapshot.

    A subclass so callers can fall back to the published snapshot on *this* error only, and report
    a refused or broken query as what it is rather than as a busy warehouse.
    """


def _statement_types(sql: str) -> list[tuple[str, str]]:
    import duckdb

    try:
        statements = duckdb.connect(":memory:").extract_statements(sql)
    except duckdb.Error as exc:
        raise ReadOnlyQueryError(f"cannot parse query: {exc}") from exc
    return [(s.type.name, s.query.strip()) for s in statements]


def check_query(sql: str) -> str:
    """Return the single read-only statement in ``sql`` or raise ReadOnlyQueryError."""
    if not sql or not sql.strip():
        raise ReadOnlyQueryError("empty query")
    statements = _statement_types(sql)
    if len(statements) != 1:
        raise ReadOnlyQueryError(f"exactly one statement allowed, got {len(statements)}")
    kind, text = statements[0]
    if kind not in ("SELECT", "EXPLAIN"):
        why = _WHY.get(kind, "it would modify the warehouse")
        raise ReadOnlyQueryError(f"refused: {kind} statements are not allowed on the analyst connection "
                                 f"({why}); only SELECT/EXPLAIN queries are")
    return text


def query_readonly(db_path: Path, sql: str, max_rows: int | None = None) -> tuple[list[str], list[tuple]]:
    """Run one SELECT on a read-only, sandboxed connection; returns (column names, rows)."""
    import duckdb

    text = check_query(sql)
    db_path = Path(db_path)
    if not db_path.exists():
        raise ReadOnlyQueryError(f"warehouse {db_path} does not exist (run the pipeline first)")
    try:
        con = duckdb.connect(str(db_path), read_only=True, config=dict(READONLY_CONFIG))
    except duckdb.Error as exc:  # lock held by the nightly writer (IOException) or by this process
        raise WarehouseBusyError(
            f"cannot open {db_path} read-only: {exc}. During the nightly load query the published "
            "snapshot (warehouse.db.published_path) instead.") from exc
    try:
        cur = con.execute(text)
        if cur.description is None:
            raise ReadOnlyQueryError("query returned no result set")
        columns = [d[0] for d in cur.description]
        rows = cur.fetchmany(max_rows) if max_rows else cur.fetchall()
    except duckdb.PermissionException as exc:
        raise ReadOnlyQueryError(f"refused by the sandbox (no file, network or settings access): {exc}") \
            from exc
    except duckdb.Error as exc:
        if "read-only" in str(exc).lower() or "read only" in str(exc).lower():
            raise ReadOnlyQueryError(f"refused: the analyst connection is read-only: {exc}") from exc
        raise ReadOnlyQueryError(f"query failed: {exc}") from exc
    finally:
        con.close()
    return columns, rows


def _plain(value: Any) -> Any:
    """JSON-safe value: dates as ISO strings, Decimals as floats, nested lists/dicts recursed."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    plain = _plain(value)
    if isinstance(plain, list | dict):
        return json.dumps(plain, ensure_ascii=False)
    return str(plain)


def format_rows(columns: list[str], rows: list[tuple], fmt: str = "table") -> str:
    """Render a result as an aligned text table, CSV (RFC 4180) or a JSON array of objects."""
    if fmt == "json":
        return json.dumps([dict(zip(columns, (_plain(v) for v in row), strict=True)) for row in rows],
                          ensure_ascii=False, indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_cell(v) for v in row] for row in rows])
        # Like the other formats, no final newline: the caller print()s it, and a blank last line
        # would read as an empty record to some CSV consumers.
        text = buf.getvalue()
        return text[:-1] if text.endswith("\n") else text
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    cells = [[_cell(v).replace("\n", " ") for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [line, "| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)) + " |", line]
    out += ["| " + " | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) + " |" for r in cells]
    out += [line, f"({len(rows)} row{'s' if len(rows) != 1 else ''})"]
    return "\n".join(out)
