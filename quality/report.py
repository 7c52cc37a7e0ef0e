"""A self-contained quality page per night, beside GX's Data Docs, readable with no network.

Why our own page: GX Data Docs load Bootstrap, jQuery, Font Awesome and Vega from CDNs, so on an
offline or firewalled machine they render unstyled and the validation tables stay empty. GX has
declined to bundle those assets (great_expectations PR #2870, issue #8734; there is no Data Docs
option for it in 1.x). This page is built from what the validate stage already wrote,
``work/<night>/validation.json`` (the same rows that go to ``ops.quality_results``), with inline CSS,
no JavaScript and no external URL, so it renders the same in a browser with the network off, in a
mail attachment or from a copied directory.

Layout under ``settings.quality_dir / "report"``: ``<night>.html`` per validated night (a re-run
overwrites it), ``<night>.json`` (its record, so the index can be rebuilt) and ``index.html``, the
latest night's page with links to the other nights. Pages of nights older than
:data:`quality.gx_context.RETENTION_NIGHTS` are pruned like the GX results.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from common.files import write_atomic

REPORT_SUBDIR = "report"

_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;background:#f4f5f7;
color:#1d2330}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#5b6473;font-size:13px;margin-bottom:16px}
.verdict{display:inline-block;padding:4px 12px;border-radius:4px;font-weight:600;color:#fff}
.pass{background:#1f7a3d}.fail{background:#b42318}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:10px 16px;min-width:120px}
.card b{display:block;font-size:20px}.card span{color:#5b6473;font-size:12px}
ul.issues{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:10px 28px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
th,td{border:1px solid #dde1e7;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#eef0f4}td.obs,td.det{word-break:break-word;max-width:320px}
tr.failed-critical td{background:#fdecea}tr.failed-warning td{background:#fff7e0}
.ok{color:#1f7a3d;font-weight:600}.bad{color:#b42318;font-weight:600}.warn{color:#9a6700;font-weight:600}
nav a{margin-right:10px;font-size:13px;color:#1d4ed8}
"""


def report_dir(quality_dir: Path) -> Path:
    return Path(quality_dir) / REPORT_SUBDIR


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _status(row: dict[str, Any]) -> tuple[str, str, str]:
    """(css row class, css cell class, label) of one expectation result."""
    if row.get("success"):
        return "", "ok", "passed"
    if row.get("severity") == "critical":
        return "failed-critical", "bad", "FAILED"
    return "failed-warning", "warn", "failed (warning)"


def render_page(validation: dict[str, Any], other_nights: list[str] | None = None) -> str:
    """The HTML of one night's page from its validation.json content; pure, for tests."""
    night = str(validation.get("night", "?"))
    results: list[dict[str, Any]] = list(validation.get("results") or [])
    success = bool(validation.get("success"))
    failed = [r for r in results if not r.get("success")]
    by_suite: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in results:
        by_suite[str(row.get("suite"))].append(row)
    sources = validation.get("source_counts") or {}
    cards = [(validation.get("n_documents", 0), "documents"), (validation.get("n_mentions", 0), "mentions"),
             (len(results), "expectations run"), (len(failed), "failed"),
             *((n, f"{src} rows extracted") for src, n in sorted(sources.items()))]
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Data quality, night {_e(night)} - liveshop-pulse</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<h1>Data quality, night {_e(night)} "
        f'<span class="verdict {"pass" if success else "fail"}" id="verdict">'
        f'{"PASSED" if success else "FAILED"}</span></h1>',
        f'<div class="meta">run {_e(validation.get("run_id"))} &middot; validated at '
        f'{_e(validation.get("validated_at"))} &middot; suite version {_e(validation.get("suite_version"))}'
        " &middot; a self-contained page (no network needed); the GX Data Docs beside it hold the same"
        " results with GX's own rendering</div>",
    ]
    if other_nights:
        links = " ".join(f'<a href="{_e(n)}.html">{_e(n)}</a>' for n in other_nights)
        out.append(f"<nav>Other nights: {links}</nav>")
    out.append('<div class="cards">' + "".join(
        f'<div class="card"><b>{_e(n)}</b><span>{_e(label)}</span></div>' for n, label in cards) + "</div>")
    for title, items, css in (("Critical failures (the night is not loaded)",
                               validation.get("critical_failures") or [], "bad"),
                              ("Warnings", validation.get("warnings") or [], "warn")):
        if items:
            out.append(f'<h2 class="{css}">{_e(title)}: {len(items)}</h2><ul class="issues">')
            out += [f"<li>{_e(msg)}</li>" for msg in items]
            out.append("</ul>")
    if not results:
        out.append("<p>No expectation results were recorded for this night.</p>")
    for suite, rows in sorted(by_suite.items()):
        n_ok = sum(1 for r in rows if r.get("success"))
        out.append(f'<h2>Suite {_e(suite)}: {n_ok} of {len(rows)} passed</h2>')
        out.append('<table class="results"><thead><tr><th>expectation</th><th>column</th><th>severity</th>'
                   "<th>result</th><th>observed</th><th>details</th></tr></thead><tbody>")
        for row in rows:
            row_css, cell_css, label = _status(row)
            out.append(
                f'<tr class="{row_css}"><td>{_e(row.get("expectation"))}</td>'
                f'<td>{_e(row.get("column_name"))}</td><td>{_e(row.get("severity"))}</td>'
                f'<td class="{cell_css}">{label}</td><td class="obs">{_e(row.get("observed"))}</td>'
                f'<td class="det">{_e(row.get("details"))}</td></tr>')
        out.append("</tbody></table>")
    out.append("</main></body></html>")
    return "\n".join(out) + "\n"


def write_night_page(quality_dir: Path, validation: dict[str, Any], keep_nights: int | None = None) -> Path:
    """Write ``report/<night>.html`` and refresh ``report/index.html`` (the latest night's page).

    The night's record is kept beside its page as ``<night>.json`` so that the index can always be
    re-rendered from the latest night with the current list of nights, whichever night was
    (re-)validated last. Returns the night's page. Nights older than ``keep_nights`` before this
    one are pruned.
    """
    from quality.gx_context import RETENTION_NIGHTS

    keep = RETENTION_NIGHTS if keep_nights is None else keep_nights
    out_dir = report_dir(quality_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    night = str(validation["night"])
    try:
        cutoff = date.fromisoformat(night) - timedelta(days=keep)
    except ValueError:
        cutoff = None
    nights = {night}
    for stored in out_dir.glob("*.json"):
        try:
            day = date.fromisoformat(stored.stem)
        except ValueError:
            continue
        if cutoff is not None and day < cutoff:
            stored.unlink(missing_ok=True)
            stored.with_suffix(".html").unlink(missing_ok=True)
        else:
            nights.add(stored.stem)
    ordered = sorted(nights, reverse=True)
    write_atomic(out_dir / f"{night}.json", json.dumps(validation, indent=1, default=str), 0o644)
    page = out_dir / f"{night}.html"
    write_atomic(page, render_page(validation, [n for n in ordered if n != night]), 0o644)
    latest = ordered[0]
    latest_record = validation if latest == night else json.loads((out_dir / f"{latest}.json").read_text())
    write_atomic(out_dir / "index.html", render_page(latest_record, ordered[1:]), 0o644)
    return page


def index_path(quality_dir: Path) -> Path:
    return report_dir(quality_dir) / "index.html"
