"""JSON Lines helpers shared by every stage that hands data to the next through files.

Writes are atomic (:mod:`common.files`: temp file + rename) so a killed task never leaves a
half-written batch that a retry would then read as complete.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from common.files import atomic_path, write_atomic


def _open(path: Path, mode: str, gz: bool | None = None):
    if path.suffix == ".gz" if gz is None else gz:
        return gzip.open(path, mode + "t", encoding="utf-8")
    return open(path, mode, encoding="utf-8")


def dumps_line(row: Any) -> str:
    """One JSON line: readable UTF-8, or ASCII escapes when the row holds a lone surrogate.

    Why the fallback: a str with a lone surrogate cannot be encoded as UTF-8, and one such value
    must not make a whole batch unwritable (Documents are sanitised, but not every row is one).
    """
    line = json.dumps(row, ensure_ascii=False, sort_keys=True, default=str)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(row, ensure_ascii=True, sort_keys=True, default=str)
    return line


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows atomically (gzip when ``path`` ends in .gz); returns how many were written."""
    count = 0
    with atomic_path(path) as tmp, _open(tmp, "w", gz=path.suffix == ".gz") as fh:
        for row in rows:
            fh.write(dumps_line(row))
            fh.write("\n")
            count += 1
    return count


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with _open(path, "r") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def write_json(path: Path, obj: Any) -> None:
    """Atomic single-object JSON write (summaries, source-run records)."""
    write_atomic(path, json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True, default=str))


def read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)
