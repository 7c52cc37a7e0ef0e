"""HTML newsletter: one self-contained file, inline CSS, charts embedded as base64 PNG.

Why it is built by hand rather than with a template engine: the safety rules are few and strict
(escape every scraped string with :func:`reports.safety.html_text`, link only what
:func:`reports.safety.safe_url` accepts, emit no ``<script>`` and no ``on*=`` attributes), and a
page of explicit helpers is easy to audit. Inline styles because email clients drop ``<style>``;
a single 600px column because that is the width newsletters are read at.
"""

from __future__ import annotations

import base64
from typing import Any

from reports import fmt
from reports.safety import html_text as h
from reports.safety import safe_url

# Defence in depth for a report opened in a browser: even if an escaping bug let markup through, no
# script runs and nothing loads from the network. Inline styles and the data: charts are all we use.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
FONT = "-apple-system,'Segoe UI',Helvetica,Arial,sans-serif"
S_BODY = "margin:0;padding:0;background:#f4f4f4;"
S_WRAP = (f"max-width:600px;margin:0 auto;padding:16px 20px;background:#ffffff;color:#1a1a1a;"
          f"font-family:{FONT};font-size:15px;line-height:1.5;")
S_H1 = "font-size:22px;line-height:1.25;margin:8px 0 4px 0;"
S_H2 = "font-size:18px;margin:24px 0 8px 0;padding-top:8px;border-top:1px solid #e5e5e5;"
S_H3 = "font-size:15px;margin:14px 0 6px 0;"
S_MUTED = "color:#666666;font-size:12px;margin:0 0 6px 0;"
S_TABLE = "width:100%;border-collapse:collapse;font-size:13px;margin:6px 0 10px 0;"
S_TH = "text-align:left;border-bottom:2px solid #dddddd;padding:4px 6px;"
S_THR = "text-align:right;border-bottom:2px solid #dddddd;padding:4px 6px;"
S_TD = "text-align:left;border-bottom:1px solid #eeeeee;padding:4px 6px;vertical-align:top;"
S_TDR = "text-align:right;border-bottom:1px solid #eeeeee;padding:4px 6px;white-space:nowrap;"
S_IMG = "display:block;width:100%;max-width:600px;height:auto;margin:8px 0;"
S_SUMMARY = "background:#f6f8fa;border-left:4px solid #1f77b4;padding:10px 12px;margin:8px 0;"
S_NOTE = "color:#555555;font-size:12px;font-style:italic;"
S_LINK = "color:#0b5cad;"


def _dot(report: dict[str, Any], eid: str) -> str:
    color = report["entities"].get(eid, {}).get("color", "#999999")
    style = (f"display:inline-block;width:10px;height:10px;border-radius:5px;background:{h(color)};"
             "margin-right:6px;")
    return f'<span style="{style}"></span>'


def _ent(report: dict[str, Any], eid: str) -> str:
    return _dot(report, eid) + h(fmt.entity_name(report, eid))


def _table(header: list[str], align: str, rows: list[list[str]]) -> str:
    """Cells are already-escaped HTML fragments (callers escape)."""
    th = "".join(f'<th style="{S_THR if a == "r" else S_TH}">{c}</th>'
                 for c, a in zip(header, align, strict=True))
    body = "\n".join(
        "<tr>" + "".join(f'<td style="{S_TDR if a == "r" else S_TD}">{c}</td>'
                         for c, a in zip(r, align, strict=True)) + "</tr>"
        for r in rows
    )
    return f'<table style="{S_TABLE}" role="presentation">\n<tr>{th}</tr>\n{body}\n</table>'


def _link(text: str, url: str | None) -> str:
    safe = safe_url(url)
    if not safe:
        return h(text)
    return f'<a href="{h(safe)}" style="{S_LINK}" rel="noopener noreferrer nofollow">{h(text)}</a>'


def _img(name: str, charts: dict[str, bytes], report: dict[str, Any]) -> str:
    if name not in charts:
        return ""
    from reports.charts import chart_alt

    data = base64.b64encode(charts[name]).decode("ascii")
    return (f'<img src="data:image/png;base64,{data}" alt="{h(chart_alt(report, name))}" width="600" '
            f'style="{S_IMG}">')


