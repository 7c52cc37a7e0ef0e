"""Glue between Airflow's task context and the pipeline's RunContext (no Airflow import needed)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from common.config import load_settings
from common.context import RunContext


def night_for_logical_date(logical_date: datetime | date) -> date:
    """A run with logical date D processes the night D - 1 day: the last complete UTC day.

    With the 02:00 UTC schedule, the run of 2026-11-25 02:00 processes 2026-11-24.
    """
    day = logical_date.date() if isinstance(logical_date, datetime) else logical_date
    return day - timedelta(days=1)


def run_context_from_airflow(context: dict[str, Any]) -> RunContext:
    logical = context.get("logical_date") or context.get("data_interval_end")
    if logical is None:
        raise ValueError("this task needs a logical date (trigger the DAG with one)")
    return RunContext.for_night(load_settings(), night_for_logical_date(logical), run_id=context["run_id"])


def is_deterministic(exc: BaseException) -> bool:
    """Would another try of the same task fail the same way? Then the DAG fails it at once.

    Why: retries (with exponential backoff) delayed a quality-gate failure by ~15 minutes and
    helped nothing. Deterministic: the quality gate, bad configuration (settings, gazetteer,
    themes, sentiment model), bad credentials, a batch breaking the load contract, and the final
    recording task's report of a failed night. Everything else (network, a locked warehouse, a
    killed worker) keeps Airflow's retries. Imports are lazy: the DAG file imports this module.
    """
    from common.config import ConfigError
    from common.source_run import SourceFailed

    if isinstance(exc, SourceFailed):
        return not exc.retryable
    if isinstance(exc, ConfigError):
        return True
    name = type(exc).__name__
    if name in ("QualityGateFailed", "NightFailed", "AuthError", "GazetteerError", "ThemesError",
                "SentimentModelError", "MigrationError"):
        return True
    if name == "LoadError":
        # A contract violation is deterministic; a DuckDB I/O error underneath (disk, lock) is not.
        cause = exc.__cause__
        return not (cause is not None and type(cause).__name__ in ("IOException", "OutOfMemoryException"))
    return False
