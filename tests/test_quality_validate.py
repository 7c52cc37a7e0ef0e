"""validate_night over hand-built enriched batches: clean, each critical failure, warnings, reruns.

GX is slow to import and to render Data Docs, so every test shares one data directory (one GX
project) and only the tests about Data Docs render them. Each test uses its own night, spaced
more than the 7-night volume lookback apart so no test sees another's history.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from common.config import NewsSettings, QualitySettings, RedditSettings, Settings
from common.context import RunContext
from common.jsonl import read_json, read_jsonl, write_json, write_jsonl
from quality import gx_context
from quality.validate import QualityGateFailed, ValidationOutcome, failing_records, validate_night

REPO = Path(__file__).resolve().parents[1]
THEMES_TOML = """
version = "test"
[[theme]]
id = "trust"
name = "Trust"
terms = ["trust"]
[[theme]]
id = "pricing-deals"
name = "Pricing"
terms = ["price"]
"""
_nights = itertools.count()


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("quality")
    config_dir = root / "config"
    config_dir.mkdir()
    (config_dir / "themes.toml").write_text(THEMES_TOML)
    shutil.copyfile(REPO / "config" / "gazetteer.toml", config_dir / "gazetteer.toml")
    # Sources disabled: most tests write only the enriched batch; the delivery tests enable them.
    return Settings(data_dir=root / "data", config_dir=config_dir,
                    reddit=RedditSettings(enabled=False), news=NewsSettings(enabled=False),
                    quality=QualitySettings(min_documents=1, max_body_chars=500))


def new_ctx(settings: Settings) -> RunContext:
    night = date(2026, 1, 1) + timedelta(days=10 * next(_nights))
    return RunContext.for_night(settings, night, run_id=f"test__{night}")


def now_for(ctx: RunContext) -> datetime:
    return ctx.window_end + timedelta(hours=2)


def doc(ctx: RunContext, i: int, **over: Any) -> dict[str, Any]:
    published = ctx.window_end - timedelta(hours=3 + i)
    row = {
        "doc_id": f"t3_{i}", "source": "reddit", "kind": "post", "channel": "TikTokShop",
        "url": f"https://www.reddit.com/r/TikTokShop/comments/{i}/", "title": f"Post {i}",
        "body": "Great live shopping deal", "author": "someone",
        "published_at": published.isoformat(),
        "fetched_at": (ctx.window_end + timedelta(hours=1)).isoformat(),
        "logical_date": ctx.night.isoformat(), "run_id": ctx.run_id, "raw_ref": f"raw/reddit.jsonl.gz:{i}",
        "canonical_url": None, "parent_id": None, "score": 3, "num_comments": 1, "language": "en",
        "content_hash": f"h{i}", "is_deleted": False, "extra": {}, "sentiment": 0.4, "themes": ["trust"],
    }
    row.update(over)
    return row


def mention(doc_id: str, start: int = 0, **over: Any) -> dict[str, Any]:
    row = {"doc_id": doc_id, "entity_id": "platform/tiktok-shop", "sentence_idx": 0, "start_char": start,
           "end_char": start + 11, "surface": "TikTok Shop", "sentence": "TikTok Shop is great.",
           "sentiment": 0.6}
    row.update(over)
    return row


ENTITY = {"entity_id": "platform/tiktok-shop", "name": "TikTok Shop", "label": "ORG", "kind": "platform",
          "aliases": ["TikTok Shop"], "origin": "gazetteer"}


def write_batch(ctx: RunContext, docs: list[dict[str, Any]], mentions: list[dict[str, Any]] | None = None,
                entities: list[dict[str, Any]] | None = None) -> None:
    enriched = ctx.work_dir / "enriched"
    write_jsonl(enriched / "documents.jsonl", docs)
    write_jsonl(enriched / "mentions.jsonl", mentions if mentions is not None else
                [mention(d["doc_id"]) for d in docs if isinstance(d.get("doc_id"), str)])
    write_jsonl(enriched / "entities.jsonl", entities if entities is not None else [ENTITY])


def clean_docs(ctx: RunContext, n: int = 3) -> list[dict[str, Any]]:
    return [doc(ctx, i) for i in range(1, n + 1)]


def run(ctx: RunContext, **kw: Any) -> ValidationOutcome:
    return validate_night(ctx, now=now_for(ctx), data_docs=kw.pop("data_docs", False), **kw)


# --- the clean path ------------------------------------------------------------------------------

def test_clean_batch_passes_writes_validation_json_and_data_docs(settings: Settings) -> None:
    ctx = new_ctx(settings)
    write_batch(ctx, clean_docs(ctx))
    outcome = run(ctx, data_docs=True)

    assert outcome.success, outcome.critical_failures
    assert outcome.critical_failures == [] and outcome.warnings == []
    assert outcome.failing_doc_ids == {}
    assert (outcome.n_documents, outcome.n_mentions) == (3, 3)
    assert outcome.data_docs_index is not None and outcome.data_docs_index.name == "index.html"
    assert outcome.data_docs_index.is_file()
    assert settings.quality_dir in outcome.data_docs_index.parents
    assert "enriched_documents" in outcome.data_docs_index.read_text()

    saved = read_json(ctx.work_dir / "validation.json")
    assert saved["success"] is True and saved["night"] == ctx.night.isoformat()
    assert saved["n_documents"] == 3 and len(saved["results"]) == len(outcome.results)
    suites = {r["suite"] for r in outcome.results}
    assert suites == {"enriched_documents", "enriched_document_themes", "enriched_mentions",
                      "enriched_entities"}
    for row in outcome.results:
        assert set(row) == {"suite", "expectation", "column_name", "severity", "success", "observed",
                            "details"}
        assert row["severity"] in ("critical", "warning") and row["success"] is True
        assert isinstance(row["observed"], str) and isinstance(row["details"], str)


def test_tombstones_and_non_english_with_null_sentiment_pass(settings: Settings) -> None:
    ctx = new_ctx(settings)
    docs = clean_docs(ctx) + [doc(ctx, 9, body=None, is_deleted=True, sentiment=None, themes=[])]
    write_batch(ctx, docs)
    outcome = run(ctx)
    assert outcome.success, outcome.critical_failures


# --- critical failures ----------------------------------------------------------------------------

def _dup(ctx: RunContext) -> tuple[list[dict[str, Any]], None]:
    return clean_docs(ctx) + [doc(ctx, 2, title="again")], None


def _null_id(ctx: RunContext) -> tuple[list[dict[str, Any]], None]:
    return clean_docs(ctx) + [doc(ctx, 4, doc_id=None)], None


def _sentiment(ctx: RunContext) -> tuple[list[dict[str, Any]], None]:
    return [doc(ctx, 1), doc(ctx, 2, sentiment=1.7), doc(ctx, 3)], None


def _future(ctx: RunContext) -> tuple[list[dict[str, Any]], None]:
    future = (now_for(ctx) + timedelta(days=2)).isoformat()
    return [doc(ctx, 1), doc(ctx, 2), doc(ctx, 3, published_at=future)], None


def _empty(ctx: RunContext) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return [], []


def _orphan(ctx: RunContext) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    docs = clean_docs(ctx)
    return docs, [mention("t3_1"), mention("t3_404")]


CRITICAL_CASES = {
    "empty batch": (_empty, "the night has at least 1 document(s)", set()),
}
# issue 12: one bad row costs only itself. Each case: (batch, reason, quarantined key).
ISOLATED_CASES = {
    "duplicate ids": (_dup, "doc_id is not unique", "t3_2"),
    "null id": (_null_id, "doc_id None is missing", None),
    "sentiment 1.7": (_sentiment, "sentiment 1.7 is not a finite number within -1..1", "t3_2"),
    "future timestamp": (_future, "is in the future", "t3_3"),
    "orphan mention": (_orphan, "mention row(s) of a document not in the night's batch", "t3_404"),
}


@pytest.mark.parametrize("case", list(ISOLATED_CASES))
def test_a_bad_row_is_quarantined_alone_and_the_night_passes(settings: Settings, case: str) -> None:
    build, reason, key = ISOLATED_CASES[case]
    ctx = new_ctx(settings)
    docs, mentions = build(ctx)
    write_batch(ctx, docs, mentions)
    outcome = run(ctx)

    assert outcome.success, outcome.critical_failures
    (row,) = read_jsonl_rows(ctx.work_dir / "enriched" / "quarantine.jsonl")
    assert row["stage"] == "validate" and reason in row["reason"] and row["doc_id"] == key
    kept = read_jsonl_rows(ctx.work_dir / "enriched" / "documents.jsonl")
    assert all(d["doc_id"] != key for d in kept) and len(kept) >= 2
    assert outcome.n_documents == len(kept)
    assert any("quarantined alone" in w for w in outcome.warnings)
    assert run(ctx).quarantined == {}, "a re-run finds nothing new to move"
    assert len(read_jsonl_rows(ctx.work_dir / "enriched" / "quarantine.jsonl")) == 1


def read_jsonl_rows(path: Path) -> list[dict[str, Any]]:
    return list(read_jsonl(path))


@pytest.mark.parametrize("case", list(CRITICAL_CASES))
def test_critical_failure_fails_with_message_and_failing_rows(settings: Settings, case: str) -> None:
    build, expected_message, expected_ids = CRITICAL_CASES[case]
    ctx = new_ctx(settings)
    docs, mentions = build(ctx)
    write_batch(ctx, docs, mentions)
    outcome = run(ctx)

    assert not outcome.success
    assert any(expected_message in msg for msg in outcome.critical_failures), outcome.critical_failures
    assert set(outcome.failing_doc_ids) == expected_ids
    for key in expected_ids:
        assert expected_message in outcome.failing_doc_ids[key]
    failed = [r for r in outcome.results if not r["success"] and r["severity"] == "critical"]
    assert failed and all(r["details"] for r in failed)
    assert read_json(ctx.work_dir / "validation.json")["success"] is False

    with pytest.raises(QualityGateFailed) as err:
        outcome.raise_for_failure(ctx.night.isoformat())
    assert expected_message in str(err.value) and ctx.night.isoformat() in str(err.value)


def test_several_row_level_failures_each_quarantine_their_row(settings: Settings) -> None:
    """One batch, one bad row per rule: each row is set aside for its own reason and no other;
    the good document (t3_8) is all that is left, and the night passes."""
    ctx = new_ctx(settings)
    old = (ctx.window_start - timedelta(days=5)).isoformat()
    docs = [doc(ctx, 1), doc(ctx, 2, published_at=old), doc(ctx, 3, themes=["trust", "astrology"]),
            doc(ctx, 4, sentiment="0.5"), doc(ctx, 5, source="twitter"), doc(ctx, 6, kind="tweet"),
            doc(ctx, 7, fetched_at="yesterday"), doc(ctx, 8), doc(ctx, 9, sentiment=float("nan")),
            doc(ctx, 10, published_at="2026-13-45T10:00:00+00:00")]
    mentions = [mention("t3_1"), mention("t3_1", start=20, end_char=5), mention("t3_6", sentiment=-3.0),
                mention("t3_8")]
    write_batch(ctx, docs, mentions)
    outcome = run(ctx)

    assert outcome.success, outcome.critical_failures
    expected = {
        "t3_1": "start_char 20 is not below end_char 5",
        "t3_2": "is long before the night's window",
        "t3_3": "'astrology' not in the themes file",
        "t3_4": "sentiment is a str, not float or int",
        "t3_5": "source 'twitter' is not one of reddit, news",
        "t3_6": "kind 'tweet' is not one of post, comment, article",
        "t3_7": "fetched_at 'yesterday' is not ISO-8601 with a UTC offset",
        "t3_9": "sentiment nan is not a finite number",
        "t3_10": "is not a valid timestamp",
    }
    assert set(outcome.quarantined) == set(expected)
    for doc_id, reason in expected.items():
        assert reason in outcome.quarantined[doc_id], (doc_id, outcome.quarantined[doc_id])
    assert "sentiment -3.0 is not a finite number" in outcome.quarantined["t3_6"]  # the mention's
    enriched = ctx.work_dir / "enriched"
    assert [d["doc_id"] for d in read_jsonl_rows(enriched / "documents.jsonl")] == ["t3_8"]
    assert [m["doc_id"] for m in read_jsonl_rows(enriched / "mentions.jsonl")] == ["t3_8"]
    assert outcome.n_documents == 1 and outcome.n_mentions == 1


def test_a_bad_row_gx_alone_knows_is_isolated_by_the_backstop(settings: Settings, monkeypatch) -> None:
    """With the row rules switched off, the GX suites still name the row, and only it is moved."""
    from quality import isolation

    monkeypatch.setattr(isolation, "find_bad_rows", lambda *a, **k: ({}, {}))
    ctx = new_ctx(settings)
    write_batch(ctx, [doc(ctx, 1), doc(ctx, 2, sentiment=1.7), doc(ctx, 3)])
    outcome = run(ctx)
    assert outcome.success, outcome.critical_failures
    assert "sentiment is within -1..1" in outcome.quarantined["t3_2"]
    assert any("sentiment is within -1..1" in m for m in outcome.isolated_failures)
    kept = [d["doc_id"] for d in read_jsonl_rows(ctx.work_dir / "enriched" / "documents.jsonl")]
    assert kept == ["t3_1", "t3_3"]


def test_a_night_of_only_bad_rows_still_fails(settings: Settings) -> None:
    """Quarantining every document leaves nothing to load: that is a batch failure."""
    ctx = new_ctx(settings)
    write_batch(ctx, [doc(ctx, 1, sentiment=3.0), doc(ctx, 2, kind="tweet")])
    outcome = run(ctx)
    assert not outcome.success
    assert any("the night has at least 1 document(s)" in m for m in outcome.critical_failures)
    assert set(outcome.quarantined) == {"t3_1", "t3_2"}


def test_duplicate_ids_are_one_outcome_keeping_every_copy(settings: Settings) -> None:
    ctx = new_ctx(settings)
    docs, _ = _dup(ctx)
    write_batch(ctx, docs)
    outcome = run(ctx)
    assert outcome.success
    (row,) = read_jsonl_rows(ctx.work_dir / "enriched" / "quarantine.jsonl")
    assert row["doc_id"] == "t3_2" and "lines 2, 4" in row["reason"]
    assert [r["title"] for r in row["record"]] == ["Post 2", "again"]


def test_table_level_failure_quarantines_every_row(settings: Settings) -> None:
    """A missing column (schema break) makes the whole batch unusable: all docs are failing rows."""
    ctx = new_ctx(settings)
    docs = [{k: v for k, v in doc(ctx, i).items() if k != "fetched_at"} for i in (1, 2)]
    write_batch(ctx, docs)
    outcome = run(ctx)
    assert not outcome.success
    assert any("schema" in m for m in outcome.critical_failures)
    assert set(outcome.failing_doc_ids) == {"t3_1", "t3_2"}


def test_unreadable_jsonl_line_is_a_critical_failure_not_a_crash(settings: Settings) -> None:
    ctx = new_ctx(settings)
    write_batch(ctx, clean_docs(ctx))
    path = ctx.work_dir / "enriched" / "documents.jsonl"
    path.write_text(path.read_text() + '{"doc_id": "t3_9", "truncat\n[1, 2]\n')
    outcome = run(ctx)
    assert not outcome.success
    assert any("line 4: invalid JSON" in m for m in outcome.critical_failures)
    assert any("line 5: a JSON list" in m for m in outcome.critical_failures)
    assert set(outcome.failing_doc_ids) == {"t3_1", "t3_2", "t3_3"}
    assert outcome.n_documents == 3


def test_missing_enriched_files_fail_clearly(settings: Settings) -> None:
    ctx = new_ctx(settings)
    outcome = run(ctx)
    assert not outcome.success
    assert any("documents.jsonl: file is missing" in m for m in outcome.critical_failures)
    assert any("mentions.jsonl: file is missing" in m for m in outcome.critical_failures)


# --- warnings -------------------------------------------------------------------------------------

def test_warning_only_problem_passes_with_warning(settings: Settings) -> None:
    ctx = new_ctx(settings)
    write_batch(ctx, [doc(ctx, 1), doc(ctx, 2, language=None, body="x" * 900)])
    outcome = run(ctx)
    assert outcome.success, outcome.critical_failures
    assert any("language is set" in w and "t3_2" in w for w in outcome.warnings)
    assert any("body is at most 500 characters" in w for w in outcome.warnings)
    assert outcome.failing_doc_ids == {}
    warned = [r for r in outcome.results if not r["success"]]
    assert warned and {r["severity"] for r in warned} == {"warning"}


def test_missing_themes_file_degrades_to_warning(settings: Settings, tmp_path: Path) -> None:
    no_themes = replace(settings, config_dir=tmp_path)
    ctx = new_ctx(no_themes)
    write_batch(ctx, [doc(ctx, 1), doc(ctx, 2, themes=["Not A Slug"])])
    outcome = run(ctx)
    assert outcome.success, outcome.critical_failures
    assert any("no themes file" in w for w in outcome.warnings)
    assert any("theme is a slug" in w for w in outcome.warnings)


def test_volume_far_below_trailing_mean_warns(settings: Settings) -> None:
    ctx = new_ctx(settings)
    for back in (1, 2, 3):
        earlier = settings.work_dir(ctx.night - timedelta(days=back))
        write_json(earlier / "validation.json", {"n_documents": 100})
    write_batch(ctx, clean_docs(ctx, 2))
    outcome = run(ctx)
    assert outcome.success
    assert any("trailing 7-night mean" in w for w in outcome.warnings)


# --- reruns and GX state --------------------------------------------------------------------------

def _stored_files(settings: Settings) -> set[Path]:
    return {p for p in gx_context.gx_dir(settings.quality_dir).rglob("*") if p.is_file()}


def test_rerunning_a_night_overwrites_instead_of_piling_up(settings: Settings) -> None:
    ctx = new_ctx(settings)
    write_batch(ctx, clean_docs(ctx))
    run(ctx, data_docs=True)
    before = _stored_files(settings)
    again = run(ctx, data_docs=True)
    assert again.success
    assert _stored_files(settings) == before
    night_dirs = list(gx_context.validations_dir(settings.quality_dir).glob(f"*/{ctx.night.isoformat()}"))
    assert len(night_dirs) == 4 and all(len(list(d.rglob("*.json"))) == 1 for d in night_dirs)


def test_prune_old_runs_removes_only_old_nights(tmp_path: Path) -> None:
    base = gx_context.validations_dir(tmp_path)
    docs = gx_context.data_docs_dir(tmp_path) / "validations"
    for root in (base, docs):
        for name in ("2026-01-01", "2026-03-30", "not-a-date"):
            (root / "suite_a" / name).mkdir(parents=True)
    removed = gx_context.prune_old_runs(tmp_path, today=date(2026, 4, 1), keep_nights=30)
    assert removed == ["2026-01-01"]
    for root in (base, docs):
        assert sorted(p.name for p in (root / "suite_a").iterdir()) == ["2026-03-30", "not-a-date"]


def test_quality_gate_failed_lists_every_failure() -> None:
    err = QualityGateFailed("2026-11-03", ["a: doc_id is unique", "b: sentiment"], Path("/x/index.html"))
    text = str(err)
    assert "2026-11-03" in text and "2 critical failure(s)" in text
    assert "- a: doc_id is unique" in text and "- b: sentiment" in text and "/x/index.html" in text


def test_importing_validate_does_not_import_gx() -> None:
    code = ("import sys, quality.validate; "
            "sys.exit('great_expectations' in sys.modules or 'pandas' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_each_source_batch_is_validated_with_its_own_suite(settings: Settings) -> None:
    ctx = new_ctx(settings)
    docs = clean_docs(ctx)
    write_batch(ctx, docs)
    raw = [{k: v for k, v in d.items() if k not in ("sentiment", "themes")} for d in docs]
    raw[1]["source"] = "news"
    write_jsonl(ctx.work_dir / "reddit.documents.jsonl", raw)
    outcome = run(ctx)

    # The enriched row was fine; the source's own suite named it, and the backstop set it aside.
    assert outcome.success, outcome.critical_failures
    assert outcome.source_counts == {"reddit": 3}
    assert any(m.startswith("raw_reddit_documents: source is reddit") for m in outcome.isolated_failures)
    assert set(outcome.failing_doc_ids) == {"t3_2"} and set(outcome.quarantined) == {"t3_2"}
    assert {r["suite"] for r in outcome.results} >= {"raw_reddit_documents", "enriched_documents"}
    assert read_json(ctx.work_dir / "validation.json")["source_counts"] == {"reddit": 3}


def test_a_source_row_enrich_already_set_aside_does_not_fail_the_night(settings: Settings) -> None:
    """A row without doc_id in a source's extract file fails that source's suite, but enrich
    already kept it with its reason: it has its outcome, and the night passes."""
    from common.outcomes import quarantine_row

    ctx = new_ctx(settings)
    docs = clean_docs(ctx)
    write_batch(ctx, docs)
    raw = [{k: v for k, v in d.items() if k not in ("sentiment", "themes")} for d in docs]
    nameless = dict(raw[0], doc_id=None, title="no id")
    write_jsonl(ctx.work_dir / "reddit.documents.jsonl", [*raw, nameless])
    write_jsonl(ctx.work_dir / "enriched" / "quarantine.jsonl",
                [quarantine_row(None, None, None, "enrich", "unreadable row", nameless)])
    outcome = run(ctx)
    assert outcome.success, outcome.critical_failures
    assert "<reddit.documents.jsonl line 4>" in outcome.failing_doc_ids
    assert len(read_jsonl_rows(ctx.work_dir / "enriched" / "quarantine.jsonl")) == 1
    assert outcome.n_documents == 3


def test_failing_records_of_a_failed_batch_name_what_isolation_left(settings: Settings) -> None:
    """A schema break fails the batch; rows the row rules already moved are not named again
    (they have their own outcome), every other document is a failing record."""
    ctx = new_ctx(settings)
    docs = [{k: v for k, v in d.items() if k != "fetched_at"} for d in clean_docs(ctx)]
    docs.append({k: v for k, v in doc(ctx, 4, doc_id=None, title="no id").items() if k != "fetched_at"})
    write_batch(ctx, docs, [mention("t3_1"), mention("t3_404"), mention("t3_404", start=30)])
    outcome = run(ctx)
    records = failing_records(ctx, outcome)

    assert not outcome.success
    assert sorted(row["doc_id"] for row, _ in records) == ["t3_1", "t3_2", "t3_3"]
    assert all(reason.startswith("batch failed") for _, reason in records)
    moved = sorted(str(r["doc_id"]) for r in read_jsonl_rows(ctx.work_dir / "enriched" / "quarantine.jsonl"))
    assert moved == ["None", "t3_404"]


def test_critical_entity_failure_fails_the_whole_batch(settings: Settings) -> None:
    ctx = new_ctx(settings)
    write_batch(ctx, clean_docs(ctx, 2), entities=[ENTITY, dict(ENTITY, name="Duplicate")])
    outcome = run(ctx)
    assert not outcome.success
    assert any("entity_id is unique" in m for m in outcome.critical_failures)
    assert set(outcome.failing_doc_ids) == {"t3_1", "t3_2"}
    assert all(r.startswith("batch failed: enriched_entities") for r in outcome.failing_doc_ids.values())


def test_integers_with_nulls_keep_their_type(tmp_path):
    """Posts have num_comments, comments don't: the column mixes ints and nulls and must pass."""
    from quality.frames import LoadedFile, to_frame

    loaded = LoadedFile(path=tmp_path / "x.jsonl", rows=[{"doc_id": "a", "num_comments": 3},
                                                         {"doc_id": "b", "num_comments": None}],
                        row_numbers=[1, 2])
    frame = to_frame(loaded, ("doc_id", "num_comments"))
    assert frame["num_comments"].tolist() == [3, None]
    assert type(frame["num_comments"][0]) is int


