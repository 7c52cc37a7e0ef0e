"""The Reddit source behind a small client interface, with PRAW as the live client.

Why this shape: PRAW does the protocol work (OAuth, paging, ``replace_more``) but we never parse
PRAW objects. Every API response passes through :class:`LandingSession`, a ``requests.Session``
that lands the JSON exactly as received, and documents are parsed from that landing
(:mod:`extractors.reddit.parse`). So the live path and ``--from-raw`` share one parser, and the
raw landing is complete by construction.

Faults are handled here, below PRAW, so they are bounded and testable: 429 waits for
Retry-After (capped), 5xx/timeouts/truncated JSON get a few retries with backoff, and when the
X-Ratelimit budget runs out (or the per-run request cap is reached) :class:`BudgetExhausted`
stops the run while keeping everything already landed. Our own exceptions are deliberately not
``requests`` exceptions, so prawcore does not add its own unbounded-feeling retries on top.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

import requests

from common.config import RedditSettings
from extractors.landing import RawLanding
from extractors.reddit.credentials import RedditCredentials

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({500, 502, 503, 504, 520, 522})
TOKEN_PATH = "/api/v1/access_token"  # noqa: S105 - a URL path
_NETWORK_ERRORS = (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError)
DEFAULT_MAX_REQUESTS = 900  # per run: ~9 minutes of Reddit's 100 requests/minute budget


class RedditError(RuntimeError):
    """A source fault that the extractor records (never a crash)."""


class AuthError(RedditError):
    """Credentials refused: the whole Reddit task fails, with this message."""


class BudgetExhausted(RedditError):
    """Rate-limit budget or per-run request cap used up: stop, keep what landed."""


class TransientFailure(RedditError):
    """A request still failed (5xx, 429, timeout, bad JSON) after the bounded retries."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class Post:
    """What the driver needs from a listing item to decide paging and comment fetching."""

    id: str
    created_utc: float


class RedditClient(Protocol):
    """What :func:`extractors.reddit.extract.extract` needs from a Reddit source.

    Implementations land every payload themselves (so ``extract_from_raw`` can re-parse them).
    """

    n_requests: int
    landing: RawLanding  # where this client lands every payload; extract parses this file

    def listing(self, subreddit: str, kind: str, limit: int) -> Iterator[Post]: ...

    def search(self, query: str, limit: int, time_filter: str, subreddit: str = "all",
               sort: str = "new") -> Iterator[Post]: ...

    def comments(self, subreddit: str, limit: int) -> Iterator[Post]:
        """The subreddit's newest comments (``/r/{sub}/comments``), newest first, as (id, created)."""
        ...

    def load_comments(self, post_id: str, comment_limit: int, replace_more_limit: int) -> None: ...

    def close(self) -> None: ...


