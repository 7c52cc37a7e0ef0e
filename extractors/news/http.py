"""Polite, safe HTTP fetching for feeds and article pages. Returns bytes; parsing is elsewhere.

Why each rule (issue 4, "Polite, safe fetching"):
- only http/https, and every redirect hop is re-checked: a public URL may redirect to
  ``http://169.254.169.254/`` (cloud metadata) or ``file://``;
- private, loopback, link-local, multicast and reserved addresses are refused after DNS
  resolution unless the host is in ``allow_private_hosts`` (the demo's 127.0.0.1);
- connect and read timeouts plus an absolute per-response deadline enforced while reading the
  status line, headers and body (``response_deadline_s``), so a slow-drip server cannot hold a
  task;
- transient answers (500/502/503/504, 429, connection resets) are retried in the same run by
  :class:`Fetcher`, with bounded backoff honouring ``Retry-After``, through the same robots check,
  per-host delay and per-run request budget as any request (issue 12);
- the size cap applies to *decompressed* bytes, read in chunks, so a gzip bomb is aborted early;
- robots.txt (with Crawl-delay) and a per-host delay are applied by :class:`Fetcher`.
Refusals and transport failures raise :class:`FetchError` carrying a stage and a one-line reason,
which the extractor records per URL; HTTP error statuses are *returned* (the caller decides).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from common.config import NewsSettings
from extractors.news.fetch_error import FetchError
from extractors.news.robots import RobotsCache

log = logging.getLogger(__name__)
_REDIRECTS = (301, 302, 303, 307, 308)
_CHUNK = 64 * 1024


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions behind it (urllib3's ``reason``, ``__cause__``/``__context__``,
    or an exception passed as an argument), each once: requests wraps the root cause several deep."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        nxt = getattr(cur, "reason", None)
        if not isinstance(nxt, BaseException):
            nxt = cur.__cause__ or cur.__context__
        if nxt is None:
            nxt = next((a for a in getattr(cur, "args", ()) if isinstance(a, BaseException)), None)
        cur = nxt


def _is_reset(exc: BaseException) -> bool:
    """A connection reset or dropped mid-exchange (worth a retry); refusals and timeouts are not
    (a closed port stays closed tonight; a stalled server would cost another deadline)."""
    for cur in _causes(exc):
        if isinstance(cur, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
            return True
        if type(cur).__name__ in ("RemoteDisconnected", "IncompleteRead", "ProtocolError") \
                and "refused" not in str(cur).lower():
            return True
    return False


@dataclass
class FetchResult:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    redirects: list[str] = field(default_factory=list)
    requests: int = 1

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    @property
    def content_type(self) -> str | None:
        return self.header("Content-Type")


def describe_error(exc: BaseException) -> str:
    """The root cause in a few words (``Connection refused``), not urllib3's nested repr chain."""
    for cur in _causes(exc):
        if isinstance(cur, OSError) and cur.strerror:
            return cur.strerror
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}" if str(exc) else type(exc).__name__


def _host_allowed(host: str, settings: NewsSettings) -> bool:
    return host.lower() in {h.lower() for h in settings.allow_private_hosts}


