"""OData-Version and OData-MaxVersion of a request (OData 4.01 Part 1 §8.1.5, §8.2.6, ABNF `odata-version`).

The service answers in OData 4.0 (every payload it writes is 4.0's) and understands requests of 4.0
and 4.01 (4.01's case-insensitive options without `$`, JSON batches, ...). So:
- `OData-MaxVersion` 4.0 or higher: the answer is 4.0, the greatest version we support up to it —
  what a request without the header already gets;
- `OData-MaxVersion` below 4.0 (a 3.0 client): nothing we can write is acceptable: 400;
- `OData-Version` (the version of the request's own payload) other than 4.0 or 4.01: the service
  "MUST interpret the request payload according to the rules of the specified version or fail the
  request with a 4xx" (§8.1.5): 400, as for a header that is not a version at all.
A $batch's sub-requests pass here too (the batch dispatches them through the whole app).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from gateway.errors import BadRequest
from gateway.protect.respond import is_served, send_error

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
UNDERSTOOD = ("4.0", "4.01")  # request payloads
ANSWERED = (4, 0)  # the version of every response payload
_NUMBER = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})")


def version_problem(odata_version: str | None, max_version: str | None) -> str | None:
    """Why a request with these OData-Version / OData-MaxVersion headers cannot be served (None: it can)."""
    if odata_version is not None:
        given = odata_version.strip()
        if given not in UNDERSTOOD:
            kind = "is not a version" if not _NUMBER.fullmatch(given) else "is not one this service understands"
            return (f"OData-Version {given[:20]!r} {kind}: requests may be written in OData "
                    f"{' or '.join(UNDERSTOOD)} (or leave the header out)")
    if max_version is not None:
        number = _NUMBER.fullmatch(max_version.strip())
        if number is None:
            return f"OData-MaxVersion {max_version.strip()[:20]!r} is not a version like 4.0 or 4.01"
        if (int(number.group(1)), int(number.group(2))) < ANSWERED:
            return (f"OData-MaxVersion {max_version.strip()}: this service answers in OData 4.0 and cannot answer in "
                    "an earlier version; send OData-MaxVersion: 4.0 (or 4.01)")
    return None


def accepts_401(max_version: str | None) -> bool:
    """Whether a client's OData-MaxVersion admits a 4.01 answer (the JSON batch format is 4.01's own)."""
    number = _NUMBER.fullmatch((max_version or "").strip())
    return number is not None and (int(number.group(1)), int(number.group(2))) >= (4, 1)


class ODataVersionMiddleware:
    """Refuses, in the OData error shape, a request whose version headers the service cannot honour."""

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and is_served(scope["path"], self.prefixes):
            headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]
                       if name.lower() in (b"odata-version", b"odata-maxversion")}
            problem = version_problem(headers.get("odata-version"), headers.get("odata-maxversion"))
            if problem is not None:
                await send_error(send, BadRequest(problem), scope["path"])
                return
        await self.app(scope, receive, send)
