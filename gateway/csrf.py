"""The CSRF-token probe of SAP clients: `HEAD <url>` with `X-CSRF-Token: Fetch` before every write.

The SAP Cloud SDK (and SAP UI5's ODataModel) ask for a token before a POST, PATCH or $batch, first
at the resource path with a trailing slash, then without it, and send back whatever value the answer
carries; an answer without one only costs them a warning (sap.github.io/cloud-sdk, "CSRF Fetching").

The gateway needs no CSRF token: every request is authenticated by a bearer token or an API key in a
header, never by a cookie, so a forged cross-site request carries no credentials to abuse. The probe
gets a fixed, public value that says so; writes may send it back, and it is never checked.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

CSRF_HEADER = "x-csrf-token"
# Not a secret: the value SAP's own stacks use when CSRF protection is off.
NOT_REQUIRED = "unsafe"


def is_csrf_probe(request: Request) -> bool:
    """A HEAD that asks for a token (`X-CSRF-Token: Fetch`, any case)."""
    return request.method == "HEAD" and request.headers.get(CSRF_HEADER, "").strip().lower() == "fetch"


def csrf_probe_answer() -> Response:
    """200 without a body, with the token header the probe looks for."""
    return Response(status_code=200, headers={CSRF_HEADER: NOT_REQUIRED, "OData-Version": "4.0"})
