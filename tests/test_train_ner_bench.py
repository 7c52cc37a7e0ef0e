"""bench/train_ner.py's gold-span placement: what the NER is trained to find in each paragraph."""

from __future__ import annotations

from bench.train_ner import gold_spans


def spans(text: str, *ents: tuple[str, str]) -> list[tuple[str, str]] | None:
    out = gold_spans(text, [{"label": label, "surface": surface} for label, surface in ents])
    return None if out is None else [(text[s:e], label) for s, e, label in out]


def test_every_occurrence_is_tagged_at_word_boundaries_only() -> None:
    text = "Whatnot grew. Whatnotters are fans; Whatnot said so."
    assert spans(text, ("ORG", "Whatnot")) == [("Whatnot", "ORG"), ("Whatnot", "ORG")]


def test_a_person_named_in_full_is_also_tagged_by_surname() -> None:
    text = "Myles Garrett said no. Later, Mr. Garrett agreed."
    assert spans(text, ("PERSON", "Myles Garrett")) == [("Myles Garrett", "PERSON"), ("Garrett", "PERSON")]


def test_the_longest_name_wins_where_two_overlap() -> None:
    text = "The Apple Watch launch, Apple said, was delayed."
    assert spans(text, ("ORG", "Apple"), ("PRODUCT", "Apple Watch")) == [("Apple Watch", "PRODUCT"),
                                                                         ("Apple", "ORG")]


def test_a_surface_missing_from_the_text_skips_the_row() -> None:
    assert spans("Nothing here.", ("ORG", "Acme")) is None


def test_a_paragraph_without_names_trains_on_no_spans() -> None:
    assert spans("Edit: thanks all, sold.") == []
