"""argparse value types shared by every `pulse` sub-command, so each parses dates the same way."""

from __future__ import annotations

import argparse
from datetime import date


def iso_date(text: str) -> date:
    """YYYY-MM-DD, or a clear argparse error."""
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc
