"""Stage glue: how an extract's outcome becomes a task result or a (retryable or not) failure."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from extractors.source_run import SourceFailed, SourceRun
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


def test_dag_fails_permanent_errors_without_retrying():
    spec = importlib.util.spec_from_file_location("nightly_dag", ROOT / "dags" / "live_commerce_nightly.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from airflow.sdk.exceptions import AirflowFailException

    def bad_credentials(ctx):
        raise SourceFailed("reddit extraction failed: 401", retryable=False)

    def flaky(ctx):
        raise SourceFailed("news extraction failed: timeout")

    with pytest.raises(AirflowFailException, match="401"):
        module._no_pointless_retry(bad_credentials, None)
    with pytest.raises(SourceFailed):
        module._no_pointless_retry(flaky, None)
    assert module._no_pointless_retry(lambda ctx: {"ok": 1}, None) == {"ok": 1}
