"""The validate stage's core: run the GX suites over one night's enriched batch and judge it.

``validate_night`` only *judges*: it reads the enrich stage's files, runs one GX checkpoint per
batch (enriched documents, their themes, mentions, entities, and each source's extract output
``work/<night>/<source>.documents.jsonl``), builds Data Docs, writes
``work/<night>/validation.json`` and returns a :class:`ValidationOutcome`. It never touches DuckDB
and never raises on bad data: the stage function records ``outcome.results`` in
``ops.quality_results``, quarantines ``outcome.failing_doc_ids`` and raises
:class:`QualityGateFailed` when ``outcome.success`` is false. Keeping the judgement free of side
effects on the warehouse means it can be re-run, tested and reasoned about alone.

Per-row isolation (issue 12): before GX, :mod:`quality.isolation` moves every row that breaks a
row rule out of the enriched files into ``enriched/quarantine.jsonl`` (stage ``validate``, one
outcome each), so one bad row never fails the night. A row-level critical failure GX still finds
(a rule only the suites know) is isolated the same way afterwards (the "backstop"); only
batch-level failures (below) make ``success`` false.

Failing rows: for a row-level critical failure the offending rows' doc_ids (a mention's doc_id for
mention checks) map to the reasons. A row whose doc_id is null or not a string is keyed
``"<documents.jsonl line N>"`` (:func:`failing_records` resolves such keys to rows). A *table-level*
critical failure (schema, volume, unreadable lines, an expectation GX could not evaluate, a bad
entity) makes every document of the night failing, because the whole batch is unusable.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common.config import QualitySettings, Settings
from common.context import RunContext
from common.documents import SOURCES
from common.jsonl import read_json, write_json
from common.outcomes import published_bounds
from quality import frames as fr
from quality import suites as su

log = logging.getLogger(__name__)

#: The thresholds (window slack, clock skew, freshness, volume bounds) are ``settings.quality``
#: knobs (common.config.QualitySettings, ``[quality]`` in config/pipeline.toml). The volume
#: check compares with the mean of this many earlier nights:
VOLUME_TRAILING_NIGHTS = 7
_NO_BOUND = 10**12
#: COMPLETE: every failing row's (row_number, doc_id), which the quarantine needs.
RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": [fr.ROW_COLUMN, "doc_id"]}
#: Cap on the number of sample values quoted in a message.
_SAMPLES = 5


class QualityGateFailed(Exception):
    """Raised by the validate *stage* when a night has critical quality failures.

    The message lists every critical failure so the Airflow task log says why, without opening
    Data Docs.
    """

    def __init__(self, night: str, critical_failures: list[str], data_docs_index: Path | None = None):
        self.night = night
        self.critical_failures = list(critical_failures)
        self.data_docs_index = data_docs_index
        lines = [f"quality gate failed for night {night}: {len(critical_failures)} critical failure(s)"]
        lines += [f"  - {msg}" for msg in critical_failures]
        if data_docs_index:
            lines.append(f"  Data Docs: {data_docs_index}")
        super().__init__("\n".join(lines))


@dataclass
class ValidationOutcome:
    success: bool
    critical_failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    failing_doc_ids: dict[str, str] = field(default_factory=dict)
    data_docs_index: Path | None = None
    n_documents: int = 0
    n_mentions: int = 0
    # issue 12: rows moved to enriched/quarantine.jsonl alone (key -> reason), by the row rules of
    # quality.isolation before GX and by the GX backstop after it; and the backstop's messages.
    quarantined: dict[str, str] = field(default_factory=dict)
    isolated_failures: list[str] = field(default_factory=list)
    source_counts: dict[str, int] = field(default_factory=dict)  # rows per source's extract batch

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["data_docs_index"] = str(self.data_docs_index) if self.data_docs_index else None
        return out

    def raise_for_failure(self, night: str) -> None:
        """Convenience for the stage: raise QualityGateFailed when the night failed."""
        if not self.success:
            raise QualityGateFailed(night, self.critical_failures, self.data_docs_index)


@dataclass
class _Batch:
    """One frame to validate with one suite."""

    name: str
    build: Callable[[], Any]  # builds the suite; GX 1.x needs an open context to do so
    frame: Any
    file_name: str  # the JSONL file the rows came from, for row keys
    key_from_doc_id: bool = True  # failing rows are identified by this frame's doc_id
    params: dict[str, Any] = field(default_factory=dict)  # overrides of the night's suite parameters


def _result_row(suite: str, expectation: str, column: str | None, severity: str, success: bool,
                observed: str, details: str) -> dict[str, Any]:
    return {"suite": suite, "expectation": expectation, "column_name": column, "severity": severity,
            "success": bool(success), "observed": observed, "details": details}


def _trailing_volume(ctx: RunContext, source: str | None = None) -> list[int]:
    """Document counts of earlier nights (all, or one source's), from their validation.json.

    Reading our own earlier outputs keeps the check free of the warehouse (validate must not
    depend on DuckDB being loaded) and works from the second night on.
    """
    counts: list[int] = []
    for back in range(1, VOLUME_TRAILING_NIGHTS + 1):
        path = ctx.settings.work_dir(ctx.night - timedelta(days=back)) / "validation.json"
        try:
            saved = read_json(path)
            n = saved.get("n_documents") if source is None else saved.get("source_counts", {}).get(source)
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(n, int) and not isinstance(n, bool):
            counts.append(n)
    return counts


def _volume_bounds(history: list[int], q: QualitySettings) -> dict[str, int]:
    """[low, high] x the trailing mean, once enough earlier nights are known; unbounded before.

    Rounded outwards (floor / ceil) so a count exactly at the multiple never warns.
    """
    if history and len(history) >= max(q.volume_min_history, 1):
        mean = sum(history) / len(history)
        return {su.P_VOLUME_MIN: math.floor(mean * q.volume_low),
                su.P_VOLUME_MAX: max(math.ceil(mean * q.volume_high), 1)}
    return {su.P_VOLUME_MIN: 0, su.P_VOLUME_MAX: _NO_BOUND}


def suite_parameters(ctx: RunContext, now: datetime, history: list[int]) -> dict[str, Any]:
    """The run-time values of the suites' ``$PARAMETER`` placeholders for this night."""
    q = ctx.settings.quality
    # One rule with the extract's window gate (common.outcomes), which sets aside, per document,
    # what these bounds would otherwise fail the whole night for.
    published_min, window_end = published_bounds(ctx)
    return {
        su.P_PUBLISHED_MIN: published_min,
        su.P_WINDOW_END: window_end,
        su.P_NOW: now,
        su.P_FETCHED_MAX: now + timedelta(minutes=q.clock_skew_minutes),
        su.P_FRESH_MIN: ctx.window_end - timedelta(hours=q.freshness_hours),
        **_volume_bounds(history, q),
    }


def _column_of(kwargs: dict[str, Any]) -> str | None:
    if kwargs.get("column"):
        return str(kwargs["column"])
    if kwargs.get("column_A"):
        return f"{kwargs['column_A']},{kwargs['column_B']}"
    if kwargs.get("column_list"):
        return ",".join(kwargs["column_list"])
    return None


def _exception_message(evr: Any) -> str | None:
    info = evr.exception_info or {}
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "exception")
    for value in info.values():  # GX nests per-metric exception info in some versions
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message") or "exception")
    return None


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."


