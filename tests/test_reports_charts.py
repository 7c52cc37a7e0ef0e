"""Charts: one colour per entity held across charts and tables, labelled axes, newsletter width."""

from __future__ import annotations

import duckdb
import pytest
from matplotlib.colors import to_hex
from test_reports_fixture import END_DAY, make_warehouse

from reports.charts import DPI, OTHER_COLOR, SENTIMENT_ENTITIES, render_charts, render_figures
from reports.newsletter import build_report


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    con = duckdb.connect(str(make_warehouse(tmp_path_factory.mktemp("charts") / "w.duckdb")), read_only=True)
    try:
        return build_report(con, END_DAY)
    finally:
        con.close()


@pytest.fixture(scope="module")
def figures(report: dict) -> dict:
    return render_figures(report)


def _colour_by_label(ax) -> dict[str, str]:
    lines = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    return {line.get_label(): to_hex(line.get_color()) for line in lines}


def test_each_entity_keeps_its_colour_in_every_chart(report: dict, figures: dict) -> None:
    names = {e["name"]: e["color"] for e in report["entities"].values()}
    daily = _colour_by_label(figures["daily_mentions.png"].axes[0])
    trend = _colour_by_label(figures["sentiment_trend.png"].axes[0])
    assert set(daily) == {report["entities"][e]["name"] for e in report["daily"]["entities"]}
    assert all(names[n] == c for n, c in daily.items())
    assert trend.pop("All documents") not in names.values()
    assert len(trend) == min(SENTIMENT_ENTITIES, len(daily)) and all(daily[n] == c for n, c in trend.items())
    ax = figures["share_of_voice.png"].axes[0]
    label_at = {round(y): t.get_text() for y, t in zip(ax.get_yticks(), ax.get_yticklabels(), strict=True)}
    assert len(ax.patches) == len(label_at) >= 3
    for bar in ax.patches:
        label = label_at[round(bar.get_y() + bar.get_height() / 2)]
        assert to_hex(bar.get_facecolor()) == (OTHER_COLOR if label == "Other platforms" else names[label])


def test_axes_are_labelled_and_charts_fit_a_newsletter_column(figures: dict) -> None:
    assert sorted(figures) == ["daily_mentions.png", "sentiment_trend.png", "share_of_voice.png"]
    for name, fig in figures.items():
        ax = fig.axes[0]
        assert ax.get_xlabel(), name
        if name == "share_of_voice.png":  # categorical y axis: the platform names are the labels
            assert all(t.get_text() for t in ax.get_yticklabels()), name
        else:
            assert ax.get_ylabel() and ax.get_xticklabels()[0].get_text(), name
        assert ax.get_title(loc="left"), name
        width_px = fig.get_figwidth() * DPI
        assert 600 <= width_px <= 1200, name  # shown at 600px: sharp on 2x screens, not huge


def test_png_bytes_and_empty_report(report: dict) -> None:
    charts = render_charts(report)
    assert all(png[:8] == b"\x89PNG\r\n\x1a\n" for png in charts.values())
    empty = {**report, "daily": {**report["daily"], "entities": {},
                                 "mean_sentiment": [None] * len(report["daily"]["days"])},
             "share_of_voice": {**report["share_of_voice"], "platforms": [], "total_mentions": 0}}
    assert render_charts(empty) == {}  # nothing to draw: no chart rather than an empty frame
