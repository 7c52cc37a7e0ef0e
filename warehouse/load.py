"""Load one night into the warehouse: raw -> core + ops, swapped in ONE transaction.

Why one transaction per night: the load deletes whatever the previous load of the same night
wrote and inserts the new batch, so re-running a night never duplicates rows, and a crash (even
``kill -9``) before COMMIT leaves the previous committed state intact: DuckDB's write-ahead log
discards the uncommitted transaction on the next open, and the rerun simply starts again.

Why per row (issue 12): by the time a batch reaches the load, validate has already moved bad
rows aside, so a row that still breaks a contract here (null keys, naive or unparseable
timestamps, sentiment outside -1..1 or NaN, mentions of unknown documents or entities) is set
aside alone: the document with its mentions and topics becomes one ``quarantine.documents`` row
(stage ``load``) and the rest of the night loads. :class:`LoadError` is kept for whole-file
problems (a missing or unreadable file, a value DuckDB cannot read as its column type, a
source-run record that cannot be read) and for database errors; it rolls the night back.
Within-batch duplicates of a natural key are tolerated: the latest version is kept and each drop
is recorded in ``ops.errors`` (stage ``load``).

Bulk path (issue 14): the night's batch is read as Parquet, from its lake partitions
(``warehouse.lake``: ``lake/<table>/night=<night>/shard=<k>.parquet``, written after validate),
by DuckDB's ``read_parquet`` straight into temp tables typed as before, and moved with set-based
SQL, never row-by-row from Python. A night without current partitions (older callers and tests
that only wrote the enriched JSONL, or a re-enrich since) gets them written first.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.context import RunContext
from common.outcomes import read_quarantine
from common.source_run import SourceRun
from warehouse.db import connect
from warehouse.lake import (
    DOC_COLUMNS,
    ENTITY_COLUMNS,
    MENTION_COLUMNS,
    REQUIRED,
    TOPIC_COLUMNS,
    LakeError,
    ensure_night,
    has_night,
)
from warehouse.watermarks import advance_from_work

if TYPE_CHECKING:
    import duckdb

ENRICHED_FILES = REQUIRED
# The column specs (DOC_COLUMNS, ...) live in warehouse.lake: the Parquet schemas derive from them.
# Enrichment outputs: core.documents has them, raw.documents (the extract as landed) does not.
ENRICHED_DOC_COLUMNS = ("sentiment", "themes", "relevance", "on_topic")
#: Entity kinds that are sources rather than subjects (a news outlet named in the text): their
#: mentions are kept in core.mentions, but they get no core.entity_sentiment row, which every
#: trend figure counts (marts, alerts, newsletter). Migration 011 applied this to rows loaded before.
SOURCE_KINDS = ("media",)
# ISO-8601 with an explicit offset: naive timestamps are refused, never guessed (documents.utc_iso).
_TZ_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$"


class LoadError(RuntimeError):
    """The night could not be loaded; the transaction was rolled back, nothing changed."""


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _connection(ctx: RunContext,
                con: duckdb.DuckDBPyConnection | None) -> Iterator[duckdb.DuckDBPyConnection]:
    if con is not None:
        yield con
        return
    own = connect(ctx.settings.warehouse_path)
    try:
        yield own
    finally:
        own.close()


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection, what: str) -> Iterator[None]:
    """BEGIN/COMMIT, or ROLLBACK and a LoadError that says nothing was changed."""
    import duckdb

    con.execute("BEGIN")
    try:
        yield
        con.execute("COMMIT")
    except BaseException as exc:
        con.execute("ROLLBACK")
        if isinstance(exc, LoadError):
            raise LoadError(f"{what} failed and was rolled back (previous data intact): {exc}") from exc
        if isinstance(exc, duckdb.Error):
            raise LoadError(f"{what} failed and was rolled back (previous data intact): "
                            f"{type(exc).__name__}: {exc}") from exc
        raise


def _stage_parquet(con: duckdb.DuckDBPyConnection, table: str, files: list[Path],
                   columns: dict[str, str]) -> None:
    """A temp table from the night's partition files, cast to the load's column types (JSON text
    back to JSON), so the rest of the load sees exactly what read_json staged before the lake."""
    import duckdb

    select = ", ".join(f'CAST("{name}" AS {typ}) AS "{name}"' for name, typ in columns.items())
    con.execute(f"DROP TABLE IF EXISTS {table}")
    try:
        con.execute(f"CREATE TEMP TABLE {table} AS SELECT {select} FROM read_parquet(?)",
                    [[str(f) for f in files]])
    except duckdb.Error as exc:
        raise LoadError(f"cannot read {files[0].parent}: {exc}") from exc


def _ids(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[str]:
    return [str(r[0]) for r in con.execute(sql, params or []).fetchall()]


# issue 12: per-row isolation at the load. Each rule names the rows breaking the load contract;
# a document breaking one (or with a mention breaking one) is set aside whole, with its mentions
# and topics, as one quarantine.documents row (stage "load"); the rest of the night loads. The
# validate stage's row rules (quality.isolation) catch the same things earlier, so these fire
# only for a batch that skipped validate or a rule validate cannot know (an entity that is
# neither in the batch nor in core.entities).
_DOC_RULES: tuple[tuple[str, str], ...] = (
    ("unknown source/kind", "source IS NULL OR source NOT IN ('reddit', 'news') "
                            "OR kind IS NULL OR kind NOT IN ('post', 'comment', 'article')"),
    *((f"missing, naive or unparseable {col}",
       f"{col} IS NULL OR NOT regexp_matches({col}, $tz) OR TRY_CAST({col} AS TIMESTAMPTZ) IS NULL")
      for col in ("published_at", "fetched_at")),
    ("sentiment outside -1..1", "sentiment NOT BETWEEN -1 AND 1 OR isnan(sentiment)"),
)
_MENTION_RULES: tuple[tuple[str, str], ...] = (
    ("mention without entity_id or start_char", "entity_id IS NULL OR start_char IS NULL"),
    ("mention of an unknown entity",
     "entity_id NOT IN (SELECT entity_id FROM b_entities UNION ALL SELECT entity_id FROM core.entities)"),
    ("mention with sentiment outside -1..1", "sentiment NOT BETWEEN -1 AND 1 OR isnan(sentiment)"),
    ("mention with start_char < 0 or end_char <= start_char",
     "start_char < 0 OR end_char IS NULL OR end_char <= start_char"),
)


def _isolate_batch(con: duckdb.DuckDBPyConnection) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Move the rows breaking the load contract out of the staged tables, one outcome each.

    Returns (quarantine rows in common.outcomes' format, ops.errors rejections for topic rows).
    The rows go in the order: entities (no id or name), documents (no id; then the rules above),
    mentions (no doc_id, orphans, then the rules above, quarantining their document), topics.
    """
    from common.outcomes import quarantine_row

    out: list[dict[str, Any]] = []

    def records(sql: str, params: list[Any] | None = None) -> list[tuple[Any, Any]]:
        return [(k, json.loads(r)) for k, r in con.execute(sql, params or []).fetchall()]

    for key, rec in records("SELECT entity_id, CAST(to_json(e) AS VARCHAR) FROM b_entities e "
                            "WHERE entity_id IS NULL OR name IS NULL"):
        out.append(quarantine_row(f"entity:{key}" if key else None, None, None, "load",
                                  "entity rejected: entity without entity_id or name", rec))
    con.execute("DELETE FROM b_entities WHERE entity_id IS NULL OR name IS NULL")
    for _, rec in records("SELECT NULL, CAST(to_json(d) AS VARCHAR) FROM b_docs d WHERE doc_id IS NULL"):
        out.append(quarantine_row(None, rec.get("source"), rec.get("url"), "load",
                                  "document without doc_id", rec))
    con.execute("DELETE FROM b_docs WHERE doc_id IS NULL")
    for _, rec in records("SELECT NULL, CAST(to_json(m) AS VARCHAR) FROM b_mentions m WHERE doc_id IS NULL"):
        out.append(quarantine_row(None, None, None, "load", "mention without doc_id", {"mentions": [rec]}))
    con.execute("DELETE FROM b_mentions WHERE doc_id IS NULL")
    orphans = con.execute("""
        SELECT doc_id, CAST(to_json(list(m)) AS VARCHAR) FROM b_mentions m
        WHERE doc_id NOT IN (SELECT doc_id FROM b_docs) GROUP BY doc_id ORDER BY doc_id""").fetchall()
    for doc_id, rec in orphans:
        out.append(quarantine_row(doc_id, None, None, "load",
                                  "mention row(s) of a document not in this batch",
                                  {"mentions": json.loads(rec)}))
    con.execute("DELETE FROM b_mentions WHERE doc_id NOT IN (SELECT doc_id FROM b_docs)")

    reasons: dict[str, list[str]] = {}
    for what, where in _DOC_RULES:
        for (doc_id,) in con.execute(f"SELECT DISTINCT doc_id FROM b_docs WHERE {where}".replace("$tz", "?"),
                                     [_TZ_RE] if "$tz" in where else []).fetchall():
            reasons.setdefault(doc_id, []).append(what)
    for what, where in _MENTION_RULES:
        for (doc_id,) in con.execute(f"SELECT DISTINCT doc_id FROM b_mentions WHERE {where}").fetchall():
            reasons.setdefault(doc_id, []).append(what)
    if reasons:
        bad = sorted(reasons)
        rows: dict[str, list[dict[str, Any]]] = {}
        for doc_id, rec in records("SELECT doc_id, CAST(to_json(d) AS VARCHAR) FROM b_docs d "
                                   "WHERE list_contains(?, doc_id)", [bad]):
            rows.setdefault(doc_id, []).append(rec)
        for doc_id in bad:
            copies = rows.get(doc_id, [])
            first = copies[0] if copies else {}
            out.append(quarantine_row(doc_id, first.get("source"), first.get("url"), "load",
                                      "; ".join(reasons[doc_id]), copies[0] if len(copies) == 1 else copies))
        for table in ("b_docs", "b_mentions", "b_topics"):
            con.execute(f"DELETE FROM {table} WHERE list_contains(?, doc_id)", [bad])

    rejections = [{"url": None, "stage": "load", "reason": f"document topic {d}/{t}: {why}; not loaded"}
                  for d, t, why in con.execute("""
                      SELECT doc_id, topic, CASE WHEN doc_id IS NULL OR topic IS NULL
                          THEN 'doc_id or topic is null' ELSE 'its document is not in this batch' END
                      FROM b_topics
                      WHERE doc_id IS NULL OR topic IS NULL
                         OR doc_id NOT IN (SELECT doc_id FROM b_docs)""").fetchall()]
    con.execute("DELETE FROM b_topics WHERE doc_id IS NULL OR topic IS NULL "
                "OR doc_id NOT IN (SELECT doc_id FROM b_docs)")
    return out, rejections


