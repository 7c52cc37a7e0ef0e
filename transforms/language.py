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


def detect_language(text: str | None) -> str:
    """ISO 639-1 code ("en", "es", ...), or "und" for empty text."""
    if not text or not text.strip():
        return UNDETERMINED
    sample = text[:_MAX_CHARS]
    non_latin = _has_cjk_or_other_script(sample)
    if len(_ALPHA_WORD.findall(sample)) < _MIN_WORDS and not non_latin:
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
