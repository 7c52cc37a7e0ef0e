"""A loaded night's ops history as Parquet in the lake, so `pulse rebuild` restores it too.

Why: the lake keeps each accepted night's batch, and a rebuild recreates ``core`` from it; but
the quality results that say the batch was checked, what each source did, the per-URL errors,
the rows set aside and the alerts sent lived only in the warehouse file. Losing that file lost the
audit trail behind every figure. So the stage that writes them exports the night's rows:

- ``load`` (after the swap): ``ops.source_runs``, ``ops.errors``, ``ops.quality_results`` (the
  validate stage recorded them before) and ``quarantine.documents``;
- ``alerts``: ``ops.alerts`` and ``ops.alert_deliveries`` (the deliveries of the night's alerts).

Files: ``lake/_ops/<schema.table>/night=<YYYY-MM-DD>.parquet``, one per table and night, replaced
atomically on a re-run, pushed to the store with the rest of ``lake/``. A rebuild replaces each
night's rows of those tables with the file's rows (``INSERT ... BY NAME``, so a column added by a
later migration is NULL or its default, not an error). Nights that never loaded (a quarantined
or failed night) have no files: their ops rows are still only in the warehouse (README, "pulse
rebuild").
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

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
    """Export the night's rows of ``tables`` (keys of NIGHT_ROWS); returns rows per table."""
    counts: dict[str, int] = {}
    for table in tables:
        where = NIGHT_ROWS[table].format(night=night.isoformat())
        path = ops_file(data_dir, table, night)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        con.execute(f"COPY (SELECT * FROM {table} WHERE {where}) TO {_literal(tmp)} (FORMAT parquet)")
        os.replace(tmp, path)  # a reader (or a push) sees the old file or the new one, never half
        counts[table] = int(con.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0])
    return counts


def restore_ops(con: duckdb.DuckDBPyConnection, data_dir: Path) -> dict[str, int]:
    """Replace each exported night's rows of every table with the file's; returns rows per table.
    Tables in NIGHT_ROWS order, so a night's alerts are back before their deliveries are matched."""
    counts: dict[str, int] = {}
    root = lake_root(data_dir) / OPS_DIR
    for table, where_tpl in NIGHT_ROWS.items():
        counts[table] = 0
        for path in sorted((root / table).glob("night=*.parquet")):
            try:
                night = date.fromisoformat(path.stem.removeprefix("night="))
            except ValueError:
                continue  # not ours
            con.execute(f"DELETE FROM {table} WHERE {where_tpl.format(night=night.isoformat())}")
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM read_parquet({_literal(path)})")
            counts[table] += int(con.execute(f"SELECT count(*) FROM read_parquet({_literal(path)})")
                                 .fetchone()[0])
    return counts
