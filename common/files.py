"""The one way we write a file that another task, a retry or an analyst may read: atomically.

Why: a killed task must never leave a half-written batch, page or snapshot that a retry or a
reader would take as complete. Every writer goes through :func:`atomic_path` (write to a hidden
temporary name beside the target, then rename over it; on failure the temporary file goes).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: Path, mode: int | None = None) -> Iterator[Path]:
    """Yield a fresh temporary path beside ``path`` (not yet created, so a database engine can
    create it itself); when the block succeeds, set ``mode`` (e.g. 0o644 for files meant for other
    readers whatever the umask) and rename it over ``path``. On any error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # gone already after a successful rename


def write_atomic(path: Path, data: bytes | str, mode: int | None = None) -> None:
    """Write ``data`` (str as UTF-8) to ``path`` atomically."""
    with atomic_path(path, mode) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
