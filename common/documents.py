"""The document record: the unit that flows from extract to the warehouse.

Every extractor emits :class:`Document` objects; every later stage reads them back from JSONL.
Keeping the record in one place means the extractors, the enrichment, the quality suites and the
warehouse loader cannot drift apart on field names or types (see docs/architecture.md).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

SOURCES = ("reddit", "news")
KINDS = ("post", "comment", "article")

_WS = re.compile(r"\s+")
# Characters no title, body or author may carry into the warehouse or the reports: C0 controls but
# tab and newline, DEL and C1 controls, bidi embeddings/overrides (U+202A-202E) and isolates
# (U+2066-2069, "Trojan Source"-style reordering), and surrogates (in a str only lone ones remain:
# JSON "\ud800" or a bad decode). Carriage returns become newlines first.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: str | None) -> str | None:
    """``value`` without control, bidi-override or lone-surrogate characters (see ``_UNSAFE``).

    Why here: every extractor builds a Document, so sanitising at construction covers every source
    and ``--from-raw`` alike, while the raw landing keeps what the source sent. A lone surrogate
    becomes U+FFFD (something was there); the rest is dropped. Clean text is returned unchanged.
    """
    if not isinstance(value, str) or (not _UNSAFE.search(value) and "\r" not in value):
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _UNSAFE.sub("", _SURROGATE.sub("\ufffd", value))


def _clean_extra(value: Any) -> Any:
    """Strings inside ``extra`` (flair, link URLs, ...) cleaned the same way, keys included."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k) if isinstance(k, str) else k: _clean_extra(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_extra(v) for v in value]
    return value


def utc_iso(value: datetime) -> str:
    """ISO-8601 in UTC with an explicit offset: naive datetimes are refused, never guessed."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
    return value.astimezone(UTC).isoformat()


def parse_utc(value: str | None) -> datetime | None:
    """Inverse of :func:`utc_iso`."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"naive timestamp {value!r}")
    return parsed.astimezone(UTC)


def content_hash(*parts: str | None) -> str:
    """Fingerprint of normalised text, used to spot the same content under a new id or URL."""
    text = " ".join(_WS.sub(" ", p).strip().lower() for p in parts if p)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(slots=True)
class Document:
    """One post, comment or article, as the design's data contract describes it.

    ``body`` is ``None`` (and ``is_deleted`` true) for a tombstone: a deleted or removed item is
    kept so threads stay intact, but never with placeholder text such as ``[deleted]``.
    Timestamps are ISO-8601 strings in UTC so the record round-trips through JSON unchanged.
    """

    doc_id: str
    source: str
    kind: str
    channel: str
    url: str | None
    title: str | None
    body: str | None
    author: str | None
    published_at: str
    fetched_at: str
    logical_date: str
    run_id: str
    raw_ref: str
    canonical_url: str | None = None
    parent_id: str | None = None
    score: int | None = None
    num_comments: int | None = None
    language: str | None = None
    content_hash: str | None = None
    is_deleted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"unknown source {self.source!r}")
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}")
        for name in ("title", "body", "author", "channel", "url", "canonical_url", "parent_id"):
            setattr(self, name, clean_text(getattr(self, name)))
        if self.extra:
            self.extra = _clean_extra(self.extra)
        if self.content_hash is None:
            self.content_hash = content_hash(self.title, self.body)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def text(self) -> str:
        """Title and body joined: what the NLP stage reads."""
        return "\n\n".join(p for p in (self.title, self.body) if p)
