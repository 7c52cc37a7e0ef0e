"""Theme taxonomy: the issue's required themes exist, it is versioned, bad files fail clearly."""

from pathlib import Path

import pytest

from transforms.themes import ThemesError, ThemeTagger, load_themes

CONFIG = Path(__file__).resolve().parents[1] / "config"


def test_taxonomy_covers_required_themes_and_is_versioned() -> None:
    tax = load_themes(CONFIG / "themes.toml")
    assert tax.version != "unversioned"
    assert {"adoption-growth", "creators-hosts", "pricing-deals", "trust", "fraud-returns", "logistics",
            "regulation", "platform-features"} <= {t.id for t in tax.themes}


def test_surface_tagging_and_min_hits() -> None:
    tagger = ThemeTagger(load_themes(CONFIG / "themes.toml"))
    tags = tagger.tag_text("The FTC and the EU regulator opened an investigation")
    assert "regulation" in tags
    assert tagger.tag_text("a quiet afternoon") == []


def test_bad_taxonomy_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "t.toml"
    bad.write_text('version = "1"\n[[theme]]\nid = "x"\nname = "X"\nterms = []\n')
    with pytest.raises(ThemesError, match="terms"):
        load_themes(bad)
    bad.write_text("not toml [")
    with pytest.raises(ThemesError, match="TOML"):
        load_themes(bad)