def _dedupe(con: duckdb.DuckDBPyConnection, table: str, key: str, order: str) -> list[str]:
    """Keep one row per natural key (``key``: comma-separated columns); return the duplicated keys."""
    shown = " || ':' || ".join(f"CAST({k.strip()} AS VARCHAR)" for k in key.split(","))
    dropped = _ids(con, f"SELECT {shown} FROM {table} GROUP BY {key} HAVING count(*) > 1")
    if dropped:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {table} "
                    f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {order}) = 1")
    return dropped


def _days_sql(where: str) -> str:
    return f"SELECT DISTINCT CAST(timezone('UTC', published_at) AS DATE) FROM core.documents WHERE {where}"


def load_night(ctx: RunContext, con: duckdb.DuckDBPyConnection | None = None, *,
               lake_only: bool = False) -> dict[str, Any]:
    """Swap the night's batch (its lake partitions) into raw/core/ops in one transaction; returns
    counts.

    Documents are keyed by doc_id across nights: a version with a later fetched_at replaces the
    core row in place (with its mentions); an older version (re-running an old night) only lands in
    raw.documents. ``affected_days`` in the result lists every published day whose marts may change.

    ``lake_only`` is for ``pulse rebuild``: the batch comes from the lake alone and nothing of the
    work directory is read (no source runs, no validate-stage quarantine, no watermark files, which
    the lake does not keep); the ops.runs row says ``rebuilt``. Load-time isolation runs as always.
    """
    if not lake_only and not has_night(ctx.settings.data_dir, ctx.night):
        enriched = ctx.work_dir / "enriched"
        paths = [enriched / f"{name}.jsonl" for name in ENRICHED_FILES]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise LoadError(f"night {ctx.night}: enriched batch incomplete, missing {', '.join(missing)} "
                            "(run the enrich stage first)")
    runs = [] if lake_only else _read_source_runs(ctx)
    with _connection(ctx, con) as c:
        return _load(c, ctx, runs, lake_only)


