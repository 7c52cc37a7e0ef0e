"""Per-row isolation at validate: one bad row costs only its document, never the night (issue 12).

Why before the GX gate: the suites' row-level expectations are critical, so one malformed row (a
naive ``published_at``, a sentiment of 1.7 or NaN, a missing doc_id, a mention with
``end_char <= start_char``) used to quarantine the whole night. Here each such row is moved out
of ``work/<night>/enriched/*.jsonl`` into ``enriched/quarantine.jsonl`` (the file enrich already
writes, stage ``validate``, one row per outcome), and GX then judges what is left. What stays
batch-level and fails the night: an unreadable or missing file, a column missing from the whole
file (schema), too few documents once the bad ones are out, and the entities' key checks.

The rules (stated once, in the docs too):

- a *document* row breaking a row rule (types, required fields, source/kind, ISO-8601 with an
  offset, the window rule of :mod:`common.outcomes`, sentiment a finite number in -1..1, theme
  ids) is quarantined with its mentions and topics; rows sharing one doc_id are quarantined
  together, as one outcome whose ``record`` lists every copy (we cannot tell which is right);
- a document with *any* invalid mention row (types, null keys, offsets, sentiment, duplicate
  ``(doc_id, start_char)``, a mentioned entity that is rejected) is quarantined whole with its
  mentions, so its figures never half-load. The mentions are derived data: re-enriching the kept
  document recreates them;
- mention rows naming no document of the night (orphans) are rejected alone, one outcome per
  doc_id they name (``record = {"mentions": [...]}``); a mention without a doc_id is one outcome;
- an *entity* row with no id or name, or a label/kind outside the allowed sets, is rejected
  (``doc_id = "entity:<entity_id>"``) and the documents mentioning it are quarantined.

The same mover (:func:`move`) takes the GX backstop's failing keys (quality.validate), so a rule
only GX knows still costs only its rows.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from common.context import RunContext
from common.documents import KINDS, SOURCES
from common.jsonl import read_jsonl, write_jsonl
from common.outcomes import enrich_quarantine_path, quarantine_row, window_reason
from quality import frames as fr
from quality import suites as su
from quality.frames import hashable

STAGE = "validate"
_ISO = re.compile(su.ISO_UTC)
_LINE_KEY = re.compile(r"^<(?P<file>[\w.]+) line (?P<line>\d+)>$")
ENTITY_PREFIX = "entity:"


@dataclass
class EnrichedBatch:
    """The enriched files as (line number, row) pairs; ``readable`` is False when a file has
    unreadable lines or is missing: that is a batch-level failure, and isolation then leaves the
    files untouched (rewriting them would silently drop the unreadable lines)."""

    docs: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    mentions: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    entities: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    topics: list[tuple[int, dict[str, Any]]] | None = None
    readable: bool = True


def read_batch(ctx: RunContext) -> EnrichedBatch:
    enriched = ctx.work_dir / "enriched"
    batch = EnrichedBatch()
    for name in ("documents", "mentions", "entities", "document_topics"):
        path = enriched / f"{name}.jsonl"
        if name == "document_topics" and not path.exists():
            continue
        loaded = fr.load_jsonl(path)
        if loaded.problems:
            batch.readable = False
        pairs = list(zip(loaded.row_numbers, loaded.rows, strict=True))
        setattr(batch, {"documents": "docs", "document_topics": "topics"}.get(name, name), pairs)
    return batch


# ---------------------------------------------------------------- row rules
def _type_ok(value: Any, types: list[str]) -> bool:
    return value is None or type(value).__name__ in types


def _is_number(value: Any) -> bool:
    return type(value).__name__ in ("int", "float")


def _sentiment_problem(value: Any) -> str | None:
    if value is None:
        return None
    if not _is_number(value):
        return f"sentiment {value!r} is not a number"
    if not math.isfinite(value) or not -1 <= value <= 1:
        return f"sentiment {value!r} is not a finite number within -1..1"
    return None


def _timestamp_problem(column: str, value: Any) -> str | None:
    if value is None:
        return None  # the null rule names it
    if not isinstance(value, str) or not _ISO.match(value):
        return f"{column} {str(value)[:60]!r} is not ISO-8601 with a UTC offset"
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return f"{column} {value!r} is not a valid timestamp"
    if parsed.tzinfo is None:
        return f"{column} {value!r} has no UTC offset"
    return None


def document_problems(row: dict[str, Any], present: set[str], ctx: RunContext, now: datetime,
                      theme_ids: frozenset[str] | None) -> list[str]:
    """Why one document row cannot be loaded (empty when it can). Columns absent from the whole
    file (``present``) are left to the schema expectation: that is a batch problem."""
    problems: list[str] = []
    for column, types in su.DOCUMENT_TYPES.items():
        if column in present and not _type_ok(row.get(column), types):
            problems.append(f"{column} is a {type(row.get(column)).__name__}, not {' or '.join(types)}")
    for column in su.DOCUMENT_REQUIRED:
        if column in present and row.get(column) is None:
            problems.append(f"{column} is null")
    if "source" in present and row.get("source") is not None and row.get("source") not in SOURCES:
        problems.append(f"source {row.get('source')!r} is not one of {', '.join(SOURCES)}")
    if "kind" in present and row.get("kind") is not None and row.get("kind") not in KINDS:
        problems.append(f"kind {row.get('kind')!r} is not one of {', '.join(KINDS)}")
    for column in ("published_at", "fetched_at"):
        if column in present and (why := _timestamp_problem(column, row.get(column))):
            problems.append(why)
    if "published_at" in present and (why := window_reason(row.get("published_at"), ctx, now)):
        problems.append(why)
    if "sentiment" in present and (why := _sentiment_problem(row.get("sentiment"))):
        problems.append(why)
    themes = row.get("themes")
    if theme_ids is not None and isinstance(themes, list):
        odd = [t for t in themes if t not in theme_ids]
        if odd:
            problems.append(f"theme(s) {', '.join(map(repr, odd[:5]))} not in the themes file")
    return problems


def entity_problems(row: dict[str, Any], vocabulary: su.EntityVocabulary) -> list[str]:
    problems = []
    if not isinstance(row.get("name"), str) or not row.get("name"):
        problems.append("entity has no name")
    if row.get("label") not in vocabulary.labels:
        problems.append(f"label {row.get('label')!r} is not in the allowed set")
    if row.get("kind") not in vocabulary.kinds:
        problems.append(f"kind {row.get('kind')!r} is not in the allowed set")
    return problems


def mention_problems(row: dict[str, Any], present: set[str]) -> list[str]:
    problems: list[str] = []
    for column, types in su.MENTION_TYPES.items():
        if column in present and not _type_ok(row.get(column), types):
            problems.append(f"{column} is a {type(row.get(column)).__name__}, not {' or '.join(types)}")
    for column in ("entity_id", "start_char", "end_char"):
        if row.get(column) is None:
            problems.append(f"{column} is null")
    start, end = row.get("start_char"), row.get("end_char")
    if type(start) is int and start < 0:
        problems.append(f"start_char {start} is negative")
    if type(start) is int and type(end) is int and not start < end:
        problems.append(f"start_char {start} is not below end_char {end}")
    if why := _sentiment_problem(row.get("sentiment")):
        problems.append(why)
    return problems


def find_bad_rows(ctx: RunContext, batch: EnrichedBatch, now: datetime, theme_ids: frozenset[str] | None,
                  vocabulary: su.EntityVocabulary) -> tuple[dict[str, str], dict[str, str]]:
    """(failing document keys -> reason, rejected entity keys -> reason), keyed like the GX
    backstop's ``failing_doc_ids``: a doc_id, or ``"<file line N>"`` for a row without one."""
    failing: dict[str, str] = {}
    entities: dict[str, str] = {}

    def add(key: str, reason: str) -> None:
        failing[key] = f"{failing[key]}; {reason}" if key in failing else reason

    present = {k for _, r in batch.docs for k in r}
    by_id: dict[str, list[int]] = defaultdict(list)
    for line, row in batch.docs:
        doc_id = row.get("doc_id")
        if not isinstance(doc_id, str) or not doc_id:
            add(f"<documents.jsonl line {line}>", f"doc_id {doc_id!r} is missing or not a string")
            continue
        by_id[doc_id].append(line)
        for why in document_problems(row, present, ctx, now, theme_ids):
            add(doc_id, why)
    for doc_id, lines in by_id.items():
        if len(lines) > 1:
            add(doc_id, f"doc_id is not unique (documents.jsonl lines {', '.join(map(str, lines))})")

    for line, row in batch.entities:
        entity_id = row.get("entity_id")
        key = f"{ENTITY_PREFIX}{entity_id}" if isinstance(entity_id, str) and entity_id \
            else f"<entities.jsonl line {line}>"
        problems = ([] if key.startswith(ENTITY_PREFIX) else ["entity_id is missing or not a string"]) \
            + entity_problems(row, vocabulary)
        if problems:
            entities[key] = "; ".join(problems)
    rejected = {k.removeprefix(ENTITY_PREFIX) for k in entities if k.startswith(ENTITY_PREFIX)}

    mention_present = {k for _, r in batch.mentions for k in r}
    seen: dict[tuple[str, Any], int] = {}
    for line, row in batch.mentions:
        doc_id = row.get("doc_id")
        if not isinstance(doc_id, str) or not doc_id:
            add(f"<mentions.jsonl line {line}>", "mention without a doc_id")
            continue
        if doc_id not in by_id:
            if doc_id not in failing:
                add(doc_id, "mention row(s) of a document not in the night's batch")
            continue
        problems = mention_problems(row, mention_present)
        if row.get("entity_id") in rejected:
            problems.append(f"mentions rejected entity {row.get('entity_id')!r} "
                            f"({entities[ENTITY_PREFIX + row['entity_id']]})")
        key = (doc_id, hashable(row.get("start_char")))
        if key in seen and row.get("start_char") is not None:
            problems.append(f"(doc_id, start_char) repeats mentions.jsonl line {seen[key]}")
        seen.setdefault(key, line)
        for why in problems:
            add(doc_id, f"mentions.jsonl line {line}: {why}")
    return failing, entities


