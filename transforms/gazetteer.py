"""The gazetteer: live-commerce entities we must never miss, as a versioned TOML file.

Why a gazetteer on top of statistical NER: en_core_web_sm has never heard of TalkShopLive or
Whatnot (and reads "Whatnot" as a pronoun-ish word), splits "TikTok Shop" differently from one
article to the next, and has no notion of "TSL" meaning TalkShopLive. A curated list gives those
entities a stable id, a kind and aliases, and the EntityRuler puts them in front of the NER so the
statistical model fills in only what the list does not know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.config import read_toml
from transforms.canonical import canonical_key

KINDS = frozenset(
    {"platform", "company", "person", "place", "brand", "regulator", "product", "organization", "media"}
)
_ID = re.compile(r"^[a-z]+/[a-z0-9][a-z0-9\-]*$")
_ACRONYM = re.compile(r"^[A-Z0-9.&\-]+$")


class GazetteerError(ValueError):
    """The gazetteer file is missing or malformed; the message says which entry and why."""


@dataclass(frozen=True)
class GazetteerEntry:
    id: str
    name: str
    label: str
    kind: str
    aliases: tuple[str, ...] = ()
    case_sensitive: bool = False

    @property
    def surfaces(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def to_entity(self) -> dict[str, Any]:
        return {
            "entity_id": self.id,
            "name": self.name,
            "label": self.label,
            "kind": self.kind,
            "aliases": list(self.aliases),
            "origin": "gazetteer",
        }


@dataclass
class Gazetteer:
    version: str
    entries: list[GazetteerEntry]
    # Common given names (case as written): evidence that an NER span is a person, see nlp.py.
    given_names: frozenset[str] = frozenset()
    _by_id: dict[str, GazetteerEntry] = field(default_factory=dict, repr=False)
    _by_key: dict[str, GazetteerEntry] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for entry in self.entries:
            if entry.id in self._by_id:
                raise GazetteerError(f"duplicate gazetteer id {entry.id!r}")
            self._by_id[entry.id] = entry
        for entry in self.entries:
            for surface in entry.surfaces:
                key = canonical_key(surface)
                other = self._by_key.get(key)
                if other is not None and other.id != entry.id:
                    raise GazetteerError(
                        f"alias {surface!r} of {entry.id} collides with {other.id} (key {key!r})"
                    )
                self._by_key[key] = entry

    def get(self, entity_id: str) -> GazetteerEntry | None:
        return self._by_id.get(entity_id)

    def lookup(self, surface: str) -> GazetteerEntry | None:
        """The entry whose name or alias folds to the same key as ``surface`` (or None)."""
        return self._by_key.get(canonical_key(surface))

    def ruler_patterns(self, tokenize: Any) -> list[dict[str, Any]]:
        """EntityRuler token patterns, one per surface.

        ``tokenize`` is ``nlp.tokenizer`` (or anything returning tokens with ``.text``): patterns
        must be split exactly as the pipeline will split text ("U.S." stays one token, "TikTok's"
        becomes "TikTok" + "'s", so the possessive is outside the span). Acronyms and
        case-sensitive entries are token patterns on ORTH (so "US" never matches "us"); the rest are
        phrase patterns, which the ruler matches on LOWER with its much faster PhraseMatcher.
        """
        patterns: list[dict[str, Any]] = []
        for entry in self.entries:
            seen: set[tuple[str, ...]] = set()
            for surface in entry.surfaces:
                tokens = tuple(t.text for t in tokenize(surface))
                if not tokens or tokens in seen:
                    continue
                seen.add(tokens)
                exact = entry.case_sensitive or bool(_ACRONYM.match(surface.replace(" ", "")))
                if exact:
                    pattern: Any = [{"ORTH": t} for t in tokens]
                else:  # phrase pattern: the ruler's PhraseMatcher compares LOWER (fast)
                    pattern = surface
                patterns.append({"label": entry.label, "pattern": pattern, "id": entry.id})
        return patterns


def _entry(raw: dict[str, Any], index: int) -> GazetteerEntry:
    where = f"entity #{index + 1} ({raw.get('id', '?')})"
    unknown = set(raw) - {"id", "name", "label", "kind", "aliases", "case_sensitive"}
    if unknown:
        raise GazetteerError(f"{where}: unknown key(s) {sorted(unknown)}")
    for key in ("id", "name", "label", "kind"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise GazetteerError(f"{where}: {key!r} must be a non-empty string")
    if not _ID.match(raw["id"]):
        raise GazetteerError(f"{where}: id must look like 'kind/slug'")
    if raw["kind"] not in KINDS:
        raise GazetteerError(f"{where}: kind {raw['kind']!r} not in {sorted(KINDS)}")
    aliases = raw.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise GazetteerError(f"{where}: aliases must be a list of non-empty strings")
    return GazetteerEntry(
        id=raw["id"],
        name=raw["name"],
        label=raw["label"].upper(),
        kind=raw["kind"],
        aliases=tuple(aliases),
        case_sensitive=bool(raw.get("case_sensitive", False)),
    )


def load_gazetteer(path: Path) -> Gazetteer:
    """Parse and validate the gazetteer TOML; bad files raise GazetteerError naming the entry."""
    data = read_toml(path, GazetteerError, "gazetteer")
    raw_entries = data.get("entity", [])
    if not isinstance(raw_entries, list) or not raw_entries:
        raise GazetteerError(f"gazetteer {path} has no [[entity]] entries")
    names = data.get("given_names", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        raise GazetteerError(f"gazetteer {path}: given_names must be a list of non-empty strings")
    return Gazetteer(
        version=str(data.get("version", "unversioned")),
        entries=[_entry(e, i) for i, e in enumerate(raw_entries)],
        given_names=frozenset(n.strip() for n in names),
    )
