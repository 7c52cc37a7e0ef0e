"""RSS/Atom parsing from bytes, refusing DTDs and entity declarations before feedparser sees them.

Why refuse rather than "parse safely": a feed has no legitimate need for a DTD, and refusing up
front makes billion-laughs and XXE (``<!ENTITY x SYSTEM "file:///etc/passwd">``) inert whatever
parser sits underneath. A malformed feed (feedparser's ``bozo``) still yields the entries that can
be trusted (http(s) link present), plus a warning for the run record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin

from extractors.news.dates import parse_date

_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.I)
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z]")


class FeedRefused(ValueError):
    """The feed declares a DTD or entities, or is not a feed at all."""


@dataclass
class FeedEntry:
    link: str
    title: str | None = None
    guid: str | None = None
    published: datetime | None = None
    summary: str | None = None
    authors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "link": self.link,
            "title": self.title,
            "guid": self.guid,
            "summary": self.summary,
            "published": self.published.isoformat() if self.published else None,
            "authors": self.authors,
        }


@dataclass
class ParsedFeed:
    title: str | None
    entries: list[FeedEntry]
    warnings: list[str] = field(default_factory=list)


def refuse_dtd(body: bytes) -> None:
    """Raise FeedRefused when the document declares a DTD or entities (checked in the prolog)."""
    import defusedxml.ElementTree as DET
    from defusedxml import DefusedXmlException

    try:
        DET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        return
    except DefusedXmlException as exc:
        raise FeedRefused(
            f"feed declares a DTD or entities ({type(exc).__name__}); refused unparsed"
        ) from exc
    except Exception:  # noqa: BLE001 - malformed XML: fall back to scanning the prolog ourselves
        pass
    first = _FIRST_ELEMENT.search(body)
    prolog = body[: first.start()] if first else body
    if _DTD.search(prolog) or _DTD.search(body[:4096]):
        raise FeedRefused("feed declares a DTD or entities; refused unparsed")


def parse_feed(body: bytes, base_url: str) -> ParsedFeed:
    """Parse feed bytes. Raises FeedRefused for DTDs or for bytes that hold no feed at all."""
    import feedparser

    refuse_dtd(body)
    parsed = feedparser.parse(body, sanitize_html=True, resolve_relative_uris=True)
    warnings: list[str] = []
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        warnings.append(f"malformed feed ({type(exc).__name__}: {str(exc)[:160]})")
    version = parsed.get("version") or ""
    if not parsed.entries and not version:
        raise FeedRefused("not an RSS/Atom feed: " + (warnings[0] if warnings else "no feed elements"))
    entries: list[FeedEntry] = []
    dropped = 0
    for item in parsed.entries:
        link = item.get("link") or ""
        if not link and isinstance(item.get("id"), str) and item["id"].startswith("http"):
            link = item["id"]
        link = urljoin(base_url, link.strip()) if link else ""
        if not link.lower().startswith(("http://", "https://")):
            dropped += 1
            continue
        published = None
        for key in ("published", "updated", "created"):
            published = parse_date(item.get(key))
            if published:
                break
        if published is None:
            for key in ("published_parsed", "updated_parsed"):
                st = item.get(key)
                if st:
                    try:
                        published = datetime(*st[:6], tzinfo=UTC)
                    except (TypeError, ValueError):
                        published = None
                    if published:
                        break
        authors = [a.get("name") for a in item.get("authors", []) if isinstance(a, dict) and a.get("name")]
        if not authors and isinstance(item.get("author"), str):
            authors = [item["author"]]
        entries.append(
            FeedEntry(
                link=link,
                title=(item.get("title") or None),
                guid=(item.get("id") or None),
                published=published,
                summary=(item.get("summary") or None),
                authors=authors,
            )
        )
    if dropped:
        warnings.append(f"{dropped} entr{'y' if dropped == 1 else 'ies'} without an http(s) link skipped")
    return ParsedFeed(title=parsed.feed.get("title"), entries=entries, warnings=warnings)