# --- allowed sets for entity labels and kinds -----------------------------------------------------

def test_entity_label_and_kind_outside_allowed_sets(settings: Settings) -> None:
    """An entity with an unknown label or kind is rejected, and the documents mentioning it are
    quarantined with their mentions; the night goes on."""
    ctx = new_ctx(settings)
    odd_label = dict(ENTITY, entity_id="ner/blob/acme", name="Acme", label="BLOB", kind="organization",
                     origin="ner")
    odd_kind = dict(ENTITY, entity_id="platform/acme-live", name="Acme Live", kind="spaceship")
    docs = clean_docs(ctx)
    mentions = [mention("t3_1"), mention("t3_2", entity_id="ner/blob/acme"),
                mention("t3_3", entity_id="platform/acme-live")]
    write_batch(ctx, docs, mentions, entities=[ENTITY, odd_label, odd_kind])
    outcome = run(ctx)

    assert outcome.success, outcome.critical_failures
    assert set(outcome.quarantined) == {"t3_2", "t3_3", "entity:ner/blob/acme", "entity:platform/acme-live"}
    assert "label 'BLOB' is not in the allowed set" in outcome.quarantined["t3_2"]
    assert "kind 'spaceship' is not in the allowed set" in outcome.quarantined["t3_3"]
    entities = read_jsonl_rows(ctx.work_dir / "enriched" / "entities.jsonl")
    assert [e["entity_id"] for e in entities] == ["platform/tiktok-shop"]


