"""Headless-Chromium check of the HTML newsletter (issue 7).

The browser tests skip when no Chromium is installed (CI machines may lack Debian's `chromium`);
the image helpers and the committed README screenshot are checked everywhere.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PIL import Image
from test_reports_fixture import END_DAY, make_warehouse

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
from screenshot_report import WINDOW_HEIGHT, compact, crop_top, find_chromium, main, screenshot, trim_bottom  # noqa: E402, I001

from common.config import Settings  # noqa: E402
from reports.newsletter import write_report  # noqa: E402

needs_chromium = pytest.mark.skipif(find_chromium() is None,
                                    reason="Chromium not installed (Debian package `chromium`)")
PAGE_BG = (244, 244, 244)  # render_html's body background (#f4f4f4)


def _page(path: Path, content_rows: int, height: int = 400) -> Path:
    """A fake screenshot: white 'newsletter' rows on the grey page background."""
    im = Image.new("RGB", (100, height), PAGE_BG)
    im.paste((255, 255, 255), (10, 0, 90, content_rows))
    im.save(path)
    return path


def test_missing_report_is_a_clear_error(tmp_path: Path) -> None:
    assert main([str(tmp_path / "missing.html")]) == 3


def test_trim_bottom_cuts_background_and_reports_truncation(tmp_path: Path) -> None:
    png = _page(tmp_path / "a.png", content_rows=150)
    assert trim_bottom(png, margin=10) is True
    assert Image.open(png).size == (100, 160)
    full = _page(tmp_path / "b.png", content_rows=400)  # content reaches the bottom: cut off
    assert trim_bottom(full) is False and Image.open(full).size == (100, 400)


def test_crop_and_compact(tmp_path: Path) -> None:
    png = tmp_path / "c.png"
    Image.effect_noise((300, 300), 90).convert("RGB").save(png)  # noisy: compresses badly
    crop_top(png, 120)
    assert Image.open(png).size == (300, 120)
    before = png.stat().st_size
    assert compact(png, before + 1) == before  # under the limit: untouched
    after = compact(png, 1000)
    assert after < before and Image.open(png).mode == "P"


def test_committed_readme_screenshot_is_small_and_newsletter_width() -> None:
    shot = REPO / "docs" / "report-screenshot.png"
    # A committed artefact: missing is a failure (regenerate with tools/screenshot_report.py), not a skip.
    assert shot.is_file(), "docs/report-screenshot.png is missing: regenerate it (tools/screenshot_report.py)"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size < 300 * 1024
    width, height = Image.open(shot).size
    assert 600 <= width <= 700 and height >= 600


@pytest.fixture(scope="module")
def fixture_html(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    import json

    root = tmp_path_factory.mktemp("shot")
    make_warehouse(root / "warehouse.duckdb")
    paths = write_report(Settings(data_dir=root), END_DAY, formats=("html", "json"))
    return paths["html"], json.loads(paths["json"].read_text())


def _near(im: Image.Image, hex_colour: str, tol: int = 40) -> int:
    r0, g0, b0 = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return sum(1 for r, g, b in im.getdata() if abs(r - r0) + abs(g - g0) + abs(b - b0) <= tol)


@pytest.mark.slow
@needs_chromium
def test_screenshot_in_chromium_shows_the_whole_page_with_charts(
    fixture_html: tuple[Path, dict], tmp_path: Path
) -> None:
    html, report = fixture_html
    png = screenshot(html, tmp_path / "shot.png")
    im = Image.open(png).convert("RGB")
    width, height = im.size
    assert width == 680 and 1500 < height < WINDOW_HEIGHT  # trimmed to the page, not cut off
    assert im.getpixel((width // 2, height - 2)) == PAGE_BG
    # The top entity's colour covers far more than its 10px table dots only if the charts (data:
    # PNGs, allowed by the page's Content-Security-Policy) actually displayed.
    top = report["top_entities"][0]["entity_id"]
    assert _near(im, report["entities"][top]["color"]) > 3000


@pytest.mark.slow
@needs_chromium
def test_csp_stops_a_script_that_slipped_through(fixture_html: tuple[Path, dict], tmp_path: Path) -> None:
    """Defence in depth: even raw <script> injected into the file does not run in a browser."""
    html, _ = fixture_html
    hostile = tmp_path / "hostile.html"
    payload = "<script>document.body.style.background='#ff0000';document.body.innerHTML='';</script>"
    hostile.write_text(html.read_text().replace("</body>", payload + "</body>"))
    im = Image.open(screenshot(hostile, tmp_path / "hostile.png")).convert("RGB")
    assert im.height > 1500 and _near(im, "#ff0000", tol=10) == 0
