"""tools/report_excerpt.py: the README excerpt is cut verbatim from a real newsletter.md."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from test_reports_fixture import END_DAY, make_warehouse

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
from report_excerpt import MARKER, SECTIONS, build_excerpt, main, split_sections  # noqa: E402

from common.config import Settings  # noqa: E402
from reports.newsletter import write_report  # noqa: E402


@pytest.fixture(scope="module")
def newsletter_md(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("excerpt")
    make_warehouse(root / "warehouse.duckdb")
    return write_report(Settings(data_dir=root), END_DAY, formats=("md",))["md"]


def test_sections_are_copied_verbatim_and_nothing_else(newsletter_md: Path) -> None:
    md = newsletter_md.read_text()
    text = build_excerpt(md)
    assert text.startswith(MARKER)
    for title in SECTIONS:
        block = split_sections(md)[title]
        assert block.startswith(f"## {title}\n") and block in md and block in text
    assert [line for line in text.splitlines() if line.startswith("## ")] == [f"## {t}" for t in SECTIONS]
    assert "Generated at" not in text and "## Top entities" not in text and "![" not in text
    assert "Whatnot rose fastest" in text and "| Whatnot |" in text  # the fixture's planted story
    assert "Live-commerce pulse: 3 Nov 2026 – 9 Nov 2026" in text.splitlines()[2]


def test_missing_section_is_a_clear_error(newsletter_md: Path, tmp_path: Path) -> None:
    md = newsletter_md.read_text().replace("## Rising", "## Climbing")
    with pytest.raises(ValueError, match="no section.*Rising"):
        build_excerpt(md)
    bad = tmp_path / "bad.md"
    bad.write_text(md)
    assert main([str(bad), "--out", str(tmp_path / "x.md")]) == 2 and not (tmp_path / "x.md").exists()
    assert main([str(tmp_path / "none.md"), "--out", str(tmp_path / "x.md")]) == 3


def test_write_then_check_detects_drift(newsletter_md: Path, tmp_path: Path) -> None:
    out = tmp_path / "docs" / "excerpt.md"
    assert main([str(newsletter_md), "--out", str(out), "--check"]) == 1  # not written yet
    assert main([str(newsletter_md), "--out", str(out)]) == 0
    first = out.read_text()
    assert main([str(newsletter_md), "--out", str(out), "--check"]) == 0
    assert main([str(newsletter_md), "--out", str(out)]) == 0 and out.read_text() == first  # stable
    out.write_text(first.replace("Whatnot", "Whatn0t"))
    assert main([str(newsletter_md), "--out", str(out), "--check"]) == 1


def test_committed_excerpt_shows_the_planted_story() -> None:
    """docs/report-excerpt.md (README material) is generated output with the demo's story in it."""
    doc = REPO / "docs" / "report-excerpt.md"
    # A committed artefact: missing is a failure (regenerate with tools/report_excerpt.py), not a skip.
    assert doc.is_file(), "docs/report-excerpt.md is missing: regenerate it with tools/report_excerpt.py"
    text = doc.read_text()
    assert text.startswith(MARKER) and "Generated at" not in text
    sections = split_sections(text)
    assert list(sections) == list(SECTIONS)
    assert "Whatnot rose fastest" in sections["Summary"]
    assert "| Whatnot |" in sections["Rising"] and sections["Sentiment movers"].count("| Whatnot |") == 1
