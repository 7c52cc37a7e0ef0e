"""Markdown newsletter: the copy a writer pastes into an editor or a CMS.

Every piece of scraped text (titles, excerpts, channels, entity names and ids, doc ids) goes
through :func:`reports.safety.md_text`, and links through :func:`reports.safety.safe_url`, so the
Markdown carries no raw HTML and no non-http(s) link whatever the sources contained. Charts are
referenced as PNG files written next to the Markdown.
"""

from __future__ import annotations

from typing import Any

from reports import fmt
from reports.safety import md_text, safe_url


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: list[str], align: str, rows: list[list[str]]) -> list[str]:
    sep = ["---:" if a == "r" else "---" for a in align]
    return [_row(header), _row(sep), *(_row(r) for r in rows), ""]


def _ent(report: dict[str, Any], eid: str) -> str:
    return md_text(fmt.entity_name(report, eid))


def _link(text: str, url: str | None) -> str:
    label = md_text(text)
    safe = safe_url(url)
    return f"[{label}](<{safe}>)" if safe else label


def render_markdown(report: dict[str, Any], generated_at: str, chart_files: list[str] | None = None) -> str:
    charts = set(chart_files or [])
    alt = _alts(report, charts)
    head = report["headline"]
    out: list[str] = [
        f"# {md_text(report['title'])}: {md_text(fmt.period_title(report))}",
        "",
        f"_Generated at {md_text(generated_at)}_",
        "",
        md_text(fmt.period_line(report)),
        "",
        "## Summary",
        "",
        md_text(report["summary"]),
        "",
        "## Headline numbers",
        "",
    ]
    rows = fmt.headline_rows(head)
    out += _table(["", "This period", "Previous", "Change"], "lrrr", [[md_text(r[0]), *r[1:]] for r in rows])
    if fmt.off_topic_note(report):
        out += [f"_{md_text(fmt.off_topic_note(report))}_", ""]
    if fmt.sentiment_models_note(report):
        out += [f"_{md_text(fmt.sentiment_models_note(report))}_", ""]
    if fmt.syndication_note(report):
        out += [f"_{md_text(fmt.syndication_note(report))}_", ""]
    if report.get("topic"):
        out += _topic_section(report)

    out += ["## Rising", ""]
    if report["rising"]:
        out += _table(
            ["Entity", "Kind", "Documents", "Previous", "Daily mean (baseline ± sd)", "z"], "llrrrr",
            [[_ent(report, r["entity_id"]), md_text(fmt.entity_kind(report, r["entity_id"])),
              fmt.num(r["documents"]), fmt.num(r["previous_documents"]),
              f"{r['daily_mean']:.1f} ({r['baseline_daily_mean']:.1f} ± {r['baseline_daily_sd']:.1f})",
              f"{r['z']:.1f}"] for r in report["rising"]],
        )
    else:
        out += ["No entity rose beyond day-to-day noise this period.", ""]
    out += [f"_{md_text(fmt.rising_rule(report))}_", ""]
    if report.get("topics") is not None:
        out += _topics_section(report)
    if "emerging_terms" in report:
        out += _terms_section(report)

    out += ["## Sentiment movers", ""]
    if report["sentiment_movers"]:
        out += _table(
            ["Entity", "Now", "Previous", "Change", "Documents (now / previous)"], "lrrrr",
            [[_ent(report, m["entity_id"]), fmt.sent(m["mean_sentiment"]),
              fmt.sent(m["previous_mean_sentiment"]), fmt.sent(m["change"]),
              f"{fmt.num(m['documents'])} / {fmt.num(m['previous_documents'])}"]
             for m in report["sentiment_movers"]],
        )
    elif fmt.sentiment_models_note(report):
        out += [md_text(fmt.sentiment_models_note(report)), ""]
    else:
        rule = report["parameters"]["movers"]
        out += [f"No entity's sentiment moved by {rule['min_change']:g} or more (with "
                f"{rule['min_documents_each_period']}+ documents in both periods).", ""]

    out += ["## Top entities", ""]
    if report["top_entities"]:
        out += _table(
            ["#", "Entity", "Kind", "Documents", "Channels", "Mentions", "Sentiment",
             "Documents vs previous"],
            "rllrrrrr",
            [[str(i), _ent(report, t["entity_id"]), md_text(fmt.entity_kind(report, t["entity_id"])),
              fmt.num(t["documents"]), fmt.num(t["channels"]), fmt.num(t["mentions"]),
              fmt.sent(t["mean_sentiment"]), fmt.pct(t["documents_change_pct"])]
             for i, t in enumerate(report["top_entities"], 1)],
        )
    else:
        out += ["No entity mentions this period.", ""]
    out += _chart("daily_mentions.png", charts, alt)

    sov = report["share_of_voice"]
    out += ["## Share of voice: live-commerce platforms", ""]
    out += _chart("share_of_voice.png", charts, alt)
    if sov["platforms"]:
        out += _table(
            ["Platform", "Mentions", "Share", "Share change"], "lrrr",
            [[_ent(report, p["entity_id"]), fmt.num(p["mentions"]), fmt.share(p["share"]),
              fmt.pp(p["share_change_pp"])] for p in sov["platforms"]],
        )
    else:
        out += ["No platform mentions this period.", ""]

    out += ["## Regional split", ""]
    places = report["regions"]["places"]
    if places:
        out += _table(
            ["Place", "Mentions", "Share", "Sentiment"], "lrrr",
            [[_ent(report, p["entity_id"]), fmt.num(p["mentions"]), fmt.share(p["share"]),
              fmt.sent(p["mean_sentiment"])] for p in places],
        )
        if report["regions"]["other_mentions"]:
            out += [f"_{md_text(fmt.other_places(report))}_", ""]
    else:
        out += ["No places mentioned this period.", ""]

    out += _voices_section(report)

    out += ["## Sentiment trend", ""]
    out += _chart("sentiment_trend.png", charts, alt)

    out += ["## Notable posts and articles", ""]
    for key, title in fmt.NOTABLE_SECTIONS:
        docs = report["notable"][key]
        out += [f"### {title}", ""]
        if key in fmt.NOTABLE_NOTES:
            out += [f"_{md_text(fmt.NOTABLE_NOTES[key])}_", ""]
        if not docs:
            out += ["None this period.", ""]
            continue
        for i, d in enumerate(docs, 1):
            about = f" (about: {md_text(', '.join(d['entities']))})" if d["entities"] else ""
            out.append(f"{i}. {_link(fmt.doc_title(d), d['link'])}{about}  ")
            out.append(f"   {md_text(fmt.doc_meta(d))} · id {md_text(d['doc_id'])}" + _also(d))
        out.append("")

    checks = report["checks"]
    out += [
        "## Sources and checks",
        "",
        "- Every entity figure counts documents; the document ids behind each one are in "
        "newsletter.json under provenance, and `pulse report --explain ENTITY` lists them.",
        f"- Mart cross-check: {md_text(checks['mart'])}"
        + (f" ({checks.get('n_mismatched', 0)} entities differ; figures come from core tables)"
           if checks["mart"] == "mismatch" else ""),
        "",
    ]
    return "\n".join(out)


