"""Stage glue: how an extract's outcome becomes a task result or a (retryable or not) failure."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from common.source_run import SourceFailed, SourceRun
from pipeline.stages import _finish_extract

ROOT = Path(__file__).resolve().parents[1]


def _run(status: str, stage: str | None = None) -> SourceRun:
    run = SourceRun("reddit")
    if stage:
        run.error("https://example.invalid/x", stage, "why")
    return run.finish(status, "msg")


def test_ok_and_skipped_return_a_small_summary():
    assert _finish_extract(_run("ok")) == {"source": "reddit", "status": "ok", "documents": 0, "errors": 0}
    assert _finish_extract(_run("skipped"))["status"] == "skipped"


@pytest.mark.parametrize(("stage", "retryable"), [("auth", False), ("fetch", True), ("budget", True)])
def test_failed_raises_and_says_whether_a_retry_can_help(stage, retryable):
    with pytest.raises(SourceFailed, match="reddit extraction failed: msg") as info:
        _finish_extract(_run("failed", stage))
    assert info.value.retryable is retryable


def test_dag_fails_deterministic_errors_without_retrying(monkeypatch):
    """Issue 12: bad credentials, the quality gate and bad config fail the task at once
    (AirflowFailException: no retries); transient errors are re-raised for Airflow to retry."""
    spec = importlib.util.spec_from_file_location("nightly_dag", ROOT / "dags" / "live_commerce_nightly.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from airflow.sdk.exceptions import AirflowFailException

    from common.config import ConfigError
    from pipeline import stages
    from quality.validate import QualityGateFailed

    raised: dict[str, BaseException | None] = {"exc": None}

    def fake_run_stage(name, ctx, **kwargs):
        if raised["exc"] is not None:
            raise raised["exc"]
        return {"ok": name}

    monkeypatch.setattr(module, "_ctx", lambda context: None)
    monkeypatch.setattr(stages, "run_stage", fake_run_stage)
    for exc in (SourceFailed("reddit extraction failed: 401", retryable=False),
                QualityGateFailed("2026-11-14", ["published_at is inside the batch window"]),
                ConfigError("unknown key(s) in [news]: bogus")):
        raised["exc"] = exc
        with pytest.raises(AirflowFailException):
            module._run("validate", {})
    for exc in (SourceFailed("news extraction failed: timeout"), TimeoutError("warehouse busy")):
        raised["exc"] = exc
        with pytest.raises(type(exc)):
            module._run("load", {})
    raised["exc"] = None
    assert module._run("report", {}) == {"ok": "report"}