def _sample(row: dict[str, Any], file_name: str) -> str:
    """``doc_id=value`` for one unexpected row (GX puts the checked column's value in the row)."""
    key = _row_key(row, file_name, True)
    values = [str(v) for k, v in row.items() if k not in (fr.ROW_COLUMN, "doc_id")]
    return f"{key}={_short(values[0])}" if values else key


def _observed(result: dict[str, Any], file_name: str) -> str:
    if "observed_value" in result:
        return _short(result["observed_value"])
    if "unexpected_count" in result:
        rows = result.get("unexpected_index_list") or []
        samples = ", ".join(_sample(r, file_name) for r in rows[:_SAMPLES]) if rows else ", ".join(
            _short(v) for v in (result.get("partial_unexpected_list") or [])[:_SAMPLES])
        text = f"{result['unexpected_count']} of {result.get('element_count', '?')} unexpected"
        return text + (f" (e.g. {samples})" if samples else "")
    return ""


def _row_key(row: dict[str, Any], file_name: str, use_doc_id: bool) -> str:
    doc_id = row.get("doc_id")
    if use_doc_id and isinstance(doc_id, str) and doc_id:
        return doc_id
    return f"<{file_name} line {row.get(fr.ROW_COLUMN)}>"


def _convert(batch: _Batch, suite_result: Any, outcome: ValidationOutcome, table_failures: list[str],
             row_failures: list[str]) -> None:
    """Turn one GX suite result into result rows, messages and failing rows.

    An expectation that *errored* (GX could not evaluate it) is a critical failure and, by default,
    table-level. Exception: its column already failed its type check, which pins the bad rows
    (``"0.5"`` among floats makes the -1..1 check raise), so those rows are quarantined instead.
    """
    mistyped = {evr.expectation_config.kwargs.get("column") for evr in suite_result.results
                if evr.expectation_config.type == "expect_column_values_to_be_in_type_list"
                and not evr.success}
    for evr in suite_result.results:
        cfg = evr.expectation_config
        meta = cfg.meta or {}
        severity = meta.get("severity", su.CRITICAL)
        check = meta.get("check", cfg.type)
        column = _column_of(cfg.kwargs)
        error = _exception_message(evr)
        result = evr.result or {}
        observed = f"error: {_short(error)}" if error else _observed(result, batch.file_name)
        success = bool(evr.success) and not error
        details = check if success else f"{check}: FAILED" + (f" ({observed})" if observed else "")
        outcome.results.append(_result_row(batch.name, cfg.type, column, severity, success,
                                           observed, details))
        if success:
            continue
        message = f"{batch.name}: {check} — {observed}" if observed else f"{batch.name}: {check}"
        if severity != su.CRITICAL:
            outcome.warnings.append(message)
            continue
        outcome.critical_failures.append(message)
        rows = result.get("unexpected_index_list")
        if rows and not batch.key_from_doc_id:
            table_failures.append(message)  # e.g. a duplicate entity id: no document to pin it on
        elif rows:
            row_failures.append(message)
            for row in rows:
                key = _row_key(row, batch.file_name, batch.key_from_doc_id)
                _add_reason(outcome.failing_doc_ids, key, f"{batch.name}: {check}")
        elif error and column in mistyped:
            row_failures.append(message)
            continue
        elif "unexpected_count" not in result or error:
            table_failures.append(message)


