"""The gateway served exactly as `fno-gateway serve` does, plus TCP_NODELAY on every connection.

Why: uvicorn's multi-worker mode (`--workers N`, N > 1) binds the listening socket itself with
`proto=0`; accepted sockets inherit it and asyncio then skips TCP_NODELAY (it checks for
IPPROTO_TCP), so every keep-alive response written in more than one piece waits ~40 ms for the
client's delayed ACK (uvicorn issue #3149). `python -m bench.run --tcp-nodelay` serves the gateway
through this module to measure the gateway's own work rather than that wait.

    python -m bench.gateway_nodelay serve --db URL --workers N --port P   (same options as fno-gateway)
"""

from __future__ import annotations

import asyncio.base_events
import socket
import sys
from typing import Any

_original = asyncio.base_events._set_nodelay  # type: ignore[attr-defined]


def _set_nodelay(sock: socket.socket) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    else:
        _original(sock)


def app_from_environment() -> Any:
    """The factory each uvicorn worker calls: patch asyncio in this process, then the gateway's own app."""
    asyncio.base_events._set_nodelay = _set_nodelay  # type: ignore[attr-defined]
    from gateway.cli import app_from_environment as gateway_app

    return gateway_app()


def main() -> int:
    import uvicorn

    from gateway import cli

    original_run = uvicorn.run

    def run(app: str, **options: Any) -> None:
        original_run("bench.gateway_nodelay:app_from_environment", **options)

    uvicorn.run = run  # gateway.cli.serve imports uvicorn inside the function, so this is what it calls
    try:
        return cli.main(sys.argv[1:])
    finally:
        uvicorn.run = original_run


if __name__ == "__main__":
    raise SystemExit(main())
