"""What the middleware share: which paths they guard, and errors answered before any route runs,
in the OData error shape."""

from __future__ import annotations

from typing import Any

import orjson

from gateway.dataverse.errors import dataverse_payload, is_dataverse
from gateway.errors import ODataError


async def send_error(send: Any, error: ODataError, path: str = "") -> None:
    payload = error.payload()
    body = orjson.dumps(dataverse_payload(payload, error.status) if is_dataverse(path) else payload)
    headers = [(b"content-type", b"application/json"), (b"odata-version", b"4.0"),
               (b"content-length", str(len(body)).encode())]
    headers += [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def is_served(path: str, prefixes: tuple[str, ...]) -> bool:
    """The path is one of the services (a prefix, or below it), not some other URL."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes)