def _read_source_runs(ctx: RunContext) -> list[SourceRun]:
    runs = []
    for path in sorted(ctx.work_dir.glob("*.source_run.json")):
        try:
            runs.append(SourceRun.load(path))
        except (OSError, ValueError, TypeError) as exc:
            raise LoadError(f"unreadable source-run record {path}: {exc}") from exc
    return runs


def _load(con: duckdb.DuckDBPyConnection, ctx: RunContext, runs: list[SourceRun],
          lake_only: bool = False) -> dict[str, Any]:
    night = ctx.night
    counts: dict[str, Any] = {"night": night.isoformat(), "run_id": ctx.run_id}
    with _transaction(con, f"load of night {night}"):
        # issue 14: the batch as Parquet (written here first when the night has none yet). Inside
        # the transaction so a batch that cannot be read says "rolled back, previous data intact".
        try:
            files = ensure_night(ctx, lake_only=lake_only)
        except LakeError as exc:
            raise LoadError(str(exc)) from exc
        _stage_parquet(con, "b_docs", files["documents"], DOC_COLUMNS)
        _stage_parquet(con, "b_mentions", files["mentions"], MENTION_COLUMNS)
        _stage_parquet(con, "b_entities", files["entities"], ENTITY_COLUMNS)
        # issue 15: topics (empty for batches enriched before topics existed; duplicates folded)
        _stage_parquet(con, "b_topics", files["document_topics"], TOPIC_COLUMNS)
        # issue 12: rows breaking the load contract are set aside one by one, the rest loads.
        load_quarantine, topic_rejections = _isolate_batch(con)
        rejections = topic_rejections + [
            {"url": None, "stage": "load", "reason": f"duplicate doc_id {k} in batch; kept latest fetched_at"}
            for k in _dedupe(con, "b_docs", "doc_id",
                             "CAST(fetched_at AS TIMESTAMPTZ) DESC, sentiment IS NULL")
        ] + [
            {"url": None, "stage": "load", "reason": f"duplicate mention {k} in batch; kept one"}
            for k in _dedupe(con, "b_mentions", "doc_id, start_char", "entity_id")
        ]
        _dedupe(con, "b_entities", "entity_id", "origin = 'gazetteer' DESC")

        before = set(_ids(con, _days_sql("night = ? OR doc_id IN (SELECT doc_id FROM b_docs)"), [night]))

        # raw: the night's extract output as loaded (history per night).
        con.execute("DELETE FROM raw.documents WHERE night = ?", [night])
        cols = [c for c in DOC_COLUMNS if c not in ENRICHED_DOC_COLUMNS]
        con.execute(f"INSERT INTO raw.documents ({', '.join(cols)}, night, loaded_at) "
                    f"SELECT {', '.join(cols)}, ?, current_timestamp FROM b_docs", [night])

        # Winners: batch docs not superseded by a newer fetch owned by another night. Ordering by
        # (fetched_at, night) -- the same rule as staging.documents -- makes the outcome independent
        # of the order in which nights are (re)loaded.
        con.execute("""
            CREATE OR REPLACE TEMP TABLE b_win AS
            SELECT b.* FROM b_docs b
            WHERE NOT EXISTS (SELECT 1 FROM core.documents d WHERE d.doc_id = b.doc_id AND d.night <> ?
                              AND (d.fetched_at, d.night) > (CAST(b.fetched_at AS TIMESTAMPTZ), ?))""",
                    [night, night])
        owned = "night = ? OR doc_id IN (SELECT doc_id FROM b_win)"
        for table in ("core.mentions", "core.entity_sentiment", "core.documents",
                      "core.document_topics"):  # issue 15: topics swap with their documents
            con.execute(f"DELETE FROM {table} WHERE {owned}", [night])

        con.execute("""
            INSERT OR REPLACE INTO core.entities
            SELECT entity_id, name, label, kind, coalesce(aliases, []), origin FROM b_entities""")
        con.execute("""
            INSERT INTO core.documents
            SELECT doc_id, source, kind, channel, url, canonical_url, parent_id, title, body, author,
                   CAST(published_at AS TIMESTAMPTZ), CAST(fetched_at AS TIMESTAMPTZ),
                   CAST(score AS INTEGER), CAST(num_comments AS INTEGER), language, content_hash,
                   coalesce(is_deleted, false), sentiment, coalesce(themes, []), raw_ref,
                   coalesce(run_id, ?), ?, relevance, on_topic,
                   json_extract_string(extra, '$.sentiment_model')
            FROM b_win""", [ctx.run_id, night])
        con.execute("""
            INSERT INTO core.mentions
            SELECT doc_id, entity_id, sentence_idx, start_char, end_char, surface, sentence, sentiment, ?
            FROM b_mentions WHERE doc_id IN (SELECT doc_id FROM b_win)""", [night])
        # A news outlet named in the text ("Reuters reported", kind `media`) is a source, not a
        # subject: its mentions stay in core.mentions, but it gets no entity_sentiment row, so no
        # trend figure, mart, alert or newsletter counts it (migration 011).
        con.execute("""
            INSERT INTO core.entity_sentiment
            SELECT m.doc_id, m.entity_id, m.n, s.sentiment, ?
            FROM (SELECT doc_id, entity_id, count(*) AS n FROM core.mentions WHERE night = ?
                    AND entity_id NOT IN (SELECT entity_id FROM core.entities
                                          WHERE list_contains(?, kind))
                  GROUP BY ALL) m
            LEFT JOIN (SELECT doc_id, entity_id, avg(sentiment) AS sentiment
                       FROM (SELECT DISTINCT doc_id, entity_id, sentence_idx, sentiment
                             FROM core.mentions WHERE night = ?)
                       GROUP BY ALL) s USING (doc_id, entity_id)""",
                    [night, night, list(SOURCE_KINDS), night])

        con.execute("""
            INSERT INTO core.document_topics
            SELECT DISTINCT doc_id, topic, ? FROM b_topics
            WHERE doc_id IN (SELECT doc_id FROM b_win)""", [night])  # issue 15: topics

        after = set(_ids(con, _days_sql("night = ?"), [night]))
        # Documents that load now are no longer quarantined for this night (an earlier run's
        # outcome for them is replaced by this one): one outcome per document and night.
        con.execute("DELETE FROM quarantine.documents WHERE night = ? "
                    "AND doc_id IN (SELECT doc_id FROM b_docs)", [night])
        counts["quarantined_documents"] = _insert_doc_quarantine(
            con, ctx, ([] if lake_only else read_quarantine(ctx)) + load_quarantine)
        counts["quarantined_at_load"] = len(load_quarantine)
        if lake_only:  # pulse rebuild: the ops history comes back afterwards (warehouse.ops_lake)
            message = ("rebuilt from the lake (its ops history, where the lake has it, is restored "
                       "after the load)")
            if counts["quarantined_documents"]:
                message += f"; {counts['quarantined_documents']} document(s) quarantined alone"
            _write_ops(con, ctx, runs, rejections, status="rebuilt", message=message)
            counts["watermarks"] = {}
        else:
            _write_ops(con, ctx, runs, rejections, status=None, message=None,
                       quarantined=counts["quarantined_documents"])
            counts["watermarks"] = advance_from_work(con, ctx)  # same txn: marks advance only with the data

        for name, sql in {
            "documents": "SELECT count(*) FROM b_docs",
            "documents_loaded": "SELECT count(*) FROM b_win",
            "mentions": "SELECT count(*) FROM core.mentions WHERE night = ?",
            "entities": "SELECT count(*) FROM b_entities",
            "entity_sentiment": "SELECT count(*) FROM core.entity_sentiment WHERE night = ?",
            "document_topics": "SELECT count(*) FROM core.document_topics WHERE night = ?",  # issue 15
        }.items():
            counts[name] = con.execute(sql, [night] if "?" in sql else []).fetchone()[0]
        counts["documents_superseded"] = counts["documents"] - counts["documents_loaded"]
        counts["source_runs"] = len(runs)
        counts["errors"] = sum(len(r.errors) for r in runs) + len(rejections)
        counts["rejected_duplicates"] = len(rejections)
        counts["affected_days"] = sorted(before | after)
        for table in ("b_docs", "b_mentions", "b_entities", "b_win", "b_topics"):  # b_topics: issue 15
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return counts


