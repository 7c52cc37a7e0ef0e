"""`make demo` (``python -m demo``): the real nightly DAG, end to end, offline, on the synthetic corpus.

It starts the local replay server (a Reddit API subset plus news sites on 127.0.0.1), points the
pipeline at it through config/demo.toml and environment variables, and runs
``airflow dags test live_commerce_nightly`` with a project-local AIRFLOW_HOME on SQLite. PRAW,
HTTP fetching and bs4 parsing all run for real; nothing touches the network.

``python -m demo ui`` (`make airflow`) starts the Airflow UI (``airflow standalone``) on
127.0.0.1 over the same AIRFLOW_HOME and SQLite DB, so the demo's run is visible there. It also
starts the replay server and sets ``PULSE_CONFIG=config/demo.toml`` for every Airflow component:
a run triggered or unpaused from that UI replays the synthetic corpus and never reaches the real
Reddit or news sites. The DAG itself is created paused (``is_paused_upon_creation=True``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

from common.config import PROJECT_ROOT, load_settings

DAG_ID = "live_commerce_nightly"
_STRUCTLOG = re.compile(r"\[\w+\s*\] (.*?) \[[\w.]+\] loc=")
# The synthetic corpus covers 2026-11-01..2026-11-14; the run of the 15th processes the 14th, and
# config/demo.toml's 14-day backfill window reaches back to the 1st.
DEMO_LOGICAL_DATE = date(2026, 11, 15)
DEMO_CONFIG = "config/demo.toml"
# Fake credentials that only the replay server accepts; real Reddit would reject them.
DEMO_REDDIT_ENV = {"PULSE_REDDIT_CLIENT_ID": "demo-client", "PULSE_REDDIT_CLIENT_SECRET": "demo-secret"}


def airflow_env(airflow_home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a project-local Airflow: SQLite metadata, our dags/ folder, no examples."""
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "60",
            "GX_ANALYTICS_ENABLED": "false",
            # GX logs every decorated function at INFO on import; keep task logs readable.
            "AIRFLOW__LOGGING__NAMESPACE_LEVELS": "great_expectations=WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


#: The UI's default port: Airflow's own default (``[api] port``); ``--port`` / PULSE_AIRFLOW_PORT change it.
UI_PORT = 8080
UI_HOST = "127.0.0.1"

# `airflow dags test` (Dag.test) creates its run with start_date = the logical date (Airflow 3.3's
# sdk/definitions/dag.py: ``start_date=logical_date or run_after``), so a demo run
# of logical date 2026-11-15 executed on 2026-11-30 shows a "duration" of 15 days in the UI. The real
# start is the first task's start; this rewrites the run's start_date to it, through Airflow's ORM.
_FIX_TEST_RUN_START = r"""
import sys
from sqlalchemy import func, select
from airflow.models.dagrun import DagRun
from airflow.models.taskinstance import TaskInstance
from airflow.utils.session import create_session
from airflow.utils.types import DagRunTriggeredByType
fixed = 0
with create_session() as session:
    test_runs = select(DagRun).where(DagRun.dag_id == sys.argv[1],
                                     DagRun.triggered_by == DagRunTriggeredByType.TEST)
    for run in session.scalars(test_runs):
        first = session.scalar(select(func.min(TaskInstance.start_date)).where(
            TaskInstance.dag_id == run.dag_id, TaskInstance.run_id == run.run_id))
        if first is not None and run.start_date != first:
            run.start_date = first
            fixed += 1
print(f"FIXED {fixed}")
"""


def _airflow_bin() -> str:
    candidate = Path(sys.executable).with_name("airflow")
    return str(candidate) if candidate.exists() else "airflow"


