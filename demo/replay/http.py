"""Request/response types for the replay server's route handlers.

Handlers are plain functions ``(ReplayRequest) -> ReplayResponse | None`` (None: not mine), so
each fake upstream (Reddit API, news sites) is testable without sockets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class ReplayRequest:
    method: str
    target: str  # path plus query string, as sent
    headers: dict[str, str]
    body: bytes
    base_url: str  # e.g. http://127.0.0.1:8765, for absolute links in feeds and listings

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.target).query).items()}

    @property
    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode("utf-8", "replace")).items()}

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class ReplayResponse:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to sleep before answering: lets tests simulate a stalled upstream.
    delay_s: float = 0.0

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> ReplayResponse:
        return cls(
            status=status,
            body=json.dumps(obj).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=UTF-8", **(headers or {})},
        )

    @classmethod
    def text(cls, text: str, content_type: str, status: int = 200) -> ReplayResponse:
        return cls(status=status, body=text.encode("utf-8"), headers={"Content-Type": content_type})
