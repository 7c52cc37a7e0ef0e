"""Marts as files: `pulse export --format parquet DIR`, and the store's ``marts/`` after each night.

Why `pulse export` reads the published snapshot by default: exporting must not wait for, or block,
the nightly writer, and should ship the same data analysts see. Why :func:`write_mart_files` takes
the writer's own connection instead: it runs at the end of ``build_marts``, in the process that
holds the write lock (a second, read-only connection to the same file is refused), and writes
``data_dir/marts/<name>.parquet``, which the storage layer pushes to the store with the stage
(``marts`` is one of ``common.storage.SHARED_ROOTS``), so consumers read the marts without DuckDB.
Every file is written under a temp name and renamed, so a half-written export never looks complete.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from common.files import atomic_path

if TYPE_CHECKING:
    import duckdb

EXPORT_FORMATS = {"parquet": "(FORMAT parquet, COMPRESSION zstd)", "csv": "(FORMAT csv, HEADER true)",
                  "json": "(FORMAT json)"}
#: Under data_dir: the marts as Parquet, one file per marts.* relation (pushed to the store).
MARTS_DIR = "marts"


def mart_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute("""
        SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'
        UNION SELECT view_name FROM duckdb_views() WHERE schema_name = 'marts' AND NOT internal
        ORDER BY 1""").fetchall()
    return [r[0] for r in rows]


def _copy_marts(con: duckdb.DuckDBPyConnection, out_dir: Path, fmt: str) -> list[Path]:
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in mart_names(con):
        target = out_dir / f"{name}.{fmt}"
        with atomic_path(target) as tmp:
            quoted = str(tmp).replace("'", "''")
            con.execute(f"COPY (SELECT * FROM marts.{name}) TO '{quoted}' {EXPORT_FORMATS[fmt]}")
        written.append(target)
    return written


def export_marts(db_path: Path, out_dir: Path, fmt: str = "parquet") -> list[Path]:
    """Write each marts.* relation to ``out_dir/<name>.<fmt>``; returns the files written."""
    import duckdb

    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    db_path = Path(db_path)
    if not db_path.exists():
        raise FileNotFoundError(f"warehouse {db_path} does not exist (run the pipeline first)")
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return _copy_marts(con, Path(out_dir), fmt)
    finally:
        con.close()


def write_mart_files(con: duckdb.DuckDBPyConnection, data_dir: Path) -> list[Path]:
    """Write every marts.* relation to ``data_dir/marts/<name>.parquet`` on the caller's
    (writer's) connection, and remove Parquet files of marts that no longer exist, so the store's
    ``marts/`` mirrors the warehouse; returns the files written."""
    out_dir = Path(data_dir) / MARTS_DIR
    written = _copy_marts(con, out_dir, "parquet")
    for stale in out_dir.glob("*.parquet"):
        if stale not in written:
            stale.unlink(missing_ok=True)
    return written
