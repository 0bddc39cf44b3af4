"""CORS for browser apps: an allow-list of origins (`--cors-origins`), starlette's CORSMiddleware.

It sits outside authentication (stack.py): a browser's preflight OPTIONS carries no token, and
is answered here without reaching the services. The actual request then needs its token as usual.
"""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from gateway.edge.request_id import (
    CLIENT_REQUEST_ID_ALIASES,
    CLIENT_REQUEST_ID_HEADER,
    SERVICE_REQUEST_ID_HEADER,
)

METHODS = ("GET", "HEAD", "POST", "PATCH", "PUT", "DELETE", "OPTIONS")
# What OData clients send: the token, concurrency, preferences, versions, bodies, correlation ids.
ALLOWED_HEADERS = ("Authorization", "X-API-Key", "Accept", "Content-Type", "If-Match", "If-None-Match",
                   "Prefer", "OData-MaxVersion", "OData-Version", "Isolation", "X-CSRF-Token",  # SAP clients
                   *CLIENT_REQUEST_ID_ALIASES)
# What a script may read of an answer beyond the CORS-safelisted few.
EXPOSED_HEADERS = ("ETag", "Location", "OData-EntityId", "OData-Version", "Preference-Applied", "Retry-After",
                   "WWW-Authenticate", "Server-Timing", "X-CSRF-Token", SERVICE_REQUEST_ID_HEADER,
                   CLIENT_REQUEST_ID_HEADER)
MAX_AGE = 600  # seconds a browser may reuse a preflight's answer


def allowed_origins(setting: str) -> list[str]:
    """The comma-separated setting as a list ('*': any origin); origins are compared without a trailing /."""
    return [origin.strip().rstrip("/") for origin in setting.split(",") if origin.strip()]


def cors_middleware(setting: str) -> Middleware | None:
    """The CORS layer for these origins, or None (no origins: browsers on other origins are refused)."""
    origins = allowed_origins(setting)
    if not origins:
        return None
    # Bearer tokens are sent as a header, not as cookies: no credentialed CORS is needed (or allowed).
    return Middleware(CORSMiddleware, allow_origins=origins, allow_methods=list(METHODS),
                      allow_headers=list(ALLOWED_HEADERS), expose_headers=list(EXPOSED_HEADERS),
                      allow_credentials=False, max_age=MAX_AGE)
