"""Fetching rules against a local ReplayServer: size caps (gzip bomb, 5 MB), redirects, robots, delays."""

from __future__ import annotations

import gzip

import pytest

from common.config import NewsSettings
from demo.replay.http import ReplayRequest, ReplayResponse
from demo.replay.server import ReplayServer
from extractors.news.http import Fetcher, FetchError, HostThrottle, check_url, fetch_url

BOMB = gzip.compress(b"\0" * 50_000_000)  # ~50 kB on the wire, 50 MB decompressed
FIVE_MB = b"<html><body><article>" + b"<p>" + b"word " * 1_000_000 + b"</p></article></body></html>"
ROBOTS = {"a": (200, "User-agent: *\nDisallow: /no\nCrawl-delay: 2\n"), "b": (503, "down"), "c": (404, "")}
MODE = {"robots": "c"}  # which ROBOTS answer /robots.txt gives; tests switch it


def handler(req: ReplayRequest) -> ReplayResponse | None:
    if req.path == "/robots.txt":
        status, text = ROBOTS[MODE["robots"]]
        return ReplayResponse.text(text, "text/plain", status)
    site, _, rest = req.path.lstrip("/").partition("/")
    if rest == "robots.txt":
        status, text = ROBOTS.get(site, (404, ""))
        return ReplayResponse.text(text, "text/plain", status)
    if rest == "bomb":
        return ReplayResponse(200, BOMB, {"Content-Type": "text/html", "Content-Encoding": "gzip"})
    if rest == "slow":
        return ReplayResponse(200, b"late", {"Content-Type": "text/html"}, delay_s=2.0)
    if rest == "big":
        return ReplayResponse(200, FIVE_MB, {"Content-Type": "text/html"})
    if rest.startswith("hop"):
        n = int(rest[3:])
        return ReplayResponse(302, b"", {"Location": f"/{site}/hop{n + 1}"})
    return ReplayResponse.text("<html><body><p>ok</p></body></html>", "text/html")


@pytest.fixture(scope="module")
def base():
    with ReplayServer([handler]) as srv:
        yield srv.base_url


def settings(**kw) -> NewsSettings:
    return NewsSettings(
        **{
            "allow_private_hosts": ("127.0.0.1",),
            "per_host_delay_s": 0.0,
            "connect_timeout_s": 2,
            "read_timeout_s": 5,
            **kw,
        }
    )


def test_gzip_bomb_aborted_by_decompressed_cap(base):
    with pytest.raises(FetchError) as info:
        fetch_url(base + "/x/bomb", settings(max_bytes=1_000_000))
    assert info.value.stage == "size" and "decompressed" in info.value.reason


def test_five_megabyte_page_within_cap_is_fetched_whole(base):
    res = fetch_url(base + "/x/big", settings(max_bytes=8_000_000))
    assert res.status == 200 and res.body == FIVE_MB


def test_five_megabyte_page_over_cap_refused(base):
    with pytest.raises(FetchError, match="max_bytes"):
        fetch_url(base + "/x/big", settings(max_bytes=4_000_000))


def test_redirect_limit(base):
    with pytest.raises(FetchError) as info:
        fetch_url(base + "/x/hop0", settings(max_redirects=3))
    assert info.value.stage == "redirect" and "more than 3 redirects" in info.value.reason


@pytest.mark.parametrize(
    ("url", "addr", "fragment"),
    [
        ("http://meta.example/latest", "169.254.169.254", "169.254.169.254"),
        ("http://lan.example/", "192.168.1.5", "192.168.1.5"),
        ("http://v6.example/", "::1", "::1"),
        ("http://mapped.example/", "::ffff:10.0.0.1", "10.0.0.1"),
        ("file:///etc/passwd", "", "scheme 'file'"),
        ("gopher://x.example/", "", "scheme 'gopher'"),
        ("http://user:pw@x.example/", "93.184.216.34", "credentials"),
    ],
)
def test_check_url_refusals(url, addr, fragment):
    with pytest.raises(FetchError) as info:
        check_url(url, settings(allow_private_hosts=()), resolve=lambda host: [addr])
    assert info.value.stage == "refused" and fragment in info.value.reason


def test_public_address_passes_and_allowance_is_by_host():
    check_url("https://news.example/a", settings(), resolve=lambda host: ["93.184.216.34"])
    check_url("http://127.0.0.1:8765/a", settings(allow_private_hosts=("127.0.0.1",)))


def test_robots_rules_and_crawl_delay(base):
    MODE["robots"] = "a"
    sleeps: list[float] = []
    fetcher = Fetcher(settings(per_host_delay_s=0.5), sleep=sleeps.append)
    try:
        assert fetcher.fetch(base + "/x/page").status == 200
        assert fetcher.fetch(base + "/x/page2").status == 200
        with pytest.raises(FetchError) as info:
            fetcher.fetch(base + "/no/thing")
        assert info.value.stage == "robots" and info.value.reason == "disallowed by robots.txt"
        # Crawl-delay 2 s beats the 0.5 s per-host delay between the two page requests.
        assert sleeps and max(sleeps) > 1.5
    finally:
        fetcher.close()
        MODE["robots"] = "c"


@pytest.mark.parametrize(("mode", "allowed"), [("b", False), ("c", True)])
def test_robots_5xx_disallows_404_allows(base, mode, allowed):
    MODE["robots"] = mode
    fetcher = Fetcher(settings())
    try:
        if allowed:
            assert fetcher.fetch(base + "/x/page").status == 200
        else:
            with pytest.raises(FetchError) as info:
                fetcher.fetch(base + "/x/page")
            assert info.value.stage == "robots" and "HTTP 503" in info.value.reason
    finally:
        fetcher.close()
        MODE["robots"] = "c"


def test_host_throttle_spaces_requests():
    sleeps: list[float] = []
    throttle = HostThrottle(1.0, sleep=sleeps.append)
    throttle.wait("a")
    throttle.wait("b")
    throttle.wait("a", delay_s=3.0)
    assert len(sleeps) == 1 and 2.5 < sleeps[0] <= 3.0  # only the second request to "a" waits


def test_read_timeout_is_a_clear_failure(base):
    with pytest.raises(FetchError) as info:
        fetch_url(base + "/x/slow", settings(read_timeout_s=0.3))
    assert info.value.stage == "fetch" and info.value.reason.startswith("timeout")
