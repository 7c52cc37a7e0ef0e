"""`pulse export --format parquet DIR`: write every mart (tables and views) to files.

Why from the published snapshot by default: exporting must not wait for, or block, the nightly
writer, and should ship the same data analysts see. Files are written under a temp name and renamed,
so a half-written export never looks complete.
"""

from __future__ import annotations

from pathlib import Path

from common.files import atomic_path

EXPORT_FORMATS = {"parquet": "(FORMAT parquet, COMPRESSION zstd)", "csv": "(FORMAT csv, HEADER true)",
                  "json": "(FORMAT json)"}


def mart_names(con) -> list[str]:
    rows = con.execute("""
        SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'
        UNION SELECT view_name FROM duckdb_views() WHERE schema_name = 'marts' AND NOT internal
        ORDER BY 1""").fetchall()
    return [r[0] for r in rows]


def export_marts(db_path: Path, out_dir: Path, fmt: str = "parquet") -> list[Path]:
    """Write each marts.* relation to ``out_dir/<name>.<fmt>``; returns the files written."""
    import duckdb

    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    db_path = Path(db_path)
    if not db_path.exists():
        raise FileNotFoundError(f"warehouse {db_path} does not exist (run the pipeline first)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path), read_only=True)
    written = []
    try:
        for name in mart_names(con):
            target = out_dir / f"{name}.{fmt}"
            with atomic_path(target) as tmp:
                quoted = str(tmp).replace("'", "''")
                con.execute(f"COPY (SELECT * FROM marts.{name}) TO '{quoted}' {EXPORT_FORMATS[fmt]}")
            written.append(target)
    finally:
        con.close()
    return written
