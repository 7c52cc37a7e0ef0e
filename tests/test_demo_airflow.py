"""`pulse demo` (what `make demo` runs): the real DAG via `airflow dags test`, offline.

Runs in a subprocess with its own data dir and AIRFLOW_HOME, exactly as a newcomer would, and
checks that it ends by pointing at the warehouse, the Data Docs and the newsletter.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_pulse_demo_runs_the_dag_end_to_end(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "AIRFLOW"))}
    env["PULSE_DATA_DIR"] = str(tmp_path / "demo")
    pulse = Path(sys.executable).with_name("pulse")
    proc = subprocess.run([str(pulse), "demo"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    for task in ("extract_reddit", "extract_news", "enrich", "validate", "load", "build_marts", "report"):
        assert f"done: {task}" in out, out
    assert "run succeeded" in out
    assert re.search(r"reddit: ok - \d+ documents", out) and re.search(r"news: ok - \d+ documents", out)

    warehouse = tmp_path / "demo" / "warehouse.duckdb"
    newsletter = tmp_path / "demo" / "reports" / "2026-11-14" / "newsletter.html"
    for path in (warehouse, newsletter):
        assert str(path) in out and path.exists(), path
    docs_line = next(line for line in out.splitlines() if "quality report:" in line)
    assert Path(docs_line.split("quality report:")[1].strip()).is_file()
    # The Airflow metadata DB is project-local SQLite, not anything global.
    assert (tmp_path / "demo" / "airflow" / "airflow.db").exists()

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        sources = dict(con.execute("select source, count(*) from core.documents group by 1").fetchall())
        run_status = con.execute("select status from ops.runs").fetchall()
    finally:
        con.close()
    assert sources["reddit"] >= 150 and sources["news"] >= 25
    assert run_status == [("ok",)]
