"""Live-commerce relevance: strong signals decide, weak ones alone never do."""

from __future__ import annotations

import pytest

from common.config import RelevanceSettings
from transforms.relevance import RelevanceRules, score_relevance

RULES = RelevanceRules(min_score=0.5, channels=("Whatnot", "r/TikTokShop"),
                       terms=RelevanceSettings().terms)


def _score(text: str = "", channel: str | None = "example.com", entities=(), themes=()):
    return score_relevance(RULES, text=text, channel=channel, entities=entities, themes=themes)


def test_platform_mention_is_on_topic() -> None:
    rel = _score("Sellers moved to it.", entities=[("platform/whatnot", "platform")])
    assert rel.on_topic and rel.score == 0.5 and rel.reasons == ["platform:platform/whatnot"]


def test_configured_channel_is_on_topic_case_insensitively() -> None:
    assert _score("Same happened to me lol", channel="whatnot").on_topic
    assert _score("Same here", channel="TikTokShop").on_topic
    assert not _score("Same here", channel="cars").on_topic


@pytest.mark.parametrize("text", ["Brands test LIVE-SHOPPING in Europe", "a livestream  shopping event",
                                  "Live commerce is growing", "The live selling boom"])
def test_terms_match_across_case_space_and_hyphen(text: str) -> None:
    rel = _score(text)
    assert rel.on_topic and any(r.startswith("term:") for r in rel.reasons)


def test_generic_retail_vocabulary_and_big_brands_alone_stay_off_topic() -> None:
    """A car recall with themes and company names: weak signals are capped below the threshold."""
    rel = _score("Ford recalls 47,000 trucks; prices and sales fall.",
                 entities=[("company/ford", "company"), ("company/apple", "company"),
                           ("company/microsoft", "company"), ("brand/nike", "brand"),
                           ("company/google", "company")],
                 themes=["pricing-deals", "adoption-growth", "logistics"])
    assert not rel.on_topic
    assert rel.score == 0.4


def test_places_say_nothing_about_topic() -> None:
    rel = _score("Flooding in Texas.", entities=[("place/texas", "place"), ("place/united-states", "place")])
    assert rel.score == 0.0 and rel.reasons == []


def test_news_outlets_say_nothing_about_topic() -> None:
    """Reuters or Bloomberg is cited in any story: a media mention must not lift relevance."""
    rel = _score("Ford recalls trucks, Reuters reports.", entities=[("media/reuters", "media")])
    assert rel.score == 0.0 and rel.reasons == []


def test_score_is_capped_at_one_and_words_inside_other_words_do_not_match() -> None:
    rel = _score("live shopping and live selling", channel="Whatnot",
                 entities=[("platform/whatnot", "platform"), ("platform/tiktok-shop", "platform")])
    assert rel.score == 1.0
    assert not _score("delivers hopping deals").on_topic  # "live shopping" must not match inside words


def test_min_score_is_validated() -> None:
    from common.config import ConfigError

    with pytest.raises(ConfigError, match="min_score"):
        RelevanceSettings(min_score=1.5)
