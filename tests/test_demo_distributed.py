"""`make demo-distributed` (``python -m demo.distributed``): the demo night under the CeleryExecutor,
two workers with private disks, Redis and an S3 store on 127.0.0.1 (docs/deployment.md).

The slow test runs it in a temp dir exactly as a newcomer would and checks that it lands the same
warehouse as the plain one-machine demo (the session's `python -m demo` run, tests/conftest.py):
the same documents, mentions and quality results, written by worker w1 only, every task placed
where the deployment rules say, and nothing left running afterwards.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import duckdb
import psutil
import pytest

from demo import distributed

ROOT = Path(__file__).resolve().parents[1]
WRITERS = ("load", "build_marts", "alerts", "report", "record_night")


def test_the_distributed_config_is_the_demo_config_plus_storage() -> None:
    """config/demo-distributed.toml must stay config/demo.toml (same sources, same window) with its
    own data_dir and enrich shard size, or the two demos' warehouses would differ for that reason."""
    plain = tomllib.loads((ROOT / "config" / "demo.toml").read_text())
    dist = tomllib.loads((ROOT / "config" / "demo-distributed.toml").read_text())
    assert dist["pipeline"].pop("data_dir") == "data/demo-distributed"
    plain["pipeline"].pop("data_dir")
    assert set(dist.pop("storage")) == {"enrich_shard_size"}
    assert dist == plain


def test_the_base_folder_is_wiped_only_when_the_demo_made_it(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    distributed.prepare_base(mine)
    (mine / "warehouse.duckdb").write_text("old")
    distributed.prepare_base(mine)  # its own folder: wiped, marker kept
    assert sorted(p.name for p in mine.iterdir()) == [distributed.MARKER]
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "precious.txt").write_text("keep")
    with pytest.raises(distributed.DemoFailed, match="not made by this command"):
        distributed.prepare_base(theirs)
    assert (theirs / "precious.txt").read_text() == "keep"


def _clean_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "AIRFLOW", "AWS_"))}
    env["PULSE_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _ours(airflow_home: Path) -> list[psutil.Process]:
    """Live processes started for this run (they all carry its AIRFLOW_HOME)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("AIRFLOW_HOME") == str(airflow_home):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _warehouse(path: Path) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            "doc_ids": {r[0] for r in con.execute("SELECT doc_id FROM core.documents").fetchall()},
            "mentions": con.execute("SELECT count(*) FROM core.mentions").fetchone()[0],
            "quality_results": con.execute("SELECT count(*) FROM ops.quality_results").fetchone()[0],
            "runs": con.execute("SELECT status FROM ops.runs").fetchall(),
        }
    finally:
        con.close()


@pytest.mark.slow
def test_the_distributed_demo_lands_the_plain_demos_warehouse(request: pytest.FixtureRequest,
                                                            tmp_path: Path) -> None:
    base = tmp_path / "demo-distributed"
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "demo.distributed", "--timeout", "1200"], cwd=ROOT,
                          env=_clean_env(base), capture_output=True, text=True, timeout=1800)
    took = time.monotonic() - started
    out = proc.stdout
    layout = distributed.Layout(base)
    leftover = _ours(layout.airflow_home)
    for stray in leftover:  # only if the command failed to: stop what this test started
        stray.kill()
    assert proc.returncode == 0, \
        f"exit {proc.returncode} after {took:.0f}s\n{out[-6000:]}\n{proc.stderr[-2000:]}"
    assert not leftover, f"processes outlived the command: {[p.pid for p in leftover]}"
    assert "All processes stopped." in out
    print(f"\ndistributed demo: {took:.0f}s in all")  # shown with -s; the report quotes it

    # Where each task ran: both workers worked, every warehouse writer ran on w1's queue and disk.
    ran = {m.group(1): (m.group(2), m.group(3)) for m in
           re.finditer(r"done: (\S+)  \(\S+ on (w\d), queue (\w+)", out)}
    assert {worker for worker, _ in ran.values()} == {"w1", "w2"}, out
    for task in WRITERS:
        assert ran[task] == ("w1", "warehouse"), (task, ran.get(task))
    for source in ("reddit", "news"):  # politeness across workers: the pools the demo created
        assert re.search(rf"done: extract_{source} .*pool pulse_{source}\)", out), out
    assert not (layout.workers[1].data_dir / "warehouse.duckdb").exists()

    # The same warehouse as the one-machine demo. Asked for only now: under `make test`'s two
    # workers the plain demo runs on the other worker meanwhile (tests/conftest.py::plain_demo).
    plain_dir, _ = request.getfixturevalue("plain_demo")
    mine, theirs = _warehouse(layout.warehouse), _warehouse(plain_dir / "warehouse.duckdb")
    assert mine["doc_ids"] == theirs["doc_ids"] and len(mine["doc_ids"]) >= 175
    assert mine["mentions"] == theirs["mentions"] > 0
    assert mine["quality_results"] == theirs["quality_results"] > 0
    assert mine["runs"] == [("ok",)]
    counts = re.search(r"Warehouse: (\d+) documents .*, (\d+) mentions", out)
    assert counts and (int(counts.group(1)), int(counts.group(2))) == (len(mine["doc_ids"]), mine["mentions"])

    # What it points at exists: the store's copy holds the shared state, the quality page and the
    # newsletter (pushed by the tasks that wrote them, whichever worker ran them).
    for label in ("warehouse (DuckDB)", "quality report", "newsletter"):
        path = Path(re.search(rf"{re.escape(label)}:\s+(\S+)", out).group(1))
        assert path.is_file(), (label, path)
    for rel in ("quality/report/index.html", "reports/2026-11-14/newsletter.html", "state/watermarks.json",
                "work/2026-11-14/enriched/documents.jsonl"):
        assert (layout.store_copy / rel).is_file(), rel
