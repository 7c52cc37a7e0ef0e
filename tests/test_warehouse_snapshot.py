"""Reading during the nightly load: the published snapshot, across processes, as docs/warehouse.md says.

Issue 6: "An analyst reading during the nightly load gets the last published data, not a lock
error." DuckDB locks a database file per process (one writer, or any number of readers), so these
tests use a real second process for the analyst, which an in-process test cannot show.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from warehouse import db
from warehouse.sql import CLI_SANDBOX_SQL, query_readonly

ROOT = Path(__file__).resolve().parents[1]

# An analyst session: opens the file read-only with the documented sandbox and keeps it open,
# answering "count" with the number of runs it sees, until stdin closes.
READER = f"""
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute({CLI_SANDBOX_SQL!r})
print("open", flush=True)
for line in sys.stdin:
    print(con.execute("SELECT count(*) FROM ops.runs").fetchone()[0], flush=True)
"""


def _run(night: str, n: int) -> str:
    return f"INSERT INTO ops.runs VALUES ('r{n}', DATE '{night}', NULL, NULL, 'ok', 'night {n}')"


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    con = db.connect(path)
    con.execute(_run("2026-11-03", 1))
    db.publish(path, con)
    con.close()
    return path


def _reader(path: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", READER, str(path)], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if line != "open":
        proc.kill()
        raise AssertionError(f"reader did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    return proc


def _ask(proc: subprocess.Popen[str]) -> int:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("count\n")
    proc.stdin.flush()
    return int(proc.stdout.readline())


def test_snapshot_reader_never_blocks_the_load_and_sees_the_last_published_night(warehouse: Path) -> None:
    snapshot = db.published_path(warehouse)
    analyst = _reader(snapshot)
    try:
        assert _ask(analyst) == 1
        writer = db.connect(warehouse)  # the nightly load opens the live file: not blocked
        try:
            writer.execute(_run("2026-11-04", 2))
            assert _ask(analyst) == 1  # mid-load: the last published night, no lock error
            db.publish(warehouse, writer)  # atomic rename over the file the analyst has open
        finally:
            writer.close()
        assert _ask(analyst) == 1  # an open session keeps its consistent (old) snapshot
    finally:
        assert analyst.stdin is not None
        analyst.stdin.close()
        analyst.wait(timeout=60)
    assert analyst.returncode == 0, analyst.stderr.read() if analyst.stderr else ""
    assert query_readonly(snapshot, "SELECT count(*) FROM ops.runs")[1] == [(2,)]  # a new session
    assert not list(snapshot.parent.glob(f".{snapshot.name}.*"))  # no temp copies left behind


def test_a_session_on_the_live_file_would_block_the_load(warehouse: Path) -> None:
    """Why analysts must use the snapshot: a read-only session on warehouse.duckdb itself holds a
    lock that makes the nightly writer fail to open the file."""
    import duckdb

    analyst = _reader(warehouse)
    try:
        with pytest.raises(duckdb.IOException, match="lock"):
            db.connect(warehouse)
    finally:
        assert analyst.stdin is not None
        analyst.stdin.close()
        analyst.wait(timeout=60)
    db.connect(warehouse).close()  # once the session ends the writer gets in


def test_documented_cli_sandbox_refuses_files_and_settings(warehouse: Path, tmp_path: Path) -> None:
    """The `-cmd` line docs/warehouse.md gives for the stock duckdb CLI, applied via the Python API."""
    import duckdb

    con = duckdb.connect(str(db.published_path(warehouse)), read_only=True)
    try:
        con.execute(CLI_SANDBOX_SQL)
        assert con.execute("SELECT count(*) FROM ops.runs").fetchone()[0] == 1
        refused = {
            "SELECT * FROM read_csv('/etc/passwd')": duckdb.PermissionException,
            f"COPY ops.runs TO '{tmp_path / 'leak.csv'}'": duckdb.PermissionException,
            "SET enable_external_access = true": duckdb.InvalidInputException,
            "SET lock_configuration = false": duckdb.InvalidInputException,
            "INSERT INTO ops.runs VALUES ('x', DATE '2026-11-05', NULL, NULL, 'ok', '')": duckdb.Error,
        }
        for sql, error in refused.items():
            with pytest.raises(error):
                con.execute(sql)
    finally:
        con.close()
    assert not (tmp_path / "leak.csv").exists()


CLI_VERSION = "1.5.6"  # the duckdb-cli pin in pyproject's dev extra; README's command installs it


def find_duckdb_cli() -> str | None:
    """The stock duckdb CLI analysts are told to install: the venv's (dev extra), then PATH."""
    import shutil

    beside = Path(sys.executable).with_name("duckdb")
    if beside.is_file():
        return str(beside)
    return shutil.which("duckdb")


def test_stock_duckdb_cli_opens_the_published_snapshot(warehouse: Path) -> None:
    """Issue 13: the CLI from PyPI (`pip install duckdb-cli==1.5.6`) opens the snapshot publish()
    writes, read-only and sandboxed as docs/warehouse.md says, and queries views and a table macro.
    The snapshot holds a row from a second publish, so a stale or byte-copied file would not pass."""
    cli = find_duckdb_cli()
    if cli is None:
        pytest.skip(f"no duckdb CLI (install the dev extra, or `pip install duckdb-cli=={CLI_VERSION}`)")
    writer = db.connect(warehouse)
    try:
        writer.execute(_run("2026-11-04", 2))
        snapshot = db.publish(warehouse, writer)
    finally:
        writer.close()
    assert (snapshot.stat().st_mode & 0o777) == db.PUBLISHED_MODE
    version = subprocess.run([cli, "--version"], capture_output=True, text=True, timeout=60).stdout
    sql = ("SELECT count(*) FROM ops.runs; "
           "SELECT count(*) FROM marts.trending_entities; "
           "SELECT count(*) FROM marts.rising(DATE '2026-11-04', 7, 1, 0.0, 1); "
           "SELECT comment IS NOT NULL FROM duckdb_tables() WHERE table_name = 'runs';")
    proc = subprocess.run([cli, "-readonly", "-csv", "-noheader", "-cmd", CLI_SANDBOX_SQL, str(snapshot),
                           sql], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, f"{version.strip()}: {proc.stderr[-2000:]}"
    assert proc.stdout.split() == ["2", "0", "0", "true"], (version, proc.stdout)
