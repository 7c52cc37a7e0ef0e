"""Fixtures shared by the test files.

Why here: the replay-server factory (start a local Reddit/news replay server on 127.0.0.1, port 0,
and stop every one of them at teardown) was copied into three Reddit test files; one copy means a
change to the replay server's start/stop contract is made once.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

# A developer's deployment settings must never reach the tests: a store URL would make every
# stage push test data to it, a queue or pool name would change the parsed DAG. Tests that need
# them set them explicitly.
for _name in ("PULSE_STORAGE_URL", "PULSE_STORAGE_CONN_ID", "PULSE_LOCAL_DIR", "PULSE_WAREHOUSE_QUEUE",
              "PULSE_POOL_REDDIT", "PULSE_POOL_NEWS", "PULSE_ENRICH_PARALLEL"):
    os.environ.pop(_name, None)

# The int8 embedding model derived for the tests (transforms/embeddings.py) goes to a folder of the
# machine's temp directory, not the user's ~/.cache; one folder for all test processes (the xdist
# workers and the Airflow/demo subprocesses inherit it), which build it once under a file lock.
os.environ.setdefault("PULSE_MODEL_CACHE",
                      os.path.join(tempfile.gettempdir(), f"liveshop-pulse-test-models-{os.getuid()}"))


@pytest.fixture()
def replay_server() -> Iterator[Callable[..., Any]]:
    """Factory: ``replay_server(handlers)`` starts a ReplayServer on 127.0.0.1 (a free port).

    Every server started through the factory is stopped when the test ends, pass or fail, so a
    failing assertion never leaves a listening socket or a serving thread behind.
    """
    from demo.replay.server import ReplayServer  # imported here: the replay package may move

    servers: list[ReplayServer] = []

    def start(handlers: Iterable[Any]) -> ReplayServer:
        srv = ReplayServer(list(handlers)).start()
        servers.append(srv)
        return srv

    yield start
    for srv in reversed(servers):
        srv.stop()


@pytest.fixture()
def reddit_replay(replay_server: Callable[..., Any]) -> Callable[..., Any]:
    """Factory: ``reddit_replay(corpus, **handler_kw)`` serves the Reddit API subset on ``corpus``.

    ``max_listing_limit`` defaults to 2 so that even a tiny corpus forces the client to page.
    """
    from demo.replay.reddit_api import make_handler

    def start(corpus: dict[str, Any], **kw: Any) -> Any:
        kw.setdefault("max_listing_limit", 2)
        return replay_server([make_handler(corpus, **kw)])

    return start


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put the test files that use ``plain_demo`` first (their order otherwise unchanged).

    Why: `make test` hands files to its two pytest-xdist workers in collection order (``--dist
    loadfile --no-loadscope-reorder``), and a worker takes its next file as soon as it has two tests
    or fewer left. These files hold a few tests of minutes each; first in the queue, one goes to
    each worker at the start, so the distributed demo's own run overlaps the plain demo's and neither
    is left as a tail. The order is the same on every worker, as xdist requires.
    """
    uses_demo = {item.nodeid.split("::")[0] for item in items
                 if "plain_demo" in getattr(item, "fixturenames", ())}
    # The distributed demo's test asks for plain_demo only after its own run (getfixturevalue).
    uses_demo |= {item.nodeid.split("::")[0] for item in items
                  if item.nodeid.startswith("tests/test_demo_distributed.py")}
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in uses_demo)  # stable: False first


@pytest.fixture(scope="session")
def plain_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``python -m demo`` (what `make demo` runs) once per test run, in a temp data dir:
    ``(data_dir, stdout)``.

    Why a session fixture: the demo tests (tests/test_demo_airflow.py) inspect this run, and the
    distributed demo's test (tests/test_demo_distributed.py) compares its warehouse with this one's;
    one run of about a minute serves both. `make test` runs the files on two pytest-xdist workers
    (``--dist loadfile``), where a session fixture is per worker, so the run is shared through the
    base temp folder all workers have in common: the first to ask runs the demo under a file lock,
    the other waits for it and reads its result. A failed run records its output, and whoever asks
    next fails at once with that output instead of running the demo again over its leftovers.
    """
    import os
    import shutil
    import subprocess
    import sys

    from filelock import FileLock

    from common.files import write_atomic

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the folder shared by this run's workers
    shared = base / "plain_demo"
    data_dir, stdout_file, failed_file = shared / "demo", shared / "stdout.txt", shared / "failed.txt"
    with FileLock(str(base / "plain_demo.lock")):
        if failed_file.exists():
            pytest.fail(f"the demo run failed (on another worker):\n{failed_file.read_text()}")
        if not stdout_file.exists():
            shutil.rmtree(shared, ignore_errors=True)  # a worker that died mid-run left a partial folder
            shared.mkdir(parents=True)
            root = Path(__file__).resolve().parents[1]
            env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "AIRFLOW"))}
            env.update({"PULSE_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"})
            try:
                proc = subprocess.run([sys.executable, "-m", "demo"], cwd=root, env=env,
                                      capture_output=True, text=True, timeout=900)
                output = proc.stdout[-3000:] + proc.stderr[-3000:]
                ok = proc.returncode == 0
            except subprocess.TimeoutExpired as exc:
                output, ok = f"timed out after {exc.timeout}s", False
            if not ok:
                failed_file.write_text(output)
                pytest.fail(f"the demo run failed:\n{output}")
            write_atomic(stdout_file, proc.stdout)  # readers never see half a file
    return data_dir, stdout_file.read_text()
