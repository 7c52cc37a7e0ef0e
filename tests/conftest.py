"""Fixtures shared by the test files.

Why here: the replay-server factory (start a local Reddit/news replay server on 127.0.0.1, port 0,
and stop every one of them at teardown) was copied into three Reddit test files; one copy means a
change to the replay server's start/stop contract is made once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest


@pytest.fixture()
def replay_server() -> Iterator[Callable[..., Any]]:
    """Factory: ``replay_server(handlers)`` starts a ReplayServer on 127.0.0.1 (a free port).

    Every server started through the factory is stopped when the test ends, pass or fail, so a
    failing assertion never leaves a listening socket or a serving thread behind.
    """
    from demo.replay.server import ReplayServer  # imported here: the replay package may move

    servers: list[ReplayServer] = []

    def start(handlers: Iterable[Any]) -> ReplayServer:
        srv = ReplayServer(list(handlers)).start()
        servers.append(srv)
        return srv

    yield start
    for srv in reversed(servers):
        srv.stop()


@pytest.fixture()
def reddit_replay(replay_server: Callable[..., Any]) -> Callable[..., Any]:
    """Factory: ``reddit_replay(corpus, **handler_kw)`` serves the Reddit API subset on ``corpus``.

    ``max_listing_limit`` defaults to 2 so that even a tiny corpus forces the client to page.
    """
    from demo.replay.reddit_api import make_handler

    def start(corpus: dict[str, Any], **kw: Any) -> Any:
        kw.setdefault("max_listing_limit", 2)
        return replay_server([make_handler(corpus, **kw)])

    return start