def _topic_section(report: dict[str, Any]) -> list[str]:
    t = report["topic"]
    out = [f"## Topic: {md_text(t['name'])}", ""]
    if t.get("description"):
        out += [md_text(t["description"]), ""]
    if t.get("query"):
        out += [f"Query: `{' '.join(t['query'].split()).replace('`', chr(39))}`", ""]
    out += [f"_{md_text(fmt.topic_note(report))}_", ""]
    out += _table(["", "This period", "Previous", "Change"], "lrrr",
                  [[md_text(r[0]), *r[1:]] for r in fmt.topic_rows(t)])
    out += ["### Daily volume and sentiment", ""]
    out += _table(["Day", "Documents", "Sentiment", "Previous day", "Documents", "Sentiment"], "lrrlrr",
                  fmt.topic_daily_rows(t))
    out += ["### Platform share of voice within the topic", ""]
    sov = t["share_of_voice"]["platforms"]
    if sov:
        out += _table(["Platform", "Mentions", "Documents", "Share", "Share change"], "lrrrr",
                      [[_ent(report, p["entity_id"]), fmt.num(p["mentions"]), fmt.num(p["documents"]),
                        fmt.share(p["share"]), fmt.pp(p["share_change_pp"])] for p in sov])
    else:
        out += ["No platform mentions in the topic's documents this period.", ""]
    out += ["### Top documents", ""]
    if not t["top_documents"]:
        out += ["None this period.", ""]
    for i, d in enumerate(t["top_documents"], 1):
        out.append(f"{i}. {_link(fmt.doc_title(d), d['link'])}  ")
        out.append(f"   {md_text(fmt.doc_meta(d))} · id {md_text(d['doc_id'])}" + _also(d))
    if t["top_documents"]:
        out.append("")
    return out


