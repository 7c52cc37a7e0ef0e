"""`pulse report`: argument parsing and output for the newsletter, ready to plug into pipeline/cli.py.

Usage: ``pulse report [--period 7d | --from DATE --to DATE] [--format md|html|json] [--out DIR]
[--explain ENTITY] [--config FILE]``. ``--explain`` prints JSON lines, or a Markdown table with
``--format md``. Kept here (not in pipeline/cli.py) so the report owns its
own options; ``pipeline.cli`` only needs ``add_report_parser(subparsers)`` and to call
``args.func(args)``. Also runnable alone: ``python -m reports.cli ...``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pipeline.argtypes import iso_date

_PERIOD = re.compile(r"^(\d{1,3})d$")


def _period(text: str) -> int:
    m = _PERIOD.match(text.strip().lower())
    if not m or not 1 <= int(m.group(1)) <= 366:
        raise argparse.ArgumentTypeError(f"period must look like 7d (1-366 days), got {text!r}")
    return int(m.group(1))


FORMAT_CHOICES = ("md", "html", "json")


class _OneFormat(argparse.Action):
    """``--format`` takes one choice, as the usage line says; omitting it writes all three.

    Why an error on a second ``--format`` instead of argparse's silent "last one wins": a writer who
    typed ``--format md --format html`` expects both files and would otherwise get one, quietly.
    """

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        if getattr(namespace, self.dest, None) is not None:
            parser.error("--format takes one of md, html, json; omit it to write all three")
        setattr(namespace, self.dest, (values,))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--period", type=_period, help="length ending yesterday (UTC) or --to, e.g. 7d")
    parser.add_argument("--from", dest="date_from", type=iso_date, help="first day (YYYY-MM-DD, UTC)")
    parser.add_argument("--to", dest="date_to", type=iso_date,
                        help="last day, inclusive (default: yesterday)")
    parser.add_argument("--format", dest="formats", action=_OneFormat, choices=FORMAT_CHOICES,
                        help="write only this format (default: md, html and json together)")
    parser.add_argument("--out", type=Path, help="output directory (default data/reports/<end day>)")
    parser.add_argument("--explain", metavar="ENTITY", help="list the documents behind ENTITY's figures")
    parser.add_argument("--config", help="settings overlay TOML (else PULSE_CONFIG)")


def add_report_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("report", help="write the newsletter (md, html, json + charts)")
    add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def resolve_period(
    args: argparse.Namespace, default_days: int, today: date | None = None
) -> tuple[date, int]:
    """(end_day, period_days) from --period / --from / --to; the default ends yesterday (UTC)."""
    today = today or datetime.now(UTC).date()
    end = args.date_to or today - timedelta(days=1)
    if args.date_from is not None:
        if args.period is not None:
            raise SystemExit("use either --period or --from/--to, not both")
        if args.date_from > end:
            raise SystemExit(f"--from {args.date_from} is after --to {end}")
        days = (end - args.date_from).days + 1
        if days > 366:
            raise SystemExit("a report covers at most 366 days")
        return end, days
    return end, args.period or default_days


def run(args: argparse.Namespace) -> int:
    from pipeline.config import load_settings
    from reports.queries import ReportError

    settings = load_settings(args.config)
    end, days = resolve_period(args, settings.report.period_days)
    try:
        if args.explain:
            if args.out is not None or (args.formats or ("json",))[0] == "html":
                print("pulse report: --explain prints to stdout as JSON lines (default) or a Markdown "
                      "table (--format md); --out and --format html do not apply", file=sys.stderr)
                return 2
            return _explain(settings, args.explain, end, days, markdown=args.formats == ("md",))
        from reports.newsletter import write_report

        formats = tuple(args.formats or FORMAT_CHOICES)
        paths = write_report(settings, end, days, out_dir=args.out, formats=formats)
    except ReportError as exc:
        print(f"pulse report: {exc}", file=sys.stderr)
        return 2
    for key, path in sorted(paths.items()):
        print(f"{key:<22} {path}")
    return 0


def explain_markdown(rows: list[dict]) -> str:
    """The --explain rows as a Markdown table a writer can paste under a figure (scraped text escaped)."""
    from reports.fmt import DASH, sent
    from reports.safety import md_text, safe_url

    out = ["| Period | Day | Entity | Document | Source | Entity sentiment | id |",
           "| --- | --- | --- | --- | --- | ---: | --- |"]
    for r in rows:
        title = md_text(r["title"] or r["sentence"] or r["doc_id"])
        link = safe_url(r["link"])
        doc = f"[{title}](<{link}>)" if link else title
        where = md_text(" · ".join(x for x in (r["source"], r["channel"]) if x)) or DASH
        out.append(f"| {r['period']} | {r['day']} | {md_text(r['entity_name'])} | {doc} | {where} | "
                   f"{sent(r['entity_sentiment'])} | {md_text(r['doc_id'])} |")
    return "\n".join(out)


def _explain(settings, entity: str, end: date, days: int, markdown: bool = False) -> int:
    from reports.newsletter import explain_entity, open_warehouse

    con = open_warehouse(settings.warehouse_path)
    try:
        rows = explain_entity(con, entity, end, days, settings.relevance.exclude_off_topic)
    finally:
        con.close()
    if markdown:
        print(explain_markdown(rows))
    for row in [] if markdown else rows:
        print(json.dumps(row, ensure_ascii=False, sort_keys=True))
    current = sum(r["period"] == "current" for r in rows)
    print(f"{current} documents in {end - timedelta(days=days - 1)}..{end}, "
          f"{len(rows) - current} in the previous {days} days", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pulse report", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
