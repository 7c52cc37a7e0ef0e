"""Newsletter charts as PNG bytes, drawn only from the report dict (so they match the tables).

Why the object API (``Figure`` + Agg canvas) instead of pyplot: no global figure state, no backend
switching inside an Airflow worker, and nothing imported until a chart is drawn. PNG metadata
(Software, dates) is blanked so the bytes are stable for the same report. Sized for a ~600px
newsletter column: 6 inches wide at 150 dpi, 10pt text.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

WIDTH_IN, DPI = 6.0, 150
_RC = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "path.simplify": False,
}
OTHER_COLOR = "#bbbbbb"
CHART_FILES = ("daily_mentions.png", "share_of_voice.png", "sentiment_trend.png")
# Daily sentiment per entity is noisy (a few documents a day); at 600px more than the overall line
# plus three entities turned into spaghetti in the browser check, so the trend shows the top three.
SENTIMENT_ENTITIES = 3


def _sentiment_ids(report: dict[str, Any]) -> list[str]:
    return list(report["daily"]["entities"])[:SENTIMENT_ENTITIES]


def _name(report: dict[str, Any], eid: str) -> str:
    name = report["entities"].get(eid, {}).get("name") or eid
    return name if len(name) <= 28 else name[:27] + "…"


def _label(iso: str) -> str:
    d = date.fromisoformat(iso)
    return f"{d.strftime('%b')} {d.day}"


def _png(fig: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _day_axis(ax: Any, report: dict[str, Any]) -> None:
    days = report["daily"]["days"]
    step = max(1, len(days) // 7)
    ax.set_xticks(range(0, len(days), step))
    ax.set_xticklabels([_label(d) for d in days[::step]])
    if report["daily"]["current_start"] in days:
        x = days.index(report["daily"]["current_start"]) - 0.5
        ax.axvline(x, color="#999999", linestyle=":", linewidth=1)
        ax.text(x + 0.1, 1.0, "this period →", transform=ax.get_xaxis_transform(), fontsize=8,
                color="#666666", va="bottom")
    ax.set_xlabel("Day (UTC)")


def _legend(ax: Any, n: int) -> None:
    if n:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=min(n, 3), frameon=False, fontsize=8)


def daily_mentions_figure(report: dict[str, Any]) -> Any:
    from matplotlib.figure import Figure

    series = report["daily"]["entities"]
    if not series:
        return None
    fig = Figure(figsize=(WIDTH_IN, 3.6))
    ax = fig.add_subplot()
    xs = list(range(len(report["daily"]["days"])))
    for eid, s in series.items():
        ax.plot(xs, s["mentions"], marker="o", markersize=3, linewidth=1.8,
                color=report["entities"][eid]["color"], label=_name(report, eid))
    ax.set_ylabel("Mentions per day")
    ax.set_ylim(bottom=0)
    ax.set_title("Daily mentions of the top entities", loc="left")
    _day_axis(ax, report)
    _legend(ax, len(series))
    fig.tight_layout()
    return fig


def share_of_voice_figure(report: dict[str, Any]) -> Any:
    from matplotlib.figure import Figure

    sov = report["share_of_voice"]
    rows = sov["platforms"]
    if not rows or not sov["total_mentions"]:
        return None
    labels = [_name(report, r["entity_id"]) for r in rows]
    values = [r["share"] * 100 for r in rows]
    colors = [report["entities"][r["entity_id"]]["color"] for r in rows]
    if sov["other_mentions"]:
        labels.append("Other platforms")
        values.append(sov["other_mentions"] / sov["total_mentions"] * 100)
        colors.append(OTHER_COLOR)
    fig = Figure(figsize=(WIDTH_IN, 0.45 * len(labels) + 1.3))
    ax = fig.add_subplot()
    ys = list(range(len(labels)))[::-1]
    ax.barh(ys, values, color=colors)
    for y, v in zip(ys, values, strict=True):
        ax.text(v + 0.5, y, f"{v:.0f}%", va="center", fontsize=8)
    ax.set_yticks(ys)
    ax.set_yticklabels(labels)
    ax.set_xlabel("Share of platform mentions this period (%)")
    ax.set_xlim(0, max(values) * 1.15 + 1)
    ax.set_title("Share of voice among live-commerce platforms", loc="left")
    fig.tight_layout()
    return fig


def sentiment_trend_figure(report: dict[str, Any]) -> Any:
    from matplotlib.figure import Figure

    daily = report["daily"]
    if not any(v is not None for v in daily["mean_sentiment"]):
        return None
    fig = Figure(figsize=(WIDTH_IN, 3.6))
    ax = fig.add_subplot()
    xs = list(range(len(daily["days"])))

    def nan(values: list[float | None]) -> list[float]:
        return [float("nan") if v is None else v for v in values]

    ax.plot(xs, nan(daily["mean_sentiment"]), color="#222222", linestyle="--", linewidth=1.4,
            label="All documents")
    for eid in _sentiment_ids(report):
        ax.plot(xs, nan(daily["entities"][eid]["mean_sentiment"]), marker="o", markersize=3, linewidth=1.5,
                color=report["entities"][eid]["color"], label=_name(report, eid))
    ax.axhline(0, color="#cccccc", linewidth=0.8)
    ax.set_ylim(-1.05, 1.05)
    ax.set_ylabel("Mean sentiment (-1 to 1)")
    ax.set_title("Sentiment trend", loc="left")
    _day_axis(ax, report)
    _legend(ax, len(_sentiment_ids(report)) + 1)
    fig.tight_layout()
    return fig


def chart_alt(report: dict[str, Any], name: str) -> str:
    """Alt text describing what the chart shows (plain text; renderers escape it)."""
    top = ", ".join(_name(report, e) for e in report["daily"]["entities"])
    if name == "daily_mentions.png":
        return f"Line chart of daily mentions over both periods for: {top}."
    if name == "share_of_voice.png":
        parts = [f"{_name(report, r['entity_id'])} {r['share'] * 100:.0f}%"
                 for r in report["share_of_voice"]["platforms"]]
        return "Bar chart of platform share of voice: " + ", ".join(parts) + "."
    tracked = ", ".join(_name(report, e) for e in _sentiment_ids(report))
    return f"Line chart of daily mean sentiment for all documents and for: {tracked}."


FIGURES = {
    "daily_mentions.png": daily_mentions_figure,
    "share_of_voice.png": share_of_voice_figure,
    "sentiment_trend.png": sentiment_trend_figure,
}


def render_figures(report: dict[str, Any]) -> dict[str, Any]:
    """{file name: matplotlib Figure} for each chart with data (tests inspect colours and labels)."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        figs = {name: make(report) for name, make in FIGURES.items()}
    return {name: fig for name, fig in figs.items() if fig is not None}


def render_charts(report: dict[str, Any]) -> dict[str, bytes]:
    """{file name: PNG bytes} for each chart that has data to show."""
    import matplotlib

    out: dict[str, bytes] = {}
    with matplotlib.rc_context(_RC):
        for name, make in FIGURES.items():
            fig = make(report)
            if fig is not None:
                out[name] = _png(fig)
    return out
