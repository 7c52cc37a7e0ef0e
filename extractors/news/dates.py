"""Date parsing for feeds and article pages: every result is a timezone-aware UTC datetime or None.

Why a module of its own: news dates arrive in every format people have ever typed (RFC 822 with
``EST``, ISO with offsets, ``2016/6/29``, two-digit years, no zone at all). One tolerant parser,
tested with Hypothesis, means the feed side and the page side cannot disagree about a date.
Zone-less values are taken as UTC (documented guess: feeds and CMSes overwhelmingly emit UTC or
carry an offset); anything that cannot be read, or lies outside a plausible range, gives None
rather than a made-up date.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

# US zone abbreviations still common in RSS (RFC 822 allows them) plus a few others.
_TZINFOS: dict[str, int] = {
    "UTC": 0,
    "UT": 0,
    "GMT": 0,
    "Z": 0,
    "EST": -5 * 3600,
    "EDT": -4 * 3600,
    "CST": -6 * 3600,
    "CDT": -5 * 3600,
    "MST": -7 * 3600,
    "MDT": -6 * 3600,
    "PST": -8 * 3600,
    "PDT": -7 * 3600,
    "BST": 3600,
    "CET": 3600,
    "CEST": 2 * 3600,
    "IST": 5 * 3600 + 1800,
    "JST": 9 * 3600,
    "AEST": 10 * 3600,
    "AEDT": 11 * 3600,
}
_MIN_YEAR = 1990
_URL_DATE = re.compile(
    r"/(?P<y>(?:19|20)\d{2})[/-](?P<m>0?[1-9]|1[0-2])(?:[/-](?P<d>0?[1-9]|[12]\d|3[01]))?(?=[/-]|$)"
)
_COMPACT_URL_DATE = re.compile(r"/(?P<y>(?:19|20)\d{2})(?P<m>0[1-9]|1[0-2])(?P<d>0[1-9]|[12]\d|3[01])/")


def _plausible(value: datetime, now: datetime | None = None) -> datetime | None:
    now = now or datetime.now(UTC)
    if value.year < _MIN_YEAR or value > now + timedelta(days=2):
        return None
    return value


def to_utc(value: datetime) -> datetime:
    """Aware datetimes are converted; naive ones are taken as UTC (see module docstring)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_date(value: str | None, *, now: datetime | None = None) -> datetime | None:
    """Parse a human or machine date string to aware UTC, or None when it cannot be trusted."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 100:
        return None
    # Fast path: ISO 8601 (JSON-LD, <time datetime>, Atom).
    iso = text.replace("Z", "+00:00") if text.endswith("Z") else text
    try:
        return _plausible(to_utc(datetime.fromisoformat(iso)), now)
    except ValueError:
        pass
    # RFC 822 / 2822 (RSS pubDate), including named zones.
    from email.utils import parsedate_to_datetime

    try:
        parsed = parsedate_to_datetime(text)
        if parsed is not None:
            tail = text.rsplit(None, 1)[-1].upper()
            if parsed.tzinfo is None and tail in _TZINFOS:
                parsed = parsed.replace(tzinfo=timezone(timedelta(seconds=_TZINFOS[tail])))
            return _plausible(to_utc(parsed), now)
    except (TypeError, ValueError, IndexError):
        pass
    from dateutil import parser as du

    try:
        parsed = du.parse(text, tzinfos=_TZINFOS, fuzzy=False)
    except (ValueError, OverflowError, TypeError, du.ParserError):
        return None
    return _plausible(to_utc(parsed), now)


def date_from_url(url: str | None) -> datetime | None:
    """``/2016/06/29/slug`` or ``/2016-6-29-slug`` style dates (midnight UTC); month-only gives day 1."""
    if not url:
        return None
    from urllib.parse import urlsplit

    path = urlsplit(url).path
    for pattern in (_URL_DATE, _COMPACT_URL_DATE):
        m = pattern.search(path)
        if m:
            try:
                found = datetime(int(m["y"]), int(m["m"]), int(m["d"] or 1), tzinfo=UTC)
            except ValueError:
                continue
            return _plausible(found)
    return None
