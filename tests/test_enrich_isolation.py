"""Issue 12, enrich: one over-long or failing document costs only itself.

An over-long text is analysed up to ``nlp.max_text_chars`` (the document keeps its full text and
records the cap); a document whose analysis raises is quarantined alone, with its reason, and the
others are enriched as usual. The spaCy model loads once for the module.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from spacy.language import Language

from common.config import NlpSettings, Settings
from common.context import RunContext
from common.documents import Document
from common.jsonl import read_jsonl, write_jsonl
from transforms.enrich import Enricher, cap_text, enrich_jsonl_lines, enrich_night

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config"
CAP = 5_000
SENTENCE = "Whatnot sellers said the TikTok Shop live auction went well tonight. "


@Language.component("test_explode_on_marker")
def _explode(doc):
    """Raises for any text holding the marker: stands for whatever a hostile text triggers."""
    if "EXPLODE-HERE" in doc.text:
        raise ValueError("simulated failure inside the spaCy pipeline")
    return doc


@pytest.fixture(scope="module")
def enricher(tmp_path_factory: pytest.TempPathFactory) -> Enricher:
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), config_dir=CONFIG,
                        nlp=NlpSettings(max_text_chars=CAP))
    e = Enricher(settings)
    e.nlp.add_pipe("test_explode_on_marker", first=True)
    return e


def _doc(doc_id: str, body: str, title: str | None = "A post") -> Document:
    return Document(doc_id=doc_id, source="reddit", kind="post", channel="TikTokShop", url=None,
                    title=title, body=body, author="u", published_at="2026-11-03T10:00:00+00:00",
                    fetched_at="2026-11-04T01:00:00+00:00", logical_date="2026-11-03", run_id="r1",
                    raw_ref="raw.jsonl.gz:1")


def test_cap_text_cuts_at_a_break_and_keeps_a_prefix():
    text = ("word " * 50 + "\n\n") * 100
    capped = cap_text(text, 1_000)
    assert len(capped) <= 1_000 and text.startswith(capped)
    assert capped.endswith("word") or capped.endswith(" ")  # never mid-word
    assert cap_text("short", 1_000) == "short"
    assert cap_text("x" * 3_000, 1_000) == "x" * 1_000  # no break at all: a hard cut


def test_over_long_document_is_capped_not_crashed(enricher: Enricher):
    long_body = SENTENCE * 30_000  # ~2 million characters: spaCy alone raises E088
    docs = [_doc("t3_long", long_body), _doc("t3_ok", SENTENCE)]
    result = enricher.enrich_documents(docs)
    rows = {r["doc_id"]: r for r in result.documents}
    assert set(rows) == {"t3_long", "t3_ok"} and not result.quarantined
    long_row = rows["t3_long"]
    assert long_row["body"] == long_body  # the full text stays in the document
    assert long_row["extra"]["nlp_capped_from"] == len(docs[0].text)
    assert long_row["extra"]["nlp_capped_at"] == CAP
    assert "nlp_capped_from" not in rows["t3_ok"]["extra"]
    assert all(m["end_char"] <= CAP for m in result.mentions if m["doc_id"] == "t3_long")
    assert any(m["doc_id"] == "t3_long" for m in result.mentions)  # the capped prefix was analysed
    assert result.stats["nlp_capped"] == 1


def test_a_failing_document_is_quarantined_alone(enricher: Enricher):
    docs = [_doc("t3_a", SENTENCE), _doc("t3_bad", "This one says EXPLODE-HERE. " + SENTENCE),
            _doc("t3_b", SENTENCE * 2)]
    result = enricher.enrich_documents(docs)
    assert [r["doc_id"] for r in result.documents] == ["t3_a", "t3_b"]
    assert {m["doc_id"] for m in result.mentions} == {"t3_a", "t3_b"}
    assert len(result.quarantined) == 1
    q = result.quarantined[0]
    assert q["doc_id"] == "t3_bad" and q["stage"] == "enrich"
    assert "simulated failure" in q["reason"] and q["record"]["body"].startswith("This one says")
    assert result.stats["quarantined"] == 1 and result.stats["documents"] == 2


def test_enrich_night_writes_the_quarantine_file(enricher: Enricher, tmp_path: Path):
    settings = dataclasses.replace(enricher.settings, data_dir=tmp_path)
    ctx = RunContext.for_night(settings, date(2026, 11, 3), run_id="iso-1")
    rows = [_doc("t3_a", SENTENCE).to_dict(), _doc("t3_bad", "EXPLODE-HERE " + SENTENCE).to_dict(),
            "not an object"]
    write_jsonl(ctx.work_dir / "reddit.documents.jsonl", rows)  # type: ignore[arg-type]
    summary = enrich_night(ctx, enricher)
    enriched = list(read_jsonl(ctx.work_dir / "enriched" / "documents.jsonl"))
    quarantined = list(read_jsonl(ctx.work_dir / "enriched" / "quarantine.jsonl"))
    assert [r["doc_id"] for r in enriched] == ["t3_a"]
    assert sorted((q["doc_id"] or "", q["stage"]) for q in quarantined) == [("", "enrich"),
                                                                          ("t3_bad", "enrich")]
    assert any("unreadable row" in q["reason"] and q["record"] == "not an object" for q in quarantined)
    assert summary["quarantined"] == 1 and summary["rejected_rows"] == 1


def test_jsonl_lines_report_a_failing_text_and_go_on(enricher: Enricher):
    lines = [json.dumps({"id": 1, "text": SENTENCE}), json.dumps({"id": 2, "text": "EXPLODE-HERE now"}),
             json.dumps({"id": 3, "text": SENTENCE * 400})]
    out = list(enrich_jsonl_lines(enricher, lines))
    assert [r["id"] for r in out] == [1, 2, 3]
    assert "error" not in out[0] and out[0]["entities"]
    assert out[1]["error"].startswith("enrichment failed: ValueError")
    assert out[2]["nlp_capped_from"] == len(SENTENCE * 400)


def test_cli_enrich_jsonl_with_a_two_million_character_text_prints_no_traceback(tmp_path: Path):
    """The issue's reproduction, through the real CLI and the default settings."""
    path = tmp_path / "in.jsonl"
    big = SENTENCE * (2_000_000 // len(SENTENCE) + 1)
    path.write_text(json.dumps({"id": "big", "text": big}) + "\n"
                    + json.dumps({"id": "small", "text": SENTENCE}) + "\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "enrich", "--jsonl", str(path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert [r["id"] for r in rows] == ["big", "small"]
    assert rows[0]["nlp_capped_from"] == len(big) and rows[0]["entities"]