def _topics_section(report: dict[str, Any]) -> list[str]:
    rows = report["topics"]["rows"]
    out = ["## Topics", ""]
    if not rows:
        return out + ["No saved topics (config/topics.toml) or no tagged documents yet.", ""]
    out += _table(
        ["Topic", "Documents", "Previous", "Change", "Sentiment", "Previous sentiment"], "lrrrrr",
        [[md_text(r["topic"]), fmt.num(r["documents"]), fmt.num(r["previous_documents"]),
          fmt.pct(r["change_pct"]), fmt.sent(r["mean_sentiment"]), fmt.sent(r["previous_mean_sentiment"])]
         for r in rows])
    return out + [f"_{md_text(fmt.topics_note())}_", ""]


def _voices_section(report: dict[str, Any]) -> list[str]:
    out = ["## Voices", ""]
    voices = report.get("voices") or []
    if voices:
        out += _table(
            ["Author", "Channel", "Documents", "Engagement", "Sentiment", "Main topics"], "llrrrl",
            [[md_text(v["author"]), md_text(fmt.voice_channel(v)), fmt.num(v["documents"]),
              fmt.num(v["engagement"]), fmt.sent(v["mean_sentiment"]), md_text(fmt.main_topics(v))]
             for v in voices])
    else:
        out += ["No attributable authors this period.", ""]
    return out + [f"_{md_text(fmt.voices_note(report))}_", ""]


def _also(doc: dict[str, Any]) -> str:
    """"Also published by" for a syndicated article: each other site, linked (issue 15)."""
    members = doc.get("also_published_by") or []
    if not members:
        return ""
    return "  \n   Also published by: " + ", ".join(_link(fmt.also_label(m), m["link"]) for m in members)


def _terms_section(report: dict[str, Any]) -> list[str]:
    out = ["## Emerging terms", ""]
    terms = report["emerging_terms"]
    if not terms:
        out += [md_text(fmt.terms_empty(report)), ""]
    for i, t in enumerate(terms, 1):
        out.append(f"{i}. **{md_text(t['phrase'])}**: {fmt.num(t['documents'])} documents "
                   f"(previous {fmt.num(t['previous_documents'])}), daily mean {t['daily_mean']:.1f} "
                   f"({t['baseline_daily_mean']:.1f} ± {t['baseline_daily_sd']:.1f}), z {t['z']:.1f}  ")
        links = [f"{_link(fmt.doc_title(d), d['link'])} (id {md_text(d['doc_id'])})"
                 for d in t["top_documents"]]
        out.append("   " + "; ".join(links))
    if terms:
        out.append("")
    return out + [f"_{md_text(fmt.terms_note(report))}_", ""]


def _alts(report: dict[str, Any], charts: set[str]) -> dict[str, str]:
    if not charts:
        return {}
    from reports.charts import chart_alt

    return {name: chart_alt(report, name) for name in charts}


def _chart(name: str, charts: set[str], alt: dict[str, str]) -> list[str]:
    if name not in charts:
        return []
    return [f"![{md_text(alt[name])}]({name})", ""]
