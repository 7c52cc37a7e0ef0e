"""URL canonicalisation and the news document key.

Why: the same article reaches us as ``...?utm_source=rss`` from a feed, with a fragment from a
share button, or with an upper-case host. The key (``news_`` + sha256(canonical)[:16],
docs/architecture.md "Keys") must not change with any of that, or re-runs and republished feed
entries would create duplicates.
"""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_", "_hs", "ga_", "vero_", "oly_")
# Only parameters that are tracking everywhere; ambiguous ones (``source``, ``id``, ``page``) can
# select content on some sites, so they are kept.
_TRACKING_KEYS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "mkt_tok",
        "ref",
        "ref_src",
        "ref_url",
        "cmpid",
        "ncid",
        "sr_share",
        "smid",
        "_ga",
        "_gl",
        "spm",
        "s_cid",
        "ito",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
    }
)


def canonicalize(url: str) -> str:
    """Lower-case scheme and host, drop default ports, fragments and tracking parameters.

    Remaining query parameters are sorted so their order does not matter. Path case is kept:
    paths are case-sensitive on most servers.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port
    netloc = host
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        netloc = f"{host}:{port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING_KEYS
    ]
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))


def news_doc_id(canonical_url: str) -> str:
    """``news_`` + the first 16 hex chars of sha256 of the canonical URL (architecture.md "Keys")."""
    return "news_" + hashlib.sha256(canonicalize(canonical_url).encode("utf-8")).hexdigest()[:16]


def domain_of(url: str) -> str:
    """The channel of a news document: the host of its canonical URL, without ``www.``."""
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host
