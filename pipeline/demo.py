"""`pulse demo` / `make demo`: the real nightly DAG, end to end, offline, on the synthetic corpus.

It starts the local replay server (a Reddit API subset plus news sites on 127.0.0.1), points the
pipeline at it through config/demo.toml and environment variables, and runs
``airflow dags test live_commerce_nightly`` with a project-local AIRFLOW_HOME on SQLite. PRAW,
HTTP fetching and bs4 parsing all run for real; nothing touches the network.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from pipeline.config import PROJECT_ROOT, load_settings

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
    from pipeline.replay.server import ReplayServer, default_handlers

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
    echo(f"\nDemo finished in {time.monotonic() - started:.0f}s.")
    _print_locations(settings, echo)
    return 0


def _print_locations(settings, echo) -> None:
    from pipeline.airflow_support import night_for_logical_date

    night = night_for_logical_date(DEMO_LOGICAL_DATE)
    report_dir = settings.reports_dir / night.isoformat()
    docs_index = settings.quality_dir / "data_docs" / "index.html"
    if not docs_index.exists():
        found = sorted(settings.quality_dir.rglob("index.html"))
        docs_index = found[0] if found else settings.quality_dir
    echo("Where to look:")
    echo(f"  warehouse (DuckDB):   {settings.warehouse_path}")
    echo(f"  quality report:       {docs_index}")
    echo(f"  newsletter:           {report_dir / 'newsletter.html'}")
    echo(f"                        {report_dir / 'newsletter.md'}")
    echo(f"  raw landing:          {settings.data_dir / 'raw'}")
    echo("Try:  PULSE_CONFIG=config/demo.toml .venv/bin/pulse sql "
         "\"select name, sum(mentions) m from marts.daily_entity_stats group by 1 order by m desc limit 10\"")
