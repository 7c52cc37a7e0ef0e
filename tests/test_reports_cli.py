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


def test_conflicting_period_options(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--period", "7d", "--from", "2026-11-01", "--to", "2026-11-09"]) == 2
    assert capsys.readouterr().err == "pulse: error: use either --period or --from/--to, not both\n"
    assert main(["--from", "2026-11-10", "--to", "2026-11-09"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "pulse: error: --from 2026-11-10 is after --to (2026-11-09)")


def test_default_period_ends_at_the_latest_day_with_data() -> None:
    """Not wall-clock yesterday: old data (the demo's) must still give a non-empty default report."""
    import argparse

    from reports.cli import resolve_period

    ns = argparse.Namespace(date_from=None, date_to=None, period=None)
    today = date(2026, 12, 30)
    assert resolve_period(ns, 7, today=today, latest=date(2026, 11, 9)) == (date(2026, 11, 9), 7)
    assert resolve_period(ns, 7, today=today) == (date(2026, 12, 29), 7)  # no data: yesterday
    # A document dated in the future (a bad clock upstream) does not push the period past today.
    assert resolve_period(ns, 7, today=today, latest=date(2027, 1, 5)) == (today, 7)
    ns.date_from = date(2026, 11, 3)
    assert resolve_period(ns, 7, today=today, latest=date(2026, 11, 9)) == (date(2026, 11, 9), 7)


def test_default_report_uses_the_data_days(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from reports.cli import data_days

    first, last, n = data_days(data_dir / "warehouse.duckdb")
    assert first <= last and n >= 1
    out = data_dir / "default"
    assert main(["--format", "json", "--out", str(out)]) == 0
    period = json.loads((out / "newsletter.json").read_text())["period"]
    assert period["end"] == last.isoformat() and period["days"] == 7
    err = capsys.readouterr().err
    assert f"pulse: warehouse {data_dir / 'warehouse.duckdb'}" in err


def test_empty_period_says_where_the_data_is(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from reports.cli import data_days

    first, last, n = data_days(data_dir / "warehouse.duckdb")
    assert main(["--to", "2020-01-07", "--format", "json", "--out", str(data_dir / "e")]) == 0
    err = capsys.readouterr().err
    assert "no documents were published in 2020-01-01..2020-01-07" in err
    assert f"{n} day(s) from {first} to {last} (try --to {last})" in err


def test_explain_without_documents_says_so(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for fmt in ([], ["--format", "md"]):
        assert main(["--explain", "whatnot", "--to", "2020-01-07", *fmt]) == 0
        out = capsys.readouterr().out
        assert "no documents mention 'whatnot' in 2020-01-01..2020-01-07" in out
        assert "the warehouse has documents on" in out


def test_unknown_entity_is_an_error_with_a_hint(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--explain", "Nobody Inc"]) == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith("pulse: error: no entity matches 'Nobody Inc'") and "core.entities" in last


def test_import_is_light() -> None:
    """The DAG imports reports at parse time: no duckdb or matplotlib may load with it."""
    import subprocess
    import sys

    code = ("import sys, reports.newsletter, reports.cli, reports.render_html, reports.render_md, "
            "reports.charts; print(sorted(m for m in ('duckdb', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_format_is_one_choice_and_default_writes_all(data_dir: Path) -> None:
    out = data_dir / "one"
    assert main(["--to", "2026-11-09", "--format", "md", "--out", str(out)]) == 0
    assert (out / "newsletter.md").exists() and (out / "daily_mentions.png").exists()
    assert not (out / "newsletter.html").exists() and not (out / "newsletter.json").exists()
    every = data_dir / "all"
    assert main(["--to", "2026-11-09", "--out", str(every)]) == 0
    names = {p.name for p in every.glob("newsletter.*")}
    assert names == {"newsletter.md", "newsletter.html", "newsletter.json"}


def test_second_format_is_an_error_not_silently_dropped(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--to", "2026-11-09", "--format", "md", "--format", "html", "--out", str(data_dir / "x")])
    assert exc.value.code == 2 and "omit it to write all three" in capsys.readouterr().err
    assert not (data_dir / "x").exists()


def test_explain_as_markdown_table(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--explain", "TTS", "--to", "2026-11-09", "--format", "md"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| Period | Day | Entity | Document")
    body = lines[2:]
    assert len(body) == 22 + 21  # current + previous TikTok Shop documents
    assert all(line.count(" | ") == 6 for line in body)
    assert "[TikTok Shop seller update" in "\n".join(body) and "](<https://" in body[0]
    assert main(["--explain", "TTS", "--to", "2026-11-09", "--format", "html"]) == 2
    assert main(["--explain", "TTS", "--to", "2026-11-09", "--out", str(data_dir / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("pulse: error: --explain prints to stdout") == 2


def test_explain_markdown_escapes_scraped_text() -> None:
    from reports.cli import explain_markdown

    row = {"period": "current", "day": "2026-11-09", "entity_name": "Evil|Shop", "doc_id": "t3_x",
           "title": "<script>x</script> [a](javascript:b) | pipe", "sentence": None,
           "link": "javascript:alert(1)", "source": "reddit", "channel": "r", "entity_sentiment": -0.5}
    line = explain_markdown([row]).splitlines()[2]
    assert "<script" not in line and "javascript:alert" not in line and "Evil\\|Shop" in line
    assert line.count(" | ") == 6


def test_topic_report_writes_beside_the_full_newsletter(data_dir: Path, capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    """Default folder <reports>/<end day>/topic-<name>/: the full newsletter is never overwritten."""
    assert main(["--to", "2026-11-09", "--topic", "payout-complaints", "--format", "json"]) == 0
    path = data_dir / "reports" / "2026-11-09" / "topic-payout-complaints" / "newsletter.json"
    data = json.loads(path.read_text())
    assert data["topic"]["name"] == "payout-complaints" and data["headline"]["documents"]["current"] == 28
    # description and query come from config/topics.toml (the repository's, no --config given)
    assert data["topic"]["configured"] and "payout*" in data["topic"]["query"]
    assert not (data_dir / "reports" / "2026-11-09" / "newsletter.json").exists()
    assert "topic payout-complaints" in capsys.readouterr().err


def test_unknown_topic_is_exit_2_listing_known_topics(data_dir: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--to", "2026-11-09", "--topic", "payout-complaint", "--out", str(data_dir / "t")]) == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith("pulse: error: unknown topic 'payout-complaint'; known topics: ")
    assert "payout-complaints" in last and "whatnot-shipping" in last
    assert not (data_dir / "t").exists()
    assert main(["--explain", "whatnot", "--to", "2026-11-09", "--topic", "nope"]) == 2
    assert "unknown topic 'nope'" in capsys.readouterr().err


def test_explain_within_a_topic(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--explain", "whatnot", "--to", "2026-11-09", "--topic", "payout-complaints"]) == 0
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert len(rows) == 21 + 3  # of the 28 + 3 Whatnot documents, those the topic tags
    assert "21 documents" in captured.err


def test_broken_topics_file_fails_a_topic_report_only(data_dir: Path, capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    conf = data_dir / "conf"
    conf.mkdir()
    (conf / "topics.toml").write_text('[[topic]]\nname = "broken"\nquery = "payout* AND ("\n')
    overlay = data_dir / "overlay.toml"
    overlay.write_text(f'[pipeline]\nconfig_dir = "{conf}"\n')
    argv = ["--to", "2026-11-09", "--format", "json", "--out", str(data_dir / "b"), "--config", str(overlay)]
    assert main([*argv, "--topic", "broken"]) == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith("pulse: error: ") and "topics.toml" in last
    assert not (data_dir / "b").exists()
    # the full newsletter still goes out; its Topics section falls back to the warehouse's topics
    assert main(argv) == 0
    rows = json.loads((data_dir / "b" / "newsletter.json").read_text())["topics"]["rows"]
    assert {r["topic"] for r in rows} == {"payout-complaints", "tiktok-shop-affiliates"}


def test_explaining_a_news_outlet_says_it_is_a_source_not_a_subject(
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An outlet (kind media) has mentions but no counted documents: the answer says why, instead of
    a false "no documents mention it"."""
    from warehouse import db

    con = db.connect(data_dir / "warehouse.duckdb")
    con.execute("INSERT INTO core.entities (entity_id, name, label, kind, aliases, origin) VALUES "
                "('media/reuters', 'Reuters', 'ORG', 'media', [], 'gazetteer')")
    con.close()
    assert main(["--explain", "Reuters", "--to", "2026-11-09"]) == 0
    out = capsys.readouterr().out
    assert "is a news outlet (kind media): a source, not a subject" in out
    assert "core.mentions WHERE entity_id IN ('media/reuters')" in out
    assert "no documents mention" not in out