def _progress_line(line: str) -> str | None:
    """Pick the lines a person wants from Airflow's verbose output."""
    if "[DAG TEST] starting task_id=" in line:
        return "  -> " + line.split("task_id=")[1].split()[0]
    if "[DAG TEST] end task task_id=" in line:
        return "     done: " + line.split("task_id=")[1].split()[0]
    if "DagRun Finished" in line:
        return "  " + ("run succeeded" if "state=success" in line else "run FAILED")
    for marker in ("reddit: ", "news: ", "Reddit skipped", "quality gate failed", "FAILED"):
        if marker in line and "[py.warnings]" not in line:
            m = _STRUCTLOG.search(line)
            return "     " + (m.group(1).strip() if m else line.strip())[:200]
    return None


def run_demo(echo=print) -> int:
    from demo.replay.server import ReplayServer, default_handlers

    with ReplayServer(default_handlers()) as server:
        echo(f"Replay server (synthetic sample corpus) on {server.base_url}")
        os.environ["PULSE_REPLAY_URL"] = server.base_url  # config/demo.toml refers to it
        settings = load_settings(DEMO_CONFIG)
        airflow_home = settings.data_dir / "airflow"
        airflow_home.mkdir(parents=True, exist_ok=True)
        log_path = airflow_home / "dags-test.log"
        env = airflow_env(
            airflow_home,
            {
                "PULSE_CONFIG": DEMO_CONFIG,
                "PULSE_REPLAY_URL": server.base_url,
                "PULSE_RETRY_DELAY_S": "2",
                **DEMO_REDDIT_ENV,
            },
        )
        with open(log_path, "w", encoding="utf-8") as log:
            echo("Preparing Airflow metadata DB (SQLite) ...")
            rc = subprocess.call([_airflow_bin(), "db", "migrate"], env=env, stdout=log,
                                 stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
            if rc != 0:
                echo(f"airflow db migrate failed (exit {rc}); see {log_path}")
                return rc
            echo(f"airflow dags test {DAG_ID} {DEMO_LOGICAL_DATE} (full log: {log_path})")
            started = time.monotonic()
            proc = subprocess.Popen(
                [_airflow_bin(), "dags", "test", DAG_ID, DEMO_LOGICAL_DATE.isoformat()],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=PROJECT_ROOT,
            )
            assert proc.stdout is not None
            for line in proc.stdout:
                log.write(line)
                shown = _progress_line(line)
                if shown:
                    echo(shown)
            rc = proc.wait()
    if rc != 0:
        echo(f"\nThe demo run failed (exit {rc}). Full log: {log_path}")
        return rc
    _fix_test_run_start(env, log_path)
    echo(f"\nDemo finished in {time.monotonic() - started:.0f}s.")
    _print_locations(settings, echo)
    return 0


def _fix_test_run_start(env: dict[str, str], log_path: Path) -> None:
    """Give the demo's run its real start time (see _FIX_TEST_RUN_START); cosmetic, never fatal."""
    proc = subprocess.run([sys.executable, "-c", _FIX_TEST_RUN_START, DAG_ID], env=env, capture_output=True,
                          text=True, cwd=PROJECT_ROOT, timeout=300)
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"\n[make demo] start_date fix (exit {proc.returncode}): "
                  f"{proc.stdout}{proc.stderr[-2000:]}\n")


def _print_locations(settings, echo) -> None:
    from pipeline.airflow_support import night_for_logical_date
    from quality import gx_context
    from quality.report import index_path
    from warehouse.db import published_path

    night = night_for_logical_date(DEMO_LOGICAL_DATE)
    report_dir = settings.reports_dir / night.isoformat()
    quality_page = index_path(settings.quality_dir)
    docs_index = gx_context.data_docs_dir(settings.quality_dir) / "index.html"
    echo("Where to look:")
    echo(f"  warehouse (DuckDB):   {settings.warehouse_path}")
    echo(f"    for analysts:       {published_path(settings.warehouse_path)}"
         "  (stock CLI: pip install duckdb-cli==1.5.6; duckdb -readonly <file>)")
    echo(f"  quality report:       {quality_page}  (self-contained, works offline)")
    if docs_index.exists():
        echo(f"  GX Data Docs:         {docs_index}  (loads CSS/JS from CDNs: needs the network)")
    echo(f"  newsletter:           {report_dir / 'newsletter.html'}")
    echo(f"                        {report_dir / 'newsletter.md'}")
    echo(f"  raw landing:          {settings.data_dir / 'raw'}")
    echo("Airflow UI with this run:  make airflow   (http://127.0.0.1:8080, DAG paused, demo config)")
    echo("Try:  PULSE_CONFIG=config/demo.toml .venv/bin/pulse sql "
         "\"select name, sum(mentions) m from marts.daily_entity_stats group by 1 order by m desc limit 10\"")


