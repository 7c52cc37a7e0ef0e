"""Number formatting a newsletter reader sees."""

from reports.fmt import sent


def test_sentiment_never_prints_negative_zero():
    assert sent(-0.001) == "+0.00"
    assert sent(-0.004) == "+0.00"
    assert sent(-0.12) == "-0.12"
    assert sent(0.3) == "+0.30"
    assert sent(None) == "–" and sent(None, missing="n/a") == "n/a"
