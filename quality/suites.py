"""The Great Expectations suites, versioned as code: one function per suite.

Why code and not JSON: the suites depend on settings (``min_documents``, ``max_body_chars``) and on
the theme taxonomy (``config/themes.toml``), and a reviewer should see a rule change in a diff next
to the code that needs it. Values that change every night (the batch window, "now", the trailing-volume
bounds) are GX suite parameters
(``{"$PARAMETER": name}``) filled in at run time, so the suite itself stays the same all year.

Every expectation carries ``meta = {"severity": "critical" | "warning", "check": "<what it means>"}``.
A critical *batch-level* failure (schema, row count, unreadable file, entity keys) quarantines the
night and fails the task; a critical *row-level* failure costs only its rows, which
:mod:`quality.isolation` moves to the night's per-document quarantine (issue 12: its row rules run
before these suites, and the rows GX still names are isolated after them). A warning is only
recorded.
Bump :data:`SUITE_VERSION` when a rule changes: it is stored in each suite's meta and in
``validation.json`` so old results can be told apart.

GX is imported inside the functions (see quality/gx_context.py for why).
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from common.config import Settings
from common.documents import KINDS, SOURCES, Document
from quality.frames import DOC_KNOWN, ENTITY_KIND, ENTITY_KNOWN, ENTITY_LABEL, FETCHED_TS, PUBLISHED_TS

log = logging.getLogger(__name__)

SUITE_VERSION = "2026.11.3"
CRITICAL = "critical"
WARNING = "warning"

DOCUMENTS_SUITE = "enriched_documents"
MENTIONS_SUITE = "enriched_mentions"
THEMES_SUITE = "enriched_document_themes"
ENTITIES_SUITE = "enriched_entities"

#: Runtime parameter names (see :func:`quality.validate.suite_parameters`).
P_PUBLISHED_MIN = "published_min"
P_WINDOW_END = "window_end"
P_NOW = "now"
P_FETCHED_MAX = "fetched_max"
P_FRESH_MIN = "freshest_published_min"
P_VOLUME_MIN = "volume_min"
P_VOLUME_MAX = "volume_max"

# ISO-8601 with an explicit offset, as common.documents.utc_iso writes it.
ISO_UTC = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$"
THEME_SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
ORIGINS = ("gazetteer", "ner")

# Column -> allowed Python types of its non-null values (GX checks each value of an object column).
_STR, _INT, _NUM, _BOOL = ["str"], ["int"], ["float", "int"], ["bool"]
DOCUMENT_TYPES: dict[str, list[str]] = {
    **{f.name: _STR for f in fields(Document)},
    "score": _INT, "num_comments": _INT, "is_deleted": _BOOL, "extra": ["dict"],
    "sentiment": _NUM, "themes": ["list"],
}
DOCUMENT_COLUMNS: tuple[str, ...] = tuple(DOCUMENT_TYPES)
MENTION_TYPES: dict[str, list[str]] = {
    "doc_id": _STR, "entity_id": _STR, "sentence_idx": _INT, "start_char": _INT, "end_char": _INT,
    "surface": _STR, "sentence": _STR, "sentiment": _NUM,
}
MENTION_COLUMNS: tuple[str, ...] = tuple(MENTION_TYPES)
ENTITY_TYPES: dict[str, list[str]] = {
    "entity_id": _STR, "name": _STR, "label": _STR, "kind": _STR, "aliases": ["list"], "origin": _STR,
}
ENTITY_COLUMNS: tuple[str, ...] = tuple(ENTITY_TYPES)
#: Fields that must be present and non-null on every document (the Document's required fields).
DOCUMENT_REQUIRED = ("doc_id", "source", "kind", "channel", "published_at", "fetched_at",
                     "logical_date", "run_id", "raw_ref")


def _meta(severity: str, check: str) -> dict[str, str]:
    return {"severity": severity, "check": check}


def _param(name: str) -> dict[str, str]:
    return {"$PARAMETER": name}


def load_theme_ids(settings: Settings) -> frozenset[str] | None:
    """Allowed theme ids from ``settings.config_file(settings.nlp.themes)``; None if there is none.

    A missing file degrades the theme check to a warning (``enrich`` may run without themes); a
    malformed one is a configuration error and raises, because silently accepting any theme would
    hide it.
    """
    path: Path = settings.config_file(settings.nlp.themes)
    if not path.exists():
        return None
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"themes file {path} is not valid TOML: {exc}") from exc
    themes = data.get("theme", [])
    if not isinstance(themes, list) or not all(isinstance(t, dict) and isinstance(t.get("id"), str)
                                               for t in themes):
        raise ValueError(f"themes file {path}: expected [[theme]] tables each with a string id")
    return frozenset(t["id"] for t in themes)


@dataclass(frozen=True)
class EntityVocabulary:
    """The allowed entity labels and kinds (the "allowed sets" of issue 6).

    Why derived from the transforms' own constants plus the gazetteer file rather than listed here:
    the enrich stage decides which labels and kinds it emits; a second hand-kept list would drift
    from it and either miss garbage or fail good nights.
    """

    labels: frozenset[str]
    kinds: frozenset[str]
    note: str = ""  # set when the gazetteer could not be read and only the NER labels are allowed


def load_entity_vocabulary(settings: Settings) -> EntityVocabulary:
    """NER labels kept by ``transforms.canonical`` + the gazetteer's labels; the kinds both can emit."""
    from transforms.canonical import KEEP_LABELS, KIND_BY_LABEL
    from transforms.gazetteer import KINDS as GAZETTEER_KINDS
    from transforms.gazetteer import GazetteerError, load_gazetteer

    labels, kinds = set(KEEP_LABELS), set(GAZETTEER_KINDS) | set(KIND_BY_LABEL.values())
    note = ""
    path = settings.config_file(settings.nlp.gazetteer)
    try:
        gazetteer = load_gazetteer(path)
        labels |= {e.label for e in gazetteer.entries}
    except (GazetteerError, OSError, ValueError) as exc:
        note = f"gazetteer {path} unreadable ({exc}); only NER labels are allowed"
    return EntityVocabulary(frozenset(labels), frozenset(kinds), note)


