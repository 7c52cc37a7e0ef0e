"""`pulse` options and errors alike on every sub-command, and the demo warehouse as the default
right after `make demo` (issue 13, items 1 and 6)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.cli import build_parser, main, text_from_path
from warehouse import db

REPO = Path(__file__).resolve().parent.parent
COMMANDS = {"run": [], "enrich": ["x.txt"], "sql": ["SELECT 1"], "export": ["out"],
            "schema": [], "report": [], "extract-article": ["a.html"], "topics": ["list"], "rebuild": []}


def pulse(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_every_subcommand_is_covered() -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(sub.choices) == set(COMMANDS)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_config_and_verbose_before_or_after_the_subcommand(command: str) -> None:
    parser = build_parser()
    after = parser.parse_args([command, *COMMANDS[command], "--config", "x.toml", "-v"])
    assert (after.config, after.verbose) == ("x.toml", True)
    before = parser.parse_args(["-v", "--config", "y.toml", command, *COMMANDS[command]])
    assert (before.config, before.verbose) == ("y.toml", True)  # not reset by the sub-parser
    plain = parser.parse_args([command, *COMMANDS[command]])
    assert (plain.config, plain.verbose) == (None, False)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    code, out, _ = pulse(capsys, "--version")
    assert code == 0 and out.strip() == f"pulse {version('liveshop-pulse')}"


@pytest.mark.parametrize("argv", [
    ["run", "--date", "2026-11-01", "--from-raw", "2026-11-02"],
    ["run", "--date", "yesterday"],
    ["sql"],
    ["nosuch"],
    ["report", "--period", "7"],
])
def test_usage_errors_share_one_style(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = pulse(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("pulse: error: "), err
    assert "usage:" not in err


def test_date_and_from_raw_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    _, _, err = pulse(capsys, "run", "--date", "2026-11-01", "--from-raw", "2026-11-02")
    assert "--from-raw: not allowed with argument --date" in err


def test_schema_needs_no_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PULSE_DATA_DIR", str(tmp_path / "nothing"))
    code, out, err = pulse(capsys, "schema")
    assert code == 0, err
    assert out.startswith("# Data dictionary") and "## core.documents (table)" in out
    assert "## ops.runs (table)" in out and "\n## marts." in out
    assert not (tmp_path / "nothing").exists()


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder as after `make demo`: the committed config, a demo warehouse, no real one."""
    home = tmp_path / "proj"
    shutil.copytree(REPO / "config", home / "config")
    con = db.connect(home / "data" / "demo" / "warehouse.duckdb")
    con.execute("INSERT INTO ops.runs VALUES ('demo', DATE '2026-11-03', NULL, NULL, 'ok', 'demo night')")
    con.close()
    for name in ("PULSE_CONFIG", "PULSE_DATA_DIR", "PULSE_BACKFILL_DAYS", "PULSE_SPACY_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PULSE_HOME", str(home))
    monkeypatch.chdir(home)
    return home


def test_demo_warehouse_is_the_default_until_a_real_run(project: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = pulse(capsys, "sql", "SELECT message FROM ops.runs", "--format", "csv")
    assert code == 0, err
    assert out.splitlines() == ["message", "demo night"]
    assert err.splitlines()[0] == ("pulse: using the demo warehouse data/demo/warehouse.duckdb "
                                   "(no real run yet); set PULSE_CONFIG or --config to choose")
    assert "pulse: warehouse data/demo/warehouse.duckdb" in err
    # A real warehouse, once it exists, wins, and the demo is no longer mentioned.
    real = db.connect(project / "data" / "warehouse.duckdb")
    real.execute("INSERT INTO ops.runs VALUES ('real', DATE '2026-11-04', NULL, NULL, 'ok', 'real night')")
    real.close()
    code, out, err = pulse(capsys, "sql", "SELECT message FROM ops.runs", "--format", "csv")
    assert out.splitlines() == ["message", "real night"] and "demo" not in err
    assert "pulse: warehouse data/warehouse.duckdb" in err


def test_a_chosen_config_never_falls_back_to_the_demo(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PULSE_DATA_DIR", str(project / "elsewhere"))
    code, _, err = pulse(capsys, "sql", "SELECT 1")
    assert code == 2 and err.startswith("pulse: error: no warehouse at elsewhere/warehouse.duckdb")
    assert "make demo" in err


def test_export_reads_the_demo_warehouse_too(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = pulse(capsys, "export", str(project / "out"), "--format", "csv")
    assert code == 0, err
    assert out.strip() and all(Path(line).exists() for line in out.splitlines())
    assert "using the demo warehouse" in err


def test_enrich_reads_html_through_the_article_extractor(tmp_path: Path) -> None:
    """One HTML-to-text path: `pulse enrich page.html` keeps what the news extract keeps."""
    import gzip

    body = " ".join(["Whatnot sellers said the live auction format grew their weekly sales again."] * 3)
    page = ("<html><head><title>Big news | Site</title><script>var x=1;</script></head><body>"
            "<nav><a href='/'>Home</a> <a href='/s'>Subscribe to our newsletter</a></nav>"
            f"<article><h1>Big news</h1><p>{body}</p><p>TikTok Shop answered with lower fees.</p></article>"
            "<footer>Copyright 2026 Site Media. All rights reserved.</footer></body></html>")
    html = tmp_path / "a.html"
    html.write_text(page)
    text = text_from_path(html)
    assert text.startswith("Big news\n\n") and "TikTok Shop answered with lower fees." in text
    assert "Subscribe" not in text and "Copyright" not in text and "var x" not in text
    zipped = tmp_path / "a.html.gz"
    zipped.write_bytes(gzip.compress(page.encode()))
    assert text_from_path(zipped) == text
    plain = tmp_path / "a.txt"
    plain.write_text("hello")
    assert text_from_path(plain) == "hello"


def test_enrich_a_page_without_a_body_is_one_error_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "app.html"
    page.write_text("<html><body><div id='root'></div><script>render()</script></body></html>")
    code, out, err = pulse(capsys, "enrich", str(page))
    assert code == 2 and out == ""
    assert err.strip() == f"pulse: error: {page}: no article body found (empty or JavaScript-only page)"


def test_report_on_the_demo_warehouse_says_where_the_data_is(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = pulse(capsys, "report", "--format", "json", "--out", str(project / "r"))
    assert code == 0, err
    assert "using the demo warehouse" in err and "the warehouse has no documents yet" in err
    assert (project / "r" / "newsletter.json").exists()


def test_a_broken_gazetteer_is_a_user_error_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The gazetteer and themes are config files as well: a typo there is one line, exit 2."""
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    (config / "gazetteer.toml").write_text("platforms = [\n")
    overlay = tmp_path / "o.toml"
    overlay.write_text(f'[pipeline]\nconfig_dir = "{config}"\n')
    text = tmp_path / "t.txt"
    text.write_text("Whatnot breaks were great.")
    code, out, err = pulse(capsys, "enrich", str(text), "--config", str(overlay))
    assert code == 2 and out == ""
    gazetteer = config / "gazetteer.toml"
    assert err.splitlines()[-1].startswith(f"pulse: error: gazetteer {gazetteer} is not valid")
