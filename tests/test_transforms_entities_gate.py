"""Quality gate: entity precision / recall floors on the *test* half of the real gold set.

tests/fixtures/entities_gold_real.jsonl quotes paragraphs from ../shared/data (article bodies and
Reddit cassettes) annotated by the guideline in tests/fixtures/README.md; bench.split.half_of on
each row's source decides the half. Rules were tuned on the tune half only.

Measured 2026-12-01 on the test half (67 paragraphs, 202 gold entities), scope REAL_SCOPE:
precision 0.760, recall 0.738 (gazetteer P 0.862 / R 1.000, statistical NER P 0.743 / R 0.701);
2026-12-02 (session 12, place list and name-shape rules): P 0.764, R 0.738 (NER P 0.747);
session 13 (mixed-case names, institutions, apposition): P 0.765, R 0.743 (NER P 0.749, R 0.706);
then gazetteer 2026.12.2 (243 industry names): P 0.770, R 0.748 (NER P 0.753, R 0.710);
raw en_core_web_sm NER alone gets P 0.626 / R 0.639 on the same texts.
The issue's target (P >= 0.95, R >= 0.90) is NOT met: the floors below pin what was measured,
a little under it, so a regression fails while the honest shortfall stays visible in bench.entities.
Skips when ../shared/data is absent (the texts are tied to it; see bench/entities.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.split import half_of
from transforms.entity_eval import load_gold

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO / ".." / "shared" / "data"
REAL_GOLD = REPO / "tests" / "fixtures" / "entities_gold_real.jsonl"
FLOORS = {("all", "precision"): 0.76, ("all", "recall"): 0.74,
          ("gazetteer", "recall"): 0.99, ("ner", "precision"): 0.74, ("ner", "recall"): 0.69}

needs_shared = pytest.mark.skipif(not (SHARED / "articles").is_dir() or not (SHARED / "reddit-api").is_dir(),
                                  reason="../shared/data absent (the real gold set quotes it)")


def test_real_gold_set_shape() -> None:
    """The set the issue asks for: >= 200 spans over >= 60 paragraphs from both sources, at least
    half of the spans unknown to the gazetteer, and rows in both halves."""
    rows = load_gold(REAL_GOLD)
    raw = [json.loads(line) for line in REAL_GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    spans = [e for r in raw for e in r["entities"]]
    assert len(rows) >= 60 and len(spans) >= 200
    # As written (the ids and in_gazetteer flags record the list of the day the rows were written):
    # a name added to the gazetteer later does not change what the set was.
    assert sum(e["in_gazetteer"] for e in spans) <= len(spans) / 2
    assert all(e["in_gazetteer"] == (not e["id"].startswith("ner/")) for e in spans)
    assert {r.source.endswith(".json") for r in rows} == {True, False}  # cassettes and articles
    assert {half_of(r.source) for r in rows} == {"tune", "test"}
    for r in raw:  # every annotated surface is in its text
        assert all(e["surface"] in r["text"] for e in r["entities"]), r["id"]


@needs_shared
def test_quoted_texts_come_from_the_shared_data() -> None:
    """Each article row's text is a passage of that article's ground-truth body."""
    truth = json.loads((SHARED / "articles" / "ground-truth.json").read_text(encoding="utf-8"))
    for row in load_gold(REAL_GOLD):
        if not row.source.endswith(".json"):
            assert row.text in truth[row.source]["articleBody"], row.id


@needs_shared
def test_entity_floors_on_the_test_half() -> None:
    from bench.entities import run

    result = run(with_anchor=False)
    test = result.halves["test"]
    print({k: v.summary() for k, v in test.items()})
    for (origin, metric), floor in FLOORS.items():
        value = getattr(test[origin], metric)
        assert value >= floor, f"{origin} {metric} {value:.3f} < floor {floor} on the test half"
    # The synthetic regression set must stay near perfect (it is what the rules were written for).
    assert result.synthetic["all"].f1 >= 0.97


def test_bench_refuses_without_the_shared_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """`make bench` must fail clearly, not report figures, when ../shared/data is absent."""
    import bench.entities as bench_entities

    monkeypatch.setattr(bench_entities, "DATA", tmp_path / "missing")
    assert bench_entities.main([]) == 2
    assert "absent" in capsys.readouterr().out
    with pytest.raises(bench_entities.DataAbsent):
        bench_entities.summary_rows()


# The live-commerce probes (SYNTHETIC, each written by a helper that had seen neither the rules nor
# the pipeline; tests/fixtures/README.md): floors on their held-out rows, just under what was
# measured. First probe (entities_probe_live_commerce.jsonl, ids lch..), 2026-12-02 with the
# gazetteer's live-commerce industry entries: P 0.854, R 0.807; gazetteer P 0.925 R 1.000 (before
# them P 0.827, R 0.772). Second probe (entities_probe2_live_commerce.jsonl, ids lc2h.., all held
# out), scored once on arrival, 2026-12-02: P 0.789, R 0.748; gazetteer P 0.886 R 0.989. With
# session 12's rules (from a third probe's tune rows, narrowed after a review): first probe
# P 0.866 R 0.819, second probe P 0.796 R 0.754. Session 13's rules: first probe P 0.879 R 0.831,
# second probe P 0.791 R 0.757. Fourth probe (entities_probe4_live_commerce.jsonl, ids lc4h.., all
# held out, hard cases on purpose), scored once on arrival 2026-12-02: P 0.695, R 0.648; gazetteer
# P 0.906 R 0.975 (the code at the start of that session: P 0.671, R 0.625). Then the gazetteer
# gained 243 industry names from general knowledge (2026.12.2): first probe P 0.906 R 0.873 (10 of
# its held-out spans are such names), second P 0.795 R 0.763 (6), fourth P 0.732 R 0.707 (41;
# gazetteer R 0.967: names of common words such as "Cash App" match only as written, and forum
# posts write some in lower case).
# Needs no shared data, so it runs in every clone.
PROBE_FLOORS = {
    "lch": {("all", "precision"): 0.89, ("all", "recall"): 0.86, ("gazetteer", "recall"): 0.99},
    "lc2h": {("all", "precision"): 0.78, ("all", "recall"): 0.75, ("gazetteer", "recall"): 0.98},
    "lc4h": {("all", "precision"): 0.72, ("all", "recall"): 0.70, ("gazetteer", "recall"): 0.96},
}


@pytest.mark.parametrize(("prefix", "rows_expected", "spans_min"),
                         [("lch", 30, 150), ("lc2h", 40, 300), ("lc4h", 40, 420)])
def test_entity_floors_on_the_live_commerce_probes_held_out(prefix: str, rows_expected: int,
                                                             spans_min: int) -> None:
    from bench.entities import PROBE2_GOLD, PROBE4_GOLD, PROBE_GOLD
    from common.config import NlpSettings
    from transforms.entity_eval import REAL_SCOPE, predict_pipeline, score
    from transforms.gazetteer import load_gazetteer
    from transforms.nlp import build_pipeline

    gazetteer = load_gazetteer(REPO / "config" / "gazetteer.toml")
    gold = {"lch": PROBE_GOLD, "lc2h": PROBE2_GOLD, "lc4h": PROBE4_GOLD}[prefix]
    rows = [r for r in load_gold(gold, gazetteer) if r.id.startswith(prefix)]
    assert len(rows) == rows_expected and sum(len(r.entities) for r in rows) >= spans_min
    nlp = build_pipeline(NlpSettings().spacy_model, REPO / "config" / "gazetteer.toml",
                         REPO / "config" / "themes.toml")
    held = score(rows, predict_pipeline(nlp, rows), REAL_SCOPE)
    for (origin, metric), floor in PROBE_FLOORS[prefix].items():
        value = getattr(held[origin], metric)
        assert value >= floor, f"probe {prefix} {origin} {metric} {value:.3f} < floor {floor}"
