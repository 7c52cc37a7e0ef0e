"""News source: RSS/Atom feeds and article pages (fetch with :mod:`.http`, parse with bs4/lxml).

Public entry points (imports are light: no network or heavy parsers at import time):
``extract(ctx, fetcher=None)``, ``extract_from_raw(ctx)``, ``article.extract_article(html, url)``,
``http.fetch_url(url, settings.news)``.
"""

from __future__ import annotations

from extractors.news.extract import extract, extract_from_raw

__all__ = ["extract", "extract_from_raw"]
