"""Canonicalisation, junk filtering and gazetteer loading: pure functions, no spaCy."""

from pathlib import Path

import pytest

from transforms.canonical import canonical_key, junk_reason, ner_entity_id, normalize_surface
from transforms.gazetteer import GazetteerError, load_gazetteer

CONFIG = Path(__file__).resolve().parents[1] / "config"


@pytest.mark.parametrize(
    ("surface", "expected"),
    [("TikTok's", "TikTok"), ("the TikTok Shop", "TikTok Shop"), ("Whatnot\u2019s", "Whatnot"),
     ("  The  U.S. ", "U.S."), ("sellers'", "sellers"), ('"Amazon Live"', "Amazon Live")],
)
def test_normalize_surface(surface: str, expected: str) -> None:
    assert normalize_surface(surface) == expected


def test_canonical_key_folds_case_dots_possessive() -> None:
    assert canonical_key("TikTok's") == canonical_key("the TIKTOK") == "tiktok"
    assert canonical_key("U.S.") == canonical_key("US") == "us"
    assert ner_entity_id("ORG", "the Acme Corp.'s") == "ner/org/acme-corp"


@pytest.mark.parametrize(
    ("surface", "label"),
    [("n't", "ORG"), ("'s", "PERSON"), ("seller", "ORG"), ("Facebook and YouTube", "ORG"),
     ("Subscribe", "PERSON"), ("2024", "ORG"), ("last week", "DATE"), ("$5", "MONEY"),
     ("Getty Images", "ORG"), ("Acme", "LANGUAGE")],
)
def test_junk_is_rejected(surface: str, label: str) -> None:
    assert junk_reason(surface, label) is not None


@pytest.mark.parametrize(("surface", "label"),
                         [("Acme Robotics", "ORG"), ("Jane Doe", "PERSON"), ("Procter & Gamble", "ORG")])
def test_real_entities_pass(surface: str, label: str) -> None:
    assert junk_reason(surface, label) is None


def test_gazetteer_aliases_resolve() -> None:
    gaz = load_gazetteer(CONFIG / "gazetteer.toml")
    assert gaz.lookup("U.S.").id == "place/united-states"
    assert gaz.lookup("the USA").id == "place/united-states"
    assert gaz.lookup("TSL").id == "platform/talkshoplive"
    assert gaz.lookup("TikTok's").id == "platform/tiktok"
    assert gaz.lookup("Acme") is None
    required = {"platform/tiktok-shop", "platform/douyin", "platform/whatnot", "platform/amazon-live",
                "platform/youtube-shopping", "platform/facebook-live", "platform/instagram-live",
                "platform/taobao-live", "platform/shopee-live", "platform/lazada", "platform/qvc",
                "platform/hsn", "company/bytedance", "company/alibaba", "company/shopify",
                "place/southeast-asia", "place/united-kingdom", "place/china"}
    assert required <= {e.id for e in gaz.entries}


def test_ruler_patterns_case_rules() -> None:
    gaz = load_gazetteer(CONFIG / "gazetteer.toml")

    class Tok:
        def __init__(self, text: str) -> None:
            self.text = text

    pats = gaz.ruler_patterns(lambda s: [Tok(w) for w in s.split()])
    us = [p for p in pats if p["id"] == "place/united-states" and p["pattern"] == [{"ORTH": "US"}]]
    assert us, "acronym aliases must match case-sensitively"
    shop = [p for p in pats if p["id"] == "platform/tiktok-shop"][0]
    assert shop["pattern"] == "TikTok Shop"  # phrase pattern, matched on LOWER by the ruler


def test_bad_gazetteer_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "g.toml"
    bad.write_text('[[entity]]\nid = "Bad Id"\nname = "X"\nlabel = "ORG"\nkind = "platform"\n')
    with pytest.raises(GazetteerError, match="kind/slug"):
        load_gazetteer(bad)
    dup = tmp_path / "d.toml"
    dup.write_text('[[entity]]\nid = "platform/a"\nname = "A"\nlabel = "ORG"\nkind = "platform"\n'
                   '[[entity]]\nid = "platform/b"\nname = "B"\nlabel = "ORG"\nkind = "platform"\n'
                   'aliases = ["a"]\n')
    with pytest.raises(GazetteerError, match="collides"):
        load_gazetteer(dup)


def test_given_names_load_and_are_validated(tmp_path: Path) -> None:
    """The given-name list drives PERSON relabelling; it must load, and a bad one must fail loudly.
    Names that are also common places or brands are kept out (they would turn "Georgia Tech" or
    "Ross Stores" into people)."""
    names = load_gazetteer(CONFIG / "gazetteer.toml").given_names
    assert {"Tristan", "Maria", "Jeff"} <= names
    assert not names & {"Georgia", "Austin", "Jordan", "Victoria", "Ross", "Chelsea", "Paris"}
    bad = tmp_path / "g.toml"
    bad.write_text('given_names = ["Ann", 3]\n[[entity]]\nid = "platform/a"\nname = "A"\n'
                   'label = "ORG"\nkind = "platform"\n')
    with pytest.raises(GazetteerError, match="given_names"):
        load_gazetteer(bad)


def test_legal_form_and_reddit_platform() -> None:
    assert normalize_surface("Acme Holdings, Inc.") == "Acme Holdings"
    gaz = load_gazetteer(CONFIG / "gazetteer.toml")
    assert gaz.lookup("reddit").id == "platform/reddit"