def check_url(url: str, settings: NewsSettings, resolve: Callable[[str], list[str]] | None = None) -> None:
    """Raise FetchError("refused") for a non-http(s) URL or one that resolves to a private address."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError(url, "refused", f"scheme {parts.scheme or '(none)'!r} is not http/https")
    host = parts.hostname
    if not host:
        raise FetchError(url, "refused", "URL has no host")
    if parts.username or parts.password:
        raise FetchError(url, "refused", "URL carries credentials")
    if _host_allowed(host, settings):
        return
    try:
        addresses = (resolve or _resolve)(host)
    except OSError as exc:
        raise FetchError(url, "fetch", f"DNS lookup failed for {host}: {exc}") from exc
    for addr in addresses:
        ip = ipaddress.ip_address(addr.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if (
            ip.is_private
            or ip.is_loopback
            or ip.is_link_local
            or ip.is_multicast
            or ip.is_reserved
            or ip.is_unspecified
        ):
            raise FetchError(
                url, "refused", f"{host} resolves to non-public address {ip} (not in allow_private_hosts)"
            )


def _resolve(host: str) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    return sorted({info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})


def _sock_of(resp: Any) -> Any:
    """The socket under a streamed requests response, if urllib3 still exposes it (else None)."""
    conn = getattr(resp.raw, "connection", None) or getattr(resp.raw, "_connection", None)
    return getattr(conn, "sock", None)


def _read_capped(resp: Any, url: str, max_bytes: int, deadline: float,
                 read_timeout: float | None = None) -> bytes:
    declared = resp.headers.get("Content-Length")
    if (
        declared
        and declared.isdigit()
        and int(declared) > max_bytes
        and not resp.headers.get("Content-Encoding")
    ):
        raise FetchError(
            url, "size", f"Content-Length {declared} exceeds max_bytes {max_bytes}", resp.status_code
        )
    chunks: list[bytes] = []
    total = 0
    raw = resp.raw
    sock = _sock_of(resp)
    while True:
        # The deadline is absolute and enforced *while* reading: read1 returns as soon as any
        # bytes arrive (read() waited for a whole chunk, so a one-byte drip was only checked
        # every 64 KB), and the socket never waits past the deadline for the next bytes.
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError(url, "deadline", f"response deadline exceeded after {total} bytes",
                             resp.status_code)
        if sock is not None:
            try:
                sock.settimeout(max(0.01, min(remaining, read_timeout or remaining)))
            except OSError:
                sock = None
        try:
            # urllib3 decodes gzip/deflate incrementally; asking for at most _CHUNK decoded bytes
            # at a time bounds memory even for a bomb.
            chunk = raw.read1(_CHUNK, decode_content=True)
        except Exception as exc:
            if time.monotonic() >= deadline and _is_timeout(exc):
                raise FetchError(url, "deadline", f"response deadline exceeded after {total} bytes",
                                 resp.status_code) from exc
            raise
        if not chunk:
            break
        total += len(chunk)
        if total > max_bytes:
            raise FetchError(
                url, "size", f"body exceeds max_bytes {max_bytes} (decompressed)", resp.status_code
            )
        chunks.append(chunk)
    return b"".join(chunks)


# ---------------------------------------------------------------- the deadline before the body
# Why a watchdog: until the status line and headers are complete, urllib3 exposes no socket to
# the caller, and http.client reads them with one blocking recv per byte gap, so a server
# dripping the status line was bounded only by read_timeout per gap (forever, in total). The
# connection classes below arm a timer around getresponse() that shuts the socket down at the
# fetch's absolute deadline (a thread-local set by fetch_url); fetch_url then reports stage
# "deadline". Installed on a plain requests session's adapters only (see _install_deadline).
_fetch_deadline = threading.local()
_deadline_adapter: Any = None


def _deadline_adapter_class() -> Any:
    """Build (once) an HTTPAdapter whose pools' connections honour the fetch deadline in
    getresponse(). Lazily: requests/urllib3 are imported only when fetching."""
    global _deadline_adapter
    if _deadline_adapter is not None:
        return _deadline_adapter
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class _Watchdog:
        def getresponse(self, *args: Any, **kwargs: Any) -> Any:
            deadline = getattr(_fetch_deadline, "value", None)
            sock = getattr(self, "sock", None)
            if deadline is None or sock is None:
                return super().getresponse(*args, **kwargs)  # type: ignore[misc]

            def cut() -> None:
                with contextlib.suppress(OSError):  # already closed: nothing left to cut
                    sock.shutdown(socket.SHUT_RDWR)

            timer = threading.Timer(max(0.0, deadline - time.monotonic()), cut)
            timer.daemon = True
            timer.start()
            try:
                return super().getresponse(*args, **kwargs)  # type: ignore[misc]
            finally:
                timer.cancel()

    class _HTTPConnection(_Watchdog, HTTPConnection):
        pass

    class _HTTPSConnection(_Watchdog, HTTPSConnection):
        pass

    class _HTTPPool(HTTPConnectionPool):
        ConnectionCls = _HTTPConnection

    class _HTTPSPool(HTTPSConnectionPool):
        ConnectionCls = _HTTPSConnection

    class DeadlineAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    _deadline_adapter = DeadlineAdapter
    return DeadlineAdapter


def _install_deadline(session: Any) -> None:
    """Mount the deadline adapter on a session still using requests' stock adapters (a session
    with adapters of its own, e.g. a test double, is left alone)."""
    from requests.adapters import HTTPAdapter

    cls = _deadline_adapter_class()
    mount = getattr(session, "mount", None)
    adapters = getattr(session, "adapters", None)
    if mount is None or not isinstance(adapters, dict):
        return
    for prefix in ("http://", "https://"):
        if type(adapters.get(prefix)) is HTTPAdapter:
            mount(prefix, cls())


def _is_timeout(exc: BaseException) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, TimeoutError) or "Timeout" in type(cur).__name__ or "timed out" in str(cur):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def fetch_url(
    url: str,
    settings: NewsSettings,
    *,
    headers: Mapping[str, str] | None = None,
    session: Any = None,
    max_bytes: int | None = None,
    before_hop: Callable[[str], None] | None = None,
    resolve: Callable[[str], list[str]] | None = None,
) -> FetchResult:
    """GET ``url`` following at most ``settings.max_redirects`` redirects, each hop re-checked.

    ``before_hop(url)`` runs before every request (robots + per-host delay in :class:`Fetcher`);
    it may raise FetchError to refuse the hop.
    """
    import requests

    own = session is None
    session = session or requests.Session()
    _install_deadline(session)
    req_headers = {
        "User-Agent": settings.user_agent,
        "Accept-Encoding": "gzip, deflate",
        **(headers or {}),
    }
    limit = max_bytes or settings.max_bytes
    deadline: float | None = None
    current = url
    seen: list[str] = []
    try:
        for _hop in range(settings.max_redirects + 1):
            check_url(current, settings, resolve)
            if before_hop:
                before_hop(current)
            if deadline is None:
                # From the first request on, after the politeness wait (Crawl-delay, Retry-After):
                # the deadline bounds the server's answer, redirects included, not our own pauses.
                deadline = time.monotonic() + settings.response_deadline_s
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchError(current, "deadline", "response deadline exceeded before the request")
            _fetch_deadline.value = deadline  # the watchdog cuts a status line/headers drip
            try:
                resp = session.get(
                    current,
                    headers=req_headers,
                    stream=True,
                    allow_redirects=False,
                    timeout=(min(settings.connect_timeout_s, remaining),
                             min(settings.read_timeout_s, remaining)),
                )
            except requests.RequestException as exc:
                if time.monotonic() >= deadline:
                    raise FetchError(current, "deadline",
                                     "response deadline exceeded before the headers were complete") from exc
                if isinstance(exc, requests.Timeout):
                    raise FetchError(current, "fetch", f"timeout: {type(exc).__name__}") from exc
                raise FetchError(
                    current,
                    "fetch",
                    f"connection failed: {describe_error(exc)}",
                    transient=_is_reset(exc),
                ) from exc
            finally:
                _fetch_deadline.value = None
            try:
                if resp.status_code in _REDIRECTS and resp.headers.get("Location"):
                    seen.append(current)
                    nxt = urljoin(current, resp.headers["Location"])
                    if nxt in seen:
                        raise FetchError(url, "redirect", f"redirect loop via {nxt}", resp.status_code)
                    current = nxt
                    continue
                try:
                    body = _read_capped(resp, current, limit, deadline, settings.read_timeout_s)
                except requests.RequestException as exc:
                    raise FetchError(current, "fetch", f"read failed: {type(exc).__name__}",
                                     transient=_is_reset(exc)) from exc
                except Exception as exc:  # urllib3 decode/protocol errors
                    if isinstance(exc, FetchError):
                        raise
                    raise FetchError(
                        current, "fetch", f"read failed: {type(exc).__name__}: {exc}"[:240],
                        transient=_is_reset(exc),
                    ) from exc
                return FetchResult(
                    url=url,
                    final_url=current,
                    status=resp.status_code,
                    headers=dict(resp.headers.items()),
                    body=body,
                    redirects=seen,
                    requests=len(seen) + 1,
                )
            finally:
                resp.close()
        raise FetchError(url, "redirect", f"more than {settings.max_redirects} redirects")
    finally:
        if own:
            session.close()


class HostThrottle:
    """Per-host minimum spacing between requests (thread-safe)."""

    def __init__(self, delay_s: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self.delay_s = delay_s
        self._sleep = sleep
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, host: str, delay_s: float | None = None) -> None:
        delay = self.delay_s if delay_s is None else max(self.delay_s, delay_s)
        with self._lock:
            now = time.monotonic()
            pause = self._last.get(host, -1e12) + delay - now
            self._last[host] = now + max(pause, 0.0)
        if pause > 0:
            self._sleep(pause)

    def defer(self, host: str, seconds: float) -> None:
        """The next request to ``host`` waits at least ``seconds`` from now (a Retry-After or a
        retry backoff), whichever thread makes it: retries stay inside the per-host politeness."""
        with self._lock:
            now = time.monotonic()
            self._last[host] = max(self._last.get(host, -1e12), now + seconds - self.delay_s)


RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        from email.utils import parsedate_to_datetime

        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class Fetcher:
    """Fetching with robots.txt, Crawl-delay and per-host delay: what the extractor uses.

    Tests can pass their own ``session`` or ``resolve``; everything else comes from settings.
    """

    MAX_CRAWL_DELAY_S = 30.0

    def __init__(
        self, settings: NewsSettings, session: Any = None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        import requests

        self.settings = settings
        self.session = session or requests.Session()
        self.throttle = HostThrottle(settings.per_host_delay_s, sleep)
        self.robots = RobotsCache(settings, self._fetch_robots)
        self.n_requests = 0
        self.n_retries = 0

    def _spend(self, url: str) -> None:
        """Count one exchange against the run's budget, or refuse it (recorded per URL)."""
        if self.n_requests >= self.settings.max_requests_per_run:
            raise FetchError(url, "budget", f"run budget of {self.settings.max_requests_per_run} "
                                            "news requests spent")
        self.n_requests += 1

    def _fetch_robots(self, url: str) -> FetchResult:
        host = urlsplit(url).netloc
        self.throttle.wait(host)
        self._spend(url)
        return fetch_url(url, self.settings, session=self.session, max_bytes=512 * 1024, before_hop=None)

    def _before_hop(self, url: str) -> None:
        self.robots.check(url)
        delay = min(self.robots.crawl_delay(url) or 0.0, self.MAX_CRAWL_DELAY_S)
        self.throttle.wait(urlsplit(url).netloc, delay)
        self._spend(url)

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> FetchResult:
        """GET with same-run retries of transient answers (issue 12).

        500/502/503/504, 429 and connection resets are tried again up to ``max_retries`` times,
        after ``retry_backoff_s * 2**n`` or the server's ``Retry-After`` (a Retry-After longer
        than ``max_retry_after_s`` is honoured by not retrying tonight: the answer is returned
        and recorded). Each try passes robots, the per-host delay and the run's request budget,
        so retries never hammer a host or overrun the run. The last answer is returned as usual.
        """
        cfg = self.settings
        attempt = 0
        while True:
            try:
                res = fetch_url(url, cfg, headers=headers, session=self.session, before_hop=self._before_hop)
            except FetchError as exc:
                if not exc.transient or attempt >= cfg.max_retries:
                    raise
                wait, why = cfg.retry_backoff_s * 2**attempt, exc.reason
            else:
                if res.status not in RETRY_STATUSES or attempt >= cfg.max_retries:
                    return res
                asked = retry_after_s(res.header("Retry-After"))
                if asked is not None and asked > cfg.max_retry_after_s:
                    return res  # the server asks for longer than a run may wait: next night
                wait = asked if asked is not None else cfg.retry_backoff_s * 2**attempt
                why = f"HTTP {res.status}"
            attempt += 1
            self.n_retries += 1
            log.info("news: %s on %s; retry %d/%d in %.1fs", why, url, attempt, cfg.max_retries, wait)
            self.throttle.defer(urlsplit(url).netloc, min(wait, cfg.max_retry_after_s))

    def close(self) -> None:
        self.session.close()
