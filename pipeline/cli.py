"""`pulse`: the command line, on the same stage functions the DAG calls.

Commands: run, enrich, sql, export, rebuild, report, schema, extract-article. Every one takes
``--config FILE`` and ``-v``. Errors a user can fix (bad option, bad config, bad query, missing
warehouse) print one ``pulse: error:`` line and exit 2, never a traceback.

Which warehouse the analyst commands read (sql, export, report): the configured one; but right
after `make demo`, before any real run, the configured warehouse does not exist and the demo's
does, so they read the demo's and say so. Each prints the warehouse it used on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common.cli_support import (
    USER_ERROR,
    PulseArgumentParser,
    UserError,
    add_common_options,
    analyst_settings,
    iso_date,
    note,
    package_version,
    print_error,
    shown,
)
from common.config import ConfigError, Settings, load_settings

__all__ = ["UserError", "build_parser", "main"]


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


def cmd_run(args: argparse.Namespace) -> int:
    from common.context import RunContext
    from pipeline.runner import run_all

    settings = load_settings(args.config)
    night = args.from_raw or args.date or (datetime.now(UTC).date() - timedelta(days=1))
    ctx = RunContext.for_night(settings, night)
    print(f"pulse run: night {night} (window {ctx.window_start:%Y-%m-%d %H:%M} .. "
          f"{ctx.window_end:%Y-%m-%d %H:%M} UTC), data in {settings.data_dir}"
          + (" - re-processing the raw landing, no source is called" if args.from_raw else ""))
    outcome = run_all(ctx, from_raw=bool(args.from_raw))
    print("pulse run: " + ("all stages succeeded" if outcome.ok else
                           f"finished with problems in: {', '.join(outcome.errors)}"))
    return 0 if outcome.ok else 1


def text_from_path(path: Path) -> str:
    """A text file as-is, or an .html/.htm page (gzip allowed) through the article extractor.

    Why the extractor: it is the one HTML-to-text path, so `pulse enrich page.html` scores exactly
    the title and body the nightly news extract would keep (no navigation, bylines or footers).
    """
    import gzip

    from extractors.news.article import extract_article

    suffixes = [s.lower() for s in path.suffixes]
    raw = path.read_bytes()
    if suffixes and suffixes[-1] == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise UserError(f"{path}: not a readable gzip file ({exc})") from exc
        suffixes = suffixes[:-1]
    if not (suffixes and suffixes[-1] in (".html", ".htm")):
        return raw.decode("utf-8", errors="replace")
    article = extract_article(raw)
    if not article.body:
        raise UserError(f"{path}: no article body found (empty or JavaScript-only page)")
    return "\n\n".join(part for part in (article.title, article.body) if part)


def cmd_enrich(args: argparse.Namespace) -> int:
    from common.jsonl import dumps_line
    from transforms.enrich import Enricher, enrich_jsonl_lines

    enricher = Enricher(load_settings(args.config))
    source = None if args.source == "none" else args.source
    if args.jsonl:
        if args.jsonl != "-" and not Path(args.jsonl).is_file():
            raise UserError(f"no such file: {args.jsonl}")
        stream = sys.stdin if args.jsonl == "-" else open(args.jsonl, encoding="utf-8")  # noqa: SIM115
        with stream:
            # Batched (nlp.pipe over up to 64 texts), one model load, ids kept, input order kept.
            for row in enrich_jsonl_lines(enricher, stream, source=source):
                print(dumps_line(row), flush=True)  # ASCII escapes if an id holds a lone surrogate
        return 0
    if not args.path:
        raise UserError("give a PATH (text or HTML file) or --jsonl FILE")
    path = Path(args.path)
    if not path.is_file():
        raise UserError(f"no such file: {path}")
    print(json.dumps(enricher.enrich_text(text_from_path(path), source), ensure_ascii=False, indent=2))
    return 0


def _analyst_db(settings: Settings) -> Path:
    """The published snapshot when there is one, else the live file; says which on stderr.

    The snapshot is replaced atomically after each night, so reading it never meets the nightly
    writer's lock, and - just as important - never blocks the writer from opening the live file.
    """
    from warehouse.db import published_path

    live = settings.warehouse_path
    snapshot = published_path(live)
    used = snapshot if snapshot.exists() else live
    note(f"warehouse {shown(used)}")
    return used


def cmd_sql(args: argparse.Namespace) -> int:
    from warehouse.sql import ReadOnlyQueryError, check_query, format_rows, query_readonly

    try:
        check_query(args.query)  # a refused query needs no warehouse: say why before looking for one
        columns, rows = query_readonly(_analyst_db(analyst_settings(args.config)), args.query)
    except ReadOnlyQueryError as exc:
        raise UserError(str(exc)) from exc
    print(format_rows(columns, rows, args.format))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from warehouse.export import export_marts

    db = _analyst_db(analyst_settings(args.config))
    for path in export_marts(db, Path(args.dir), fmt=args.format):
        print(path)
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    """Recreate a warehouse from the lake's Parquet partitions (issue 14); see warehouse/rebuild.py."""
    from warehouse.rebuild import NOT_IN_LAKE, RebuildError, rebuild

    settings = load_settings(args.config)
    target = Path(args.to_warehouse) if args.to_warehouse else settings.warehouse_path
    if target.exists() and not args.yes:
        raise UserError(f"{shown(target)} exists: pass --yes to replace it with the rebuild "
                        "(or --to-warehouse PATH for another file)")
    note(f"rebuilding {shown(target)} from {shown(settings.data_dir / 'lake')}"
         + (f" (pulled from {settings.storage.url})" if settings.storage.url else ""))
    note(NOT_IN_LAKE)
    try:
        summary = rebuild(settings, target, progress=note)
    except RebuildError as exc:
        raise UserError(str(exc)) from exc
    print(f"rebuilt {shown(target)}: {summary['nights']} night(s), {summary['documents']} documents, "
          f"{summary['mentions']} mentions, {summary['mart_rows']} daily_entity_stats rows, "
          f"{sum(summary['ops_rows'].values())} ops history rows from lake/_ops; "
          f"snapshot {shown(Path(summary['published']))}")
    print(f"not rebuilt: {NOT_IN_LAKE}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """The fixed data dictionary, from the migrations: needs no warehouse (nor a config)."""
    from warehouse.schema_doc import fixed_dictionary

    note("data dictionary of the schema the migrations create (no warehouse read)")
    if not args.verbose:  # "applied migration ..." is about the scratch database, not news to the user
        logging.getLogger("warehouse.db").setLevel(logging.WARNING)
    print(fixed_dictionary(), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = PulseArgumentParser(prog="pulse", description="liveshop-pulse: live-commerce social listening")
    p.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    add_common_options(p)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("run", help="run every stage once, without Airflow (reads config/)")
    night = s.add_mutually_exclusive_group()
    night.add_argument("--date", type=iso_date, help="night to process (default: yesterday, UTC)")
    night.add_argument("--from-raw", type=iso_date, metavar="DATE",
                       help="re-process that night's raw landing instead of calling the sources")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("enrich", help="entities, sentiment, themes for a text/HTML file (JSON out)")
    s.add_argument("path", nargs="?", help="a .txt or .html file")
    s.add_argument("--jsonl", metavar="FILE", help='lines of {"id", "text"}; "-" for stdin')
    s.add_argument("--source", default="news", choices=("news", "reddit", "none"),
                   help="score document sentiment as the nightly would for a document of this source "
                   "(default: news; sources in [nlp] sentiment_embed_sources get the fine-tuned model, "
                   "others the lexicon model; the output's sentiment_model says which). none: the "
                   "lexicon model, without the sentiment_model key")
    s.set_defaults(func=cmd_enrich)

    s = sub.add_parser("sql", help="read-only SQL against the warehouse")
    s.add_argument("query")
    s.add_argument("--format", choices=("table", "csv", "json"), default="table")
    s.set_defaults(func=cmd_sql)

    s = sub.add_parser("export", help="write the marts to files (parquet, csv or json)")
    s.add_argument("dir")
    s.add_argument("--format", choices=("parquet", "csv", "json"), default="parquet")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("rebuild", help="recreate the warehouse from the lake's Parquet partitions")
    s.add_argument("--to-warehouse", metavar="PATH",
                   help="write this DuckDB file instead of the configured warehouse")
    s.add_argument("--yes", action="store_true", help="replace the target when it exists")
    s.set_defaults(func=cmd_rebuild)

    s = sub.add_parser("schema", help="print the warehouse data dictionary (no warehouse needed)")
    s.set_defaults(func=cmd_schema)

    from reports.cli import add_report_parser

    add_report_parser(sub)

    from extractors.news.cli import add_subcommand as add_extract_article

    add_extract_article(sub)

    from pipeline.topics_cli import add_topics_parser

    add_topics_parser(sub)
    for command in sub.choices.values():  # every sub-command, including the ones added elsewhere
        add_common_options(command, suppress=True)
    return p


#: Errors of the other config files (gazetteer, themes, sentiment model): the user fixes a file, so
#: they are reported like ConfigError. Matched by name so this module imports none of them.
_CONFIG_FILE_ERRORS = ("GazetteerError", "ThemesError", "SentimentModelError")


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        code = args.func(args)
    except (UserError, ConfigError) as exc:
        print_error(str(exc))
        code = USER_ERROR
    except ValueError as exc:
        if type(exc).__name__ not in _CONFIG_FILE_ERRORS:
            raise
        print_error(str(exc))
        code = USER_ERROR
    except RuntimeError as exc:  # the embedding model file or its tokenizer: say which, no traceback
        if type(exc).__name__ != "EmbeddingModelError":
            raise
        print_error(str(exc))
        code = USER_ERROR
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
