"""bench/reddit_bench.py: the request estimate follows the config; parsing the recorded cassettes works."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bench.reddit_bench import cassette_records, parse_speed, requests_per_night
from common.config import RedditSettings, Settings

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "reddit-api"


def test_request_estimate_follows_config(tmp_path):
    cfg = RedditSettings(subreddits=("a", "b"), listings=("new", "top"), search_queries=("q",),
                         max_items_per_listing=250, replace_more_limit=2, max_requests_per_run=500,
                         search_split_sorts=("top",), listing_cap=1000)
    est = requests_per_night(Settings(data_dir=tmp_path, reddit=cfg), posts_per_source=150)
    assert est["sources"] == 5 and est["listing_pages"] == 10 and est["posts"] == 750
    # 2 comment streams (one per subreddit) of 200 comments: 3 pages each (the 201st ends paging).
    assert est["comment_streams"] == 2 and est["stream_pages"] == 6 and not est["streams_capped"]
    assert est["low"] == 1 + 10 + 6 + 750 and est["high"] == est["low"] + 750 * 2
    assert est["cap"] == 500 and est["split_pages_per_capped_search"] == 3 * 10
    off = requests_per_night(Settings(data_dir=tmp_path, reddit=replace(cfg, comment_streams=False)),
                             posts_per_source=150)
    assert off["stream_pages"] == 0 and off["low"] == 1 + 10 + 750
    busy = requests_per_night(Settings(data_dir=tmp_path, reddit=cfg), posts_per_source=150,
                              comments_per_subreddit=5000)
    assert busy["stream_pages"] == 2 * 3 and busy["streams_capped"]  # 250 = max_items_per_listing


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"recorded Reddit cassettes absent ({SHARED})")
def test_parse_speed_on_recorded_cassettes():
    records = cassette_records(SHARED)
    things, docs, rate = parse_speed(records, repeats=1)
    assert records and things >= docs > 0 and rate > 0
