"""`pulse report` argument handling and the --explain output, on the fixture warehouse."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from test_reports_fixture import make_warehouse

from reports.cli import main


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_warehouse(tmp_path / "warehouse.duckdb")
    monkeypatch.setenv("PULSE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PULSE_CONFIG", raising=False)
    return tmp_path


def test_from_to_json(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = data_dir / "out"
    assert main(["--from", "2026-11-03", "--to", "2026-11-09", "--format", "json", "--out", str(out)]) == 0
    data = json.loads((out / "newsletter.json").read_text())
    assert data["period"] == {"start": "2026-11-03", "end": "2026-11-09", "days": 7}
    assert not (out / "newsletter.md").exists()
    assert "newsletter.json" in capsys.readouterr().out


def test_period_flag(data_dir: Path) -> None:
    out = data_dir / "p"
    assert main(["--period", "3d", "--to", "2026-11-09", "--format", "json", "--out", str(out)]) == 0
    assert json.loads((out / "newsletter.json").read_text())["period"]["start"] == "2026-11-07"


def test_explain(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--explain", "whatnot", "--to", "2026-11-09"]) == 0
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert len(rows) == 31 and {r["entity_id"] for r in rows} == {"platform/whatnot"}
    assert "28 documents" in captured.err
    assert main(["--explain", "no-such-thing", "--to", "2026-11-09"]) == 2
    assert "no entity matches" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--period", "7"], ["--period", "0d"], ["--from", "2026-13-01"],
                                  ["--format", "pdf"]])
def test_bad_arguments(data_dir: Path, argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


def test_conflicting_period_options(data_dir: Path) -> None:
    with pytest.raises(SystemExit, match="either --period"):
        main(["--period", "7d", "--from", "2026-11-01", "--to", "2026-11-09"])
    with pytest.raises(SystemExit, match="after"):
        main(["--from", "2026-11-10", "--to", "2026-11-09"])


def test_default_period_ends_yesterday() -> None:
    import argparse

    from reports.cli import resolve_period

    ns = argparse.Namespace(date_from=None, date_to=None, period=None)
    assert resolve_period(ns, 7, today=date(2026, 11, 10)) == (date(2026, 11, 9), 7)


def test_import_is_light() -> None:
    """The DAG imports reports at parse time: no duckdb or matplotlib may load with it."""
    import subprocess
    import sys

    code = ("import sys, reports.newsletter, reports.cli, reports.render_html, reports.render_md, "
            "reports.charts; print(sorted(m for m in ('duckdb', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
