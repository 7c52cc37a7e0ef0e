"""Cross-run memory of the news extractor: feed validators (ETag/Last-Modified) and seen articles.

Why it lives under ``data_dir/state/news/`` (not in DuckDB): extract tasks never write the
warehouse (architecture.md). Why seen-sets record the *night*: a re-run of the same night must
produce the same documents (so it does not skip its own articles), while a later night skips an
article already collected, even when it is republished under a new GUID (same canonical URL) or
a new URL (same content fingerprint).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.jsonl import write_json


@dataclass
class NewsState:
    path: Path
    feeds: dict[str, dict[str, Any]] = field(default_factory=dict)
    urls: dict[str, dict[str, str]] = field(default_factory=dict)
    fingerprints: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, data_dir: Path) -> NewsState:
        path = data_dir / "state" / "news" / "state.json"
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError):
            # A corrupt state file only costs politeness (no 304s, re-fetches), never data.
            return cls(path)
        return cls(path, raw.get("feeds", {}), raw.get("urls", {}), raw.get("fingerprints", {}))

    def save(self) -> None:
        write_json(self.path, {"feeds": self.feeds, "urls": self.urls, "fingerprints": self.fingerprints})

    def seen_before(
        self, table: dict[str, dict[str, str]], key: str | None, night: str, doc_id: str | None = None
    ) -> bool:
        """True when ``key`` was collected on an *earlier* night (as a different doc, for fingerprints)."""
        if not key or key not in table:
            return False
        item = table[key]
        return item["night"] < night and (doc_id is None or item["doc_id"] != doc_id)

    def remember(self, table: dict[str, dict[str, str]], key: str | None, night: str, doc_id: str) -> None:
        if not key:
            return
        old = table.get(key)
        if old is None or night < old["night"]:
            table[key] = {"night": night, "doc_id": doc_id}