def _add_reason(failing: dict[str, str], key: str, reason: str) -> None:
    if key in failing:
        if reason not in failing[key].split("; "):
            failing[key] = f"{failing[key]}; {reason}"
    else:
        failing[key] = reason


def _record_load_problems(loaded: fr.LoadedFile, suite: str, severity: str, outcome: ValidationOutcome,
                          table_failures: list[str]) -> None:
    """Unreadable lines / a missing file: recorded like an expectation result, so ops sees them."""
    success = not loaded.problems
    outcome.results.append(_result_row(
        suite, "jsonl_is_readable", None, severity, success,
        f"{len(loaded.rows)} row(s) read"
        + (f", {len(loaded.problems)} problem(s)" if loaded.problems else ""),
        "; ".join(loaded.problems) if loaded.problems else f"{loaded.path.name} is readable JSONL"))
    for problem in loaded.problems:
        message = f"{suite}: {problem}"
        if severity == su.CRITICAL:
            outcome.critical_failures.append(message)
            table_failures.append(message)
        else:
            outcome.warnings.append(message)


def _prepare(ctx: RunContext, outcome: ValidationOutcome,
             table_failures: list[str]) -> tuple[list[_Batch], Any]:
    """Read the enrich outputs and build the frames plus their suites."""
    enriched = ctx.work_dir / "enriched"
    docs_file = fr.load_jsonl(enriched / "documents.jsonl")
    mentions_file = fr.load_jsonl(enriched / "mentions.jsonl")
    entities_file = fr.load_jsonl(enriched / "entities.jsonl")
    _record_load_problems(docs_file, su.DOCUMENTS_SUITE, su.CRITICAL, outcome, table_failures)
    _record_load_problems(mentions_file, su.MENTIONS_SUITE, su.CRITICAL, outcome, table_failures)
    # entities.jsonl feeds core.entities but a problem there does not corrupt documents: warning.
    _record_load_problems(entities_file, su.ENTITIES_SUITE, su.WARNING, outcome, table_failures)

    documents = fr.to_frame(docs_file, su.DOCUMENT_COLUMNS)
    fr.parse_timestamps(documents, "published_at", fr.PUBLISHED_TS)
    fr.parse_timestamps(documents, "fetched_at", fr.FETCHED_TS)
    mentions = fr.to_frame(mentions_file, su.MENTION_COLUMNS)
    entities = fr.to_frame(entities_file, su.ENTITY_COLUMNS)
    known_docs = {d for d in documents["doc_id"] if isinstance(d, str)}
    known_entities = None if entities_file.missing else {
        e for e in entities.get("entity_id", []) if isinstance(e, str)}
    fr.add_membership(mentions, "doc_id", known_docs, fr.DOC_KNOWN)
    fr.add_membership(mentions, "entity_id", known_entities, fr.ENTITY_KNOWN)
    by_id = {e["entity_id"]: e for e in entities_file.rows if isinstance(e.get("entity_id"), str)}
    fr.add_lookup(mentions, "entity_id", {k: e.get("label") for k, e in by_id.items()}, fr.ENTITY_LABEL)
    fr.add_lookup(mentions, "entity_id", {k: e.get("kind") for k, e in by_id.items()}, fr.ENTITY_KIND)
    vocabulary = su.load_entity_vocabulary(ctx.settings)
    if vocabulary.note:  # recorded like a result, so ops.quality_results shows it too
        outcome.results.append(_result_row(su.ENTITIES_SUITE, "gazetteer_is_readable", "label", su.WARNING,
                                           False, "unreadable", vocabulary.note))
        outcome.warnings.append(f"{su.ENTITIES_SUITE}: {vocabulary.note}")
    outcome.n_documents, outcome.n_mentions = len(documents), len(mentions)

    themes_path = ctx.settings.config_file(ctx.settings.nlp.themes)
    try:
        theme_ids = su.load_theme_ids(ctx.settings)
    except ValueError as exc:
        theme_ids = None
        outcome.results.append(_result_row(su.THEMES_SUITE, "themes_file_is_valid", "theme", su.CRITICAL,
                                           False, "invalid", str(exc)))
        outcome.critical_failures.append(f"{su.THEMES_SUITE}: {exc}")
    else:
        if theme_ids is None:
            why = f"no themes file at {themes_path}; theme ids only checked for shape"
            outcome.results.append(_result_row(su.THEMES_SUITE, "themes_file_exists", "theme", su.WARNING,
                                               False, "missing", why))
            outcome.warnings.append(f"{su.THEMES_SUITE}: {why}")

    batches = [
        _Batch(su.DOCUMENTS_SUITE, lambda: su.enriched_documents_suite(ctx.settings), documents,
               "documents.jsonl"),
        _Batch(su.THEMES_SUITE, lambda: su.document_themes_suite(theme_ids), fr.explode_themes(documents),
               "documents.jsonl"),
        _Batch(su.MENTIONS_SUITE, lambda: su.enriched_mentions_suite(vocabulary), mentions,
               "mentions.jsonl"),
    ]
    if not entities_file.missing:
        batches.append(_Batch(su.ENTITIES_SUITE, lambda: su.enriched_entities_suite(vocabulary), entities,
                              "entities.jsonl", key_from_doc_id=False))
    batches.extend(_source_batches(ctx, outcome, table_failures))
    return batches, documents


