"""Language identification with lingua (its models ship inside the wheel: nothing is downloaded).

Why restricted and biased: our sources are English-language subreddits and feeds, so the real
question is "is this English, or clearly something else?". Restricting lingua to a handful of
languages keeps it fast and small, and because n-gram detectors guess wildly on a short comment
("TikTok Shop is great lol" scores as Indonesian), a non-English verdict must be confident and
the text long enough; otherwise we keep English, the prior for these sources.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

LANGUAGES = (
    "ENGLISH", "SPANISH", "FRENCH", "GERMAN", "PORTUGUESE", "ITALIAN", "INDONESIAN", "MALAY",
    "VIETNAMESE", "THAI", "TAGALOG", "CHINESE", "JAPANESE", "KOREAN", "RUSSIAN", "ARABIC", "HINDI",
)
UNDETERMINED = "und"
_ALPHA_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)
_MAX_CHARS = 600  # enough evidence; long articles would otherwise dominate detection time
_MIN_WORDS = 4
_MIN_CONFIDENCE = 0.6
# English function words that are not also common words of the languages we detect (no "a", "no",
# "in", "was", "will", "die", "on", "at", "so", ...). A text with many of them is English without
# asking lingua: lingua's n-gram scoring is then the stage's largest cost after spaCy itself.
_EN_MARKERS = frozenset({
    "the", "and", "of", "to", "for", "with", "that", "this", "these", "those", "is", "are", "were", "been",
    "have", "has", "from", "they", "their", "them", "would", "could", "should", "which", "what", "there",
    "about", "just", "your", "you", "not", "but", "when", "because", "than", "then", "very", "really",
    "only", "how", "why", "who", "our", "we", "my", "it",
})
_FAST_MIN_WORDS = 6
_FAST_MIN_SHARE = 0.15
_FAST_MIN_DISTINCT = 2


@lru_cache(maxsize=1)
def _detector() -> Any:
    """Built once per process (detectors hold the n-gram models; building is the costly part)."""
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(*(getattr(Language, n) for n in LANGUAGES)).build()


def _has_cjk_or_other_script(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return False
    non_latin = sum(1 for ch in letters if ord(ch) > 0x24F)
    return non_latin / len(letters) > 0.5


def _clearly_english(words: list[str]) -> bool:
    """Enough words, 15% or more of them English function words, two distinct ones.

    Measured on the 4,872 benchmark texts (bench/nlp.py corpus): 72% take this path, and lingua
    agrees with it on every one where lingua is confident (one "But its message is abstinence"
    lingua calls French). Foreign-language texts have almost none of these words, so they still
    reach lingua (tests/test_transforms_language.py)."""
    if len(words) < _FAST_MIN_WORDS:
        return False
    hits = [w for w in (w.lower() for w in words) if w in _EN_MARKERS]
    return len(hits) >= _FAST_MIN_SHARE * len(words) and len(set(hits)) >= _FAST_MIN_DISTINCT


def detect_language(text: str | None) -> str:
    """ISO 639-1 code ("en", "es", ...), or "und" for empty text."""
    if not text or not text.strip():
        return UNDETERMINED
    sample = text[:_MAX_CHARS]
    non_latin = _has_cjk_or_other_script(sample)
    words = _ALPHA_WORD.findall(sample)
    if not non_latin and (len(words) < _MIN_WORDS or _clearly_english(words)):
        return "en"
    values = _detector().compute_language_confidence_values(sample)
    if not values:
        return "en"
    top = values[0]
    code = top.language.iso_code_639_1.name.lower()
    if code == "en":
        return "en"
    # Non-Latin scripts are unambiguous; Latin-script verdicts need confidence.
    if non_latin or top.value >= _MIN_CONFIDENCE:
        return code
    return "en"
