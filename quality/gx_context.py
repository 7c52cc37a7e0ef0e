"""The Great Expectations project under ``settings.quality_dir``: opening it quietly and keeping it bounded.

Why a *file* context rather than an ephemeral one: Data Docs are an index over every stored
validation result, so analysts can browse past nights under ``data/quality/``. The price is state
on disk, so this module also makes that state bounded: each night's results are stored under a
run identifier derived from the night alone (a re-run *overwrites* that night's results instead of
adding a new set) and nights older than :data:`RETENTION_NIGHTS` are pruned.

GX is imported inside functions only: the Airflow DAG imports ``quality.validate`` and must parse
in well under a second, while ``import great_expectations`` takes several.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: How many nights of validation results (and their Data Docs pages) are kept.
RETENTION_NIGHTS = 90
#: Sub-directory of ``quality_dir`` that GX uses as its project root (``<root>/gx/...``).
PROJECT_SUBDIR = "project"
_CHATTY_LOGGERS = ("great_expectations", "great_expectations.core", "great_expectations.data_context")


def quiet_gx() -> None:
    """Turn off GX usage statistics and its INFO chatter before GX is imported or used.

    Progress bars are turned off per context (see :func:`open_context`); logs here, process-wide,
    because GX sets up its loggers on import.
    """
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def project_root(quality_dir: Path) -> Path:
    return quality_dir / PROJECT_SUBDIR


def gx_dir(quality_dir: Path) -> Path:
    """Where GX keeps great_expectations.yml, suites, checkpoints and uncommitted/ results."""
    return project_root(quality_dir) / "gx"


def data_docs_dir(quality_dir: Path) -> Path:
    return gx_dir(quality_dir) / "uncommitted" / "data_docs" / "local_site"


def validations_dir(quality_dir: Path) -> Path:
    return gx_dir(quality_dir) / "uncommitted" / "validations"


@contextmanager
def project_lock(quality_dir: Path) -> Iterator[None]:
    """Serialise writers of the GX project: two nights validated in parallel (an Airflow backfill)
    would otherwise race on the suite/checkpoint JSON files and the Data Docs index."""
    quality_dir.mkdir(parents=True, exist_ok=True)
    with open(quality_dir / ".gx.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def open_context(quality_dir: Path) -> Any:
    """Open (creating on first use) the file-backed GX context for this data directory."""
    quiet_gx()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    root = project_root(quality_dir)
    root.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(root))
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def run_identifier(night: date) -> Any:
    """A run id that depends only on the night, so a re-run overwrites that night's GX results."""
    from great_expectations.core.run_identifier import RunIdentifier

    return RunIdentifier(run_name=night.isoformat(), run_time=datetime.combine(night, time(0), tzinfo=UTC))


def prune_old_runs(quality_dir: Path, today: date, keep_nights: int = RETENTION_NIGHTS) -> list[str]:
    """Delete stored validation results and Data Docs pages of nights older than ``keep_nights``.

    GX lays both out as ``.../validations/<suite>/<run_name>/...`` and our run names are ISO
    dates, so the night is read from the directory name; anything else is left alone.
    Returns the removed run names (for logging and tests).
    """
    cutoff = today - timedelta(days=keep_nights)
    removed: set[str] = set()
    for base in (validations_dir(quality_dir), data_docs_dir(quality_dir) / "validations"):
        if not base.is_dir():
            continue
        for suite_dir in base.iterdir():
            if not suite_dir.is_dir():
                continue
            for run_dir in suite_dir.iterdir():
                try:
                    night = date.fromisoformat(run_dir.name)
                except ValueError:
                    continue
                if night < cutoff and run_dir.is_dir():
                    shutil.rmtree(run_dir, ignore_errors=True)
                    removed.add(run_dir.name)
    if removed:
        log.info("pruned GX results of %d old night(s) before %s", len(removed), cutoff)
    return sorted(removed)