def _retry_after(resp: requests.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class LandingSession(requests.Session):
    """A requests.Session that lands every API exchange and bounds retries and rate limits.

    Token exchanges are never landed (they carry the access token). Nothing from the request
    headers is landed, so neither the client secret (basic auth) nor the bearer token can leak.
    """

    def __init__(
        self,
        landing: RawLanding,
        *,
        timeout_s: float,
        max_retries: int = 3,
        max_backoff_s: float = 60.0,
        max_ratelimit_wait_s: float = 120.0,
        max_requests: int = DEFAULT_MAX_REQUESTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        self.landing = landing
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.max_backoff_s = max_backoff_s
        self.max_ratelimit_wait_s = max_ratelimit_wait_s
        self.max_requests = max_requests
        self.sleep = sleep
        self.n_requests = 0  # every HTTP exchange, retries included (what Reddit counts)
        self.n_retries = 0
        self.ratelimit_remaining: float | None = None
        self.ratelimit_reset_s: float | None = None

    def _backoff(self, attempt: int) -> float:
        return min(self.max_backoff_s, 1.0 * 2**attempt)

    def _check_budget(self, url: str) -> None:
        if self.n_requests >= self.max_requests:
            raise BudgetExhausted(f"per-run request cap of {self.max_requests} reached before {url}")

    def _stop_if_budget_spent(self) -> None:
        """Remaining 0 with a long reset: stop now (this response is landed) rather than let
        prawcore sleep until the reset. Short resets are waited out by prawcore's own limiter."""
        if self.ratelimit_remaining is not None and self.ratelimit_remaining < 1:
            reset = self.ratelimit_reset_s or 0.0
            if reset > self.max_ratelimit_wait_s:
                raise BudgetExhausted(
                    f"Reddit rate-limit budget used up; resets in {reset:.0f}s "
                    f"(more than the {self.max_ratelimit_wait_s:.0f}s we wait)"
                )

    def _note_ratelimit(self, resp: requests.Response) -> None:
        try:
            if "x-ratelimit-remaining" in resp.headers:
                self.ratelimit_remaining = float(resp.headers["x-ratelimit-remaining"])
                self.ratelimit_reset_s = float(resp.headers.get("x-ratelimit-reset") or 0)
        except ValueError:
            log.debug("unparseable X-Ratelimit headers from %s", resp.url)

    def _land(self, method: str, url: str, resp: requests.Response, data: Any) -> None:
        record: dict[str, Any] = {"url": url, "method": method.upper(), "status": resp.status_code}
        if method.upper() == "POST" and data:
            # The form (e.g. morechildren's children/link_id): never credentials on these routes.
            items = data if isinstance(data, list) else parse_qsl(data) if isinstance(data, str) else []
            record["form"] = {str(k): str(v) for k, v in items} if items else None
        try:
            record["json"] = resp.json()
        except ValueError:
            record["json"] = None
            record["body_text"] = resp.text[:20_000]
        try:
            resp.content.decode("utf-8")
        except UnicodeDecodeError:
            # requests decoded it with replacement characters: keep the bytes as sent too, so the
            # landing loses nothing (a re-parse can do better than U+FFFD).
            record["body_b64"] = base64.b64encode(resp.content).decode("ascii")
        self.landing.write(record)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """One logical request: bounded retries, landing of each exchange, budget checks."""
        kwargs["timeout"] = self.timeout_s  # prawcore always passes its own 16 s default
        is_token = urlsplit(url).path.rstrip("/").endswith(TOKEN_PATH)
        attempt = 0
        while True:
            if not is_token:
                self._check_budget(url)
            try:
                resp = super().request(method, url, *args, **kwargs)
            except _NETWORK_ERRORS as exc:
                self.n_requests += 1
                reason = "timed out" if isinstance(exc, requests.Timeout)\
                    else f"connection error ({type(exc).__name__})"
                if attempt < self.max_retries:
                    attempt += 1
                    self.n_retries += 1
                    log.warning("Reddit request %s; retry %d/%d", reason, attempt, self.max_retries)
                    self.sleep(self._backoff(attempt))
                    continue
                raise TransientFailure(
                    f"{method.upper()} {_public(url)} {reason} after {attempt + 1} attempts"
                ) from None
            self.n_requests += 1
            self._note_ratelimit(resp)
            if not is_token:
                self._land(method, url, resp, kwargs.get("data"))
                self._stop_if_budget_spent()
            status = resp.status_code
            retry_reason: str | None = None
            wait = self._backoff(attempt + 1)
            if status == 429:
                retry_reason = "429 Too Many Requests"
                wait = min(self.max_backoff_s, _retry_after(resp) or wait)
            elif status in RETRY_STATUSES:
                retry_reason = f"HTTP {status}"
            elif status == 200 and not is_token and not _json_ok(resp):
                retry_reason = "truncated or invalid JSON"
            if retry_reason is None:
                return resp
            if attempt >= self.max_retries:
                raise TransientFailure(
                    f"{method.upper()} {_public(url)}: {retry_reason} after {attempt + 1} attempts",
                    status_code=status,
                )
            attempt += 1
            self.n_retries += 1
            log.warning("Reddit %s on %s; retry %d/%d in %.1fs", retry_reason, _public(url), attempt,
                        self.max_retries, wait)
            self.sleep(wait)


def _json_ok(resp: requests.Response) -> bool:
    try:
        json.loads(resp.content)
    except ValueError:
        return False
    return True


def _public(url: str) -> str:
    """URL without query: short, and free of anything a caller might have put there."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _unwrap(exc: BaseException) -> BaseException:
    """prawcore wraps session exceptions in RequestException(original_exception=...)."""
    original = getattr(exc, "original_exception", None)
    return original if isinstance(original, BaseException) else exc


def classify(exc: BaseException) -> RedditError:
    """Map PRAW/prawcore exceptions to ours, with messages that never include secrets."""
    import prawcore

    exc = _unwrap(exc)
    if isinstance(exc, RedditError):
        return exc
    if isinstance(exc, prawcore.OAuthException):
        return AuthError(f"Reddit refused the credentials ({exc.error})")
    if isinstance(exc, prawcore.ResponseException):
        status = exc.response.status_code
        url = exc.response.url or ""
        if url and urlsplit(url).path.rstrip("/").endswith(TOKEN_PATH):
            return AuthError(f"Reddit refused the credentials: HTTP {status} from the token endpoint")
        if status in (401, 403) and isinstance(exc, prawcore.Forbidden | prawcore.InvalidToken):
            return TransientFailure(f"HTTP {status} from {_public(url)} (private or banned?)", status)
        if isinstance(exc, prawcore.BadJSON):
            return TransientFailure(f"invalid JSON from {_public(url)}", status)
        return TransientFailure(f"HTTP {status} from {_public(url)}", status)
    if isinstance(exc, prawcore.PrawcoreException):
        return TransientFailure(f"{type(exc).__name__}: {exc}")
    return TransientFailure(f"{type(exc).__name__} while talking to Reddit")


class PrawRedditClient:
    """Live client: PRAW over :class:`LandingSession` (read-only app auth unless a user is set)."""

    def __init__(
        self,
        credentials: RedditCredentials,
        settings: RedditSettings,
        landing: RawLanding,
        *,
        max_requests: int = DEFAULT_MAX_REQUESTS,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = 3,
        max_ratelimit_wait_s: float = 120.0,
    ) -> None:
        import praw

        self.landing = landing
        self.session = LandingSession(
            landing, timeout_s=settings.timeout_s, max_requests=max_requests, sleep=sleep,
            max_retries=max_retries, max_ratelimit_wait_s=max_ratelimit_wait_s,
        )
        kwargs: dict[str, Any] = {}
        if credentials.username and credentials.password:
            kwargs = {"username": credentials.username, "password": credentials.password}
        self.reddit = praw.Reddit(
            client_id=credentials.client_id,
            client_secret=credentials.client_secret,
            user_agent=settings.user_agent,
            oauth_url=settings.oauth_url.rstrip("/"),
            reddit_url=settings.reddit_url.rstrip("/"),
            check_for_async=False,
            check_for_updates=False,
            requestor_kwargs={"session": self.session, "timeout": settings.timeout_s},
            **kwargs,
        )

    @property
    def n_requests(self) -> int:  # type: ignore[override]
        return self.session.n_requests

    def _iterate(self, generator: Any) -> Iterator[Post]:
        try:
            for item in generator:
                yield Post(id=str(item.id), created_utc=float(item.created_utc))
        except Exception as exc:  # noqa: BLE001 - mapped to a recorded source fault
            raise classify(exc) from None

    def listing(self, subreddit: str, kind: str, limit: int) -> Iterator[Post]:
        sub = self.reddit.subreddit(subreddit)
        if kind == "top":
            return self._iterate(sub.top(time_filter="day", limit=limit))
        if kind not in ("new", "hot", "rising"):
            raise ValueError(f"unsupported listing {kind!r}")
        return self._iterate(getattr(sub, kind)(limit=limit))

    def search(self, query: str, limit: int, time_filter: str, subreddit: str = "all",
               sort: str = "new") -> Iterator[Post]:
        # Reddit-wide search is /r/all/search (PRAW sends restrict_sr=1 for any other subreddit);
        # sort=new lets paging stop at the window start, other sorts are the cap-splitting fallback.
        if sort not in ("new", "top", "comments", "relevance", "hot"):
            raise ValueError(f"unsupported search sort {sort!r}")
        return self._iterate(
            self.reddit.subreddit(subreddit).search(query, sort=sort, time_filter=time_filter, limit=limit)
        )

    def comments(self, subreddit: str, limit: int) -> Iterator[Post]:
        # /r/{sub}/comments: every new comment in the subreddit, newest first, whatever the age of
        # its post. This is what catches tonight's replies on posts older than the post watermark.
        return self._iterate(self.reddit.subreddit(subreddit).comments(limit=limit))

    def load_comments(self, post_id: str, comment_limit: int, replace_more_limit: int) -> None:
        try:
            submission = self.reddit.submission(id=post_id)
            submission.comment_limit = comment_limit
            submission.comment_sort = "new"
            submission.comments.replace_more(limit=replace_more_limit)
        except Exception as exc:  # noqa: BLE001 - mapped to a recorded source fault
            raise classify(exc) from None

    def close(self) -> None:
        self.session.close()
