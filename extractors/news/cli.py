"""``pulse extract-article FILE...``: one JSON object per file (JSONL) on stdout.

Why here and not in pipeline/cli.py: the command is a thin wrapper over the pure
:func:`extract_article`; pipeline/cli.py only needs to register it (see
:func:`add_subcommand`). A file that cannot be read gives a JSON line with an ``error`` key and a
non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from extractors.news.article import extract_article


def _read(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return data


def run(paths: Sequence[str | Path], out: TextIO | None = None) -> int:
    """Extract each file and print JSONL; returns 0, or 1 when any file could not be read."""
    out = out or sys.stdout
    status = 0
    for name in paths:
        path = Path(name)
        try:
            art = extract_article(_read(path))
            row = {"path": str(path), **{k: v for k, v in art.to_json().items()}}
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            row = {"path": str(path), "error": f"{type(exc).__name__}: {exc}"}
            status = 1
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return status


def add_subcommand(subparsers: argparse._SubParsersAction) -> None:
    """Register ``extract-article`` on pulse's argparse subparsers (call from pipeline/cli.py)."""
    p = subparsers.add_parser("extract-article", help="extract article fields from .html/.html.gz files")
    p.add_argument("files", nargs="+")
    p.set_defaults(func=lambda args: run(args.files))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pulse extract-article")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    return run(args.files)


if __name__ == "__main__":
    raise SystemExit(main())
