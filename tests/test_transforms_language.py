"""Language detection: lingua decides every text that is not clearly English by its function words."""

from __future__ import annotations

import pytest

from transforms.language import _ALPHA_WORD, _clearly_english, detect_language

FOREIGN = {
    "es": "Compré unos zapatos en el live de TikTok Shop y llegaron rotos, qué decepción con el vendedor.",
    "tl": "Ang ganda ng mga produkto sa live selling ni ate, mura pa at mabilis ang delivery.",
    "id": "Saya beli baju di Shopee Live kemarin dan barangnya sampai dengan cepat, penjualnya ramah sekali.",
    "fr": "J'ai acheté un sac pendant le live shopping sur TikTok, mais la livraison a pris trois semaines.",
    "de": "Ich habe gestern im Livestream eine Jacke gekauft, aber die Lieferung war also sehr langsam.",
    "pt": "Comprei um vestido na live da Shopee e chegou com defeito, o vendedor não respondeu.",
    "it": "Ho comprato una borsa durante la diretta su TikTok Shop ma la spedizione è stata lenta.",
    "vi": "Mua hàng trên TikTok Shop live rất rẻ nhưng giao hàng chậm quá trời luôn.",
    "zh": "我在抖音直播间买了一件外套，物流太慢了，客服也不回复。",
}

ENGLISH = [
    "Whatnot sellers say the new fees are eating their margins on every live show.",
    "The stream was great but shipping took three weeks and nobody answered my emails.",
    "Still no refund from that seller, what a joke",
]


@pytest.mark.parametrize("code", sorted(FOREIGN))
def test_foreign_texts_are_detected_and_never_take_the_english_shortcut(code: str) -> None:
    text = FOREIGN[code]
    assert not _clearly_english(_ALPHA_WORD.findall(text))
    assert detect_language(text) == code


@pytest.mark.parametrize("text", ENGLISH)
def test_english_texts_are_english(text: str) -> None:
    assert detect_language(text) == "en"


def test_shortcut_needs_enough_words_and_distinct_markers() -> None:
    assert _clearly_english(_ALPHA_WORD.findall(ENGLISH[0]))
    assert not _clearly_english(["the", "the", "the", "Shop", "Live", "deal"])  # one distinct marker
    assert not _clearly_english(["the", "and", "Shop"])  # too short to judge


def test_empty_is_undetermined() -> None:
    assert detect_language("   ") == "und"
    assert detect_language(None) == "und"