def enabled_sources(settings: Settings) -> list[str]:
    """The sources this deployment is configured to listen to (``[reddit]``/``[news]`` enabled)."""
    return [s for s in SOURCES if getattr(getattr(settings, s, None), "enabled", False)]


def _source_status(ctx: RunContext, source: str) -> str:
    """``status: message`` from the source's source_run.json, for the missing-source warning."""
    try:
        run = read_json(ctx.work_dir / f"{source}.source_run.json")
        return f"source run {run.get('status', '?')}: {_short(run.get('message') or 'no message')}"
    except (OSError, ValueError, AttributeError):
        return "no source-run record"


def _check_source_delivered(ctx: RunContext, source: str, n_rows: int | None,
                            outcome: ValidationOutcome) -> None:
    """Freshness per configured source: an enabled source with no documents tonight is a warning.

    Without this, a source that silently stopped delivering (expired credentials, a feed moved)
    would never trip the freshness expectation, which only runs on rows that exist.
    """
    suite = su.source_suite_name(source)
    delivered = bool(n_rows)
    observed = (f"{n_rows} document(s)" if n_rows is not None else "no documents file") \
        + ("" if delivered else f"; {_source_status(ctx, source)}")
    check = f"enabled source {source} delivered documents tonight (freshness)"
    outcome.results.append(_result_row(suite, "source_delivered_documents", None, su.WARNING, delivered,
                                       observed, check if delivered else f"{check}: FAILED ({observed})"))
    if not delivered:
        outcome.warnings.append(f"{suite}: {check} — {observed}")


