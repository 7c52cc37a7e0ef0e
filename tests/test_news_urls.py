"""Canonical URLs and keys: tracking stripped, order and case normalised, content parameters kept."""

from __future__ import annotations

import sys

from extractors.news.urls import canonicalize, domain_of, news_doc_id


def test_tracking_parameters_fragment_case_and_port():
    a = "HTTPS://News.Example:443/2026/11/09/story?utm_source=rss&b=2&a=1&fbclid=x#comments"
    assert canonicalize(a) == "https://news.example/2026/11/09/story?a=1&b=2"
    assert news_doc_id(a) == news_doc_id("https://news.example/2026/11/09/story?b=2&a=1")
    assert news_doc_id(a).startswith("news_") and len(news_doc_id(a)) == 21


def test_content_parameters_and_path_case_kept():
    assert canonicalize("http://x.example:8080/Story.php?id=5&source=wire") == (
        "http://x.example:8080/Story.php?id=5&source=wire"
    )
    assert news_doc_id("https://x.example/a?id=1") != news_doc_id("https://x.example/a?id=2")


def test_channel_is_host_without_www():
    assert domain_of("https://www.creatorwire.example/2026/x") == "creatorwire.example"


def test_importing_the_package_stays_light():
    """The DAG imports extractors.news: no HTTP client, parsers or feedparser at import time."""
    import subprocess

    code = (
        "import sys, extractors.news; "
        "heavy = [m for m in ('requests', 'bs4', 'lxml', 'feedparser', 'defusedxml') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
