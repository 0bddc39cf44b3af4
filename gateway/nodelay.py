"""TCP_NODELAY on every accepted connection, also when uvicorn runs several worker processes.

With `--workers N` (N > 1) uvicorn binds the listening socket itself with `proto=0`; accepted
sockets inherit it and asyncio then skips TCP_NODELAY (it checks for IPPROTO_TCP), so each
keep-alive response written in more than one piece waits ~40 ms for the client's delayed ACK
(uvicorn issue #3149; measured here: 0.5 ms with one worker, 43 ms with two). Until uvicorn sets
the option itself, each worker process sets it on its TCP sockets.
"""

from __future__ import annotations

import asyncio.base_events
import socket

_original = asyncio.base_events._set_nodelay  # type: ignore[attr-defined]


def _set_nodelay(sock: socket.socket) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    else:
        _original(sock)


def install() -> None:
    asyncio.base_events._set_nodelay = _set_nodelay  # type: ignore[attr-defined]
