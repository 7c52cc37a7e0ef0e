"""`pulse sql` end to end through pipeline.cli.main: output formats and the refusals of issue 6.

warehouse/sql.py is tested directly in test_warehouse_sql.py; this checks what an analyst sees at
the command line: exit code 2, one ``pulse: error:`` line saying why, no traceback, and nothing
written or changed on disk.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.cli import main
from warehouse import db

RUN = "INSERT INTO ops.runs VALUES ('r1', DATE '2026-11-03', NULL, NULL, 'ok', 'first night')"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    con = db.connect(data / "warehouse.duckdb")
    con.execute(RUN)
    con.close()
    monkeypatch.delenv("PULSE_CONFIG", raising=False)
    monkeypatch.setenv("PULSE_DATA_DIR", str(data))
    return data


def pulse(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_select_as_table_csv_and_json(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql = "SELECT run_id, night, message FROM ops.runs"
    code, out, err = pulse(capsys, "sql", sql)
    assert code == 0, err
    assert "| run_id | night      | message     |" in out and "(1 row)" in out
    code, out, _ = pulse(capsys, "sql", sql, "--format", "csv")
    assert (code, out.splitlines()) == (0, ["run_id,night,message", "r1,2026-11-03,first night"])
    code, out, _ = pulse(capsys, "sql", sql, "--format", "json")
    assert code == 0
    assert json.loads(out) == [{"run_id": "r1", "night": "2026-11-03", "message": "first night"}]


REFUSALS = {
    "copy to": ("COPY ops.runs TO '{out}'", "COPY statements are not allowed"),
    "copy select to": ("COPY (SELECT * FROM ops.runs) TO '{out}' (FORMAT csv)", "COPY statements are not"),
    "read_csv passwd": ("SELECT * FROM read_csv('/etc/passwd')", "refused by the sandbox"),
    "read_text": ("SELECT content FROM read_text('/etc/hostname')", "refused by the sandbox"),
    "attach": ("ATTACH '{out}' AS other", "ATTACH statements are not allowed"),
    "install": ("INSTALL httpfs", "INSTALL/LOAD"),
    "set": ("SET enable_external_access = true", "SET/RESET"),
    "insert": ("INSERT INTO ops.runs VALUES ('x', DATE '2026-11-04', NULL, NULL, 'ok', '')", "INSERT stat"),
    "update": ("UPDATE ops.runs SET status = 'bad'", "UPDATE statements"),
    "delete": ("DELETE FROM ops.runs", "DELETE statements"),
    "drop": ("DROP TABLE ops.runs", "DROP statements"),
    "create": ("CREATE TABLE main.t AS SELECT 1", "CREATE statements"),
    "two statements": ("SELECT 1; DELETE FROM ops.runs", "exactly one statement"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refused_with_one_clear_line(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     case: str) -> None:
    template, why = REFUSALS[case]
    out_file = tmp_path / "leak.csv"
    code, out, err = pulse(capsys, "sql", template.format(out=out_file))
    assert code == 2 and out == ""
    *before, last = err.splitlines()
    assert last.startswith("pulse: error: ") and why in last, err
    assert all(line.startswith("pulse: warehouse ") for line in before), err  # at most which file
    assert "Traceback" not in err
    assert not out_file.exists()
    code, out, _ = pulse(capsys, "sql", "SELECT count(*) AS n, max(status) AS s FROM ops.runs",
                         "--format", "csv")
    assert (code, out.splitlines()) == (0, ["n,s", "1,ok"])  # nothing changed


def test_missing_warehouse_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("PULSE_CONFIG", raising=False)
    monkeypatch.setenv("PULSE_DATA_DIR", str(tmp_path / "nothing"))
    code, _, err = pulse(capsys, "sql", "SELECT 1")
    assert code == 2 and "no warehouse at" in err


def test_reads_the_published_snapshot_while_the_writer_holds_the_lock(
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = data_dir / "warehouse.duckdb"
    db.publish(path)
    writer = db.connect(path)  # the nightly load: holds the lock, has uncommitted-to-snapshot work
    try:
        writer.execute("INSERT INTO ops.runs VALUES ('r2', DATE '2026-11-04', NULL, NULL, 'ok', 'loading')")
        code, out, err = pulse(capsys, "sql", "SELECT run_id FROM ops.runs ORDER BY 1", "--format", "csv")
    finally:
        writer.close()
    assert code == 0, err
    assert out.splitlines() == ["run_id", "r1"]  # the last published night, not a lock error
    assert "lock" not in err.lower()


def test_reads_the_live_file_before_anything_is_published(
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snapshot = db.published_path(data_dir / "warehouse.duckdb")
    snapshot.unlink(missing_ok=True)
    code, out, err = pulse(capsys, "sql", "SELECT run_id FROM ops.runs ORDER BY 1", "--format", "csv")
    assert code == 0, err
    assert out.splitlines() == ["run_id", "r1"]


def test_refusal_is_not_reported_as_a_busy_warehouse(data_dir: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    db.publish(data_dir / "warehouse.duckdb")
    code, _, err = pulse(capsys, "sql", "SELECT * FROM read_csv('/etc/passwd')")
    assert code == 2 and "refused by the sandbox" in err
    assert "warehouse busy" not in err