def test_allowed_sets_cover_gazetteer_and_ner_labels(settings: Settings) -> None:
    from quality.suites import load_entity_vocabulary
    from transforms.gazetteer import load_gazetteer

    vocab = load_entity_vocabulary(settings)
    assert vocab.note == ""
    gazetteer = load_gazetteer(settings.config_file(settings.nlp.gazetteer))
    assert {e.label for e in gazetteer.entries} <= vocab.labels
    assert {e.kind for e in gazetteer.entries} <= vocab.kinds
    assert {"ORG", "PERSON", "GPE"} <= vocab.labels and "CARDINAL" not in vocab.labels
    assert {"platform", "organization", "place"} <= vocab.kinds


# --- freshness per configured source --------------------------------------------------------------

def _raw(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in d.items() if k not in ("sentiment", "themes")} for d in docs]


def test_enabled_source_without_documents_warns(settings: Settings) -> None:
    both = replace(settings, reddit=RedditSettings(enabled=True), news=NewsSettings(enabled=True))
    ctx = new_ctx(both)
    docs = clean_docs(ctx)
    write_batch(ctx, docs)
    write_jsonl(ctx.work_dir / "reddit.documents.jsonl", _raw(docs))
    write_json(ctx.work_dir / "news.source_run.json", {"source": "news", "status": "failed",
                                                       "message": "all feeds timed out"})
    outcome = run(ctx)

    assert outcome.success, outcome.critical_failures
    (news_warning,) = [w for w in outcome.warnings if "news delivered documents" in w]
    assert "no documents file" in news_warning and "all feeds timed out" in news_warning
    delivered = {r["suite"]: r for r in outcome.results if r["expectation"] == "source_delivered_documents"}
    assert delivered["raw_reddit_documents"]["success"] is True
    assert delivered["raw_news_documents"]["success"] is False
    assert delivered["raw_news_documents"]["severity"] == "warning"


