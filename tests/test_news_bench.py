"""Body-extraction quality gate on ../shared/data/articles (skipped when absent), plus the metric."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # bench/ is not an installed package (see the final report)
    sys.path.insert(0, str(REPO))

from bench.extraction import page_scores, run  # noqa: E402

ARTICLES = REPO / ".." / "shared" / "data" / "articles"


def test_metric_normalises_per_page():
    assert page_scores("a b c d e", "a b c d e") == (1.0, 0.0, 0.0)
    tp, fp, fn = page_scores("a b c d x", "a b c d e")
    assert tp == pytest.approx(1 / 3) and fp == pytest.approx(1 / 3) and fn == pytest.approx(1 / 3)
    assert page_scores("", "a b c d") == (0.0, 0.0, 1.0)


@pytest.mark.shared
@pytest.mark.skipif(not (ARTICLES / "ground-truth.json").exists(), reason="../shared/data/articles is absent")
def test_body_quality_gate():
    result = run(ARTICLES)
    print(result.summary())
    assert result.pages == 94
    assert result.f1 >= 0.97  # issue 4: beat trafilatura 2.3.1 (0.964); speed is reported, not asserted
