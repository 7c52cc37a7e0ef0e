"""`python -m demo` (what `make demo` runs): the real DAG via `airflow dags test`, offline; then the
Airflow UI (`make airflow`) over the same AIRFLOW_HOME, showing that run.

Runs in subprocesses with their own data dir and AIRFLOW_HOME, exactly as a newcomer would. The
demo must end by pointing at the warehouse, the offline quality page and the newsletter; the UI
must serve our DAG only (no examples), paused, with the demo's run and its real duration, and stop
every process it started.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[1]
DAG_ID = "live_commerce_nightly"
pytestmark = pytest.mark.slow


def _clean_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "AIRFLOW"))}
    env["PULSE_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture(scope="module")
def demo(plain_demo) -> tuple[Path, str]:
    """The session's `python -m demo` run (tests/conftest.py), shared with the distributed demo's test."""
    return plain_demo


def test_the_demo_runs_the_dag_end_to_end(demo):
    data_dir, out = demo
    for task in ("extract_reddit", "extract_news", "enrich_plan", "enrich_shard", "enrich_merge", "validate",
                 "load", "build_marts", "report"):
        assert f"done: {task}" in out, out
    assert "run succeeded" in out
    assert re.search(r"reddit: ok - \d+ documents", out) and re.search(r"news: ok - \d+ documents", out)

    warehouse = data_dir / "warehouse.duckdb"
    newsletter = data_dir / "reports" / "2026-11-14" / "newsletter.html"
    for path in (warehouse, newsletter):
        assert str(path) in out and path.exists(), path
    quality_page = Path(re.search(r"quality report:\s+(\S+)", out).group(1))
    assert quality_page.is_file() and quality_page.parent == data_dir / "quality" / "report"
    assert "Data quality, night 2026-11-14" in quality_page.read_text()
    # The Airflow metadata DB is project-local SQLite, not anything global.
    assert (data_dir / "airflow" / "airflow.db").exists()

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        sources = dict(con.execute("select source, count(*) from core.documents group by 1").fetchall())
        run_status = con.execute("select status from ops.runs").fetchall()
    finally:
        con.close()
    assert sources["reddit"] >= 150 and sources["news"] >= 25
    assert run_status == [("ok",)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - loopback
        return json.loads(resp.read())


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_airflow_ui_shows_the_dag_and_the_demo_run(demo):
    """`python -m demo.run ui` (what `make airflow` runs) on a free loopback port: the REST API
    lists our DAG only, paused, with the demo's successful run and a duration of minutes, not the
    weeks between the logical date and the day the demo ran. Then every process is stopped."""
    data_dir, _ = demo
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = data_dir / "ui-test.out"
    with open(log, "w") as out:
        # Own process group: the launcher, `airflow standalone` and its components, so the test
        # can stop exactly what it started, whatever happens.
        proc = subprocess.Popen([sys.executable, "-m", "demo.run", "ui", "--port", str(port)], cwd=ROOT,
                                env=_clean_env(data_dir), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    pgid = proc.pid
    try:
        deadline = time.monotonic() + 420
        dag = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                dag = _get(f"{base}/api/v2/dags/{DAG_ID}")
                break
            except (urllib.error.URLError, OSError):
                time.sleep(2)
        assert dag is not None, f"no API on {base} (exit {proc.poll()}): {log.read_text()[-3000:]}"
        assert dag["is_paused"] is True
        dags = _get(f"{base}/api/v2/dags?limit=200")
        assert [d["dag_id"] for d in dags["dags"]] == [DAG_ID]  # no example DAGs
        runs = _get(f"{base}/api/v2/dags/{DAG_ID}/dagRuns")["dag_runs"]
        assert len(runs) == 1 and runs[0]["state"] == "success", runs
        assert runs[0]["logical_date"].startswith("2026-11-15")
        assert runs[0]["duration"] is not None and 0 < runs[0]["duration"] < 3600, runs[0]
        # Bound to 127.0.0.1 only: 127.0.0.2 is also loopback on Linux, and a 0.0.0.0 bind answers there.
        with socket.socket() as sock:
            sock.settimeout(5)
            assert sock.connect_ex(("127.0.0.2", port)) != 0, "the API listens beyond 127.0.0.1"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the launcher stops `airflow standalone`'s group itself
            try:
                proc.wait(timeout=150)
            except subprocess.TimeoutExpired:
                os.killpg(pgid, signal.SIGKILL)
                proc.wait(timeout=30)
        pgid_file = data_dir / "airflow" / "standalone.pgid"
        groups = [pgid] + ([int(pgid_file.read_text())] if pgid_file.exists() else [])
        leftover = [g for g in groups if _group_alive(g)]
        for group in leftover:  # only if the launcher failed to: kill what this test started
            os.killpg(group, signal.SIGKILL)
    assert proc.returncode == 0, log.read_text()[-3000:]
    assert len(groups) == 2, "the launcher did not record the standalone process group"
    assert not leftover, f"Airflow components outlived the UI command (groups {leftover})"
    assert "Airflow stopped." in log.read_text()
    with socket.socket() as sock:  # nothing listens any more (REUSEADDR: TIME_WAIT is fine)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
