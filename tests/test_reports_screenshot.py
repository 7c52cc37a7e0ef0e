"""Headless-Chromium check of the HTML newsletter (issue 7); skipped when no browser is installed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from test_reports_fixture import END_DAY, make_warehouse

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from screenshot_report import find_chromium, main, screenshot  # noqa: E402

from pipeline.config import Settings  # noqa: E402
from reports.newsletter import write_report  # noqa: E402


def test_missing_report_is_a_clear_error(tmp_path: Path) -> None:
    assert main([str(tmp_path / "missing.html")]) == 3


@pytest.mark.slow
@pytest.mark.skipif(find_chromium() is None, reason="Chromium not installed (Debian package `chromium`)")
def test_screenshot_in_chromium(tmp_path: Path) -> None:
    make_warehouse(tmp_path / "warehouse.duckdb")
    html = write_report(Settings(data_dir=tmp_path), END_DAY, formats=("html",))["html"]
    png = screenshot(html, tmp_path / "shot.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
