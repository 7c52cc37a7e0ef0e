"""Raw landing: every payload is written, unchanged, before anything parses it.

Why: parsing improves over time; with the raw bytes kept we can re-parse history
(`pulse run --from-raw DATE`) without asking the sources again. One file per run, never
rewritten, so a landing is immutable once closed.
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common.config import Settings


class RawLanding:
    """Append-only gzipped JSONL writer for one source, night and run.

    ``ref()`` returns ``"<relative path>:<line>"`` for the record just written, which documents
    carry as ``raw_ref`` so every number can be traced back to the payload it came from.
    """

    def __init__(self, settings: Settings, source: str, night, run_id: str) -> None:
        directory = settings.raw_dir(source, night)
        directory.mkdir(parents=True, exist_ok=True)
        safe_run = "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)
        self.path = directory / f"{safe_run}.jsonl.gz"
        self._relative = self.path.relative_to(settings.data_dir).as_posix()
        if self.path.exists():
            # Same run id retried by Airflow: keep the earlier landing, write beside it.
            n = 1
            while (directory / f"{safe_run}.try{n}.jsonl.gz").exists():
                n += 1
            self.path = directory / f"{safe_run}.try{n}.jsonl.gz"
            self._relative = self.path.relative_to(settings.data_dir).as_posix()
        self._fh = gzip.open(self.path, "wt", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._lock = threading.Lock()
        self.lines = 0

    def write(self, record: dict[str, Any]) -> str:
        """Land one exchange; returns its raw_ref."""
        record = {"fetched_at": datetime.now(UTC).isoformat(), **record}
        with self._lock:
            # ensure_ascii: every character, lone surrogates (JSON "\ud800") and controls included,
            # becomes a plain-ASCII escape that json.loads turns back into the same str. With
            # ensure_ascii=False a lone surrogate raised UnicodeEncodeError and lost the whole page.
            self._fh.write(json.dumps(record, ensure_ascii=True, sort_keys=True) + "\n")
            self.lines += 1
            return f"{self._relative}:{self.lines}"

    def write_bytes(self, url: str, status: int, body: bytes, content_type: str | None, **extra: Any) -> str:
        """Land an HTTP body byte for byte (base64), e.g. a feed or an article page."""
        return self.write(
            {
                "url": url,
                "status": status,
                "content_type": content_type,
                "body_b64": base64.b64encode(body).decode("ascii"),
                **extra,
            }
        )

    def close(self) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.close()

    def __enter__(self) -> RawLanding:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_landing(path: Path):
    """Yield (line_number, record) from a landed file, for --from-raw re-processing."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if line.strip():
                yield n, json.loads(line)


def decode_body(record: dict[str, Any]) -> bytes:
    return base64.b64decode(record.get("body_b64") or b"")
