"""A loaded night's ops history as Parquet in the lake, so `pulse rebuild` restores it too.

Why: the lake keeps each accepted night's batch, and a rebuild recreates ``core`` from it; but
the quality results that say the batch was checked, what each source did, the per-URL errors,
the rows set aside and the alerts sent lived only in the warehouse file. Losing that file lost the
audit trail behind every figure. So the stage that writes them exports the night's rows:

- ``load`` (after the swap): ``ops.source_runs``, ``ops.errors``, ``ops.quality_results`` (the
  validate stage recorded them before) and ``quarantine.documents``;
- ``alerts``: ``ops.alerts`` and ``ops.alert_deliveries`` (the deliveries of the night's alerts).

Files: ``lake/_ops/<schema.table>/night=<YYYY-MM-DD>.parquet``, one per table and night, replaced
atomically on a re-run, pushed to the store with the rest of ``lake/``. They hold the rows as of
the night's last successful load (or alerts) run. A rebuild replaces each rebuilt night's rows of
those tables with the file's rows of that night, by column name: a column the table has and the
file lacks (added by a later migration) takes its default or NULL, a column the file has and the
table lacks is left out. A file that cannot be read or inserted stops the rebuild with its path.
Nights that never loaded (a quarantined or failed night) have no files: their ops rows are only
in the warehouse (README, "pulse rebuild").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from common.files import atomic_path
from warehouse.lake import lake_root

if TYPE_CHECKING:
    import duckdb

OPS_DIR = "_ops"
#: The rows of each table that belong to a night ({night}: an ISO date literal).
NIGHT_ROWS = {
    "ops.source_runs": "night = DATE '{night}'",
    "ops.errors": "night = DATE '{night}'",
    "ops.quality_results": "night = DATE '{night}'",
    "quarantine.documents": "night = DATE '{night}'",
    "ops.alerts": "night = DATE '{night}'",
    "ops.alert_deliveries": "alert_id IN (SELECT alert_id FROM ops.alerts WHERE night = DATE '{night}')",
}
LOAD_TABLES = ("ops.source_runs", "ops.errors", "ops.quality_results", "quarantine.documents")
ALERT_TABLES = ("ops.alerts", "ops.alert_deliveries")  # alerts first: deliveries are found through them


def ops_file(data_dir: Path, table: str, night: date) -> Path:
    return lake_root(data_dir) / OPS_DIR / table / f"night={night.isoformat()}.parquet"


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def write_ops(con: duckdb.DuckDBPyConnection, data_dir: Path, night: date,
              tables: tuple[str, ...]) -> dict[str, int]:
    """Export the night's rows of ``tables`` (keys of NIGHT_ROWS); returns rows per table. Each
    file is replaced atomically: a reader (or a push) sees the old file or the new one."""
    counts: dict[str, int] = {}
    for table in tables:
        where = NIGHT_ROWS[table].format(night=night.isoformat())
        with atomic_path(ops_file(data_dir, table, night)) as tmp:
            written = con.execute(f"COPY (SELECT * FROM {table} WHERE {where}) TO {_literal(tmp)} "
                                  "(FORMAT parquet)").fetchone()
        counts[table] = int(written[0])  # COPY answers with the number of rows it wrote
    return counts


class OpsRestoreError(RuntimeError):
    """An ops file that cannot be read or inserted (its path and DuckDB's reason)."""


def restore_ops(con: duckdb.DuckDBPyConnection, data_dir: Path,
                nights: Iterable[date] | None = None) -> dict[str, int]:
    """Replace the rows of ``nights`` (default: every night with a file) in every table with the
    file's rows of that night; returns rows per table. Tables in NIGHT_ROWS order, so a night's
    alerts are back before their deliveries are matched."""
    import duckdb

    wanted = None if nights is None else set(nights)
    counts: dict[str, int] = {}
    root = lake_root(data_dir) / OPS_DIR
    for table, where_tpl in NIGHT_ROWS.items():
        counts[table] = 0
        schema, name = table.split(".")
        columns = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
            [schema, name]).fetchall()}
        for path in sorted((root / table).glob("night=*.parquet")):
            try:
                night = date.fromisoformat(path.stem.removeprefix("night="))
            except ValueError:
                continue  # not ours
            if wanted is not None and night not in wanted:
                continue
            where = where_tpl.format(night=night.isoformat())
            try:
                have = [r[0] for r in con.execute(
                    f"DESCRIBE SELECT * FROM read_parquet({_literal(path)})").fetchall()]
                keep = ", ".join(f'"{c}"' for c in have if c in columns)
                con.execute(f"DELETE FROM {table} WHERE {where}")
                n = con.execute(f"INSERT INTO {table} BY NAME SELECT {keep} "
                                f"FROM read_parquet({_literal(path)}) WHERE {where}").fetchone()[0]
            except duckdb.Error as exc:
                raise OpsRestoreError(f"{path}: {type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
            counts[table] += int(n)
    return counts