def _p(text: str, style: str = "") -> str:
    return f'<p style="{style}">{text}</p>' if style else f"<p>{text}</p>"


def _also(doc: dict[str, Any]) -> str:
    """"Also published by" for a syndicated article: each other site, linked (issue 15)."""
    members = doc.get("also_published_by") or []
    if not members:
        return ""
    links = ", ".join(_link(fmt.also_label(m), m["link"]) for m in members)
    return f'<br><span style="{S_MUTED}">Also published by: {links}</span>'


def _terms_section(report: dict[str, Any]) -> list[str]:
    parts = [f'<h2 style="{S_H2}">Emerging terms</h2>']
    terms = report["emerging_terms"]
    if not terms:
        parts.append(_p(h(fmt.terms_empty(report))))
    else:
        items = []
        for t in terms:
            figures = (f"{fmt.num(t['documents'])} documents (previous {fmt.num(t['previous_documents'])}), "
                       f"daily mean {t['daily_mean']:.1f} ({t['baseline_daily_mean']:.1f} ± "
                       f"{t['baseline_daily_sd']:.1f}), z {t['z']:.1f}")
            links = "; ".join(f"{_link(fmt.doc_title(d), d['link'])} "
                              f'<span style="{S_MUTED}">id {h(d["doc_id"])}</span>'
                              for d in t["top_documents"])
            items.append(f'<li style="margin-bottom:8px;"><strong>{h(t["phrase"])}</strong>: {h(figures)}'
                         f"<br>{links}</li>")
        parts.append('<ol style="padding-left:20px;margin:4px 0;">\n' + "\n".join(items) + "\n</ol>")
    return parts + [_p(h(fmt.terms_note(report)), S_NOTE)]


def _doc_list(report: dict[str, Any], docs: list[dict[str, Any]]) -> str:
    items = [f'<li style="margin-bottom:8px;">{_link(fmt.doc_title(d), d["link"])}<br>'
             f'<span style="{S_MUTED}">{h(fmt.doc_meta(d))} · id {h(d["doc_id"])}</span>{_also(d)}</li>'
             for d in docs]
    return '<ol style="padding-left:20px;margin:4px 0;">\n' + "\n".join(items) + "\n</ol>"


def _topic_section(report: dict[str, Any]) -> list[str]:
    t = report["topic"]
    parts = [f'<h2 style="{S_H2}">Topic: {h(t["name"])}</h2>']
    if t.get("description"):
        parts.append(_p(h(t["description"])))
    if t.get("query"):
        parts.append(_p(f"Query: <code>{h(' '.join(t['query'].split()))}</code>", S_MUTED))
    parts.append(_p(h(fmt.topic_note(report)), S_NOTE))
    parts.append(_table(["", "This period", "Previous", "Change"], "lrrr",
                        [[h(c) for c in r] for r in fmt.topic_rows(t)]))
    parts.append(f'<h3 style="{S_H3}">Daily volume and sentiment</h3>')
    parts.append(_table(["Day", "Docs", "Sentiment", "Previous day", "Docs", "Sentiment"], "lrrlrr",
                        [[h(c) for c in r] for r in fmt.topic_daily_rows(t)]))
    parts.append(f'<h3 style="{S_H3}">Platform share of voice within the topic</h3>')
    sov = t["share_of_voice"]["platforms"]
    if sov:
        parts.append(_table(
            ["Platform", "Mentions", "Docs", "Share", "Share change"], "lrrrr",
            [[_ent(report, p["entity_id"]), h(fmt.num(p["mentions"])), h(fmt.num(p["documents"])),
              h(fmt.share(p["share"])), h(fmt.pp(p["share_change_pp"]))] for p in sov]))
    else:
        parts.append(_p("No platform mentions in the topic's documents this period."))
    parts.append(f'<h3 style="{S_H3}">Top documents</h3>')
    parts.append(_doc_list(report, t["top_documents"]) if t["top_documents"] else _p("None this period."))
    return parts


