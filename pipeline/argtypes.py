"""argparse pieces shared by every `pulse` sub-command, so each parses dates, options and errors
the same way: one error style (``pulse: error: ...`` on stderr) and one exit code (2) for every
mistake a user can fix, whether argparse or a command finds it.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import NoReturn

#: Exit status of every user error (bad option, bad config, bad query, no warehouse): argparse's own.
USER_ERROR = 2


class UserError(Exception):
    """A problem the user can fix; printed as one ``pulse: error:`` line, exit status 2."""


def iso_date(text: str) -> date:
    """YYYY-MM-DD, or a clear argparse error."""
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def print_error(message: str) -> None:
    """The one error line every `pulse` command prints.

    Multi-line messages (DuckDB's parser errors add the query and a caret line) are folded into
    one line, so the error stays greppable and a script can take the last stderr line as the cause.
    """
    lines = [line.strip() for line in str(message).splitlines()]
    text = " ".join(line for line in lines if line and set(line) - {"^", " "})
    print(f"pulse: error: {text}", file=sys.stderr)


class PulseArgumentParser(argparse.ArgumentParser):
    """argparse with pulse's error line instead of the usage block plus "<prog>: error:".

    Why: a command's own errors (bad config, no warehouse) and argparse's (bad date, unknown
    option) should look alike, so scripts and people read one format. Sub-parsers inherit the class.
    """

    def error(self, message: str) -> NoReturn:
        print_error(f"{message} (see `{self.prog} --help`)")
        raise SystemExit(USER_ERROR)


def add_common_options(parser: argparse.ArgumentParser, suppress: bool = False) -> None:
    """``--config`` and ``-v/--verbose``, accepted before or after the sub-command.

    ``suppress`` is for sub-parsers: their defaults must not overwrite a value given before the
    sub-command (``pulse -v sql ...``), which argparse would otherwise do.
    """
    config_default = argparse.SUPPRESS if suppress else None
    verbose_default = argparse.SUPPRESS if suppress else False
    parser.add_argument("--config", metavar="FILE", default=config_default,
                        help="settings overlay TOML on config/pipeline.toml (else PULSE_CONFIG)")
    parser.add_argument("-v", "--verbose", action="store_true", default=verbose_default,
                        help="debug logging")


def package_version() -> str:
    """The installed distribution's version (what `pulse --version` prints)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("liveshop-pulse")
    except PackageNotFoundError:
        return "unknown (liveshop-pulse is not installed; run `pip install -e .`)"
