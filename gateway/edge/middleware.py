"""The outermost layer: every response gets the request id and the security headers.

Pure ASGI (no BaseHTTPMiddleware: bodies stream through untouched) and outside everything else,
Starlette's own error handler included (see stack.py), so 401s, 429s, CORS refusals and 500s carry
the headers too. A $batch sub-request keeps its batch's id (it arrives with one in its scope).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import MutableHeaders

from gateway.edge.request_id import (
    CLIENT_REQUEST_ID_HEADER,
    CLIENT_REQUEST_ID_SCOPE_KEY,
    REQUEST_ID_SCOPE_KEY,
    SERVICE_REQUEST_ID_HEADER,
    client_request_id,
    new_request_id,
)

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]

# OWASP's REST set. An API answer is never a page: no sniffing, no framing, no referrers, no scripts.
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}
NO_STORE = "no-store"  # data is per caller and changes: no cache keeps it
# $metadata is per caller too (it lists what the caller may see): the caller's own cache may keep it,
# a shared one may not, and it is asked again before use.
METADATA_CACHE = "private, no-cache"
HSTS = "max-age=31536000"  # only over https: over http the header is meaningless (and ignored)


def edge_headers(scope: dict[str, Any]) -> dict[str, str]:
    """The headers the edge adds to a response of this request."""
    headers = dict(SECURITY_HEADERS)
    headers[SERVICE_REQUEST_ID_HEADER] = scope[REQUEST_ID_SCOPE_KEY]
    client_id = scope.get(CLIENT_REQUEST_ID_SCOPE_KEY)
    if client_id is not None:
        headers[CLIENT_REQUEST_ID_HEADER] = client_id
    if scope.get("scheme") == "https":
        headers["strict-transport-security"] = HSTS
    return headers


class EdgeMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not isinstance(scope.get(REQUEST_ID_SCOPE_KEY), str):
            scope[REQUEST_ID_SCOPE_KEY] = new_request_id()
            scope[CLIENT_REQUEST_ID_SCOPE_KEY] = client_request_id(scope["headers"])
        added = edge_headers(scope)
        cache = METADATA_CACHE if scope["path"].endswith("/$metadata") else NO_STORE

        async def stamped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                raw = message["headers"] = list(message.get("headers", ()))
                present = {bytes(name).decode("latin-1").lower() for name, _ in raw}
                for name, value in added.items():
                    if name in present:  # a handler set it: replaced (MutableHeaders puts a new list in the message)
                        MutableHeaders(scope=message)[name] = value
                        raw = message["headers"]
                    else:  # the common case, without a search of the list per header
                        raw.append((name.encode("latin-1"), value.encode("latin-1")))
                if "cache-control" not in present:  # a handler that chose its caching keeps it
                    raw.append((b"cache-control", cache.encode("latin-1")))
            await send(message)

        await self.app(scope, receive, stamped)