def _write_ops(con: duckdb.DuckDBPyConnection, ctx: RunContext, runs: list[SourceRun],
               rejections: list[dict[str, Any]], status: str | None, message: str | None,
               quarantined: int = 0) -> None:
    """Replace the night's ops.source_runs/ops.errors and upsert this run's ops.runs row."""
    night = ctx.night
    now = _now()
    con.execute("DELETE FROM ops.source_runs WHERE night = ?", [night])
    con.execute("DELETE FROM ops.errors WHERE night = ?", [night])
    if runs:
        con.executemany(
            "INSERT OR REPLACE INTO ops.source_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [[ctx.run_id, night, r.source, r.status, r.message, r.n_documents, r.n_requests,
              r.started_at, r.finished_at, r.raw_path] for r in runs])
    errors = [[ctx.run_id, night, r.source, e.url, e.stage, e.reason, e.status_code, now]
              for r in runs for e in r.errors]
    errors += [[ctx.run_id, night, None, e["url"], e["stage"], e["reason"], None, now] for e in rejections]
    if errors:
        con.executemany("INSERT INTO ops.errors VALUES (?, ?, ?, ?, ?, ?, ?, ?)", errors)
    if status is None:
        bad = [r.source for r in runs if r.status in ("failed", "partial")]
        status = "partial" if bad else "ok"
        message = message or (f"loaded; degraded sources: {', '.join(bad)}" if bad else "loaded")
        if quarantined:  # issue 12: documents set aside one by one (quarantine.documents)
            message += f"; {quarantined} document(s) quarantined alone"
    started = min((r.started_at for r in runs if r.started_at), default=None)
    con.execute("INSERT OR REPLACE INTO ops.runs VALUES (?, ?, coalesce(CAST(? AS TIMESTAMPTZ), ?), ?, ?, ?)",
                [ctx.run_id, night, started, now, now, status, message])


