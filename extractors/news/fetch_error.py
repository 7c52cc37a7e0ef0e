"""The one error a news fetch raises, in a module of its own so that ``http`` (fetching) and
``robots`` (robots.txt rules) can both use it without importing each other."""

from __future__ import annotations


class FetchError(Exception):
    """A refused or failed fetch. ``stage`` is e.g. "refused", "robots", "fetch", "size"."""

    def __init__(self, url: str, stage: str, reason: str, status_code: int | None = None,
                 transient: bool = False) -> None:
        super().__init__(f"{stage}: {reason} ({url})")
        self.url = url
        self.stage = stage
        self.reason = reason
        self.status_code = status_code
        self.transient = transient  # a connection reset: worth another try in the same run