def _topics_section(report: dict[str, Any]) -> list[str]:
    rows = report["topics"]["rows"]
    parts = [f'<h2 style="{S_H2}">Topics</h2>']
    if not rows:
        return parts + [_p("No saved topics (config/topics.toml) or no tagged documents yet.")]
    parts.append(_table(
        ["Topic", "Docs", "Previous", "Change", "Sentiment", "Previous"], "lrrrrr",
        [[h(r["topic"]), h(fmt.num(r["documents"])), h(fmt.num(r["previous_documents"])),
          h(fmt.pct(r["change_pct"])), h(fmt.sent(r["mean_sentiment"])),
          h(fmt.sent(r["previous_mean_sentiment"]))] for r in rows]))
    return parts + [_p(h(fmt.topics_note()), S_NOTE)]


def _voices_section(report: dict[str, Any]) -> list[str]:
    parts = [f'<h2 style="{S_H2}">Voices</h2>']
    voices = report.get("voices") or []
    if voices:
        parts.append(_table(
            ["Author", "Channel", "Docs", "Engagement", "Sentiment", "Main topics"], "llrrrl",
            [[h(v["author"]), h(fmt.voice_channel(v)), h(fmt.num(v["documents"])),
              h(fmt.num(v["engagement"])), h(fmt.sent(v["mean_sentiment"])), h(fmt.main_topics(v))]
             for v in voices]))
    else:
        parts.append(_p("No attributable authors this period."))
    return parts + [_p(h(fmt.voices_note(report)), S_NOTE)]


