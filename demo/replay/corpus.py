"""Load the bundled synthetic sample corpus (demo/corpus/*.json) for the replay server.

The corpus is written for this project and labelled synthetic; see demo/corpus/README.md and
tools/make_corpus.py, which generates it deterministically. Only the replay server reads it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CORPUS_DIR = Path(__file__).resolve().parents[1] / "corpus"


@dataclass(frozen=True)
class Corpus:
    reddit: dict[str, Any]  # {"synthetic": true, "subreddits": [...], "posts": [...]}
    news: dict[str, Any]  # {"synthetic": true, "sites": [...]}


def load_corpus(directory: Path = CORPUS_DIR) -> Corpus:
    reddit = json.loads((directory / "reddit.json").read_text(encoding="utf-8"))
    news = json.loads((directory / "news.json").read_text(encoding="utf-8"))
    for name, part in (("reddit.json", reddit), ("news.json", news)):
        if part.get("synthetic") is not True:
            raise ValueError(f"{directory / name} must be labelled synthetic")
    return Corpus(reddit=reddit, news=news)
