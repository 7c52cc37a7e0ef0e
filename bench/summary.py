"""One row per target, collected by every benchmark, printed as one table by ``make bench``.

Why a collector and not parsed output: each script prints its own detailed figures, but the team
(and a client asking "how do you know?") needs one table of target, measured figure and anchor
side by side, and one verdict. A script records its rows with :func:`record` as it measures; a
row whose figure could not be measured (data absent) is a failed row, never a silent skip.
"""

from __future__ import annotations

from dataclasses import dataclass

ROWS: list[Row] = []


@dataclass(frozen=True)
class Row:
    bench: str
    metric: str
    target: str
    measured: str
    anchor: str
    passed: bool


def record(bench: str, metric: str, target: str, measured: str, anchor: str = "", passed: bool = True) -> Row:
    row = Row(bench, metric, target, measured, anchor, passed)
    ROWS.append(row)
    return row


def missing(bench: str, metric: str, target: str, why: str) -> Row:
    """A target that could not be measured (e.g. ../shared/data absent): fails the table."""
    return record(bench, metric, target, f"not measured: {why}", "", False)


def table(rows: list[Row] | None = None) -> str:
    rows = ROWS if rows is None else rows
    head = ("bench", "metric", "target", "measured", "anchor", "ok")
    body = [(r.bench, r.metric, r.target, r.measured, r.anchor, "yes" if r.passed else "NO") for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths]), *(line(b) for b in body)])
