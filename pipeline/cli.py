"""`pulse`: the command line, on the same stage functions the DAG calls.

Commands: demo, run, enrich, sql, report, schema, extract-article. Errors a user can fix
(bad config, bad query, missing warehouse) print one clear line and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline.argtypes import iso_date
from pipeline.config import ConfigError, load_settings


class UserError(Exception):
    """A problem the user can fix; printed as one line."""


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    for noisy in ("great_expectations", "urllib3", "prawcore", "matplotlib", "PIL", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def cmd_demo(args: argparse.Namespace) -> int:
    from pipeline.demo import run_demo

    return run_demo()


def cmd_run(args: argparse.Namespace) -> int:
    from pipeline.context import RunContext
    from pipeline.runner import run_all

    settings = load_settings()
    night = args.from_raw or args.date or (datetime.now(UTC).date() - timedelta(days=1))
    ctx = RunContext.for_night(settings, night)
    print(f"pulse run: night {night} (window {ctx.window_start:%Y-%m-%d %H:%M} .. "
          f"{ctx.window_end:%Y-%m-%d %H:%M} UTC), data in {settings.data_dir}"
          + (" - re-processing the raw landing, no source is called" if args.from_raw else ""))
    outcome = run_all(ctx, from_raw=bool(args.from_raw))
    print("pulse run: " + ("all stages succeeded" if outcome.ok else
                           f"finished with problems in: {', '.join(outcome.errors)}"))
    return 0 if outcome.ok else 1


def cmd_enrich(args: argparse.Namespace) -> int:
    from pipeline.jsonl import dumps_line
    from transforms.enrich import Enricher, enrich_jsonl_lines, text_from_path

    enricher = Enricher(load_settings())
    if args.jsonl:
        if args.jsonl != "-" and not Path(args.jsonl).is_file():
            raise UserError(f"no such file: {args.jsonl}")
        stream = sys.stdin if args.jsonl == "-" else open(args.jsonl, encoding="utf-8")  # noqa: SIM115
        with stream:
            # Batched (nlp.pipe over up to 64 texts), one model load, ids kept, input order kept.
            for row in enrich_jsonl_lines(enricher, stream):
                print(dumps_line(row), flush=True)  # ASCII escapes if an id holds a lone surrogate
        return 0
    if not args.path:
        raise UserError("give a PATH (text or HTML file) or --jsonl FILE")
    path = Path(args.path)
    if not path.is_file():
        raise UserError(f"no such file: {path}")
    print(json.dumps(enricher.enrich_text(text_from_path(path)), ensure_ascii=False, indent=2))
    return 0


def _warehouse(settings) -> Path:
    if not settings.warehouse_path.exists():
        raise UserError(f"no warehouse at {settings.warehouse_path}: run `make demo` or `pulse run` first")
    return settings.warehouse_path


def _analyst_db(settings) -> Path:
    """The published snapshot when there is one, else the live file.

    The snapshot is replaced atomically after each night, so reading it never meets the nightly
    writer's lock, and - just as important - never blocks the writer from opening the live file.
    """
    from warehouse.db import published_path

    live = _warehouse(settings)
    snapshot = published_path(live)
    return snapshot if snapshot.exists() else live


def cmd_sql(args: argparse.Namespace) -> int:
    from warehouse.sql import ReadOnlyQueryError, format_rows, query_readonly

    try:
        columns, rows = query_readonly(_analyst_db(load_settings()), args.query)
    except ReadOnlyQueryError as exc:
        raise UserError(str(exc)) from exc
    print(format_rows(columns, rows, args.format))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from warehouse.export import export_marts

    settings = load_settings()
    for path in export_marts(_analyst_db(settings), Path(args.dir), fmt=args.format):
        print(path)
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from warehouse.db import connect
    from warehouse.schema_doc import data_dictionary

    settings = load_settings()
    con = connect(_analyst_db(settings), read_only=True)
    try:
        print(data_dictionary(con))
    finally:
        con.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pulse", description="liveshop-pulse: live-commerce social listening")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("demo", help="run the nightly DAG offline on the bundled synthetic corpus")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("run", help="run every stage once, without Airflow (reads config/)")
    s.add_argument("--date", type=iso_date, help="night to process (default: yesterday, UTC)")
    s.add_argument("--from-raw", type=iso_date, metavar="DATE",
                   help="re-process that night's raw landing instead of calling the sources")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("enrich", help="entities, sentiment, themes for a text/HTML file (JSON out)")
    s.add_argument("path", nargs="?", help="a .txt or .html file")
    s.add_argument("--jsonl", metavar="FILE", help='lines of {"id", "text"}; "-" for stdin')
    s.set_defaults(func=cmd_enrich)

    s = sub.add_parser("sql", help="read-only SQL against the warehouse")
    s.add_argument("query")
    s.add_argument("--format", choices=("table", "csv", "json"), default="table")
    s.set_defaults(func=cmd_sql)

    s = sub.add_parser("export", help="write the marts to files (parquet, csv or json)")
    s.add_argument("dir")
    s.add_argument("--format", choices=("parquet", "csv", "json"), default="parquet")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("schema", help="print the warehouse data dictionary")
    s.set_defaults(func=cmd_schema)

    from reports.cli import add_report_parser

    add_report_parser(sub)

    from extractors.news.cli import add_subcommand as add_extract_article

    add_extract_article(sub)
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        code = args.func(args)
    except (UserError, ConfigError) as exc:
        print(f"pulse: error: {exc}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
