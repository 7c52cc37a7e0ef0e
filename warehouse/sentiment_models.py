"""Whether two periods' sentiment compares: the one rule the alerts and the newsletter share.

Why: every document records the model that scored its sentiment (``core.documents.
sentiment_model``, migration 012: ``lexicon-<digest>`` or ``embedding-<digest>``, NULL for
documents loaded before). A model upgrade, or a source moved from one model to the other
(``[nlp] sentiment_embed_sources``), shifts scores without any change of opinion. So sentiment
is compared across two periods only when, in both, each source was scored by the same models:

* per source and kind of model (lexicon, embedding) at most one id across both periods;
* per source present in both periods, the same kinds in each (a source moved from the embedding
  model to the lexicon one is a change of model);
* documents without an id (loaded before migration 012) only beside others without one.

Otherwise the sentiment alerts pause (warehouse.alerts.sentiment_shifts) and the newsletter shows
no previous-period sentiment (reports.newsletter), until both periods were scored alike: about two
periods after an upgrade, or sooner when the earlier nights are re-enriched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

_DAY = "CAST(timezone('UTC', d.published_at) AS DATE)"


@dataclass(frozen=True)
class SentimentModels:
    """The model ids of two periods' documents and whether their sentiment compares."""

    current: tuple[str, ...]
    previous: tuple[str, ...]
    comparable: bool
    reason: str | None = None  # why not, for a log line or a note

    def to_dict(self) -> dict[str, Any]:
        return {"current": list(self.current), "previous": list(self.previous), "comparable": self.comparable,
                "reason": self.reason}


def _ids_by_source(con: duckdb.DuckDBPyConnection, start: date, end: date) -> dict[str, set[str]]:
    has_column = con.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'core' "
        "AND table_name = 'documents' AND column_name = 'sentiment_model'").fetchone()[0]
    model = "coalesce(d.sentiment_model, '')" if has_column else "''"  # a read-only, older warehouse
    out: dict[str, set[str]] = {}
    for source, m in con.execute(
            f"SELECT DISTINCT d.source, {model} FROM core.documents d WHERE {_DAY} BETWEEN ? AND ? "
            "AND d.sentiment IS NOT NULL AND NOT coalesce(d.is_deleted, false)", [start, end]).fetchall():
        out.setdefault(str(source), set()).add(str(m))
    return out


def _kind(model_id: str) -> str:
    return model_id.split("-", 1)[0]


def compare(con: duckdb.DuckDBPyConnection, previous: tuple[date, date], current: tuple[date, date]
            ) -> SentimentModels:
    """Whether sentiment in ``previous`` (first, last day) compares with ``current`` (see module)."""
    before, now = _ids_by_source(con, *previous), _ids_by_source(con, *current)
    ids_now = tuple(sorted({m for ms in now.values() for m in ms}))
    ids_before = tuple(sorted({m for ms in before.values() for m in ms}))
    every = set(ids_now) | set(ids_before)
    reason = None
    if "" in every and every != {""}:
        reason = "documents scored before model ids were recorded (migration 012) beside later ones"
    for source in sorted(set(now) | set(before)):
        both = now.get(source, set()) | before.get(source, set())
        kinds = [_kind(m) for m in both]
        if reason is None and len(kinds) != len(set(kinds)):
            reason = f"{source}: the sentiment model changed ({', '.join(sorted(both))})"
        if reason is None and source in now and source in before and \
                {_kind(m) for m in now[source]} != {_kind(m) for m in before[source]}:
            reason = (f"{source}: scored by {', '.join(sorted(before[source]))} before and by "
                      f"{', '.join(sorted(now[source]))} now")
    return SentimentModels(ids_now, ids_before, reason is None, reason)