def _suite(name: str, expectations: list[Any]) -> Any:
    """Build the suite in one go.

    Not ``suite.add_expectation`` one by one: once a suite of that name is in the project's store,
    GX 1.x re-serialises and saves the whole suite on every single add.
    """
    import great_expectations as gx

    return gx.ExpectationSuite(name=name, expectations=expectations, meta={"version": SUITE_VERSION})


def _types(out: list[Any], types: dict[str, list[str]], severity: str = CRITICAL) -> None:
    import great_expectations.expectations as gxe

    for column, type_list in types.items():
        out.append(gxe.ExpectColumnValuesToBeInTypeList(
            column=column, type_list=type_list,
            meta=_meta(severity, f"{column} values are of type {' or '.join(type_list)}")))


def _kind_and_time(out: list[Any]) -> None:
    """The row checks every document suite shares: kind allowed, timestamps ISO-8601 UTC,
    published_at inside the batch window and not in the future (all critical)."""
    import great_expectations.expectations as gxe

    add = out.append
    add(gxe.ExpectColumnValuesToBeInSet(
        column="kind", value_set=list(KINDS), meta=_meta(CRITICAL, f"kind is one of {', '.join(KINDS)}")))
    for column in ("published_at", "fetched_at"):
        add(gxe.ExpectColumnValuesToMatchRegex(
            column=column, regex=ISO_UTC, meta=_meta(CRITICAL, f"{column} is ISO-8601 with a UTC offset")))
    add(gxe.ExpectColumnValuesToBeBetween(
        column=PUBLISHED_TS, min_value=_param(P_PUBLISHED_MIN), max_value=_param(P_WINDOW_END),
        strict_max=True, meta=_meta(CRITICAL, "published_at is inside the batch window (with slack)")))
    add(gxe.ExpectColumnValuesToBeBetween(
        column=PUBLISHED_TS, max_value=_param(P_NOW),
        meta=_meta(CRITICAL, "published_at is not in the future")))


