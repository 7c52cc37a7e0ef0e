"""robots.txt, per host, cached for the run.

Why these rules (RFC 9309 and issue 4): 2xx -> parse; 4xx (404, 410, 403...) -> no rules, allow;
5xx or a network failure -> the site is treated as fully disallowed for this run, because we
cannot tell what the operator wants. Crawl-delay for our agent is honoured by the fetcher.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

from common.config import NewsSettings
from extractors.news.fetch_error import FetchError


class RobotsCache:
    def __init__(self, settings: NewsSettings, fetch: Callable[[str], Any]) -> None:
        self.settings = settings
        self._fetch = fetch
        self._cache: dict[str, tuple[RobotFileParser | None, str | None]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def robots_url(url: str) -> str:
        parts = urlsplit(url)
        return urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))

    def _load(self, url: str) -> tuple[RobotFileParser | None, str | None]:
        """(parser, None) when rules apply or allow all; (None, reason) when the site is disallowed."""
        key = self.robots_url(url)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        try:
            result = self._fetch(key)
            status = result.status
            if 200 <= status < 300:
                parser = RobotFileParser(key)
                parser.parse(result.body.decode("utf-8", "replace").splitlines())
                entry: tuple[RobotFileParser | None, str | None] = (parser, None)
            elif 400 <= status < 500:
                parser = RobotFileParser(key)
                parser.parse([])  # no rules: everything allowed
                entry = (parser, None)
            else:
                entry = (None, f"robots.txt answered HTTP {status}: site treated as disallowed")
        except FetchError as exc:
            entry = (None, f"robots.txt unavailable ({exc.reason}): site treated as disallowed")
        with self._lock:
            self._cache[key] = entry
        return entry

    def check(self, url: str) -> None:
        """Raise FetchError(stage="robots") when robots.txt forbids ``url`` for our User-Agent."""
        parser, reason = self._load(url)
        if parser is None:
            raise FetchError(url, "robots", reason or "disallowed")
        if not parser.can_fetch(self.settings.user_agent, url):
            raise FetchError(url, "robots", "disallowed by robots.txt")

    def crawl_delay(self, url: str) -> float | None:
        parser, _ = self._load(url)
        if parser is None:
            return None
        delay = parser.crawl_delay(self.settings.user_agent)
        return float(delay) if delay is not None else None
