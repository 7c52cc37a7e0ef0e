"""Reddit API credentials: from the environment, else the Airflow connection ``reddit_default``.

Why here and not in config: secrets never live in files under git (design.md). The look-up runs
at call time, never at import, so importing the DAG does not touch Airflow's secrets backends.
The secret is kept out of ``repr`` so it cannot leak through logs, tracebacks or test output.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

ENV_CLIENT_ID = "PULSE_REDDIT_CLIENT_ID"
ENV_CLIENT_SECRET = "PULSE_REDDIT_CLIENT_SECRET"  # noqa: S105 - a variable name, not a secret
ENV_USERNAME = "PULSE_REDDIT_USERNAME"
ENV_PASSWORD = "PULSE_REDDIT_PASSWORD"  # noqa: S105
AIRFLOW_CONN_ID = "reddit_default"


@dataclass(frozen=True)
class RedditCredentials:
    """A script/read-only app's credentials. ``repr`` shows the client id only."""

    client_id: str
    client_secret: str = field(repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    origin: str = "env"  # "env" or "airflow:reddit_default", for the run message

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in any output (used by redaction and tests)."""
        return tuple(s for s in (self.client_secret, self.password) if s)


def _from_airflow(conn_id: str = AIRFLOW_CONN_ID) -> RedditCredentials | None:
    """Airflow 3 Task SDK connection look-up; any failure (not installed, not found) -> None.

    Only inside a running Airflow task: the Task SDK answers connection look-ups through the task
    supervisor, and importing Airflow in a plain `pulse run` would reconfigure the process's
    logging (silencing our own loggers) just to find nothing.
    """
    if "airflow.sdk.execution_time.task_runner" not in sys.modules:
        return None
    try:
        from airflow.sdk import Connection

        conn = Connection.get(conn_id)
    except Exception as exc:  # noqa: BLE001 - "no connection" has many shapes across backends
        log.debug("Airflow connection %s not available: %s", conn_id, type(exc).__name__)
        return None
    if conn is None or not getattr(conn, "login", None) or not getattr(conn, "password", None):
        return None
    extra = {}
    try:
        extra = conn.extra_dejson or {}
    except Exception:  # noqa: BLE001 - malformed extra must not break credential look-up
        extra = {}
    return RedditCredentials(
        client_id=conn.login,
        client_secret=conn.password,
        username=extra.get("username") or None,
        password=extra.get("password") or None,
        origin=f"airflow:{conn_id}",
    )


def resolve_credentials(
    env: Mapping[str, str] | None = None,
    airflow_lookup: Callable[[], RedditCredentials | None] | None = None,
) -> RedditCredentials | None:
    """Environment first (PULSE_REDDIT_CLIENT_ID + PULSE_REDDIT_CLIENT_SECRET), then Airflow.

    Username/password are optional (PULSE_REDDIT_USERNAME / PULSE_REDDIT_PASSWORD, or the
    connection's extra ``{"username", "password"}``); without them PRAW runs read-only, which is
    all listening needs. Returns None when nothing is configured.
    """
    env = os.environ if env is None else env
    client_id = (env.get(ENV_CLIENT_ID) or "").strip()
    secret = (env.get(ENV_CLIENT_SECRET) or "").strip()
    if client_id and secret:
        username = (env.get(ENV_USERNAME) or "").strip() or None
        password = env.get(ENV_PASSWORD) or None
        return RedditCredentials(client_id, secret, username, password if username else None, "env")
    if client_id or secret:
        log.warning("Reddit credentials incomplete in the environment: set both %s and %s",
                    ENV_CLIENT_ID, ENV_CLIENT_SECRET)
    return (airflow_lookup or _from_airflow)()
