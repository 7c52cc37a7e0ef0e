"""DAG integrity: the nightly DAG imports cleanly and without touching anything heavy.

Parsing happens in a fresh subprocess so that modules other tests imported (spaCy, GX, DuckDB)
cannot hide a heavy top-level import in the DAG file. How *long* parsing takes (the 2 s bound) is
measured by ``python -m bench.dag_parse`` (part of ``make bench``), not asserted here: a wall-clock
bound fails on a busy machine for reasons unrelated to the code. What keeps it fast is checked
here: no heavy module is imported at parse time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DAG_FILE = ROOT / "dags" / "live_commerce_nightly.py"

PROBE = r"""
import json, socket, sys
import airflow.sdk  # the framework import is not the DAG's cost
from airflow.sdk import BaseHook

def _no_network(*a, **k):
    raise AssertionError("network access at DAG parse time")
socket.socket.connect = _no_network
socket.create_connection = _no_network
def _no_conn(*a, **k):
    raise AssertionError("connection look-up at DAG parse time")
BaseHook.get_connection = classmethod(_no_conn)

from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags.get("live_commerce_nightly")
heavy = sorted(m for m in ("spacy", "great_expectations", "duckdb", "praw", "lingua", "matplotlib")
               if m in sys.modules)
out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "heavy": heavy}
if dag is not None:
    out.update(
        tasks=sorted(dag.task_ids),
        schedule=str(getattr(dag.timetable, "expression", dag.timetable)),
        catchup=dag.catchup,
        paused_on_create=dag.is_paused_upon_creation,
        doc_md=bool(dag.doc_md),
        retries={t.task_id: t.retries for t in dag.tasks},
        backoff={t.task_id: bool(t.retry_exponential_backoff) for t in dag.tasks},
        upstream={t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks},
        trigger={t.task_id: str(t.trigger_rule) for t in dag.tasks},
        queue={t.task_id: t.queue for t in dag.tasks},
        pool={t.task_id: t.pool for t in dag.tasks},
        mapped=sorted(t.task_id for t in dag.tasks if getattr(t, "is_mapped", False)),
        parallel={t.task_id: t.max_active_tis_per_dagrun for t in dag.tasks},
    )
print("PROBE" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def parsed(tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("airflow_home")
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAG_FILE.parent),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.run([sys.executable, "-c", PROBE, str(DAG_FILE)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("PROBE")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    return json.loads(lines[-1][5:])


def test_no_import_errors(parsed):
    assert parsed["errors"] == {}
    assert "tasks" in parsed, "live_commerce_nightly not found in the DagBag"


def test_parse_is_light(parsed):
    # The parse-time bound itself lives in bench/dag_parse.py; this is what keeps it small.
    assert parsed["heavy"] == [], f"heavy modules imported at parse time: {parsed['heavy']}"


def test_settings(parsed):
    assert parsed["catchup"] is False
    # Created paused: unpausing is a decision about which config it runs with (issue 13).
    assert parsed["paused_on_create"] is True
    assert parsed["doc_md"] is True
    assert "0 2 * * *" in parsed["schedule"]
    assert all(r >= 2 for r in parsed["retries"].values()), parsed["retries"]
    assert all(parsed["backoff"].values())


def test_shape(parsed):
    assert parsed["tasks"] == sorted(
        ["extract_reddit", "extract_news", "enrich_plan", "enrich_shard", "enrich_merge", "validate",
         "load", "build_marts", "alerts", "report", "record_night"]
    )
    up = parsed["upstream"]
    assert up["extract_reddit"] == [] and up["extract_news"] == []  # independent sources
    assert up["enrich_plan"] == ["extract_news", "extract_reddit"]
    # one source failing does not stop the other
    assert parsed["trigger"]["enrich_plan"].lower().endswith("all_done")
    # issue 14: enrich fans out over the plan's shards, and one task joins them
    assert parsed["mapped"] == ["enrich_shard"]
    assert up["enrich_shard"] == ["enrich_plan"] and up["enrich_merge"] == ["enrich_shard"]
    # one laptop's LocalExecutor must not start every shard's spaCy at once
    assert parsed["parallel"]["enrich_shard"] == 2
    assert up["validate"] == ["enrich_merge"] and up["load"] == ["validate"]
    # issue 15: alerts read the refreshed marts; the report follows (one writer at a time)
    assert up["build_marts"] == ["load"] and up["alerts"] == ["build_marts"]
    assert up["report"] == ["alerts"]
    # issue 12: the night's record is written whatever failed, after everything else
    assert up["record_night"] == ["extract_news", "extract_reddit", "report"]
    assert parsed["trigger"]["record_night"].lower().endswith("all_done")


def test_defaults_name_no_pool_or_queue_that_may_not_exist(parsed):
    """A task in a pool the operator never created is never scheduled: unset, the DAG uses
    Airflow's own default pool and queue (docs/deployment.md says how to set ours)."""
    assert set(parsed["pool"].values()) == {"default_pool"}
    assert set(parsed["queue"].values()) == {"default"}


def test_queue_and_pools_for_several_workers(tmp_path_factory):
    """issue 14: the warehouse writers on one queue, the extracts in their politeness pools."""
    home = tmp_path_factory.mktemp("airflow_home_pools")
    env = {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "PATH": "/usr/bin:/bin",
           "AIRFLOW__CORE__DAGS_FOLDER": str(DAG_FILE.parent), "PYTHONPATH": str(ROOT),
           "PULSE_WAREHOUSE_QUEUE": "warehouse", "PULSE_POOL_REDDIT": "pulse_reddit",
           "PULSE_POOL_NEWS": "pulse_news"}
    proc = subprocess.run([sys.executable, "-c", PROBE, str(DAG_FILE)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("PROBE")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    got = json.loads(lines[-1][5:])
    writers = {"validate", "load", "build_marts", "alerts", "report", "record_night"}
    assert {t for t, q in got["queue"].items() if q == "warehouse"} == writers
    assert {t: p for t, p in got["pool"].items() if p != "default_pool"} == {
        "extract_reddit": "pulse_reddit", "extract_news": "pulse_news"}