def _source_batches(ctx: RunContext, outcome: ValidationOutcome, table_failures: list[str]) -> list[_Batch]:
    """One batch per source whose extract output exists, plus a delivery check per enabled source."""
    batches: list[_Batch] = []
    enabled = enabled_sources(ctx.settings)
    for source in SOURCES:
        path = ctx.work_dir / f"{source}.documents.jsonl"
        if not path.exists():
            if source in enabled:
                _check_source_delivered(ctx, source, None, outcome)
            continue
        loaded = fr.load_jsonl(path)
        _record_load_problems(loaded, su.source_suite_name(source), su.CRITICAL, outcome, table_failures)
        frame = fr.to_frame(loaded, su.DOCUMENT_COLUMNS)
        fr.parse_timestamps(frame, "published_at", fr.PUBLISHED_TS)
        outcome.source_counts[source] = len(frame)
        if source in enabled:
            _check_source_delivered(ctx, source, len(frame), outcome)
        if not len(frame) and not loaded.problems:
            # A quiet night for one source: nothing to check (an empty frame has no columns, so
            # every column expectation would error); the delivery check above already warned.
            continue
        batches.append(_Batch(
            su.source_suite_name(source), lambda s=source: su.source_documents_suite(ctx.settings, s), frame,
            path.name, params=_volume_bounds(_trailing_volume(ctx, source), ctx.settings.quality)))
    return batches


def _suite_fingerprint(suite: Any) -> str:
    body = [{"type": e.expectation_type, "kwargs": e.configuration.kwargs, "meta": e.meta}
            for e in suite.expectations]
    return json.dumps({"meta": suite.meta, "expectations": body}, sort_keys=True, default=str)


def _upsert_suite(context: Any, suite: Any) -> Any:
    """Store the suite unless the stored one is identical.

    Cheaper than ``suites.add_or_update`` (which matches expectations pairwise) and it keeps a
    stored suite's id stable across nights when the code did not change.
    """
    from great_expectations.exceptions import DataContextError

    try:
        existing = context.suites.get(suite.name)
    except DataContextError:
        return context.suites.add(suite)
    if _suite_fingerprint(existing) == _suite_fingerprint(suite):
        return existing
    context.suites.delete(suite.name)
    return context.suites.add(suite)


def _reuse(factory: Any, name: str, still_valid: Callable[[Any], bool], make: Callable[[str], Any]) -> Any:
    """Get a stored validation definition / checkpoint, re-creating it only when it is stale.

    ``add_or_update`` rewrites (and re-validates) the object and its children on every call, which
    costs seconds per night for nothing; a stale object (its suite was re-stored) is replaced.
    """
    from great_expectations.exceptions import DataContextError

    try:
        existing = factory.get(name)
    except (DataContextError, ValueError, KeyError):
        existing = None
    if existing is not None:
        try:
            if still_valid(existing):
                return existing
        except Exception:  # a half-readable stored object: replace it
            pass
        factory.delete(name)
    return factory.add(make(name))


