"""Turn the enrich stage's JSONL files into the pandas frames the GX suites validate.

Why a separate step: GX checks columns, but a JSONL file can be broken in ways no column check
sees (a truncated line, a line that is a list instead of an object, a missing file). Those are
reported here as load problems, which ``validate`` turns into critical results. The frames use
``dtype=object`` on purpose: pandas 3 would otherwise infer its own ``str`` dtype, which GX's type
expectations do not recognise, and would silently coerce mixed values (``"0.5"`` next to ``0.3``)
that the type checks are there to catch. Derived columns (parsed timestamps, exploded themes) are
added next to the raw ones, never in place of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported lazily: the DAG imports quality.validate and must parse fast
    import pandas as pd

#: Line number (1-based) in the source JSONL file: identifies rows whose doc_id is null or broken.
ROW_COLUMN = "row_number"
PUBLISHED_TS = "published_ts"
FETCHED_TS = "fetched_ts"
DOC_KNOWN = "doc_id_in_documents"
ENTITY_KNOWN = "entity_id_in_entities"
ENTITY_LABEL = "entity_label"
ENTITY_KIND = "entity_kind"


@dataclass
class LoadedFile:
    path: Path
    rows: list[dict[str, Any]] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    missing: bool = False


def load_jsonl(path: Path, max_problems: int = 20) -> LoadedFile:
    """Read a JSONL file line by line, keeping good rows and describing bad ones (never raising)."""
    loaded = LoadedFile(path=path)
    if not path.exists():
        loaded.missing = True
        loaded.problems.append(f"{path.name}: file is missing")
        return loaded
    bad = 0
    try:
        with open(path, encoding="utf-8", errors="strict") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    row, reason = None, f"invalid JSON ({exc.msg} at column {exc.colno})"
                else:
                    reason = "" if isinstance(row, dict) else f"a JSON {type(row).__name__}, not an object"
                if reason:
                    bad += 1
                    if bad <= max_problems:
                        loaded.problems.append(f"{path.name} line {number}: {reason}")
                    continue
                loaded.rows.append(row)
                loaded.row_numbers.append(number)
    except (OSError, UnicodeDecodeError) as exc:
        loaded.problems.append(f"{path.name}: unreadable ({exc})")
    if bad > max_problems:
        loaded.problems.append(f"{path.name}: {bad - max_problems} more bad line(s)")
    return loaded


def to_frame(loaded: LoadedFile, columns: tuple[str, ...]) -> pd.DataFrame:
    """Object-dtype frame with at least the expected columns' *order*; missing ones stay missing.

    Missing columns are not added (that would hide a schema break from the schema expectation);
    unexpected extra columns are kept so the schema check can see them.
    """
    import pandas as pd

    # dtype=object from the start: going through float64 would turn ints with nulls into 8.0 / NaN
    # and make the type expectations fail on good data.
    frame = pd.DataFrame(loaded.rows, dtype=object) if loaded.rows else pd.DataFrame()
    ordered = [c for c in columns if c in frame.columns] + [c for c in frame.columns if c not in columns]
    frame = frame.reindex(columns=ordered).astype(object)
    frame = frame.where(frame.notna(), None) if len(frame) else frame
    frame[ROW_COLUMN] = pd.Series(loaded.row_numbers, index=frame.index, dtype="int64")
    if "doc_id" not in frame.columns:
        # Failing rows are reported by (row_number, doc_id): keep the column so results stay uniform.
        frame["doc_id"] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    return frame


def parse_timestamps(frame: pd.DataFrame, column: str, target: str) -> None:
    """Add ``target`` as tz-aware UTC datetimes parsed from ISO strings; anything else becomes NaT.

    The raw column keeps its own format/type expectations, so a NaT here never goes unreported.
    """
    import pandas as pd

    if column not in frame.columns:
        frame[target] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
        return
    values = frame[column].map(lambda v: v if isinstance(v, str) else None)
    frame[target] = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")


def explode_themes(documents: pd.DataFrame) -> pd.DataFrame:
    """One row per (document, theme), so a set expectation can check every theme id.

    A ``themes`` value that is not a list yields one row holding its repr, which then fails the
    set (or slug) check instead of being skipped.
    """
    import pandas as pd

    records: list[dict[str, Any]] = []
    if "themes" in documents.columns:
        for doc_id, row_number, themes in zip(
            documents["doc_id"], documents[ROW_COLUMN], documents["themes"], strict=True
        ):
            if themes is None:
                continue
            values = themes if isinstance(themes, list) else [repr(themes)]
            for theme in values:
                records.append(
                    {"doc_id": doc_id, ROW_COLUMN: row_number, "theme": theme if isinstance(theme, str)
                     else repr(theme)}
                )
    frame = pd.DataFrame.from_records(records, columns=["doc_id", ROW_COLUMN, "theme"]).astype(object)
    frame[ROW_COLUMN] = frame[ROW_COLUMN].astype("int64")
    return frame


def add_membership(frame: pd.DataFrame, column: str, known: set[Any] | None, target: str) -> None:
    """Add ``target``: True/False whether ``column``'s value is in ``known``; None where it is null.

    ``known=None`` means the reference set is unavailable; then every value counts as known, and
    the caller records that the check could not be made.
    """
    import pandas as pd

    values = frame[column] if column in frame.columns else pd.Series([None] * len(frame), index=frame.index)
    frame[target] = pd.Series(
        [None if v is None else (True if known is None else hashable(v) in known) for v in values],
        index=frame.index, dtype=object,
    )


def add_lookup(frame: pd.DataFrame, column: str, mapping: dict[Any, Any], target: str) -> None:
    """Add ``target``: ``mapping[value of column]``, None where the value is null or not mapped.

    Used to give each mention its entity's label and kind, so an allowed-set check on them names
    the *documents* that mention a bad entity (their rows are quarantined) instead of failing the
    whole batch on the entity row.
    """
    import pandas as pd

    values = frame[column] if column in frame.columns else pd.Series([None] * len(frame), index=frame.index)
    frame[target] = pd.Series([None if v is None else mapping.get(hashable(v)) for v in values],
                              index=frame.index, dtype=object)


def hashable(value: Any) -> Any:
    """``value`` if it can be a dict key or set member, else its repr (a list in a bad row)."""
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value