def _free_to_bind(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As uvicorn binds: a port in TIME_WAIT from a previous run is free, a listening one is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((UI_HOST, port))
        except OSError:
            return False
    return True


def _api_get(base_url: str, path: str, timeout: float = 5.0) -> object:
    with urllib.request.urlopen(base_url + path, timeout=timeout) as resp:  # noqa: S310 - our loopback URL
        return json.loads(resp.read())


def ui_env(airflow_home: Path, port: int, replay_url: str) -> dict[str, str]:
    """Environment of every Airflow component the UI command starts (see the module docstring).

    Loopback only, one API worker (a shared 2-core box), no login (simple auth manager with all
    users admin: it listens on 127.0.0.1 only), and the demo config with the replay server, so
    nothing started from this UI fetches from the internet.
    """
    base_url = f"http://{UI_HOST}:{port}"
    # `airflow standalone` starts its components as `airflow ...` from PATH: put this venv first.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return airflow_env(airflow_home, {
        "PATH": path,
        "PULSE_CONFIG": DEMO_CONFIG,
        "PULSE_REPLAY_URL": replay_url,
        "PULSE_RETRY_DELAY_S": "2",
        **DEMO_REDDIT_ENV,
        "AIRFLOW__API__HOST": UI_HOST,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__API__WORKERS": "1",
        # LocalExecutor forks one worker per parallelism slot; the DAG needs 2 (the two extracts).
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
    })


def _say(line: str) -> None:
    print(line, flush=True)


def run_ui(port: int = UI_PORT, echo=_say, ready_timeout_s: float = 600.0) -> int:
    """Run ``airflow standalone`` over the demo's AIRFLOW_HOME until Ctrl-C (or SIGTERM/SIGINT).

    Output of the Airflow components goes to ``<AIRFLOW_HOME>/standalone.log``; this prints the
    URL once the API answers, and stops every component on exit.
    """
    from demo.replay.server import ReplayServer, default_handlers

    if not _free_to_bind(port):
        echo(f"Port {port} on {UI_HOST} is in use (another Airflow?). Pick another: make airflow PORT=8081")
        return 2
    with ReplayServer(default_handlers()) as server:
        os.environ["PULSE_REPLAY_URL"] = server.base_url
        settings = load_settings(DEMO_CONFIG)
        airflow_home = settings.data_dir / "airflow"
        airflow_home.mkdir(parents=True, exist_ok=True)
        env = ui_env(airflow_home, port, server.base_url)
        log_path = airflow_home / "standalone.log"
        has_run = (airflow_home / "airflow.db").exists()
        if not has_run:
            echo("No demo run yet (run `make demo` first to see one); starting with an empty Airflow DB.")
        base_url = f"http://{UI_HOST}:{port}"
        echo(f"Starting Airflow (api-server, scheduler, dag-processor, triggerer) on {base_url}")
        echo(f"  AIRFLOW_HOME={airflow_home}  dags: {PROJECT_ROOT / 'dags'}  log: {log_path}")
        echo(f"  PULSE_CONFIG={DEMO_CONFIG}: runs started here replay the synthetic corpus "
             f"({server.base_url}), never the internet")
        with open(log_path, "a", encoding="utf-8") as log:
            # Own process group: Ctrl-C reaches this command only, which then stops the whole group.
            proc = subprocess.Popen([_airflow_bin(), "standalone"], env=env, stdout=log,
                                    stderr=subprocess.STDOUT, cwd=PROJECT_ROOT, start_new_session=True)
            # The group id, for whoever must clean up if this command itself is killed (tests).
            (airflow_home / "standalone.pgid").write_text(f"{proc.pid}\n")
            stop = {"signal": None, "timed_out": False, "interrupted": False}

            def _on_signal(signum, frame):  # SIGTERM from a test or a service manager
                stop["signal"] = signum

            previous = signal.signal(signal.SIGTERM, _on_signal)
            try:
                deadline = time.monotonic() + ready_timeout_s
                ready = False
                while proc.poll() is None and stop["signal"] is None:
                    if not ready:
                        ready = _announce_when_ready(base_url, echo)
                        if not ready and time.monotonic() > deadline:
                            echo(f"Airflow did not answer within {ready_timeout_s:.0f}s; see {log_path}")
                            stop["timed_out"] = True
                            break
                    time.sleep(1.0)
            except KeyboardInterrupt:
                stop["interrupted"] = True
            finally:
                signal.signal(signal.SIGTERM, previous)
                rc = _stop_standalone(proc, echo)
    if stop["timed_out"]:
        return 1
    # Stopped on request (Ctrl-C, SIGTERM): success, whatever code the signalled standalone exits with.
    return 0 if stop["signal"] is not None or stop["interrupted"] or rc == 0 else rc


