"""What one source did in one run: status, counts and per-URL errors.

Extract tasks write this as `work/<night>/<source>.source_run.json` (they never touch DuckDB,
which has a single writer); the load stage copies it into `ops.source_runs` and `ops.errors`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common.jsonl import read_json, write_json

STATUSES = ("ok", "partial", "failed", "skipped")


@dataclass
class SourceError:
    url: str | None
    stage: str  # e.g. "auth", "feed", "robots", "fetch", "parse", "listing", "comments"
    reason: str
    status_code: int | None = None


@dataclass
class SourceRun:
    source: str
    status: str = "ok"
    message: str = ""
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    finished_at: str | None = None
    n_documents: int = 0
    n_requests: int = 0
    raw_path: str | None = None
    errors: list[SourceError] = field(default_factory=list)

    def error(self, url: str | None, stage: str, reason: str, status_code: int | None = None) -> None:
        self.errors.append(SourceError(url, stage, reason, status_code))

    def finish(self, status: str | None = None, message: str | None = None) -> SourceRun:
        """Close the record. Without an explicit status: ok, or partial when any URL failed."""
        if status is None:
            status = "partial" if self.errors else "ok"
        if status not in STATUSES:
            raise ValueError(f"bad status {status!r}")
        self.status = status
        if message is not None:
            self.message = message
        self.finished_at = datetime.now(UTC).isoformat()
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceRun:
        errors = [SourceError(**e) for e in data.get("errors", [])]
        return cls(**{**data, "errors": errors})

    def save(self, work_dir: Path) -> Path:
        path = work_dir / f"{self.source}.source_run.json"
        write_json(path, self.to_dict())
        return path

    @classmethod
    def load(cls, path: Path) -> SourceRun:
        return cls.from_dict(read_json(path))


# Failures that another try cannot fix (bad credentials): the DAG fails these at once instead of
# spending its retries and their backoff on them.
PERMANENT_STAGES = frozenset({"auth"})


class SourceFailed(RuntimeError):
    """Raised by an extract task when its source produced nothing usable (after recording why)."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class StoredWatermarks:
    """What an extract found: per-key marks and where they came from (for the run message)."""

    marks: dict[str, datetime] = field(default_factory=dict)
    origin: str = "none"  # "warehouse", "published snapshot" or "none"
    detail: str = ""

    def describe(self) -> str:
        if self.origin == "none":
            return f"no watermarks ({self.detail}); backfill window" if self.detail else \
                "no watermarks; backfill window"
        return f"{len(self.marks)} watermark(s) from the {self.origin}"
