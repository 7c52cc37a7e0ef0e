"""Reddit credentials: environment first, then the Airflow connection; the secret never shows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from extractors.reddit.credentials import RedditCredentials, resolve_credentials

REPO = Path(__file__).resolve().parents[1]
SECRET = "zz-fake-secret-91"  # noqa: S105


def never() -> RedditCredentials | None:
    raise AssertionError("Airflow must not be consulted when the environment has credentials")


def test_env_credentials_win_and_repr_hides_secret():
    env = {"PULSE_REDDIT_CLIENT_ID": " cid ", "PULSE_REDDIT_CLIENT_SECRET": SECRET,
           "PULSE_REDDIT_USERNAME": "bot", "PULSE_REDDIT_PASSWORD": "pw-secret-1"}
    creds = resolve_credentials(env, airflow_lookup=never)
    assert creds is not None and creds.client_id == "cid" and creds.username == "bot"
    assert SECRET not in repr(creds) and "pw-secret-1" not in repr(creds) and SECRET not in str(creds)
    assert set(creds.secrets) == {SECRET, "pw-secret-1"}


def test_incomplete_env_falls_back_to_airflow(caplog):
    from_airflow = RedditCredentials("af", SECRET, origin="airflow:reddit_default")
    assert resolve_credentials({"PULSE_REDDIT_CLIENT_ID": "only-id"}, lambda: from_airflow) is from_airflow
    assert "incomplete" in caplog.text and SECRET not in caplog.text
    assert resolve_credentials({}, lambda: None) is None


def test_airflow_connection_lookup_in_a_clean_process(tmp_path):
    """The real Task SDK look-up (env-var secrets backend), run in a subprocess so importing
    Airflow cannot reconfigure logging for the rest of the test session."""
    code = ("import airflow.sdk.execution_time.task_runner  # as inside a running task\n"
            "from extractors.reddit.credentials import _from_airflow\n"
            "c = _from_airflow()\n"
            f"ok = c is not None and c.client_secret == {SECRET!r}\n"
            "print('NONE' if c is None else f'{c.client_id}|{c.username}|{c.origin}|{ok}')\n")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "PULSE_REDDIT"))}
    base["AIRFLOW_HOME"] = str(tmp_path)
    conn = json.dumps({"conn_type": "generic", "login": "af-id", "password": SECRET,
                       "extra": {"username": "bot"}})
    run = {"cwd": REPO, "capture_output": True, "text": True, "timeout": 120}
    with_conn = {**base, "AIRFLOW_CONN_REDDIT_DEFAULT": conn}
    found = subprocess.run([sys.executable, "-c", code], **run, env=with_conn)
    last = found.stdout.strip().splitlines()[-1]
    assert last == "af-id|bot|airflow:reddit_default|True", found.stderr[-2000:]
    assert SECRET not in found.stdout.replace("True", "") and SECRET not in found.stderr
    missing = subprocess.run([sys.executable, "-c", code], **run, env=base)
    assert missing.stdout.strip().splitlines()[-1] == "NONE", missing.stderr[-2000:]


def test_no_airflow_lookup_outside_a_task(monkeypatch):
    """`pulse run` is not an Airflow task: it must not import Airflow (which would reconfigure
    logging) just to look for a connection that only a task supervisor can serve."""
    import extractors.reddit.credentials as credentials

    monkeypatch.delitem(sys.modules, "airflow.sdk.execution_time.task_runner", raising=False)
    conn = '{"conn_type": "generic", "login": "x", "password": "y"}'
    monkeypatch.setenv("AIRFLOW_CONN_REDDIT_DEFAULT", conn)
    assert credentials._from_airflow() is None
