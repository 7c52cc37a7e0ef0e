"""A local HTTP server that stands in for Reddit's API and for news sites.

Why: `make demo` and the end-to-end tests must exercise PRAW, real HTTP fetching and bs4 parsing
with no network and no credentials. The server binds 127.0.0.1 only. Route handlers live in
:mod:`demo.replay.reddit_api` and :mod:`demo.replay.news_sites`; this module only
dispatches. It is the only code that knows about the bundled synthetic corpus.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from demo.replay.http import ReplayRequest, ReplayResponse

log = logging.getLogger(__name__)
Handler = Callable[[ReplayRequest], ReplayResponse | None]


class ReplayServer:
    """Owns the socket and a background thread; use as a context manager."""

    def __init__(self, handlers: Sequence[Handler], host: str = "127.0.0.1", port: int = 0) -> None:
        self.handlers = list(handlers)
        self.requests: list[ReplayRequest] = []  # every request seen, for tests to inspect
        outer = self

        class _RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else ~40 ms delayed-ACK stall per request

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = ReplayRequest(
                    method=self.command,
                    target=self.path,
                    headers=dict(self.headers.items()),
                    body=body,
                    base_url=outer.base_url,
                )
                outer.requests.append(req)
                resp = outer.dispatch(req)
                if resp.delay_s:
                    time.sleep(resp.delay_s)
                self.send_response(resp.status)
                for key, value in resp.headers.items():
                    self.send_header(key, value)
                if not any(k.lower() == "content-length" for k in resp.headers):
                    self.send_header("Content-Length", str(len(resp.body)))
                self.end_headers()
                if self.command != "HEAD":
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self.wfile.write(resp.body)

            do_GET = do_POST = do_HEAD = _serve  # noqa: N815

            def log_message(self, fmt: str, *args: object) -> None:
                log.debug("replay: " + fmt, *args)

        class _Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:  # type: ignore[override]
                # A client aborting a download (size cap, timeout test) is expected, not an error.
                log.debug("replay: client %s went away", client_address, exc_info=True)

        self._httpd = _Server((host, port), _RequestHandler)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def dispatch(self, req: ReplayRequest) -> ReplayResponse:
        for handler in self.handlers:
            try:
                resp = handler(req)
            except Exception as exc:  # a handler bug must show up as a 500, not a hung client
                log.exception("replay handler failed for %s", req.target)
                return ReplayResponse.text(f"replay handler error: {exc}", "text/plain", status=500)
            if resp is not None:
                return resp
        return ReplayResponse.text("not found", "text/plain", status=404)

    def start(self) -> ReplayServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="replay", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def default_handlers(corpus_dir: Path | None = None) -> list[Handler]:
    """Routes for the bundled synthetic corpus (or another synthetic corpus in ``corpus_dir``, e.g.
    the benchmark's night of 20,000 documents): Reddit API subset plus news sites."""
    from demo.replay import corpus, news_sites, reddit_api

    data = corpus.load_corpus(corpus_dir or corpus.CORPUS_DIR)
    return [reddit_api.make_handler(data.reddit), news_sites.make_handler(data.news)]


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m demo.replay.server --port 8765`: serve the sample corpus until Ctrl-C."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    server = ReplayServer(default_handlers(), port=args.port).start()
    print(f"replay server on {server.base_url} (Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
