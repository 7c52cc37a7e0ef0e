"""Issue 12, fetching: an absolute per-response deadline enforced while reading, and same-run
retries of transient answers (5xx, 429, connection resets) that honour Retry-After, the per-host
politeness and the run's request budget.

The servers are plain threaded sockets on 127.0.0.1, so a test controls every byte and when it is
sent; waits between retries go through the Fetcher's injectable ``sleep`` (no real waiting).
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable

import pytest

from common.config import NewsSettings
from extractors.news.http import Fetcher, FetchError, HostThrottle, fetch_url, retry_after_s


class RawServer:
    """Accepts connections on 127.0.0.1 and hands the n-th one (0-based) to ``handle(conn, n)``."""

    def __init__(self, handle: Callable[[socket.socket, int], None]) -> None:
        self.handle = handle
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.connections = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        """robots.txt is answered 404 (allow all) and not counted; other requests are numbered."""
        try:
            request = _read_request(conn)
            if request.startswith(b"GET /robots.txt "):
                _answer(conn, "404 Not Found", b"")
                return
            with self.lock:
                n = self.connections
                self.connections += 1
            self.handle(conn, n)
        except OSError:
            pass
        finally:
            conn.close()

    def url(self, path: str = "/page") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> RawServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=2)
        self.sock.close()


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    conn.settimeout(5)
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _answer(conn: socket.socket, status: str, body: bytes = b"<html><body><p>ok</p></body></html>",
            headers: dict[str, str] | None = None) -> None:
    head = [f"HTTP/1.1 {status}", "Content-Type: text/html", f"Content-Length: {len(body)}",
            "Connection: close", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)


def _reset(conn: socket.socket) -> None:
    """Close with a TCP RST (SO_LINGER 0): the client sees 'Connection reset by peer'."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def settings(**kw) -> NewsSettings:
    return NewsSettings(**{"allow_private_hosts": ("127.0.0.1",), "per_host_delay_s": 0.0,
                           "connect_timeout_s": 2, "read_timeout_s": 5, "retry_backoff_s": 1.0, **kw})