def test_enabled_source_with_empty_file_warns_and_disabled_source_does_not(settings: Settings) -> None:
    only_reddit = replace(settings, reddit=RedditSettings(enabled=True))
    ctx = new_ctx(only_reddit)
    write_batch(ctx, clean_docs(ctx))
    write_jsonl(ctx.work_dir / "reddit.documents.jsonl", [])
    outcome = run(ctx)
    assert outcome.success, outcome.critical_failures
    assert any("reddit delivered documents" in w and "0 document(s)" in w for w in outcome.warnings)
    assert not any("news" in w for w in outcome.warnings)


# --- thresholds are settings ----------------------------------------------------------------------

def test_freshness_and_slack_follow_quality_settings(settings: Settings) -> None:
    ctx = new_ctx(settings)
    stale = ctx.window_end - timedelta(hours=30)
    docs = [doc(ctx, 1, published_at=stale.isoformat()), doc(ctx, 2, published_at=stale.isoformat())]
    write_batch(ctx, docs)
    assert any("the newest document is fresh" in w for w in run(ctx).warnings)  # default 24 h

    lenient = replace(settings, quality=replace(settings.quality, freshness_hours=48))
    ctx2 = RunContext.for_night(lenient, ctx.night, run_id=ctx.run_id)
    assert not any("fresh" in w for w in run(ctx2).warnings)

    # Published 30 h before the window start: outside the default 26 h slack, inside 40 h.
    early = (ctx.window_start - timedelta(hours=30)).isoformat()
    write_batch(ctx, [doc(ctx, 1), doc(ctx, 2, published_at=early)])
    assert "t3_2" in run(ctx).quarantined
    write_batch(ctx, [doc(ctx, 1), doc(ctx, 2, published_at=early)])
    (ctx.work_dir / "enriched" / "quarantine.jsonl").unlink()
    slack = replace(settings, quality=replace(settings.quality, window_slack_hours=40))
    assert run(RunContext.for_night(slack, ctx.night, run_id=ctx.run_id)).success


