"""The lake: each night's accepted batch as Parquet, partitioned by night and shard.

Layout under ``data_dir`` (issue 14)::

    lake/<table>/night=<YYYY-MM-DD>/shard=<k>.parquet   table: documents, mentions, entities,
                                                                document_topics
    lake/_manifest/night=<YYYY-MM-DD>.json              written last: the night is complete

Why a lake at all: the warehouse file never leaves its single writer, so the typed batches in the
store are what ``pulse rebuild`` recreates a warehouse from, and ``load`` (the only warehouse
writer) reads Arrow/Parquet rather than parsing JSON rows.

Why the typing is DuckDB's ``read_json`` with the load's own column specs: the Parquet holds
exactly the values the load staged from JSONL before (same types, same NULLs for absent keys,
NaN kept, naive or unparseable timestamps kept as text), so the load's per-row isolation
(``warehouse.load._isolate_batch``) sees the same rows and quarantines a bad one alone, as it did;
the lake is the validated batch *before* that isolation, which is re-applied on every (re)load,
so a rebuild reaches the same outcome. A file DuckDB cannot read as typed is still a whole-file
error (:class:`LakeError`). Free-form values are stored as the load needs them: a document's
``extra`` as JSON text (cast back to JSON on read), ``themes`` and ``aliases`` as lists of strings.

Shards: ``work/<night>/enriched/plan.json`` (``{"shards": N, "assignment": {doc_id: k}}``, from
the enrich fan-out) places each document, with its mentions and topics, in ``shard=<k>``. A
doc_id the plan does not name, a NULL doc_id, an invalid assignment and a missing or unreadable
plan mean shard 0. Entities are not per document (one entity is mentioned across shards), so they
all go to ``shard=0``. Every shard ``0..N-1`` of the per-document tables is written, empty or not,
so a table always has a file and the layout follows the plan; a re-run with fewer shards removes
the night's stale shard files.

Why a manifest: each file is replaced atomically (``common.files.atomic_path``) but a night is
several files, so the manifest is removed first and written last. A night without one is
incomplete (a crash mid-write): the load rewrites it from the JSONL, a rebuild skips it. It also
carries a fingerprint (sha256) of the JSONL and plan the partitions came from, so a load after a
re-enrich (new JSONL, old partitions) rewrites them instead of loading stale data.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.context import RunContext
from common.files import atomic_path

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

LAKE_DIR = "lake"
MANIFEST_DIR = "_manifest"
#: Bump when a schema below changes: manifests of another version count as stale (rewritten).
LAKE_VERSION = 1
TABLES = ("documents", "mentions", "entities", "document_topics")
#: The enriched files a night needs; document_topics.jsonl is optional (batches enriched before
#: topics existed have none: the table is then empty).
REQUIRED = ("documents", "mentions", "entities")
PLAN_FILE = "plan.json"

# The columns and DuckDB types the load stages (and read_json reads) - the one definition; the
# Parquet schemas below are derived from them, so the two cannot drift apart.
DOC_COLUMNS: dict[str, str] = {
    "doc_id": "VARCHAR", "source": "VARCHAR", "kind": "VARCHAR", "channel": "VARCHAR",
    "url": "VARCHAR", "canonical_url": "VARCHAR", "parent_id": "VARCHAR", "title": "VARCHAR",
    "body": "VARCHAR", "author": "VARCHAR", "published_at": "VARCHAR", "fetched_at": "VARCHAR",
    "logical_date": "VARCHAR", "run_id": "VARCHAR", "raw_ref": "VARCHAR", "score": "BIGINT",
    "num_comments": "BIGINT", "language": "VARCHAR", "content_hash": "VARCHAR",
    "is_deleted": "BOOLEAN", "extra": "JSON", "sentiment": "DOUBLE", "themes": "VARCHAR[]",
    "relevance": "DOUBLE", "on_topic": "BOOLEAN",
}
MENTION_COLUMNS: dict[str, str] = {
    "doc_id": "VARCHAR", "entity_id": "VARCHAR", "sentence_idx": "INTEGER", "start_char": "INTEGER",
    "end_char": "INTEGER", "surface": "VARCHAR", "sentence": "VARCHAR", "sentiment": "DOUBLE",
}
ENTITY_COLUMNS: dict[str, str] = {
    "entity_id": "VARCHAR", "name": "VARCHAR", "label": "VARCHAR", "kind": "VARCHAR",
    "aliases": "VARCHAR[]", "origin": "VARCHAR",
}
TOPIC_COLUMNS: dict[str, str] = {"doc_id": "VARCHAR", "topic": "VARCHAR"}
COLUMNS: dict[str, dict[str, str]] = {"documents": DOC_COLUMNS, "mentions": MENTION_COLUMNS,
                                      "entities": ENTITY_COLUMNS, "document_topics": TOPIC_COLUMNS}


class LakeError(RuntimeError):
    """The night's partitions could not be written or read (a whole-file problem); nothing of the
    night's previous partitions was removed unless a new complete set replaced them."""