# ---------------------------------------------------------------- moving rows out
@dataclass
class Moved:
    rows: list[dict[str, Any]] = field(default_factory=list)  # quarantine rows written
    unresolved: dict[str, str] = field(default_factory=dict)  # keys no row of the batch matches


def move(ctx: RunContext, batch: EnrichedBatch, failing: dict[str, str],
         entities: dict[str, str] | None = None) -> Moved:
    """Move the rows named by ``failing`` (and rejected ``entities``) to enriched/quarantine.jsonl.

    A document key takes the document (every copy), its mentions and topics; a key naming no
    document takes the mention rows naming it (orphans); a line key takes that one row. Keys a
    previous run of this stage already moved (in quarantine.jsonl) are resolved; anything else
    is returned as unresolved for the caller to fail the batch on. The quarantine file is
    written before the batch files, so a crash in between only repeats outcomes (load keys them).
    """
    entities = entities or {}
    out = Moved()
    if not batch.readable or not (failing or entities):
        out.unresolved = dict(failing)
        return out
    qpath = enrich_quarantine_path(ctx.work_dir)
    existing = list(read_jsonl(qpath)) if qpath.is_file() else []
    # Documents that already have an outcome (enrich's, or this stage's on an earlier run).
    already = {r.get("doc_id") for r in existing if isinstance(r, dict) and r.get("doc_id")}
    kept_records = [r.get("record") for r in existing if isinstance(r, dict)]
    doc_ids = {r.get("doc_id") for _, r in batch.docs if isinstance(r.get("doc_id"), str)}
    drop_docs: set[int] = set()
    drop_mentions: set[int] = set()
    drop_entities: set[int] = set()
    gone: set[str] = set()  # doc_ids whose mentions/topics go with them
    done: set[str] = set()  # keys handled (a document named by two suites moves once)

    def reason_of(why: str) -> str:
        return why[:2000]

    for key, why in failing.items():
        m = _LINE_KEY.match(key)
        if m and m["file"].endswith(".documents.jsonl") and m["file"] != "documents.jsonl":
            # A row of a source's extract file (GX's raw_<source>_documents suite): the same
            # document in the enriched batch is what gets moved; a row with no usable doc_id
            # is resolved when an earlier stage already kept it (enrich's unreadable rows).
            row = _source_row(ctx, m["file"], int(m["line"]))
            doc_id = row.get("doc_id") if isinstance(row, dict) else None
            if isinstance(doc_id, str) and doc_id and (doc_id in doc_ids or doc_id in already):
                key = doc_id
                m = None
            elif row is not None and row in kept_records:
                continue
        if key in done:
            continue
        done.add(key)
        if m and m["file"] in ("documents.jsonl", "mentions.jsonl"):
            rows = batch.docs if m["file"] == "documents.jsonl" else batch.mentions
            hit = [(n, r) for n, r in rows if n == int(m["line"])]
            if not hit:
                out.unresolved[key] = why
                continue
            (n, row), = hit
            if m["file"] == "documents.jsonl":
                drop_docs.add(n)
                if isinstance(row.get("doc_id"), str) and row["doc_id"]:
                    gone.add(row["doc_id"])
                out.rows.append(quarantine_row(row.get("doc_id"), row.get("source"), row.get("url"), STAGE,
                                               reason_of(why), row))
            else:
                drop_mentions.add(n)
                out.rows.append(quarantine_row(None, None, None, STAGE, reason_of(why), {"mentions": [row]}))
        elif key in doc_ids:
            copies = [(n, r) for n, r in batch.docs if r.get("doc_id") == key]
            drop_docs.update(n for n, _ in copies)
            gone.add(key)
            record = copies[0][1] if len(copies) == 1 else [r for _, r in copies]
            first = copies[0][1]
            out.rows.append(quarantine_row(key, first.get("source"), first.get("url"), STAGE, reason_of(why),
                                           record))
        elif orphans := [(n, r) for n, r in batch.mentions if r.get("doc_id") == key]:
            drop_mentions.update(n for n, _ in orphans)
            out.rows.append(quarantine_row(key, None, None, STAGE, reason_of(why),
                                           {"mentions": [r for _, r in orphans]}))
        elif key not in already:
            out.unresolved[key] = why
    for key, why in entities.items():
        m = _LINE_KEY.match(key)
        hit = [(n, r) for n, r in batch.entities
               if (m and n == int(m["line"])) or (not m and f"{ENTITY_PREFIX}{r.get('entity_id')}" == key)]
        if not hit:
            continue
        drop_entities.update(n for n, _ in hit)
        out.rows.append(quarantine_row(None if m else key, None, None, STAGE, f"entity rejected: {why}",
                                       hit[0][1] if len(hit) == 1 else [r for _, r in hit]))
    if not out.rows:
        return out
    drop_mentions.update(n for n, r in batch.mentions if r.get("doc_id") in gone)
    write_jsonl(qpath, existing + out.rows)
    enriched = ctx.work_dir / "enriched"
    batch.docs = [(n, r) for n, r in batch.docs if n not in drop_docs]
    batch.mentions = [(n, r) for n, r in batch.mentions if n not in drop_mentions]
    batch.entities = [(n, r) for n, r in batch.entities if n not in drop_entities]
    write_jsonl(enriched / "documents.jsonl", (r for _, r in batch.docs))
    write_jsonl(enriched / "mentions.jsonl", (r for _, r in batch.mentions))
    write_jsonl(enriched / "entities.jsonl", (r for _, r in batch.entities))
    if batch.topics is not None:
        batch.topics = [(n, r) for n, r in batch.topics if r.get("doc_id") not in gone]
        write_jsonl(enriched / "document_topics.jsonl", (r for _, r in batch.topics))
    # Line numbers changed with the rewrite: re-read so a second move (the GX backstop) matches.
    fresh = read_batch(ctx)
    batch.docs, batch.mentions, batch.entities, batch.topics = (fresh.docs, fresh.mentions, fresh.entities,
                                                                fresh.topics)
    return out


def _source_row(ctx: RunContext, file_name: str, line: int) -> dict[str, Any] | None:
    loaded = fr.load_jsonl(ctx.work_dir / file_name)
    for number, row in zip(loaded.row_numbers, loaded.rows, strict=True):
        if number == line:
            return row
    return None


def isolate_night(ctx: RunContext, now: datetime, theme_ids: frozenset[str] | None,
                  vocabulary: su.EntityVocabulary) -> Moved:
    """Find the night's bad rows by the rules above and move them out (see :func:`move`)."""
    batch = read_batch(ctx)
    if not batch.readable:
        return Moved()
    failing, entities = find_bad_rows(ctx, batch, now, theme_ids, vocabulary)
    return move(ctx, batch, failing, entities)
