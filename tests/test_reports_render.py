"""Rendering: XSS payloads come out inert in Markdown and HTML, links are http(s) only, output is
deterministic, and write_report writes what it says. Uses test_reports_fixture.py's warehouse."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from test_reports_fixture import CURRENT, END_DAY, fixture_rows, make_warehouse

from common.config import Settings
from reports.newsletter import write_report
from reports.queries import ReportError
from reports.safety import md_text, safe_url

XSS_TITLE = "<script>alert('t')</script> Whatnot deal"
XSS_BODY = ("Great <img src=x onerror=alert(1)> stream [click](javascript:alert(2)) "
            '<a href="javascript:alert(3)">x</a>')
XSS_NAME = "<img src=x onerror=alert(4)>Shop"


class _Audit(HTMLParser):
    """Collect everything active in an HTML document: tags, on* attributes, link/src schemes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.handlers: list[str] = []
        self.hrefs: list[str] = []
        self.srcs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(name)
            if name == "href":
                self.hrefs.append(value or "")
            if name == "src":
                self.srcs.append(value or "")


def _audit(html: str) -> _Audit:
    a = _Audit()
    a.feed(html)
    a.close()
    return a


def _assert_inert(html: str, allowed_src: tuple[str, ...]) -> _Audit:
    a = _audit(html)
    assert not {"script", "iframe", "object", "embed", "svg", "style", "form"} & set(a.tags), a.tags
    assert a.handlers == []
    assert all(re.match(r"https?://", h) for h in a.hrefs), a.hrefs
    assert all(s.startswith(allowed_src) for s in a.srcs), a.srcs
    return a


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A warehouse with hostile titles, bodies, links, channel and entity name; written once."""
    b = fixture_rows()
    for i in range(6):
        b.doc(f"t3_xss{i}", CURRENT[i], 23, [("platform/evil", "EvilShop", -0.8)], title=XSS_TITLE,
              body=XSS_BODY, url="javascript:alert(5)", channel='"><svg onload=alert(6)>', score=900 + i,
              num_comments=1)
    root = tmp_path_factory.mktemp("hostile")
    make_warehouse(root / "warehouse.duckdb", b)
    import duckdb

    con = duckdb.connect(str(root / "warehouse.duckdb"))
    con.execute("INSERT INTO core.entities VALUES ('platform/evil', ?, 'ORG', 'platform', [], 'ner')",
                [XSS_NAME])
    con.close()
    return write_report(Settings(data_dir=root), END_DAY)


def test_payloads_reach_the_report(hostile: dict[str, Path]) -> None:
    data = json.loads(hostile["json"].read_text())
    assert data["notable"]["by_engagement"][0]["title"].startswith("<script>")  # JSON keeps raw data
    assert data["notable"]["by_engagement"][0]["link"] is None  # javascript: link dropped
    assert data["entities"]["platform/evil"]["name"] == XSS_NAME
    assert "platform/evil" in [p["entity_id"] for p in data["share_of_voice"]["platforms"]]


def test_html_is_inert(hostile: dict[str, Path]) -> None:
    html = hostile["html"].read_text()
    a = _assert_inert(html, ("data:image/png;base64,",))
    assert "&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt; Whatnot deal" in html  # shown, not run
    assert "&lt;img src=x onerror=alert(4)&gt;Shop" in html
    assert "javascript:" not in " ".join(a.hrefs)
    assert len(a.srcs) == 3 and a.tags.count("img") == 3  # the three charts, nothing else
    assert "<script" not in html.lower()


def test_markdown_is_inert(hostile: dict[str, Path]) -> None:
    from markdown_it import MarkdownIt

    md = hostile["md"].read_text()
    assert "<script" not in md.lower() and "<img" not in md.lower()
    # Render as a CMS would (raw HTML allowed) and audit the result.
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(md)
    a = _assert_inert(html, ("daily_mentions.png", "share_of_voice.png", "sentiment_trend.png"))
    assert not any("javascript" in h for h in a.hrefs)
    assert "&lt;script&gt;" in html  # the title is displayed as text


def test_only_http_links() -> None:
    assert safe_url("https://example.com/a b(c)") == "https://example.com/a%20b%28c%29"
    assert safe_url("HTTP://Example.com/x?q=1&r=2") == "http://example.com/x?q=1&r=2"
    for bad in ("javascript:alert(1)", " JaVaScRiPt:alert(1)", "java\nscript:alert(1)", "data:text/html,x",
                "vbscript:x", "/relative", "//evil.com/x", "ftp://x.org", "https://user:pw@x.org/", "",
                None, 3):
        assert safe_url(bad) is None, bad


def test_md_text_neutralises_markdown_and_html() -> None:
    assert md_text("# [x](javascript:y) *b* <i>|") == "\\# \\[x\\](javascript:y) \\*b\\* &lt;i&gt;\\|"
    assert md_text("1. not a list\nsecond line") == "1\\. not a list second line"


def _strip_generated(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if "generated" not in line.lower())


def test_deterministic_output(tmp_path: Path) -> None:
    make_warehouse(tmp_path / "warehouse.duckdb")
    settings = Settings(data_dir=tmp_path)
    first = write_report(settings, END_DAY, out_dir=tmp_path / "a")
    second = write_report(settings, END_DAY, out_dir=tmp_path / "b")
    assert sorted(first) == sorted(second) == [
        "chart:daily_mentions", "chart:sentiment_trend", "chart:share_of_voice", "html", "json", "md"]
    for key in first:
        one, two = first[key].read_bytes(), second[key].read_bytes()
        if key.startswith("chart:"):
            assert one == two, key
        else:
            assert _strip_generated(one.decode()) == _strip_generated(two.decode()), key
            assert sum("generated" in line.lower() for line in one.decode().splitlines()) == 1, key


def test_write_report_defaults_and_formats(tmp_path: Path) -> None:
    make_warehouse(tmp_path / "warehouse.duckdb")
    settings = Settings(data_dir=tmp_path)
    paths = write_report(settings, END_DAY, formats=("json",))
    assert paths == {"json": settings.reports_dir / "2026-11-09" / "newsletter.json"}
    data = json.loads(paths["json"].read_text())
    assert data["period"]["days"] == settings.report.period_days and "generated_at" in data
    md = write_report(settings, END_DAY, period_days=3, formats=("md",))["md"].read_text()
    assert "![" in md and "(daily_mentions.png)" in md and "Whatnot" in md
    assert (md_dir := settings.reports_dir / "2026-11-09") and (md_dir / "daily_mentions.png").exists()
    with pytest.raises(ReportError, match="unknown format"):
        write_report(settings, END_DAY, formats=("pdf",))
    with pytest.raises(ReportError, match="warehouse not found"):
        write_report(Settings(data_dir=tmp_path / "nowhere"), END_DAY)


def test_html_charts_have_alt_text_and_fit_newsletter_width(hostile: dict[str, Path]) -> None:
    html = hostile["html"].read_text()
    imgs = re.findall(r"<img [^>]*>", html)
    assert len(imgs) == 3
    for tag in imgs:
        assert 'alt="' in tag and 'alt=""' not in tag and "max-width:600px" in tag
    assert "max-width:600px" in html.split("<body", 1)[1][:400]


def test_html_declares_a_script_free_content_security_policy(hostile: dict[str, Path]) -> None:
    """The browser-side backstop to escaping: no script source and no network loads are allowed."""
    head = hostile["html"].read_text().split("</head>", 1)[0]
    m = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', head)
    assert m, head
    policy = {d.split()[0]: d.split()[1:] for d in m.group(1).split("; ")}
    assert policy["default-src"] == ["'none'"] and "script-src" not in policy
    assert policy["img-src"] == ["data:"]


def test_regions_note_counts_unlisted_places(hostile: dict[str, Path]) -> None:
    data = json.loads(hostile["json"].read_text())
    regions = data["regions"]
    listed = sum(p["mentions"] for p in regions["places"])
    assert regions["other_mentions"] == regions["total_mentions"] - listed
    assert "Other places:" not in hostile["md"].read_text()  # every place is listed here
    from reports.render_html import render_html
    from reports.render_md import render_markdown

    regions["other_mentions"] += 4
    regions["total_mentions"] += 4
    assert "_Other places: 4 mentions (" in render_markdown(data, "now")
    assert "Other places: 4 mentions (" in render_html(data, "now")


def test_written_files_are_readable_by_others(hostile: dict[str, Path]) -> None:
    """Written via mkstemp (0600) + rename: the newsletter must still be shareable (0644)."""
    for path in hostile.values():
        assert path.stat().st_mode & 0o777 == 0o644, path