def render_html(report: dict[str, Any], generated_at: str, charts: dict[str, bytes] | None = None) -> str:
    charts = charts or {}
    head = report["headline"]
    title = f"{report['title']}: {fmt.period_title(report)}"
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f"<title>{h(title)}</title></head>",
        f'<body style="{S_BODY}">',
        f'<div style="{S_WRAP}">',
        f'<h1 style="{S_H1}">{h(title)}</h1>',
        _p(f"Generated at {h(generated_at)}", S_MUTED),
        _p(h(fmt.period_line(report)), S_MUTED),
        f'<div style="{S_SUMMARY}">{h(report["summary"])}</div>',
        f'<h2 style="{S_H2}">Headline numbers</h2>',
    ]
    rows = fmt.headline_rows(head)
    parts.append(_table(["", "This period", "Previous", "Change"], "lrrr", [[h(c) for c in r] for r in rows]))
    if fmt.off_topic_note(report):
        parts.append(_p(h(fmt.off_topic_note(report)), S_NOTE))
    if fmt.sentiment_models_note(report):
        parts.append(_p(h(fmt.sentiment_models_note(report)), S_NOTE))
    if fmt.syndication_note(report):
        parts.append(_p(h(fmt.syndication_note(report)), S_NOTE))
    if report.get("topic"):
        parts += _topic_section(report)

    parts.append(f'<h2 style="{S_H2}">Rising</h2>')
    if report["rising"]:
        parts.append(_table(
            ["Entity", "Documents", "Previous", "Daily mean (baseline ± sd)", "z"], "lrrrr",
            [[_ent(report, r["entity_id"]), h(fmt.num(r["documents"])), h(fmt.num(r["previous_documents"])),
              h(f"{r['daily_mean']:.1f} ({r['baseline_daily_mean']:.1f} ± {r['baseline_daily_sd']:.1f})"),
              h(f"{r['z']:.1f}")] for r in report["rising"]],
        ))
    else:
        parts.append(_p("No entity rose beyond day-to-day noise this period."))
    parts.append(_p(h(fmt.rising_rule(report)), S_NOTE))
    if report.get("topics") is not None:
        parts += _topics_section(report)
    if "emerging_terms" in report:
        parts += _terms_section(report)

    parts.append(f'<h2 style="{S_H2}">Sentiment movers</h2>')
    if report["sentiment_movers"]:
        parts.append(_table(
            ["Entity", "Now", "Previous", "Change", "Docs now / prev"], "lrrrr",
            [[_ent(report, m["entity_id"]), h(fmt.sent(m["mean_sentiment"])),
              h(fmt.sent(m["previous_mean_sentiment"])), h(fmt.sent(m["change"])),
              h(f"{fmt.num(m['documents'])} / {fmt.num(m['previous_documents'])}")]
             for m in report["sentiment_movers"]],
        ))
    elif fmt.sentiment_models_note(report):
        parts.append(_p(h(fmt.sentiment_models_note(report))))
    else:
        rule = report["parameters"]["movers"]
        parts.append(_p(f"No entity's sentiment moved by {rule['min_change']:g} or more (with "
                        f"{rule['min_documents_each_period']}+ documents in both periods)."))

    parts.append(f'<h2 style="{S_H2}">Top entities</h2>')
    if report["top_entities"]:
        parts.append(_table(
            ["Entity", "Kind", "Docs", "Channels", "Mentions", "Sentiment", "Docs vs previous"], "llrrrrr",
            [[_ent(report, t["entity_id"]), h(fmt.entity_kind(report, t["entity_id"])),
              h(fmt.num(t["documents"])), h(fmt.num(t["channels"])), h(fmt.num(t["mentions"])),
              h(fmt.sent(t["mean_sentiment"])), h(fmt.pct(t["documents_change_pct"]))]
             for t in report["top_entities"]],
        ))
    else:
        parts.append(_p("No entity mentions this period."))
    parts.append(_img("daily_mentions.png", charts, report))

    sov = report["share_of_voice"]
    parts.append(f'<h2 style="{S_H2}">Share of voice: live-commerce platforms</h2>')
    parts.append(_img("share_of_voice.png", charts, report))
    if sov["platforms"]:
        parts.append(_table(
            ["Platform", "Mentions", "Share", "Share change"], "lrrr",
            [[_ent(report, p["entity_id"]), h(fmt.num(p["mentions"])), h(fmt.share(p["share"])),
              h(fmt.pp(p["share_change_pp"]))] for p in sov["platforms"]],
        ))
    else:
        parts.append(_p("No platform mentions this period."))

    parts.append(f'<h2 style="{S_H2}">Regional split</h2>')
    if report["regions"]["places"]:
        parts.append(_table(
            ["Place", "Mentions", "Share", "Sentiment"], "lrrr",
            [[_ent(report, p["entity_id"]), h(fmt.num(p["mentions"])), h(fmt.share(p["share"])),
              h(fmt.sent(p["mean_sentiment"]))] for p in report["regions"]["places"]],
        ))
        if report["regions"]["other_mentions"]:
            parts.append(_p(h(fmt.other_places(report)), S_NOTE))
    else:
        parts.append(_p("No places mentioned this period."))

    parts += _voices_section(report)

    parts.append(f'<h2 style="{S_H2}">Sentiment trend</h2>')
    parts.append(_img("sentiment_trend.png", charts, report))

    parts.append(f'<h2 style="{S_H2}">Notable posts and articles</h2>')
    for key, label in fmt.NOTABLE_SECTIONS:
        parts.append(f'<h3 style="{S_H3}">{h(label)}</h3>')
        if key in fmt.NOTABLE_NOTES:
            parts.append(_p(h(fmt.NOTABLE_NOTES[key]), S_NOTE))
        docs = report["notable"][key]
        if not docs:
            parts.append(_p("None this period."))
            continue
        items = []
        for d in docs:
            about = (f'<br><span style="{S_MUTED}">About: {h(", ".join(d["entities"]))}</span>'
                     if d["entities"] else "")
            items.append(
                f'<li style="margin-bottom:8px;">{_link(fmt.doc_title(d), d["link"])}<br>'
                f'<span style="{S_MUTED}">{h(fmt.doc_meta(d))} · id {h(d["doc_id"])}</span>{about}'
                f"{_also(d)}</li>"
            )
        parts.append('<ol style="padding-left:20px;margin:4px 0;">\n' + "\n".join(items) + "\n</ol>")

    checks = report["checks"]
    mart = checks["mart"] + (f" ({checks.get('n_mismatched', 0)} entities differ; figures come from core)"
                             if checks["mart"] == "mismatch" else "")
    parts += [
        f'<h2 style="{S_H2}">Sources and checks</h2>',
        _p("Every entity figure counts documents. The document ids behind each figure are in "
           "newsletter.json under <code>provenance</code>; <code>pulse report --explain ENTITY</code> "
           "lists them.", S_NOTE),
        _p(f"Mart cross-check: {h(mart)}", S_NOTE),
        "</div>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(p for p in parts if p)