def arrow_type(duck_type: str) -> pa.DataType:
    """The Parquet (Arrow) type a load column is stored as; JSON is stored as its text."""
    import pyarrow as pa

    types = {"VARCHAR": pa.string(), "JSON": pa.string(), "BIGINT": pa.int64(), "INTEGER": pa.int32(),
             "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_(), "VARCHAR[]": pa.list_(pa.string())}
    return types[duck_type]


def schema(table: str) -> pa.Schema:
    """The explicit Arrow schema of a lake table (every field nullable: hostile rows may lack keys,
    and the load, not the lake, decides what a NULL key means)."""
    import pyarrow as pa

    return pa.schema([pa.field(name, arrow_type(typ), nullable=True) for name, typ in COLUMNS[table].items()])


# --- paths ----------------------------------------------------------------------------------
def lake_root(data_dir: Path) -> Path:
    return Path(data_dir) / LAKE_DIR


def partition_dir(data_dir: Path, table: str, night: date) -> Path:
    return lake_root(data_dir) / table / f"night={night.isoformat()}"


def manifest_path(data_dir: Path, night: date) -> Path:
    return lake_root(data_dir) / MANIFEST_DIR / f"night={night.isoformat()}.json"


def store_prefixes(night: date) -> list[str]:
    """The store paths of one night's partitions (for a task that pulls only that night)."""
    n = night.isoformat()
    return [f"{LAKE_DIR}/{t}/night={n}/" for t in TABLES] + [f"{LAKE_DIR}/{MANIFEST_DIR}/night={n}.json"]


def read_manifest(data_dir: Path, night: date) -> dict[str, Any] | None:
    """The night's manifest, or None when the night has no complete partitions (or an unreadable
    manifest: treated as incomplete, never trusted)."""
    path = manifest_path(data_dir, night)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("lake: ignoring unreadable manifest %s: %s", path, exc)
        return None
    return data if isinstance(data, dict) and data.get("night") == night.isoformat() else None


def nights(data_dir: Path) -> tuple[list[date], list[date]]:
    """(complete nights, incomplete nights) in the lake, each in night order.

    Complete: a manifest of this lake version whose files are all present. Incomplete:
    documents partitions without one (a write that crashed, or a copy that lost files).
    """
    root = lake_root(data_dir)
    complete = set()
    for path in (root / MANIFEST_DIR).glob("night=*.json"):
        night = _night_of(path.name.removesuffix(".json"))
        if night is not None and has_night(data_dir, night):
            complete.add(night)
    partial = {n for p in (root / "documents").glob("night=*") if (n := _night_of(p.name)) is not None}
    return sorted(complete), sorted(partial - complete)


def _night_of(name: str) -> date | None:
    try:
        return date.fromisoformat(name.removeprefix("night="))
    except ValueError:
        return None


# --- writing --------------------------------------------------------------------------------
def fingerprint(enriched: Path) -> str:
    """sha256 over the enriched files and the plan (absent ones included as absent) and the lake
    version: equal fingerprints mean the partitions were written from exactly these inputs."""
    digest = hashlib.sha256(f"lake-v{LAKE_VERSION}".encode())
    for name in (*(f"{t}.jsonl" for t in TABLES), PLAN_FILE):
        path = enriched / name
        digest.update(f"\0{name}\0".encode())
        try:
            with open(path, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
        except FileNotFoundError:
            digest.update(b"\0absent")
    return digest.hexdigest()


def read_plan(enriched: Path) -> tuple[int, dict[str, int]]:
    """(number of shards, {doc_id: shard}) from ``plan.json``; (1, {}) when it is missing or
    unreadable. An assignment that is not an int in 0..N-1 is left out (the document: shard 0)."""
    path = enriched / PLAN_FILE
    if not path.is_file():
        return 1, {}
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
        shards = plan.get("shards", 1)
        assignment = plan.get("assignment") or {}
        if not isinstance(shards, int) or isinstance(shards, bool) or shards < 1 \
                or not isinstance(assignment, dict):
            raise ValueError(f"shards {shards!r}, assignment of type {type(assignment).__name__}")
    except (OSError, ValueError, AttributeError) as exc:
        log.warning("lake: %s unusable (%s); every row goes to shard 0", path, exc)
        return 1, {}
    good = {str(k): v for k, v in assignment.items()
            if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < shards}
    if len(good) < len(assignment):
        log.warning("lake: %s: %d assignment(s) outside 0..%d; those documents go to shard 0",
                    path, len(assignment) - len(good), shards - 1)
    return shards, good


def _read_table(con: Any, path: Path, table: str) -> pa.Table:
    """The JSONL file typed exactly as the load staged it (``read_json`` with its column spec)."""
    import duckdb

    columns = COLUMNS[table]
    spec = ", ".join(f"'{name}': '{typ}'" for name, typ in columns.items())
    select = ", ".join(f'CAST("{n}" AS VARCHAR) AS "{n}"' if t == "JSON" else f'"{n}"'
                       for n, t in columns.items())
    try:
        if not path.is_file():  # only document_topics may be absent (REQUIRED is checked first)
            return schema(table).empty_table()
        rel = con.sql(f"SELECT {select} FROM read_json(?, format = 'newline_delimited', "
                      f"columns = {{{spec}}}, maximum_object_size = 67108864)", params=[str(path)])
        return rel.to_arrow_table().cast(schema(table))
    except duckdb.Error as exc:
        raise LakeError(f"cannot read {path}: {exc}") from exc


def write_night(ctx: RunContext) -> dict[str, Any]:
    """Write the night's enriched batch (``work/<night>/enriched/*.jsonl``) as its lake partitions.

    Called after a successful validate (the batch is the accepted one) and, when the night has no
    current partitions, by the load itself. Everything is read and typed before any file is
    touched, so an unreadable batch leaves the previous partitions as they were. Returns counts
    per table, the number of shards and the files written (relative to ``data_dir``).
    """
    import duckdb
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    data_dir, night = ctx.settings.data_dir, ctx.night
    enriched = ctx.work_dir / "enriched"
    missing = [str(enriched / f"{t}.jsonl") for t in REQUIRED if not (enriched / f"{t}.jsonl").is_file()]
    if missing:
        raise LakeError(f"night {night}: enriched batch incomplete, missing {', '.join(missing)} "
                        "(run the enrich stage first)")
    digest = fingerprint(enriched)
    shards, assignment = read_plan(enriched)
    con = duckdb.connect()
    try:
        tables = {t: _read_table(con, enriched / f"{t}.jsonl", t) for t in TABLES}
    finally:
        con.close()

    manifest_path(data_dir, night).unlink(missing_ok=True)  # incomplete until the new set is whole
    result: dict[str, Any] = {"night": night.isoformat(), "shards": shards, "files": []}
    listed: dict[str, dict[str, Any]] = {}
    for table, data in tables.items():
        if table == "entities":
            parts = {0: data}
        else:
            keys = pa.array([assignment.get(d, 0) if d is not None else 0
                             for d in data.column("doc_id").to_pylist()], pa.int32())
            parts = {k: data.filter(pc.equal(keys, k)) for k in range(shards)}
        folder = partition_dir(data_dir, table, night)
        written = []
        for k, part in parts.items():
            target = folder / f"shard={k}.parquet"
            with atomic_path(target, 0o644) as tmp:
                pq.write_table(part, tmp, compression="zstd")
            written.append(target.name)
        for stale in folder.glob("shard=*.parquet"):  # e.g. a re-run with fewer shards
            if stale.name not in written:
                stale.unlink(missing_ok=True)
        listed[table] = {"rows": data.num_rows, "files": written}
        result[table] = data.num_rows
        result["files"] += [(folder / name).relative_to(data_dir).as_posix() for name in written]

    from common.jsonl import write_json

    write_json(manifest_path(data_dir, night), {
        "lake_version": LAKE_VERSION, "night": night.isoformat(), "shards": shards,
        "fingerprint": digest, "written_at": datetime.now(UTC).isoformat(), "run_id": ctx.run_id,
        "tables": listed})
    result["manifest"] = manifest_path(data_dir, night).relative_to(data_dir).as_posix()
    log.info("lake: night %s written: %d documents, %d mentions in %d shard(s)", night,
             result["documents"], result["mentions"], shards)
    return result


def _complete_files(data_dir: Path, night: date,
                    manifest: dict[str, Any] | None) -> dict[str, list[Path]] | None:
    """The files the manifest lists per table when the manifest is of this lake version and every
    one of them is present; otherwise None (the night is incomplete)."""
    if manifest is None or manifest.get("lake_version") != LAKE_VERSION:
        return None
    try:
        files = {t: [partition_dir(data_dir, t, night) / str(name) for name in manifest["tables"][t]["files"]]
                 for t in TABLES}
    except (KeyError, TypeError):
        return None
    if any(not paths or not all(p.is_file() for p in paths) for paths in files.values()):
        return None
    return files


def ensure_night(ctx: RunContext, lake_only: bool = False) -> dict[str, list[Path]]:
    """The night's partition files per table (shard order), (re)written from the enriched JSONL
    first when they are missing, incomplete or were written from other inputs (a re-enrich since).

    With ``lake_only`` (a rebuild) the work directory is never consulted: the partitions must be
    complete as they are. Without enriched files (a task that pulled only the lake) a complete
    night is used as it is.
    """
    data_dir, night = ctx.settings.data_dir, ctx.night
    manifest = read_manifest(data_dir, night)
    files = _complete_files(data_dir, night, manifest)
    enriched = ctx.work_dir / "enriched"
    from_work = not lake_only and any((enriched / f"{t}.jsonl").is_file() for t in REQUIRED)
    if from_work and (files is None or (manifest or {}).get("fingerprint") != fingerprint(enriched)):
        write_night(ctx)
        files = _complete_files(data_dir, night, read_manifest(data_dir, night))
    if files is None:
        raise LakeError(f"night {night}: no complete lake partitions under {lake_root(data_dir)}"
                        + ("" if lake_only else f" and no enriched batch in {enriched} (run the enrich "
                                                "stage first)"))
    return files


def has_night(data_dir: Path, night: date) -> bool:
    """Whether the night has complete partitions of this lake version."""
    return _complete_files(data_dir, night, read_manifest(data_dir, night)) is not None