def test_volume_bounds_follow_quality_settings(settings: Settings) -> None:
    ctx = new_ctx(settings)
    for back in (1, 2):
        earlier = settings.work_dir(ctx.night - timedelta(days=back))
        write_json(earlier / "validation.json", {"n_documents": 10})
    write_batch(ctx, clean_docs(ctx, 2))
    assert not any("trailing 7-night mean" in w for w in run(ctx).warnings)  # 2 < volume_min_history

    strict = replace(settings, quality=replace(settings.quality, volume_min_history=2, volume_low=0.5))
    assert any("trailing 7-night mean" in w
               for w in run(RunContext.for_night(strict, ctx.night, run_id=ctx.run_id)).warnings)
    loose = replace(strict.quality, volume_low=0.2)
    assert not any("trailing 7-night mean" in w for w in run(
        RunContext.for_night(replace(settings, quality=loose), ctx.night, run_id=ctx.run_id)).warnings)


def test_quality_settings_are_validated_and_read_from_toml(tmp_path: Path) -> None:
    from common.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="volume_low"):
        QualitySettings(volume_low=2.0, volume_high=1.0)
    with pytest.raises(ConfigError, match="freshness_hours"):
        QualitySettings(freshness_hours=0)
    overlay = tmp_path / "q.toml"
    overlay.write_text("[quality]\nfreshness_hours = 6\nvolume_high = 5.0\n")
    q = load_settings(overlay).quality
    assert (q.freshness_hours, q.volume_high, q.window_slack_hours) == (6, 5.0, 26)
    overlay.write_text("[quality]\nfreshnes_hours = 6\n")
    with pytest.raises(ConfigError, match="freshnes_hours"):
        load_settings(overlay)
