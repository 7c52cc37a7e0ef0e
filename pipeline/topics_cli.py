"""`pulse topics {test,backfill,list}`: try, apply and list the saved queries of config/topics.toml.

Kept out of pipeline/cli.py (like reports/cli.py) so the topic commands own their options;
pipeline/cli.py needs only ``add_topics_parser(sub)``. Usage: ``pulse topics test QUERY | --topic
NAME [--limit N]``, ``pulse topics backfill [--topics FILE]``, ``pulse topics list [--topics FILE]``.
Also runnable alone: ``python -m pipeline.topics_cli test '"live shopping" NEAR/3 payout*'``.

Exit codes: 0 done; 2 a problem the user can fix (a query that does not parse, printed as one line
plus the query line and a caret; a malformed topics file; no warehouse; the warehouse locked by
the nightly load). Never a traceback for those.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from transforms.topics import TopicConfigError, TopicQueryError, format_query, load_topics


def _say_error(exc: Exception, origin: str | None = None) -> int:
    """One line (plus the query line and a caret for a query error) on stderr; exit code 2."""
    from common.cli_support import print_error

    where = f"{origin}: " if origin else ""
    print_error(f"topics: {where}{exc}")
    if isinstance(exc, TopicQueryError):
        print("\n".join("  " + line for line in exc.caret().split("\n")), file=sys.stderr)
    return 2


def _settings(args: argparse.Namespace) -> Any:
    from common.config import load_settings

    return load_settings(getattr(args, "config", None))


def _topics_path(args: argparse.Namespace, settings: Any) -> Path:
    return Path(args.topics) if getattr(args, "topics", None) else settings.config_file("topics.toml")


def topics_test(args: argparse.Namespace) -> int:
    """Parse QUERY, or take the saved ``--topic`` (refused with line/column before the warehouse is
    opened), then print how many warehouse documents match and the newest ``--limit`` with links."""
    from transforms.topics import parse_query

    settings = _settings(args)
    saved = getattr(args, "topic", None)
    if (args.query is None) == (saved is None):
        return _say_error(ValueError('give either a QUERY or --topic NAME (a saved topic)'))
    if saved is not None:
        path = _topics_path(args, settings)
        try:
            by_name = {t.name: t for t in load_topics(path)}
        except (TopicQueryError, TopicConfigError) as exc:
            return _say_error(exc, str(path))
        if saved not in by_name:
            return _say_error(ValueError(f"no topic named {saved!r} in {path} (topics: "
                                         f"{', '.join(by_name) or 'none'})"))
        node = by_name[saved].node
    else:
        try:
            node = parse_query(args.query)
        except TopicQueryError as exc:
            return _say_error(exc)
    from reports.newsletter import open_warehouse
    from reports.queries import ReportError
    from warehouse.topics import test_topic

    try:
        con = open_warehouse(settings.warehouse_path)
    except ReportError as exc:
        return _say_error(exc)
    try:
        result = test_topic(con, node, limit=args.limit)
    finally:
        con.close()
    print(f"query:   {result.canonical}")
    print(f"matches: {result.matched} of {result.scanned} documents")
    for s in result.samples:
        print(f"  {s['day'] or '?':<10}  {s['doc_id']}  {(s['title'] or '(no title)')[:90]}")
        if s["link"]:
            print(f"              {s['link']}")
    return 0


def topics_backfill(args: argparse.Namespace) -> int:
    """Re-tag every warehouse document with the current topics file (one transaction), print the
    counts per topic, and refresh the analysts' snapshot if one is published."""
    import duckdb

    from warehouse.db import connect, publish, published_path
    from warehouse.topics import backfill_topics

    settings = _settings(args)
    path = _topics_path(args, settings)
    try:
        topics = load_topics(path)
    except (TopicQueryError, TopicConfigError) as exc:
        return _say_error(exc, str(path))
    if not settings.warehouse_path.exists():
        return _say_error(FileNotFoundError(f"no warehouse at {settings.warehouse_path}: run the pipeline "
                                            "first"))
    try:
        con = connect(settings.warehouse_path)
    except duckdb.IOException as exc:
        return _say_error(RuntimeError(f"cannot open {settings.warehouse_path} for writing (is the "
                                       f"nightly load running?): {str(exc).splitlines()[0]}"))
    try:
        counts = backfill_topics(con, topics)
        if published_path(settings.warehouse_path).exists():
            publish(settings.warehouse_path, con)
    finally:
        con.close()
    width = max((len(n) for n in counts), default=5)
    for name, n in counts.items():
        print(f"{name:<{width}}  {n} documents")
    print(f"re-tagged with {len(topics)} topic(s) from {path}")
    return 0


def topics_list(args: argparse.Namespace) -> int:
    """Validate the topics file and print each topic with its query in canonical form (how the
    parser read it: implicit ANDs and precedence made explicit)."""
    settings = _settings(args)
    path = _topics_path(args, settings)
    try:
        topics = load_topics(path)
    except (TopicQueryError, TopicConfigError) as exc:
        return _say_error(exc, str(path))
    for t in topics:
        print(t.name + (f"  - {t.description}" if t.description else ""))
        print(f"    {format_query(t.node)}")
    print(f"{len(topics)} topic(s) in {path}")
    return 0


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `topics` sub-commands on ``parser``."""
    from common.cli_support import add_common_options

    sub = parser.add_subparsers(dest="topics_command", required=True)
    # The same --config / -v as every pulse command; SUPPRESS (suppress=True) so a nested default
    # never overwrites a value given before the sub-command.
    common = argparse.ArgumentParser(add_help=False)
    add_common_options(common, suppress=True)

    s = sub.add_parser("test", parents=[common], help="count warehouse documents a query matches, "
                                                      "with samples")
    s.add_argument("query", nargs="?", help="a topic query, e.g. '\"live shopping\" NEAR/3 payout*'")
    s.add_argument("--topic", metavar="NAME", help="test a saved topic instead of a QUERY")
    s.add_argument("--topics", help="topics file for --topic (default config/topics.toml)")
    s.add_argument("--limit", type=_count, default=5, help="samples to show (default 5)")
    s.set_defaults(func=topics_test)

    s = sub.add_parser("backfill", parents=[common], help="re-tag all warehouse documents after a "
                                                          "query changed")
    s.add_argument("--topics", help="topics file (default config/topics.toml)")
    s.set_defaults(func=topics_backfill)

    s = sub.add_parser("list", parents=[common], help="validate and print the saved topics")
    s.add_argument("--topics", help="topics file (default config/topics.toml)")
    s.set_defaults(func=topics_list)


def add_topics_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register `topics` on the `pulse` sub-parsers; each sub-command sets ``args.func``."""
    parser = subparsers.add_parser("topics", help="saved boolean queries: test, backfill, list")
    add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pulse topics", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    from common.config import ConfigError

    try:
        return args.func(args)
    except ConfigError as exc:
        return _say_error(exc)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