def _run_gx(ctx: RunContext, batches: list[_Batch], params: dict[str, Any],
            data_docs: bool) -> tuple[list[Any], Path | None]:
    """Register suites and checkpoints (idempotently) and run one checkpoint per batch.

    With ``data_docs=False`` the checkpoints' validation definitions are run directly, skipping the
    UpdateDataDocsAction (seconds per suite): for callers that only need the verdict.
    """
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction

    from quality import gx_context

    quality_dir = ctx.settings.quality_dir
    with gx_context.project_lock(quality_dir):
        context = gx_context.open_context(quality_dir)
        gx_context.prune_old_runs(quality_dir, ctx.night)
        try:  # add_or_update_* rewrites great_expectations.yml every night: only add when missing
            source = context.data_sources.get("liveshop_pulse")
        except (KeyError, ValueError, LookupError):
            source = context.data_sources.add_pandas(name="liveshop_pulse")
        run_id = gx_context.run_identifier(ctx.night)
        results = []
        for batch in batches:
            name = batch.name
            suite = _upsert_suite(context, batch.build())
            asset = next((a for a in source.assets if a.name == name), None) \
                or source.add_dataframe_asset(name)
            definition = next((b for b in asset.batch_definitions if b.name == "night"), None) \
                or asset.add_batch_definition_whole_dataframe("night")
            vd = _reuse(context.validation_definitions, f"{name}_nightly",
                        lambda v, s=suite: v.suite.id == s.id,
                        lambda n, d=definition, s=suite: gx.ValidationDefinition(name=n, data=d, suite=s))
            checkpoint = _reuse(context.checkpoints, f"{name}_checkpoint",
                                lambda c, v=vd: [x.id for x in c.validation_definitions] == [v.id],
                                lambda n, v=vd: gx.Checkpoint(
                                    name=n, validation_definitions=[v],
                                    actions=[UpdateDataDocsAction(name="update_data_docs")],
                                    result_format=RESULT_FORMAT))
            batch_params = {**params, **batch.params}
            if data_docs:
                run = checkpoint.run(batch_parameters={"dataframe": batch.frame},
                                     expectation_parameters=batch_params, run_id=run_id)
                results.extend(run.run_results.values())
            else:
                results.append(vd.run(batch_parameters={"dataframe": batch.frame},
                                      expectation_parameters=batch_params, run_id=run_id,
                                      result_format=checkpoint.result_format))
        index = gx_context.data_docs_dir(quality_dir) / "index.html"
    return results, index if index.exists() else None


def validate_night(ctx: RunContext, now: datetime | None = None, *,
                   data_docs: bool = True) -> ValidationOutcome:
    """Validate ``work/<night>/enriched/*.jsonl``; write validation.json; build Data Docs.

    ``now`` is injectable for tests (the "not in the future" checks); it defaults to the clock.
    ``data_docs=False`` skips rendering Data Docs (the results are still stored).
    """
    started = time.monotonic()
    now = now or datetime.now(UTC)
    outcome = ValidationOutcome(success=True)
    table_failures: list[str] = []
    row_failures: list[str] = []
    _isolate_rows(ctx, now, outcome)
    batches, documents = _prepare(ctx, outcome, table_failures)
    params = suite_parameters(ctx, now, _trailing_volume(ctx))
    suite_results, outcome.data_docs_index = _run_gx(ctx, batches, params, data_docs)
    for batch, suite_result in zip(batches, suite_results, strict=True):
        _convert(batch, suite_result, outcome, table_failures, row_failures)
    if not table_failures and outcome.failing_doc_ids:
        remaining = _isolate_backstop(ctx, outcome, row_failures, table_failures)
        documents = documents if remaining is None else remaining
    if table_failures:
        reason = "batch failed: " + "; ".join(table_failures)[:500]
        for row in documents[[fr.ROW_COLUMN, "doc_id"]].to_dict("records"):
            _add_reason(outcome.failing_doc_ids, _row_key(row, "documents.jsonl", True), reason)
    outcome.success = not outcome.critical_failures
    record = {**outcome.to_dict(), "night": ctx.night.isoformat(), "run_id": ctx.run_id,
              "suite_version": su.SUITE_VERSION, "validated_at": now.isoformat()}
    write_json(ctx.work_dir / "validation.json", record)
    _write_quality_page(ctx, record)
    log.info("validated night %s: %d documents, %d mentions, %d critical, %d warning(s) in %.1fs",
             ctx.night, outcome.n_documents, outcome.n_mentions, len(outcome.critical_failures),
             len(outcome.warnings), time.monotonic() - started)
    return outcome


def _isolate_rows(ctx: RunContext, now: datetime, outcome: ValidationOutcome) -> None:
    """The per-row rules (quality.isolation) before GX: each bad row moves to
    enriched/quarantine.jsonl alone, so the critical row expectations see only loadable rows.
    Recorded as a warning result, so ops.quality_results says how many rows were set aside."""
    from quality import isolation

    try:
        theme_ids = su.load_theme_ids(ctx.settings)
    except ValueError:
        theme_ids = None  # a broken themes file fails the night in _prepare
    moved = isolation.isolate_night(ctx, now, theme_ids, su.load_entity_vocabulary(ctx.settings))
    _note_isolated(outcome, moved.rows, "rows_are_loadable",
                   "each row is loadable (bad rows quarantined alone)")


