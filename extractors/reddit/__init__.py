"""Reddit extraction with PRAW: sources from config, raw landing, one parser for live and --from-raw.

Importing this package is cheap (PRAW is imported only when a live client is built), so the DAG
can import it at parse time.
"""

from extractors.reddit.extract import extract, extract_from_raw

__all__ = ["extract", "extract_from_raw"]
