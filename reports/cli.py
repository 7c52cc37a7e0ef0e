"""`pulse report`: argument parsing and output for the newsletter, ready to plug into pipeline/cli.py.

Usage: ``pulse report [--period 7d | --from DATE --to DATE] [--format md|html|json] [--out DIR]
[--topic NAME] [--explain ENTITY] [--config FILE]``. ``--topic`` restricts every figure to one
saved topic's documents (config/topics.toml, core.document_topics) and writes to
``<reports dir>/<end day>/topic-<name>/`` by default, so it never overwrites the full newsletter.
``--explain`` prints JSON lines, or a Markdown table with ``--format md`` (with ``--topic``, only
that topic's documents). Kept here (not in pipeline/cli.py) so the report owns its
own options; ``pipeline.cli`` only needs ``add_report_parser(subparsers)`` and to call
``args.func(args)``. Also runnable alone: ``python -m reports.cli ...``.

The default period ends at the latest day with documents in the warehouse, not at wall-clock
yesterday: the demo's data (or a warehouse not loaded for a while) would otherwise give an empty
report. Errors are :class:`~common.cli_support.UserError`, printed by pulse as one line, exit 2.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from common.cli_support import UserError, iso_date

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
    parser.add_argument("--period", type=_period,
                        help="length ending at --to or the latest day with data, e.g. 7d")
    parser.add_argument("--from", dest="date_from", type=iso_date, help="first day (YYYY-MM-DD, UTC)")
    parser.add_argument("--to", dest="date_to", type=iso_date,
                        help="last day, inclusive (default: the latest day with documents, UTC)")
    parser.add_argument("--format", dest="formats", action=_OneFormat, choices=FORMAT_CHOICES,
                        help="write only this format (default: md, html and json together)")
    parser.add_argument("--out", type=Path, help="output directory (default data/reports/<end day>)")
    parser.add_argument("--explain", metavar="ENTITY", help="list the documents behind ENTITY's figures")
    parser.add_argument("--topic", metavar="NAME",
                        help="only the documents of this saved topic (config/topics.toml; "
                             "see pulse topics list)")


def add_report_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("report", help="write the newsletter (md, html, json + charts)")
    add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def resolve_period(
    args: argparse.Namespace, default_days: int, today: date | None = None, latest: date | None = None,
) -> tuple[date, int]:
    """(end_day, period_days) from --period / --from / --to.

    Without --to the period ends at ``latest`` (the last day with data, see :func:`data_days`),
    never after ``today``; with no data at all, at yesterday (UTC).
    """
    today = today or datetime.now(UTC).date()
    end = args.date_to or min(latest or today - timedelta(days=1), today)
    if args.date_from is not None:
        if args.period is not None:
            raise UserError("use either --period or --from/--to, not both")
        if args.date_from > end:
            what = "--to" if args.date_to else "the latest day with data"
            raise UserError(f"--from {args.date_from} is after {what} ({end})")
        days = (end - args.date_from).days + 1
        if days > 366:
            raise UserError("a report covers at most 366 days")
        return end, days
    return end, args.period or default_days


def data_days(warehouse: Path) -> tuple[date, date, int] | None:
    """(first day, latest day, number of days) with documents in the warehouse, None when empty.

    Why: both the default period and the hint for an empty one ("the data is from X to Y") need
    to know where the data is, in published-day (UTC) terms like the report's own figures.
    """
    from reports.newsletter import open_warehouse

    con = open_warehouse(warehouse)
    try:
        if "core.documents" not in _tables(con):
            return None
        first, last, n = con.execute(
            "SELECT min(d), max(d), count(DISTINCT d) FROM (SELECT CAST(timezone('UTC', published_at) "
            "AS DATE) AS d FROM core.documents WHERE published_at IS NOT NULL)").fetchone()
    finally:
        con.close()
    return None if first is None else (first, last, n)


def _tables(con) -> set[str]:
    from reports.queries import existing_tables

    return existing_tables(con)


def _where_the_data_is(days: tuple[date, date, int] | None) -> str:
    if days is None:
        return "the warehouse has no documents yet"
    first, last, n = days
    return f"the warehouse has documents on {n} day(s) from {first} to {last} (try --to {last})"


def _documents_in(warehouse: Path, start: date, end: date) -> int:
    from reports.newsletter import open_warehouse

    con = open_warehouse(warehouse)
    try:
        return con.execute(
            "SELECT count(*) FROM core.documents WHERE CAST(timezone('UTC', published_at) AS DATE) "
            "BETWEEN ? AND ?", [start, end]).fetchone()[0]
    finally:
        con.close()


def _check_options(args: argparse.Namespace) -> None:
    """Refuse option combinations that cannot work, before any file is opened."""
    if args.period is not None and args.date_from is not None:
        raise UserError("use either --period or --from/--to, not both")
    if args.explain and (args.out is not None or (args.formats or ("json",))[0] == "html"):
        raise UserError("--explain prints to stdout as JSON lines (default) or a Markdown "
                        "table (--format md); --out and --format html do not apply")


def run(args: argparse.Namespace) -> int:
    from common.cli_support import analyst_settings, note
    from reports.queries import ReportError

    _check_options(args)  # before looking for a warehouse: these need none
    settings = analyst_settings(getattr(args, "config", None))
    warehouse = settings.warehouse_path
    note(f"warehouse {_shown(warehouse)}")
    try:
        days_with_data = data_days(warehouse)
        end, days = resolve_period(args, settings.report.period_days,
                                   latest=days_with_data[1] if days_with_data else None)
        start = end - timedelta(days=days - 1)
        topic = getattr(args, "topic", None)
        if args.explain:
            return _explain(settings, args.explain, end, days, markdown=args.formats == ("md",),
                            where=_where_the_data_is(days_with_data), topic=topic)
        if not _documents_in(warehouse, start, end):
            note(f"no documents were published in {start}..{end}; {_where_the_data_is(days_with_data)}")
        from reports.newsletter import write_report

        formats = tuple(args.formats or FORMAT_CHOICES)
        paths = write_report(settings, end, days, out_dir=args.out, formats=formats, topic=topic)
    except ReportError as exc:
        raise UserError(str(exc)) from exc
    note(f"report for {start}..{end} ({days} days)" + (f", topic {topic}" if topic else ""))
    for key, path in sorted(paths.items()):
        print(f"{key:<22} {path}")
    return 0


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


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


def _explain(settings, entity: str, end: date, days: int, markdown: bool = False, where: str = "",
             topic: str | None = None) -> int:
    from reports.newsletter import configured_topics, explain_entity, open_warehouse
    from reports.queries import ReportError, resolve_entity
    from warehouse.load import SOURCE_KINDS

    topics = configured_topics(settings) if topic else None
    con = open_warehouse(settings.warehouse_path)
    try:
        rows = explain_entity(con, entity, end, days, settings.relevance.exclude_off_topic,
                              topic=topic, topics=topics)
        matches = resolve_entity(con, entity.strip())
    except ReportError as exc:
        if "no entity matches" not in str(exc):
            raise
        raise UserError(f"{exc}; list the known ones with: pulse sql \"SELECT entity_id, name, aliases "
                        "FROM core.entities ORDER BY entity_id\"") from exc
    finally:
        con.close()
    start, previous = end - timedelta(days=days - 1), end - timedelta(days=2 * days - 1)
    if not rows:
        # On stdout, in either format: an empty answer must not look like a silent success (the
        # output has no rows to parse anyway).
        within = f" within topic {topic}" if topic else ""
        message = (f"no documents{within} mention {entity!r} in {start}..{end} or the previous {days} days "
                   f"({previous}..{start - timedelta(days=1)}); {where}")
        if matches and all(m["kind"] in SOURCE_KINDS for m in matches):
            ids = ", ".join(f"'{m['entity_id']}'" for m in matches)
            message = (f"{entity!r} is a news outlet (kind {matches[0]['kind']}): a source, not a subject, "
                       "so no trend figure counts it; its mentions are in core.mentions: pulse sql "
                       f"\"SELECT doc_id, sentence FROM core.mentions WHERE entity_id IN ({ids})\"")
        print(f"_{message}_" if markdown else message)
        return 0
    if markdown:
        print(explain_markdown(rows))
    for row in [] if markdown else rows:
        print(json.dumps(row, ensure_ascii=False, sort_keys=True))
    current = sum(r["period"] == "current" for r in rows)
    print(f"{current} documents in {start}..{end}, {len(rows) - current} in the previous {days} days",
          file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m reports.cli`: the same options and error style as `pulse report`."""
    from common.cli_support import USER_ERROR, PulseArgumentParser, add_common_options, print_error
    from common.config import ConfigError

    parser = PulseArgumentParser(prog="pulse report", description=__doc__.splitlines()[0])
    add_arguments(parser)
    add_common_options(parser)
    try:
        return run(parser.parse_args(argv))
    except (UserError, ConfigError) as exc:
        print_error(str(exc))
        return USER_ERROR


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
