"""The self-contained quality page (quality/report.py): readable offline, showing the real results.

Issue 13: GX Data Docs pull CSS/JS from CDNs and render unstyled and empty offline. Our page must
reference nothing outside itself and carry every expectation result of the night. The headless
Chromium check renders it with every non-loopback request sent to a dead proxy (the network is
"off"); it skips only when no Chromium is installed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_quality_validate import ENTITY, clean_docs, doc, new_ctx, run, settings, write_batch  # noqa: F401

from quality import report

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
from screenshot_report import find_chromium  # noqa: E402

# Anything that would make a browser fetch: src/href/action/srcset to another origin, CSS url() and
# @import, protocol-relative //host links.
EXTERNAL_REF = re.compile(r"""(?:src|href|action|srcset|poster|data)\s*=\s*["']?\s*(?:https?:)?//"""
                          r"""|url\(\s*["']?\s*(?:https?:)?//|@import""", re.IGNORECASE)


@pytest.fixture(scope="module")
def failed_night(settings):  # noqa: F811 - the module-scoped Settings fixture of test_quality_validate
    """A validated night with one batch-level critical failure (a duplicated entity id; a bad
    document row alone would only be quarantined) and clean rows beside it."""
    ctx = new_ctx(settings)
    docs = clean_docs(ctx) + [doc(ctx, 4, body="a body with markup <script>x</script>")]
    write_batch(ctx, docs, entities=[ENTITY, dict(ENTITY, name="Twice <script>x</script>")])
    outcome = run(ctx)
    assert not outcome.success
    return ctx, outcome


def test_page_is_written_beside_data_docs_with_every_result(failed_night) -> None:
    ctx, outcome = failed_night
    page = report.report_dir(ctx.settings.quality_dir) / f"{ctx.night}.html"
    assert page.is_file() and report.index_path(ctx.settings.quality_dir).is_file()
    text = page.read_text(encoding="utf-8")
    assert 'id="verdict">FAILED<' in text
    assert text.count("<tr class=") == len(outcome.results) > 0
    for row in outcome.results:  # every expectation's name, as validate stored it, is on the page
        assert f"<td>{report._e(row['expectation'])}</td>" in text
    assert all(report._e(msg) in text for msg in outcome.critical_failures)
    assert "<script" not in text  # data is escaped; the page itself has no script at all
    assert oct(page.stat().st_mode & 0o777) == "0o644"


def test_page_has_no_external_references(failed_night) -> None:
    ctx, _ = failed_night
    text = (report.report_dir(ctx.settings.quality_dir) / f"{ctx.night}.html").read_text(encoding="utf-8")
    assert EXTERNAL_REF.findall(text) == []
    assert "<style>" in text  # styled inline, not by a stylesheet fetched from elsewhere
    assert "<link" not in text and "<img" not in text


def test_external_reference_check_would_catch_a_cdn_link() -> None:
    """The pattern above is what the offline claim rests on; it must see the GX Data Docs' kind."""
    for ref in ('<link href="https://cdn.example/bootstrap.css">', "<script src='//unpkg.com/x.js'>",
                "body{background:url(https://x/y.png)}", "@import 'theme.css';"):
        assert EXTERNAL_REF.search(ref), ref
    assert not EXTERNAL_REF.search('<a href="2026-11-13.html">2026-11-13</a> see https://example.com')


def test_index_is_the_latest_night_and_links_the_others(tmp_path: Path) -> None:
    base = {"success": True, "results": [], "critical_failures": [], "warnings": []}
    report.write_night_page(tmp_path, {**base, "night": "2026-11-14"})
    report.write_night_page(tmp_path, {**base, "night": "2026-11-13", "success": False})  # a late re-run
    index = report.index_path(tmp_path).read_text()
    assert "night 2026-11-14" in index and 'href="2026-11-13.html"' in index
    report.write_night_page(tmp_path, {**base, "night": "2027-06-01"}, keep_nights=90)
    kept = sorted(p.name for p in report.report_dir(tmp_path).glob("*.html"))
    assert kept == ["2027-06-01.html", "index.html"]
    assert "night 2027-06-01" in report.index_path(tmp_path).read_text()


@pytest.mark.skipif(find_chromium() is None, reason="Chromium not installed (Debian package `chromium`)")
def test_page_renders_fully_in_headless_chromium_with_the_network_off(failed_night, tmp_path: Path) -> None:
    ctx, outcome = failed_night
    page = report.report_dir(ctx.settings.quality_dir) / f"{ctx.night}.html"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--no-first-run", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}",
             # network off: every request that is not a file goes to a closed port on loopback
             "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
             "--virtual-time-budget=2000"]
    dom = subprocess.run([find_chromium(), *flags, "--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'id="verdict">FAILED<' in dom.stdout
    assert dom.stdout.count("<tr class=") == len(outcome.results)
    shot = tmp_path / "page.png"
    subprocess.run([find_chromium(), *flags, "--window-size=1100,900", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, text=True, timeout=120)
    from PIL import Image

    with Image.open(shot) as im:
        colours = {c for _, c in (im.convert("RGB").getcolors(1_000_000) or [])}
    # Styled, not a bare page: the inline CSS's page background and the red FAILED badge are drawn.
    assert (0xF4, 0xF5, 0xF7) in colours and (0xB4, 0x23, 0x18) in colours
