"""Escaping and link hygiene for everything scraped that ends up in a newsletter.

Why one module: titles, bodies, channels, entity names (NER output is scraped text too) and URLs
all come from strangers on the internet. Both renderers call these helpers and nothing else, so
"escape everything" is one policy to review and test, not a habit to remember in each template.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote, urlsplit, urlunsplit

_WS = re.compile(r"\s+")
# Inline Markdown punctuation (emphasis, code, links/images, tables, strikethrough). HTML's `<>&"`
# become entities instead; `(`, `!`, `.` are harmless once `[` and `]` are escaped.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
# Block syntax only matters at the start of a line: headings, quotes, lists, setext underlines.
_MD_LINE_START = re.compile(r"^([#>+=-]|\d+(?=[.)]))")
# Characters never allowed raw in a URL we print: they could break out of `(...)`, `<...>` or an
# HTML attribute, or start a Markdown title.
_URL_UNSAFE = {" ", "<", ">", '"', "'", "(", ")", "`", "\\", "^", "{", "}", "|"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def one_line(text: str | None, limit: int | None = None) -> str:
    """Collapse whitespace (newlines would break Markdown tables/headings) and optionally truncate."""
    if not text:
        return ""
    flat = _WS.sub(" ", str(text)).strip()
    if limit is not None and len(flat) > limit:
        flat = flat[: max(limit - 1, 0)].rstrip() + "…"
    return flat


def html_text(text: object) -> str:
    """Escape for HTML text *and* attribute context (quotes included)."""
    return html.escape("" if text is None else str(text), quote=True)


def md_text(text: object) -> str:
    """Escape scraped text for Markdown: HTML metacharacters become entities, Markdown punctuation
    is backslash-escaped, newlines are flattened. The result renders as the literal text in any
    CommonMark renderer and carries no raw HTML."""
    flat = one_line("" if text is None else str(text))
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    flat = _MD_SPECIAL.sub(r"\\\1", flat)
    m = _MD_LINE_START.match(flat)
    if m:
        flat = flat[: m.end()] + "\\" + flat[m.end():] if m.group(1)[0].isdigit() else "\\" + flat
    return flat


def safe_url(url: object) -> str | None:
    """Return a normalised http(s) URL, or None for anything else.

    ``javascript:``, ``data:``, ``vbscript:``, relative and scheme-less links are dropped rather
    than "fixed": a newsletter reader must never get a link we did not understand. Characters that
    could break out of Markdown or HTML link syntax are percent-encoded.
    """
    if not isinstance(url, str):
        return None
    candidate = _CONTROL.sub("", url).strip()
    if not candidate:
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if parts.username or parts.password:
        return None  # credentials in links are a phishing trick, never legitimate in a report

    def enc(piece: str, safe: str) -> str:
        out = []
        for ch in piece:
            if ch in _URL_UNSAFE or ord(ch) > 126:
                out.append(quote(ch, safe=""))
            elif ch in safe or ch.isalnum() or ch in "%-._~!$&*+,;=:@/?":
                out.append(ch)
            else:
                out.append(quote(ch, safe=""))
        return "".join(out)

    netloc = parts.netloc
    if any(ch in _URL_UNSAFE for ch in netloc):
        return None
    return urlunsplit(
        (parts.scheme.lower(), netloc.lower(), enc(parts.path, "/"), enc(parts.query, "=&"),
         enc(parts.fragment, ""))
    )