def record_source_runs(ctx: RunContext, status: str = "failed", message: str = "",
                       con: duckdb.DuckDBPyConnection | None = None) -> int:
    """Record a run that never reached the load (e.g. every source failed, or quarantined).

    Writes ops.runs (with ``status``), and the night's ops.source_runs and ops.errors from the
    source-run files, replacing the night's previous ops rows. Returns how many sources it recorded.
    """
    runs = _read_source_runs(ctx)
    with _connection(ctx, con) as c, _transaction(c, f"recording source runs of night {ctx.night}"):
        _insert_doc_quarantine(c, ctx, read_quarantine(ctx))
        _write_ops(c, ctx, runs, [], status=status, message=message or status)
    return len(runs)


def _insert_doc_quarantine(con: duckdb.DuckDBPyConnection, ctx: RunContext,
                           rows: list[dict[str, Any]]) -> int:
    """Per-document outcomes (common.outcomes) into quarantine.documents, inside the caller's
    transaction: each document alone, ``reasons`` = "<stage>: <reason>", the row kept whole.

    Idempotent per (run_id, doc_id) like :func:`quarantine`; a row without a doc_id is keyed by a
    hash of its record. A record DuckDB cannot parse as JSON is kept as a JSON string instead.
    """
    from common.jsonl import dumps_line

    values: dict[str, tuple[str, str]] = {}
    for row in rows:
        record = dumps_line(row.get("record"))
        doc_id = row.get("doc_id")
        if not isinstance(doc_id, str) or not doc_id:
            doc_id = "missing-id:" + hashlib.sha256(record.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        reason = f"{row.get('stage')}: {row.get('reason')}"
        if doc_id in values:  # one outcome per document: a second stage's reason joins the first
            earlier, kept = values[doc_id]
            reason = earlier if reason in earlier.split("; ") else f"{earlier}; {reason}"
            record = kept
        values[doc_id] = (reason, record)
    if values:
        # Re-runs of the night (another run_id) replace the outcome instead of adding a second one.
        con.execute("DELETE FROM quarantine.documents WHERE night = ? AND list_contains(?, doc_id)",
                    [ctx.night, list(values)])
        con.executemany("""
            INSERT OR REPLACE INTO quarantine.documents
            SELECT ?, ?, ?, ?, coalesce(TRY_CAST(? AS JSON), to_json(?)), current_timestamp""",
                        [[ctx.run_id, ctx.night, k, reason, rec, rec] for k, (reason, rec) in values.items()])
    return len(values)


_QUALITY_KEYS = ("suite", "expectation", "severity", "success")


def record_quality(ctx: RunContext, results: list[dict[str, Any]],
                   con: duckdb.DuckDBPyConnection | None = None) -> None:
    """Write validation results to ops.quality_results, replacing this run's rows for those suites.

    Replacing per (run_id, suite) rather than per run lets the quality stage record one suite at a
    time (raw batch per source, then the enriched batch) and still be idempotent.
    """
    rows = []
    now = _now()
    for i, res in enumerate(results):
        missing = [k for k in _QUALITY_KEYS if res.get(k) is None]
        if missing:
            raise ValueError(f"quality result #{i} lacks {', '.join(missing)}: {res!r}")
        if res["severity"] not in ("critical", "warning"):
            raise ValueError(f"quality result #{i}: severity must be critical or warning, "
                             f"not {res['severity']!r}")
        rows.append([ctx.run_id, ctx.night, str(res["suite"]), str(res["expectation"]),
                     res.get("column_name"), res["severity"], bool(res["success"]),
                     _text(res.get("observed")), _text(res.get("details")), now])
    suites = sorted({r[2] for r in rows})
    with _connection(ctx, con) as c, _transaction(c, f"recording quality results of run {ctx.run_id}"):
        if suites:
            c.execute("DELETE FROM ops.quality_results WHERE run_id = ? AND list_contains(?, suite)",
                      [ctx.run_id, suites])
            c.executemany("INSERT INTO ops.quality_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, default=str, sort_keys=True)


def quarantine(ctx: RunContext, rows: list[dict[str, Any]], reasons: dict[str, str],
               con: duckdb.DuckDBPyConnection | None = None) -> int:
    """Keep a quarantined batch's rows in quarantine.documents; idempotent per (run_id, doc_id).

    ``reasons`` maps doc_id to why it failed; rows not named there were quarantined with their
    batch. A row without a doc_id (possibly the very failure) gets ``missing-id:<sha256[:16]>`` of
    its JSON so it is still kept, and still idempotent. Returns the number of distinct rows kept.
    """
    import pandas as pd

    by_id: dict[str, tuple[str, str]] = {}
    for row in rows:
        record = json.dumps(row, default=str, sort_keys=True, ensure_ascii=False)
        doc_id = row.get("doc_id") if isinstance(row, dict) else None
        if not isinstance(doc_id, str) or not doc_id:
            doc_id = "missing-id:" + hashlib.sha256(record.encode()).hexdigest()[:16]
        reason = reasons.get(doc_id) or "batch quarantined by a critical expectation failure"
        by_id[doc_id] = (reason, record)
    if not by_id:
        return 0
    frame = pd.DataFrame([(k, r, rec) for k, (r, rec) in by_id.items()],
                         columns=["doc_id", "reasons", "record"])
    with _connection(ctx, con) as c, _transaction(c, f"quarantining {len(by_id)} rows of run {ctx.run_id}"):
        c.register("q_frame", frame)
        try:  # another run of the night quarantining the same document replaces its outcome
            c.execute("DELETE FROM quarantine.documents WHERE night = ? "
                      "AND doc_id IN (SELECT doc_id FROM q_frame)", [ctx.night])
            c.execute("""
                INSERT OR REPLACE INTO quarantine.documents
                SELECT ?, ?, doc_id, reasons, CAST(record AS JSON), current_timestamp FROM q_frame""",
                      [ctx.run_id, ctx.night])
        finally:
            c.unregister("q_frame")
    return len(by_id)

