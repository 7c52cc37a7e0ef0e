"""`pulse run` when sources are unavailable: clear per-source outcomes, recorded in the warehouse.

No internet is touched: the "offline" feed points at a closed port on 127.0.0.1.
"""

from __future__ import annotations

import logging
import socket
from datetime import date

import duckdb
import pytest

from common.config import load_settings
from common.context import RunContext
from pipeline.runner import run_all


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def offline_settings(tmp_path, monkeypatch):
    for var in ("PULSE_REDDIT_CLIENT_ID", "PULSE_REDDIT_CLIENT_SECRET", "PULSE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    # Keep the Airflow connection look-up from finding anything either.
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    overlay = tmp_path / "offline.toml"
    overlay.write_text(
        f"""
[pipeline]
data_dir = "{tmp_path / 'data'}"
[news]
per_host_delay_s = 0.0
allow_private_hosts = ["127.0.0.1"]
connect_timeout_s = 2.0
feeds = [{{ name = "Offline feed", url = "http://127.0.0.1:{_closed_port()}/feed.xml" }}]
""",
        encoding="utf-8",
    )
    return load_settings(overlay)


def test_no_credentials_and_no_network(offline_settings, caplog):
    ctx = RunContext.for_night(offline_settings, date(2026, 11, 14), run_id="offline-1")
    lines: list[str] = []
    with caplog.at_level(logging.INFO):
        outcome = run_all(ctx, echo=lines.append)

    skipped = [r for r in caplog.records if "Reddit skipped" in r.getMessage()]
    assert len(skipped) == 1, [r.getMessage() for r in caplog.records]
    assert "PULSE_REDDIT_CLIENT_ID" in skipped[0].getMessage()
    assert not any(r.exc_info for r in caplog.records if r.name.startswith(("extractors", "pipeline")))

    assert not outcome.ok
    assert "extract_news" in outcome.errors and "extract_reddit" not in outcome.errors
    assert outcome.results["extract_reddit"]["status"] == "skipped"
    assert "load" not in outcome.results  # an empty batch is not published

    con = duckdb.connect(str(offline_settings.warehouse_path), read_only=True)
    try:
        runs = dict(con.execute(
            "select source, status from ops.source_runs where run_id = 'offline-1'").fetchall())
        errors = con.execute(
            "select source, url, reason from ops.errors where run_id = 'offline-1'").fetchall()
        docs = con.execute("select count(*) from core.documents").fetchone()[0]
    finally:
        con.close()
    assert runs == {"reddit": "skipped", "news": "failed"}
    assert errors and errors[0][0] == "news" and "127.0.0.1" in errors[0][1]
    assert errors[0][2]  # a human-readable reason, per URL
    assert docs == 0
