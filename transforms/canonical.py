"""Canonicalisation and junk filtering of entity surfaces.

Why a module of its own: the same folding decides (a) whether a statistical-NER span is really a
gazetteer entity ("TikTok's" -> TikTok, "the U.S." -> United States), (b) the stable id of entities
the gazetteer does not know ("ner/org/acme-corp"), and (c) which spans are junk. If these three
disagreed, the same company would show up under two ids and the marts would split its mentions.
Pure functions, no spaCy import, so they are cheap to unit-test exhaustively.
"""

from __future__ import annotations

import re
import unicodedata

# Labels that are quantities or times, never "who/what is being talked about".
DROP_LABELS = frozenset({"DATE", "CARDINAL", "MONEY", "PERCENT", "TIME", "ORDINAL", "QUANTITY"})
# Labels kept from statistical NER; anything else (e.g. LANGUAGE) is dropped as noise.
KEEP_LABELS = frozenset(
    {"ORG", "PERSON", "GPE", "LOC", "PRODUCT", "NORP", "EVENT", "FAC", "WORK_OF_ART", "LAW"}
)
KIND_BY_LABEL = {
    "ORG": "organization",
    "PERSON": "person",
    "GPE": "place",
    "LOC": "place",
    "FAC": "place",
    "PRODUCT": "product",
    "NORP": "group",
    "EVENT": "event",
    "WORK_OF_ART": "work",
    "LAW": "law",
}

# Newsletter / web-page furniture that NER happily tags as ORG or PERSON.
BOILERPLATE = frozenset(
    {
        "subscribe", "subscribe now", "unsubscribe", "newsletter", "sign up", "sign in", "log in",
        "login", "read more", "click here", "advertisement", "sponsored", "share", "tweet",
        "follow us", "getty images", "getty", "shutterstock", "reuters photo", "ap photo",
        "photo", "image", "copyright", "all rights reserved", "privacy policy", "terms of service",
        "cookie policy", "cookies", "edit", "reply", "upvote", "downvote", "op", "tl;dr", "tldr",
        "eta", "imo", "imho", "lol", "lmao", "smh", "fyi", "dm", "dms", "pm", "ama", "edit2",
        "update", "related", "more", "home", "menu", "search", "contact us", "about us", "rss",
    }
)

_APOS = "'\u2019\u02bc`"
_POSSESSIVE = re.compile(rf"(?:[{_APOS}]s|(?<=s)[{_APOS}])$", re.IGNORECASE)
_LEADING_THE = re.compile(r"^the\s+", re.IGNORECASE)
_WS = re.compile(r"\s+")
_EDGE_PUNCT = "\"'\u2019\u2018\u201c\u201d`()[]{}<>,;:!?*_-|/\\#~"
_CONTRACTION = re.compile(rf"^(?:n[{_APOS}]t|[{_APOS}](?:s|re|ve|ll|d|m|t)|[{_APOS}])$", re.IGNORECASE)
_RUN_TOGETHER = re.compile(r"\s(?:and|or|vs\.?|versus)\s|,\s|\s/\s", re.IGNORECASE)
_NUMERIC = re.compile(r"^[\d\s.,:%$€£¥+\-/#]+$")
_URLISH = re.compile(r"(?:https?://|www\.|@\w|\.(?:com|net|org|io)\b/)", re.IGNORECASE)
_SLUG_STRIP = re.compile(r"[^a-z0-9]+")


def normalize_surface(text: str) -> str:
    """The display form of a mention: whitespace collapsed, edge punctuation, a leading "the" and a
    trailing possessive removed. Case is kept (it is folded only for keys)."""
    s = _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip()
    prev = None
    while s != prev:
        prev = s
        s = s.strip(_EDGE_PUNCT + " ")
        s = _POSSESSIVE.sub("", s).rstrip()
        s = _LEADING_THE.sub("", s)
    return s


def canonical_key(text: str) -> str:
    """Lookup key: the normalised surface, case-folded, accents and dots removed.

    "TikTok's", "the TIKTOK" and "tiktok" share a key; "U.S." and "US" share the key "us".
    """
    s = normalize_surface(text)
    s = unicodedata.normalize("NFKD", s)
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    s = s.casefold().replace(".", "")
    s = re.sub(r"[\-\u2010-\u2015]", " ", s)
    return _WS.sub(" ", s).strip()


def slugify(text: str) -> str:
    """ASCII slug for ids: "Acme Corp." -> "acme-corp"."""
    return _SLUG_STRIP.sub("-", canonical_key(text)).strip("-") or "unknown"


def ner_entity_id(label: str, name: str) -> str:
    """Stable id for an entity found only by statistical NER (architecture.md: Keys)."""
    return f"ner/{label.lower()}/{slugify(name)}"


def junk_reason(surface: str, label: str) -> str | None:
    """Why a statistical-NER span is not an entity worth storing, or None if it is fine.

    Only applied to NER spans: gazetteer hits are trusted (the gazetteer already decides about
    case, e.g. "Whatnot" vs "and whatnot").
    """
    if label in DROP_LABELS:
        return f"label {label} is a quantity/time"
    if label not in KEEP_LABELS:
        return f"label {label} not kept"
    raw = surface.strip()
    if _CONTRACTION.match(raw) or raw.lower().startswith(("n't", "n\u2019t")):
        return "contraction fragment"
    name = normalize_surface(raw)
    if len(name) < 2:
        return "too short"
    if "\n" in raw:
        return "spans a line break"
    if _NUMERIC.match(name):
        return "numeric"
    if not any(ch.isalpha() for ch in name):
        return "no letters"
    if not any(ch.isupper() for ch in name):
        return "lowercase word"
    if canonical_key(name) in BOILERPLATE:
        return "boilerplate"
    if _URLISH.search(name):
        return "url or handle"
    if _RUN_TOGETHER.search(name) and label != "WORK_OF_ART":
        return "several entities run together"
    if len(name.split()) > 6:
        return "too long"
    return None