def enriched_documents_suite(settings: Settings) -> Any:
    """Checks on ``enriched/documents.jsonl``: schema, keys, allowed values, window, ranges, volume."""
    import great_expectations.expectations as gxe

    q = settings.quality
    out: list[Any] = []
    add = out.append
    add(gxe.ExpectTableColumnsToMatchSet(
        column_set=list(DOCUMENT_COLUMNS), exact_match=False,
        meta=_meta(CRITICAL, "every document field is present (schema)")))
    add(gxe.ExpectTableRowCountToBeBetween(
        min_value=q.min_documents,
        meta=_meta(CRITICAL, f"the night has at least {q.min_documents} document(s)")))
    _types(out, DOCUMENT_TYPES)
    for column in DOCUMENT_REQUIRED:
        add(gxe.ExpectColumnValuesToNotBeNull(column=column, meta=_meta(CRITICAL, f"{column} is not null")))
    add(gxe.ExpectColumnValuesToBeUnique(column="doc_id", meta=_meta(CRITICAL, "doc_id is unique")))
    add(gxe.ExpectColumnValuesToBeInSet(
        column="source", value_set=list(SOURCES),
        meta=_meta(CRITICAL, f"source is one of {', '.join(SOURCES)}")))
    _kind_and_time(out)
    add(gxe.ExpectColumnValuesToBeBetween(
        column=FETCHED_TS, max_value=_param(P_FETCHED_MAX),
        meta=_meta(WARNING, "fetched_at is not in the future (clock skew)")))
    add(gxe.ExpectColumnValuesToBeBetween(
        column="sentiment", min_value=-1, max_value=1, meta=_meta(CRITICAL, "sentiment is within -1..1")))
    add(gxe.ExpectColumnValueLengthsToBeBetween(
        column="body", min_value=0, max_value=q.max_body_chars,
        meta=_meta(WARNING, f"body is at most {q.max_body_chars} characters")))
    add(gxe.ExpectColumnValueLengthsToBeBetween(
        column="title", min_value=0, max_value=2_000,
        meta=_meta(WARNING, "title is at most 2000 characters")))
    add(gxe.ExpectColumnValuesToNotBeNull(column="language", meta=_meta(WARNING, "language is set")))
    add(gxe.ExpectColumnValuesToNotBeNull(column="is_deleted", meta=_meta(WARNING, "is_deleted is set")))
    add(gxe.ExpectTableRowCountToBeBetween(
        min_value=_param(P_VOLUME_MIN), max_value=_param(P_VOLUME_MAX),
        meta=_meta(WARNING, "document volume is in line with the trailing 7-night mean")))
    add(gxe.ExpectColumnMaxToBeBetween(
        column=PUBLISHED_TS, min_value=_param(P_FRESH_MIN),
        meta=_meta(WARNING, "the newest document is fresh (published near the end of the window)")))
    return _suite(DOCUMENTS_SUITE, out)


def source_suite_name(source: str) -> str:
    return f"raw_{source}_documents"


def source_documents_suite(settings: Settings, source: str) -> Any:
    """Checks on one source's parsed batch (``work/<night>/<source>.documents.jsonl``), before enrich.

    Why validate it separately: it pins a problem on the source that caused it (a parser change on
    one news site, a Reddit API change) even when enrichment hides or transforms the symptom.
    Within-file duplicates are only a warning here (the staging layer dedupes); everything that
    would put wrong rows in the warehouse is critical, as in the enriched suite.
    """
    import great_expectations.expectations as gxe

    q = settings.quality
    raw_types = {f.name: DOCUMENT_TYPES[f.name] for f in fields(Document)}
    out: list[Any] = []
    add = out.append
    add(gxe.ExpectTableColumnsToMatchSet(
        column_set=list(raw_types), exact_match=False,
        meta=_meta(CRITICAL, f"every document field is present in the {source} batch (schema)")))
    _types(out, raw_types)
    for column in DOCUMENT_REQUIRED:
        add(gxe.ExpectColumnValuesToNotBeNull(column=column, meta=_meta(CRITICAL, f"{column} is not null")))
    add(gxe.ExpectColumnValuesToBeUnique(
        column="doc_id", meta=_meta(WARNING, "doc_id is unique within the batch")))
    add(gxe.ExpectColumnValuesToBeInSet(
        column="source", value_set=[source], meta=_meta(CRITICAL, f"source is {source}")))
    _kind_and_time(out)
    add(gxe.ExpectColumnValueLengthsToBeBetween(
        column="body", min_value=0, max_value=q.max_body_chars,
        meta=_meta(WARNING, f"body is at most {q.max_body_chars} characters")))
    add(gxe.ExpectTableRowCountToBeBetween(
        min_value=_param(P_VOLUME_MIN), max_value=_param(P_VOLUME_MAX),
        meta=_meta(WARNING, f"{source} volume is in line with its trailing 7-night mean")))
    add(gxe.ExpectColumnMaxToBeBetween(
        column=PUBLISHED_TS, min_value=_param(P_FRESH_MIN),
        meta=_meta(WARNING, f"{source} is fresh (newest document published near the end of the window)")))
    return _suite(source_suite_name(source), out)


def document_themes_suite(theme_ids: frozenset[str] | None) -> Any:
    """Checks on the (doc_id, theme) pairs: ids from the taxonomy, or well-formed slugs without one."""
    import great_expectations.expectations as gxe

    out: list[Any] = []
    out.append(gxe.ExpectColumnValuesToNotBeNull(
        column="theme", meta=_meta(CRITICAL, "theme is not null")))
    if theme_ids is None:
        out.append(gxe.ExpectColumnValuesToMatchRegex(
            column="theme", regex=THEME_SLUG,
            meta=_meta(WARNING, "theme is a slug (no themes file: allowed set unknown)")))
    else:
        out.append(gxe.ExpectColumnValuesToBeInSet(
            column="theme", value_set=sorted(theme_ids),
            meta=_meta(CRITICAL, "theme is one of the ids in the themes file")))
    return _suite(THEMES_SUITE, out)


