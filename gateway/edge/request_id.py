"""Request ids: one per request, in the response headers, the audit log and a 500's message.

The id is the gateway's own (a GUID, like Dataverse's `x-ms-service-request-id`), never the client's:
a client may send its own correlation id (`x-ms-client-request-id`, or `x-request-id`), which is
kept beside it and echoed back, but a client cannot choose the id the server logs under.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, MutableMapping
from typing import Any

SERVICE_REQUEST_ID_HEADER = "x-ms-service-request-id"
CLIENT_REQUEST_ID_HEADER = "x-ms-client-request-id"
CLIENT_REQUEST_ID_ALIASES = (CLIENT_REQUEST_ID_HEADER, "x-request-id")  # read in this order
REQUEST_ID_SCOPE_KEY = "fno.request_id"
CLIENT_REQUEST_ID_SCOPE_KEY = "fno.client_request_id"
# A sane correlation id: short, and nothing that could split a header or a log line.
_SANE = re.compile(r"^[A-Za-z0-9._:{}+=/-]{1,128}$")


def new_request_id() -> str:
    return str(uuid.uuid4())


def sane_client_id(value: str | None) -> str | None:
    """The client's correlation id if it is one we can echo safely (else it is ignored)."""
    if value is None:
        return None
    value = value.strip()
    return value if _SANE.match(value) else None


def client_request_id(headers: list[tuple[bytes, bytes]]) -> str | None:
    found = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in headers}
    for name in CLIENT_REQUEST_ID_ALIASES:
        if name in found:
            return sane_client_id(found[name])
    return None


def request_id_of(scope: MutableMapping[str, Any]) -> str:
    """This request's id (set by the edge middleware; a request that bypassed it gets a fresh one)."""
    request_id = scope.get(REQUEST_ID_SCOPE_KEY)
    if not isinstance(request_id, str):
        request_id = scope[REQUEST_ID_SCOPE_KEY] = new_request_id()
    return request_id


def client_request_id_of(scope: Mapping[str, Any]) -> str | None:
    value = scope.get(CLIENT_REQUEST_ID_SCOPE_KEY)
    return value if isinstance(value, str) else None