def _note_isolated(outcome: ValidationOutcome, rows: list[dict[str, Any]], expectation: str,
                   check: str) -> None:
    for row in rows:
        key = row.get("doc_id") or f"<{row.get('reason', '')[:60]}>"
        _add_reason(outcome.quarantined, key, str(row.get("reason")))
    observed = f"{len(rows)} row(s) quarantined alone"
    outcome.results.append(_result_row(su.DOCUMENTS_SUITE, expectation, None, su.WARNING, not rows, observed,
                                       check if not rows else f"{check}: {observed}"))
    if rows:
        sample = "; ".join(f"{r.get('doc_id')}: {r.get('reason')}" for r in rows[:_SAMPLES])
        outcome.warnings.append(f"{su.DOCUMENTS_SUITE}: {observed}: {sample[:500]}")


def _isolate_backstop(ctx: RunContext, outcome: ValidationOutcome, row_failures: list[str],
                      table_failures: list[str]) -> Any:
    """Row-level critical failures GX found on rows the rules let through: move those rows
    alone too, and judge the night on what is left. Returns the re-read documents frame (None
    when nothing moved). A failing key no row matches (e.g. a null doc_id in a source's extract
    file) cannot be isolated: it stays a batch failure."""
    from quality import isolation

    moved = isolation.move(ctx, isolation.read_batch(ctx), outcome.failing_doc_ids)
    if moved.unresolved:
        table_failures.append("row failures that name no row of the enriched batch: "
                              + ", ".join(sorted(moved.unresolved))[:300])
        return None
    _note_isolated(outcome, moved.rows, "rows_pass_critical_row_expectations",
                   "rows failing a critical row expectation are quarantined alone")
    outcome.isolated_failures = list(row_failures)
    outcome.critical_failures = [m for m in outcome.critical_failures if m not in row_failures]
    docs_file = fr.load_jsonl(ctx.work_dir / "enriched" / "documents.jsonl")
    documents = fr.to_frame(docs_file, su.DOCUMENT_COLUMNS)
    outcome.n_documents = len(documents)
    outcome.n_mentions = len(fr.load_jsonl(ctx.work_dir / "enriched" / "mentions.jsonl").rows)
    minimum = ctx.settings.quality.min_documents
    if outcome.n_documents < minimum:
        message = (f"{su.DOCUMENTS_SUITE}: only {outcome.n_documents} document(s) left after quarantining "
                   f"{len(moved.rows)} row(s) alone; the night needs at least {minimum}")
        outcome.critical_failures.append(message)
        table_failures.append(message)
    return documents


def _write_quality_page(ctx: RunContext, record: dict[str, Any]) -> None:
    """The self-contained quality page (quality/report.py) beside Data Docs, which need CDNs.

    A page that cannot be written is logged, never a reason to fail the night's verdict.
    """
    from quality import report

    try:
        page = report.write_night_page(ctx.settings.quality_dir, record)
    except OSError as exc:
        log.warning("could not write the quality page for night %s: %s", ctx.night, exc)
        return
    log.info("quality page (offline, self-contained): %s", page)


def failing_records(ctx: RunContext, outcome: ValidationOutcome) -> list[tuple[dict[str, Any], str]]:
    """The rows to keep in quarantine, each with its reasons, for a failed night.

    Why a helper: ``failing_doc_ids`` also names rows by file line (null or non-string doc_id) and
    mentions whose document does not exist, which a lookup by ``doc_id`` in documents.jsonl misses.
    Documents come first (by doc_id or by line); any remaining key is matched against the
    mentions, so every failing row is kept somewhere. Unreadable lines have no record to keep.
    """
    failing = outcome.failing_doc_ids
    found: list[tuple[dict[str, Any], str]] = []
    document_ids: set[str] = set()
    for file_name in ("documents.jsonl", "mentions.jsonl"):
        loaded = fr.load_jsonl(ctx.work_dir / "enriched" / file_name)
        for number, row in zip(loaded.row_numbers, loaded.rows, strict=True):
            doc_id = row.get("doc_id")
            line_key = f"<{file_name} line {number}>"
            if line_key in failing:
                found.append((row, failing[line_key]))
            elif isinstance(doc_id, str) and doc_id in failing and doc_id not in document_ids:
                found.append((row, failing[doc_id]))
                if file_name == "documents.jsonl":  # its mentions add nothing: the document is kept
                    document_ids.add(doc_id)
    return found