def _announce_when_ready(base_url: str, echo) -> bool:
    try:
        dag = _api_get(base_url, f"/api/v2/dags/{DAG_ID}")
        runs = _api_get(base_url, f"/api/v2/dags/{DAG_ID}/dagRuns")
    except (urllib.error.URLError, OSError, ValueError):
        return False
    paused = "paused" if dag.get("is_paused") else "ACTIVE (unpaused)"
    echo(f"\nAirflow UI ready: {base_url}/dags/{DAG_ID}  (no login; DAG {paused}; "
         f"{runs.get('total_entries', 0)} run(s) recorded). Ctrl-C stops everything.")
    return True


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a recycled id owned by someone else
        return False
    return True


def _stop_standalone(proc: subprocess.Popen, echo) -> int:
    """Stop `airflow standalone` and every component it started, then return its exit code.

    It runs in its own process group (its components inherit it), so this signals exactly what
    this command started: SIGINT first, which is what Ctrl-C in a terminal sends to the whole
    group and what standalone and its components shut down cleanly on; then SIGTERM, then SIGKILL
    for anything still alive (the scheduler and LocalExecutor workers can outlive standalone).
    """
    pgid = proc.pid
    echo("Stopping Airflow ...")
    for sig, grace in ((signal.SIGINT, 20.0), (signal.SIGTERM, 15.0), (signal.SIGKILL, 10.0)):
        if not _group_alive(pgid):
            break
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        end = time.monotonic() + grace
        while time.monotonic() < end and _group_alive(pgid):
            if proc.poll() is None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=0.5)
            else:
                time.sleep(0.5)
    if proc.poll() is None:
        proc.wait(timeout=10)
    survived = _group_alive(pgid)
    echo(f"Airflow processes of group {pgid} survived SIGKILL" if survived else "Airflow stopped.")
    return proc.returncode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m demo", description="The offline demo (`run`, the default) and its Airflow UI (`ui`).")
    sub = ap.add_subparsers(dest="command")
    sub.add_parser("run", help="run the nightly DAG once on the synthetic corpus (what `make demo` does)")
    ui = sub.add_parser("ui", help="Airflow UI on 127.0.0.1 over the demo's Airflow DB (`make airflow`)")
    ui.add_argument("--port", type=int, default=int(os.environ.get("PULSE_AIRFLOW_PORT", UI_PORT)))
    args = ap.parse_args(argv)
    if args.command == "ui":
        return run_ui(args.port)
    return run_demo()


if __name__ == "__main__":
    sys.exit(main())