class Sleeps:
    """Records the waits a Fetcher asks for instead of sleeping them."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


# ------------------------------------------------------------------ deadline
def test_slow_drip_is_cut_at_the_deadline_while_reading():
    """One byte every 2 s never trips the 5 s read timeout; the 0.8 s deadline must cut it, even
    in the middle of a gap (before: checked only after each 64 KB chunk returned)."""
    sent: list[int] = []

    def drip(conn: socket.socket, n: int) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100\r\n\r\n")
        for i in range(100):
            conn.sendall(b"x")
            sent.append(i)
            threading.Event().wait(2.0)

    with RawServer(drip) as srv, pytest.raises(FetchError) as info:
        fetch_url(srv.url(), settings(response_deadline_s=0.8))
    assert info.value.stage == "deadline"
    assert "deadline exceeded" in info.value.reason
    assert len(sent) < 100  # the fetch gave up long before the body was complete


_DRIPPED = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\nX-Pad: 0123456789\r\n\r\nok"


def _drip_head(conn: socket.socket, sent: list[int]) -> None:
    """One byte every 0.25 s: every gap is far inside both the read timeout and the deadline, so
    only an absolute deadline can stop it. Stops once the client has hung up (send fails)."""
    for i, byte in enumerate(_DRIPPED):
        try:
            conn.sendall(bytes([byte]))
        except OSError:
            return
        sent.append(i)
        threading.Event().wait(0.25)


def test_a_status_line_drip_is_cut_at_the_deadline_before_the_headers_complete():
    sent: list[int] = []
    with RawServer(lambda conn, n: _drip_head(conn, sent)) as srv, pytest.raises(FetchError) as info:
        Fetcher(settings(response_deadline_s=1.0, max_retries=2), sleep=Sleeps()).fetch(srv.url())
    assert info.value.stage == "deadline" and "before the headers were complete" in info.value.reason
    assert not info.value.transient  # a deadline is not retried: it would cost another deadline
    assert srv.connections == 1
    assert len(sent) < 30 < len(_DRIPPED)  # cut inside the head (the client hung up; the drip stopped)


def test_a_reused_keep_alive_connection_is_watched_too():
    """The second request on one pooled connection (no new connect) still has its head bounded."""
    sent: list[int] = []

    def two(conn: socket.socket, n: int) -> None:
        _keep_alive_answer(conn)
        _read_request(conn)
        _drip_head(conn, sent)

    import requests

    with RawServer(two) as srv, requests.Session() as session:
        assert fetch_url(srv.url(), settings(response_deadline_s=2), session=session).status == 200
        with pytest.raises(FetchError) as info:
            fetch_url(srv.url(), settings(response_deadline_s=1.0), session=session)
    assert info.value.stage == "deadline" and srv.connections == 1
    assert len(sent) < 30 < len(_DRIPPED)


def _keep_alive_answer(conn: socket.socket) -> None:
    body = b"<html><body><p>ok</p></body></html>"
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
                 + str(len(body)).encode() + b"\r\n\r\n" + body)


def test_a_normal_response_is_read_whole_within_the_deadline():
    with RawServer(lambda conn, n: _answer(conn, "200 OK", b"y" * 200_000)) as srv:
        res = fetch_url(srv.url(), settings(response_deadline_s=10))
    assert res.status == 200 and res.body == b"y" * 200_000


# ------------------------------------------------------------------ retries
def test_503_once_with_retry_after_is_retried_in_the_same_run():
    def flaky(conn: socket.socket, n: int) -> None:
        if n == 0:
            _answer(conn, "503 Service Unavailable", b"busy", {"Retry-After": "1"})
        else:
            _answer(conn, "200 OK")

    sleeps = Sleeps()
    with RawServer(flaky) as srv:
        fetcher = Fetcher(settings(retry_backoff_s=7.0), sleep=sleeps)
        try:
            res = fetcher.fetch(srv.url())
        finally:
            fetcher.close()
    assert res.status == 200 and b"ok" in res.body
    assert fetcher.n_retries == 1 and fetcher.n_requests == 3  # robots.txt + two tries
    # the wait honoured Retry-After (1 s), not the 7 s backoff, and went through the host throttle
    assert len(sleeps.calls) == 1 and 0.5 < sleeps.calls[0] <= 1.0


def test_connection_reset_is_retried_with_backoff():
    def reset_once(conn: socket.socket, n: int) -> None:
        if n == 0:
            _reset(conn)
        else:
            _answer(conn, "200 OK")

    sleeps = Sleeps()
    with RawServer(reset_once) as srv:
        fetcher = Fetcher(settings(retry_backoff_s=0.5), sleep=sleeps)
        try:
            res = fetcher.fetch(srv.url())
        finally:
            fetcher.close()
    assert res.status == 200
    assert fetcher.n_retries == 1 and srv.connections == 2
    assert len(sleeps.calls) == 1 and 0.3 < sleeps.calls[0] <= 0.5


def test_retries_are_bounded_and_the_last_answer_is_returned():
    sleeps = Sleeps()
    with RawServer(lambda conn, n: _answer(conn, "502 Bad Gateway", b"no")) as srv:
        fetcher = Fetcher(settings(max_retries=2, retry_backoff_s=1.0), sleep=sleeps)
        try:
            res = fetcher.fetch(srv.url())
        finally:
            fetcher.close()
    assert res.status == 502
    assert srv.connections == 3 and fetcher.n_retries == 2
    assert [round(s) for s in sleeps.calls] == [1, 2]  # exponential backoff


def test_retry_after_longer_than_the_cap_is_honoured_by_not_retrying_tonight():
    with RawServer(lambda conn, n: _answer(conn, "429 Too Many Requests", b"slow down",
                                           {"Retry-After": "3600"})) as srv:
        fetcher = Fetcher(settings(max_retry_after_s=30), sleep=Sleeps())
        try:
            res = fetcher.fetch(srv.url())
        finally:
            fetcher.close()
    assert res.status == 429 and srv.connections == 1 and fetcher.n_retries == 0


def test_a_404_or_refused_connection_is_not_retried():
    with RawServer(lambda conn, n: _answer(conn, "404 Not Found", b"")) as srv:
        fetcher = Fetcher(settings(), sleep=Sleeps())
        try:
            assert fetcher.fetch(srv.url()).status == 404
        finally:
            fetcher.close()
        assert srv.connections == 1
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    fetcher = Fetcher(settings(), sleep=Sleeps())
    try:
        with pytest.raises(FetchError):
            fetcher.fetch(f"http://127.0.0.1:{closed}/x")
    finally:
        fetcher.close()
    assert fetcher.n_retries == 0


def test_retries_stay_inside_the_run_budget():
    with RawServer(lambda conn, n: _answer(conn, "503 Service Unavailable", b"busy")) as srv:
        # robots.txt (1) + first try (2): the retry would be the third exchange
        fetcher = Fetcher(settings(max_retries=5, max_requests_per_run=2), sleep=Sleeps())
        try:
            with pytest.raises(FetchError) as info:
                fetcher.fetch(srv.url())
        finally:
            fetcher.close()
    assert info.value.stage == "budget"
    assert fetcher.n_requests == 2


def test_retry_waits_respect_the_per_host_delay():
    throttle = HostThrottle(5.0, sleep=Sleeps())
    throttle.wait("h")
    throttle.defer("h", 1.0)  # a shorter Retry-After never shortens the politeness delay
    throttle.wait("h")
    assert throttle._sleep.calls and throttle._sleep.calls[-1] > 4.0


def test_retry_after_parsing():
    assert retry_after_s("1") == 1.0
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)
    assert retry_after_s("soon") is None and retry_after_s(None) is None
