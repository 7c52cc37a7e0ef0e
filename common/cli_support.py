"""CLI pieces shared by every `pulse` sub-command, wherever it is defined (pipeline, reports,
extractors), so each parses dates, options and errors the same way: one error style
(``pulse: error: ...`` on stderr) and one exit code (2) for every mistake a user can fix, whether
argparse or a command finds it; status notes on stderr; one rule for which warehouse an analyst
command reads.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path
from typing import NoReturn

from common.config import Settings, load_settings

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


def note(message: str) -> None:
    """A one-line status message on stderr (stdout stays the command's data)."""
    print(f"pulse: {message}", file=sys.stderr, flush=True)


def shown(path: Path) -> str:
    """A path as typed from the current directory when it is inside it (shorter, copy-pasteable)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def analyst_settings(config: str | None = None) -> Settings:
    """Settings whose warehouse exists, preferring the configured one.

    Why the demo fallback: after `make demo` a newcomer's next command is `pulse sql ...` or
    `pulse report`, with no environment set; the real warehouse does not exist yet, the demo's does.
    Only when nothing chose a config (no --config, PULSE_CONFIG or PULSE_DATA_DIR), so an operator
    who did choose one gets an error rather than demo data.
    """
    settings = load_settings(config)
    if settings.warehouse_path.exists():
        return settings
    chosen = config or os.environ.get("PULSE_CONFIG") or os.environ.get("PULSE_DATA_DIR")
    demo_config = settings.config_dir / "demo.toml"
    if not chosen and demo_config.is_file():
        demo = load_settings(demo_config)
        if demo.warehouse_path.exists():
            note(f"using the demo warehouse {shown(demo.warehouse_path)} (no real run yet); "
                 "set PULSE_CONFIG or --config to choose")
            return demo
    raise UserError(f"no warehouse at {shown(settings.warehouse_path)}: run `make demo` (then pulse "
                    "reads the demo's) or `pulse run` first, or choose one with --config / PULSE_CONFIG")