def enriched_mentions_suite(vocabulary: EntityVocabulary) -> Any:
    """Checks on ``enriched/mentions.jsonl``: schema, keys, offsets, sentiment, referential integrity,
    and the mentioned entity's label and kind (derived columns, see quality.frames.add_lookup)."""
    import great_expectations.expectations as gxe

    out: list[Any] = []
    add = out.append
    add(gxe.ExpectTableColumnsToMatchSet(
        column_set=list(MENTION_COLUMNS), exact_match=False,
        meta=_meta(CRITICAL, "every mention field is present (schema)")))
    _types(out, MENTION_TYPES)
    for column in ("doc_id", "entity_id", "start_char", "end_char"):
        add(gxe.ExpectColumnValuesToNotBeNull(column=column, meta=_meta(CRITICAL, f"{column} is not null")))
    add(gxe.ExpectColumnValuesToBeBetween(
        column="start_char", min_value=0, meta=_meta(CRITICAL, "start_char is not negative")))
    add(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A="end_char", column_B="start_char", or_equal=False,
        meta=_meta(CRITICAL, "start_char < end_char")))
    add(gxe.ExpectColumnValuesToBeBetween(
        column="sentiment", min_value=-1, max_value=1, meta=_meta(CRITICAL, "sentiment is within -1..1")))
    add(gxe.ExpectCompoundColumnsToBeUnique(
        column_list=["doc_id", "start_char"], meta=_meta(CRITICAL, "(doc_id, start_char) is unique")))
    # Referential integrity via derived boolean columns (see quality.frames.add_membership): a
    # value_set of every doc id would be stored, and rendered in Data Docs, for every night.
    add(gxe.ExpectColumnValuesToBeInSet(
        column=DOC_KNOWN, value_set=[True],
        meta=_meta(CRITICAL, "every mention's doc_id is a document of the night")))
    add(gxe.ExpectColumnValuesToBeInSet(
        column=ENTITY_KNOWN, value_set=[True],
        meta=_meta(WARNING, "every mention's entity_id is in entities.jsonl")))
    add(gxe.ExpectColumnValuesToNotBeNull(column="surface", meta=_meta(WARNING, "surface text is set")))
    # Critical: kind drives the marts (share_of_voice is platform vs platform), so a mention of an
    # entity with a label/kind outside the allowed sets would put garbage in front of analysts.
    add(gxe.ExpectColumnValuesToBeInSet(
        column=ENTITY_LABEL, value_set=sorted(vocabulary.labels),
        meta=_meta(CRITICAL, "the mentioned entity's label is in the allowed set")))
    add(gxe.ExpectColumnValuesToBeInSet(
        column=ENTITY_KIND, value_set=sorted(vocabulary.kinds),
        meta=_meta(CRITICAL, "the mentioned entity's kind is in the allowed set")))
    return _suite(MENTIONS_SUITE, out)


def enriched_entities_suite(vocabulary: EntityVocabulary) -> Any:
    """Checks on ``enriched/entities.jsonl``: keys, allowed origins, labels and kinds.

    Label/kind are warnings here: an entity row names no document, so a critical failure would
    quarantine the whole night; the mentions suite checks the same sets critically on the rows
    that mention the entity. An unmentioned odd entity reaches no mart.
    """
    import great_expectations.expectations as gxe

    out: list[Any] = []
    add = out.append
    add(gxe.ExpectTableColumnsToMatchSet(
        column_set=list(ENTITY_COLUMNS), exact_match=False,
        meta=_meta(WARNING, "every entity field is present (schema)")))
    _types(out, ENTITY_TYPES, severity=WARNING)
    add(gxe.ExpectColumnValuesToNotBeNull(column="entity_id", meta=_meta(CRITICAL, "entity_id is not null")))
    add(gxe.ExpectColumnValuesToBeUnique(column="entity_id", meta=_meta(CRITICAL, "entity_id is unique")))
    add(gxe.ExpectColumnValuesToBeInSet(
        column="origin", value_set=list(ORIGINS), meta=_meta(WARNING, "origin is gazetteer or ner")))
    add(gxe.ExpectColumnValuesToNotBeNull(column="name", meta=_meta(WARNING, "name is set")))
    add(gxe.ExpectColumnValuesToBeInSet(
        column="label", value_set=sorted(vocabulary.labels),
        meta=_meta(WARNING, "label is in the allowed set")))
    add(gxe.ExpectColumnValuesToBeInSet(
        column="kind", value_set=sorted(vocabulary.kinds), meta=_meta(WARNING, "kind is in the allowed set")))
    return _suite(ENTITIES_SUITE, out)
