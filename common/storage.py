"""One storage interface (fsspec) for the state that passes between tasks and across nights.

Why "pull, run, push" around each stage rather than fsspec calls inside every stage: the stage
functions stay plain file code (tested, fast on one machine), and exactly one module knows that a
task may run on a worker whose disk no other task sees. Under ``[storage] url`` (an fsspec URL) a
task:

1. pulls what it reads into its own ``data_dir``: the night's ``work/<night>/`` and ``state/``
   (news feed state, watermarks), plus stage extras (earlier nights' ``validation.json`` for the
   volume check, the night's Parquet partitions for the load, the night's raw landing for
   ``--from-raw``). A pulled prefix is mirrored: a local
   file the store no longer has (e.g. a failure note a retry on another worker cleared) goes;
2. runs the stage on local files;
3. pushes what it changed (new or modified files under the shared roots) and deletes from the
   store what it deleted locally (a cleared failure note must not outlive its retry).

Two tasks of one night run in parallel only on disjoint files (the two extracts, the enrich
shards), so their pushes never collide. Without a URL nothing is copied: ``data_dir`` is the
store, as on one machine (``make demo``, ``pulse run``).

Credentials: fsspec's own (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_ENDPOINT_URL``
for s3fs, ``GOOGLE_APPLICATION_CREDENTIALS``, ...), never the config files.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from common.files import atomic_path

log = logging.getLogger(__name__)

#: Folders under data_dir whose changes a task pushes (the warehouse file itself never moves: it
#: stays with its single writer; ``pulse rebuild`` recreates it from the store).
SHARED_ROOTS = ("work", "raw", "state", "lake", "quality", "reports", "marts")
#: The lake's tables (warehouse.lake.TABLES; common imports nothing of ours, a test keeps them equal).
LAKE_TABLES = ("documents", "mentions", "entities", "document_topics")

_Stat = tuple[int, int]  # (mtime_ns, size)


class Store:
    """An fsspec filesystem rooted at a URL; paths are POSIX, relative to the root."""

    def __init__(self, url: str, **storage_options: Any) -> None:
        from fsspec.core import url_to_fs

        self.url = url.rstrip("/")
        self.fs, root = url_to_fs(self.url, **storage_options)
        self.root = root.rstrip("/")

    def remote(self, rel: str) -> str:
        return f"{self.root}/{rel.strip('/')}" if rel.strip("/") else self.root

    def list(self, prefix: str) -> list[str]:
        """Relative paths of the files under ``prefix`` (a folder), matching it (a glob) or, for a
        file's path, that file when it exists."""
        remote = self.remote(prefix)
        if any(ch in prefix for ch in "*?["):
            found = self.fs.glob(remote)
        elif self.fs.isdir(remote):
            found = self.fs.find(remote)
        else:
            found = [remote] if self.fs.isfile(remote) else []
        start = len(self.root) + 1 if self.root else 0
        return sorted(str(p)[start:] for p in found if not self.fs.isdir(p))

    def get(self, rel: str, local: Path) -> None:
        with atomic_path(local) as tmp:  # a reader of the local copy never sees half a file
            self.fs.get_file(self.remote(rel), str(tmp))

    def put(self, local: Path, rel: str) -> None:
        remote = self.remote(rel)
        self.fs.makedirs(self.fs._parent(remote), exist_ok=True)  # a no-op on object stores
        self.fs.put_file(str(local), remote)

    def delete(self, rel: str) -> None:
        if self.fs.exists(self.remote(rel)):
            self.fs.rm_file(self.remote(rel))


def open_store(url: str) -> Store:
    """The store for ``url``; ``storage_options`` from the Airflow connection named by
    ``PULSE_STORAGE_CONN_ID`` (its extra JSON) when set, else the filesystem's own environment."""
    options: dict[str, Any] = {}
    conn_id = os.environ.get("PULSE_STORAGE_CONN_ID")
    if conn_id:
        from airflow.sdk import Connection  # only inside a task, and only when asked for

        options = dict(Connection.get(conn_id).extra_dejson)
    return Store(url, **options)


@dataclass
class Staging:
    """What one task pulled and pushed (logged, and returned for tests)."""

    pulled: int = 0
    removed: int = 0
    pushed: int = 0
    deleted: int = 0
    before: dict[str, _Stat] = field(default_factory=dict)


def _local_files(data_dir: Path, roots: Iterable[str]) -> dict[str, _Stat]:
    out: dict[str, _Stat] = {}
    for root in roots:
        base = data_dir / root
        if not base.is_dir():
            continue
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                if name.startswith(".") and name.endswith(".tmp"):
                    continue  # another writer's temporary file
                path = Path(dirpath) / name
                st = path.stat()
                out[path.relative_to(data_dir).as_posix()] = (st.st_mtime_ns, st.st_size)
    return out


def stage_inputs(stage: str, night: date, from_raw: bool = False, trailing_nights: int = 0) -> list[str]:
    """What a stage reads that another task or night may have written (prefixes or globs)."""
    wanted = [f"work/{night.isoformat()}/", "state/"]
    if stage == "validate":
        wanted += [f"work/{(night - timedelta(days=back)).isoformat()}/validation.json"
                   for back in range(1, trailing_nights + 1)]
        wanted.append("quality/")  # the GX project (suites, results, Data Docs) and our quality page
    if stage == "load":  # the night's Parquet partitions (warehouse.lake.store_prefixes)
        n = night.isoformat()
        wanted += [f"lake/{t}/night={n}/" for t in LAKE_TABLES] + [f"lake/_manifest/night={n}.json"]
    if from_raw and stage.startswith("extract_"):
        wanted.append(f"raw/{stage.removeprefix('extract_')}/{night.isoformat()}/")
    return wanted


def pull(store: Store, data_dir: Path, wanted: Iterable[str]) -> tuple[int, int]:
    """Mirror ``wanted`` from the store into ``data_dir``; returns (files copied, local files removed)."""
    copied = removed = 0
    for prefix in wanted:
        remote = set(store.list(prefix))
        for rel in sorted(remote):
            store.get(rel, data_dir / rel)
            copied += 1
        if prefix.endswith("/"):  # a folder is mirrored; a single file or glob only copied
            local = _local_files(data_dir, [prefix.rstrip("/")])
            for rel in sorted(set(local) - remote):
                (data_dir / rel).unlink(missing_ok=True)
                removed += 1
    return copied, removed


def push(store: Store, data_dir: Path, before: dict[str, _Stat]) -> tuple[int, int]:
    """Upload files new or changed since ``before``; delete from the store what went locally."""
    after = _local_files(data_dir, SHARED_ROOTS)
    changed = sorted(rel for rel, stat in after.items() if before.get(rel) != stat)
    gone = sorted(set(before) - set(after))
    for rel in changed:
        store.put(data_dir / rel, rel)
    for rel in gone:
        store.delete(rel)
    return len(changed), len(gone)


@contextmanager
def staged(url: str, data_dir: Path, wanted: list[str]) -> Iterator[Staging]:
    """Pull ``wanted``, run the block, push the changes - also when the block fails, so a failure
    note and the source-run record of a failed extract reach the store for ``record_night``."""
    info = Staging()
    if not url:
        yield info
        return
    store = open_store(url)
    info.pulled, info.removed = pull(store, data_dir, wanted)
    info.before = _local_files(data_dir, SHARED_ROOTS)
    try:
        yield info
    finally:
        info.pushed, info.deleted = push(store, data_dir, info.before)
        log.info("storage %s: pulled %d file(s) (%d stale removed), pushed %d, deleted %d",
                 store.url, info.pulled, info.removed, info.pushed, info.deleted)
