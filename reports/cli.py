"""`pulse report`: argument parsing and output for the newsletter, ready to plug into pipeline/cli.py.

Usage: ``pulse report [--period 7d | --from DATE --to DATE] [--format md|html|json] [--out DIR]
[--explain ENTITY] [--config FILE]``. Kept here (not in pipeline/cli.py) so the report owns its
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

_PERIOD = re.compile(r"^(\d{1,3})d$")


def _period(text: str) -> int:
    m = _PERIOD.match(text.strip().lower())
    if not m or not 1 <= int(m.group(1)) <= 366:
        raise argparse.ArgumentTypeError(f"period must look like 7d (1-366 days), got {text!r}")
    return int(m.group(1))


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--period", type=_period, help="length ending yesterday (UTC) or --to, e.g. 7d")
    parser.add_argument("--from", dest="date_from", type=_date, help="first day (YYYY-MM-DD, UTC)")
    parser.add_argument("--to", dest="date_to", type=_date, help="last day, inclusive (default: yesterday)")
    parser.add_argument("--format", dest="formats", action="append", choices=("md", "html", "json"),
                        help="repeatable; default md, html and json")
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
            return _explain(settings, args.explain, end, days)
        from reports.newsletter import write_report

        formats = tuple(args.formats or ("md", "html", "json"))
        paths = write_report(settings, end, days, out_dir=args.out, formats=formats)
    except ReportError as exc:
        print(f"pulse report: {exc}", file=sys.stderr)
        return 2
    for key, path in sorted(paths.items()):
        print(f"{key:<22} {path}")
    return 0


def _explain(settings, entity: str, end: date, days: int) -> int:
    from reports.newsletter import explain_entity, open_warehouse

    con = open_warehouse(settings.warehouse_path)
    try:
        rows = explain_entity(con, entity, end, days)
    finally:
        con.close()
    for row in rows:
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
