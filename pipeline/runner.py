"""Run every stage once, in DAG order, without Airflow (`pulse run`).

Same semantics as the DAG: the extract stages are independent (one failing does not stop the
other), enrich runs with whatever landed, and a quarantined batch stops the run before load.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from common.context import RunContext
from common.source_run import SourceFailed
from pipeline import stages
from quality.validate import QualityGateFailed

log = logging.getLogger(__name__)


@dataclass
class RunOutcome:
    ok: bool = True
    results: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def run_all(ctx: RunContext, from_raw: bool = False, echo: Callable[[str], None] = print) -> RunOutcome:
    outcome = RunOutcome()

    def step(name: str, fn: Callable[[], dict[str, Any]], fatal: bool = True) -> bool:
        echo(f"[{name}] running...")
        started = time.monotonic()
        try:
            result = fn()
        except SourceFailed as exc:
            outcome.ok = False
            outcome.errors[name] = str(exc)
            echo(f"[{name}] FAILED: {exc}")
            return not fatal
        except QualityGateFailed as exc:
            outcome.ok = False
            outcome.errors[name] = str(exc)
            echo(f"[{name}] QUARANTINED: {exc}")
            return False
        except Exception as exc:
            outcome.ok = False
            outcome.errors[name] = f"{type(exc).__name__}: {exc}"
            log.debug("stage %s failed", name, exc_info=True)
            echo(f"[{name}] FAILED: {type(exc).__name__}: {exc}")
            return not fatal
        outcome.results[name] = result
        echo(f"[{name}] done in {time.monotonic() - started:.1f}s: {_short(result)}")
        return True

    extracts, downstream = stages.STAGES[:2], stages.STAGES[2:]
    for name in extracts:  # independent: one failing does not stop the other
        step(name, lambda n=name: stages.run_stage(n, ctx, from_raw=from_raw), fatal=False)
    for name in downstream:
        if name == "enrich_shard":  # the DAG maps it over the plan's shards; here, one by one
            shards = outcome.results.get("enrich_plan", {}).get("shards", 1)
            if all(step(f"{name}[{k}]", lambda k=k: stages.run_stage("enrich_shard", ctx, shard=k))
                   for k in range(shards)):
                continue
            break
        if not step(name, lambda n=name: stages.run_stage(n, ctx)):
            break
    _record(ctx, outcome, echo)
    return outcome


def _record(ctx: RunContext, outcome: RunOutcome, echo: Callable[[str], None]) -> None:
    """Like the DAG's final all_done task: whatever failed, the night's source runs, per-URL
    errors and per-document outcomes reach ops.*, and ops.runs says which stage failed and why.
    A recording failure is reported, never raised over the stage's own error."""
    try:
        stages.run_stage("record_night", ctx)
    except stages.NightFailed as exc:
        echo(f"[record] {exc}")
    except Exception as exc:  # noqa: BLE001
        outcome.ok = False
        outcome.errors["record"] = f"{type(exc).__name__}: {exc}"
        log.debug("recording the night failed", exc_info=True)
        echo(f"[record] FAILED to record the night in ops.*: {type(exc).__name__}: {exc}")


def _short(result: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in result.items() if not isinstance(v, dict | list))[:300]
