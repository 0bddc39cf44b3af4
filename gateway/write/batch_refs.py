"""Request references inside a $batch: `$1` stands for the entity an earlier request created or returned.

OData 4.01 Part 1 §11.7.4-11.7.5 and JSON Format §19.1-19.3: `$1` as a URL's first segment is the URL
in the Location of request 1's response (`$1/SalesOrders`, `$1/Name/$value` go on from there), and
`If-Match: $1` its ETag. References in request bodies are allowed too (a service MAY support them):
`"Customer@odata.bind": "$1"` binds to that entity. Ids are any request-id, not only numbers.
A request that read or updated one entity (GET, PATCH, PUT of an entity URL) is referenced by that
entity's URL, which is the request's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from gateway.serialize.json import dumps
from gateway.write.batch_parse import Operation, referenced_id

_BIND_SUFFIXES = ("@odata.bind", "@bind")


@dataclass
class References:
    """What each earlier request's id stands for: its entity's path below the service root, its ETag."""

    prefix: str  # the service root's path, e.g. /data
    entities: dict[str, str] = field(default_factory=dict)
    etags: dict[str, str] = field(default_factory=dict)

    def scoped(self) -> References:
        """A copy for one change set: what it learns counts only once the change set commits."""
        return References(self.prefix, dict(self.entities), dict(self.etags))

    def adopt(self, other: References) -> None:
        self.entities.update(other.entities)
        self.etags.update(other.etags)

    def learn(self, operation: Operation, status: int, headers: dict[str, str], body: bytes, path: str) -> None:
        """After `operation` (sent to `path`) answered `status` with `headers` and `body`: what its id stands for."""
        if operation.id is None or not 200 <= status < 300:
            return
        location = headers.get("location") or headers.get("odata-entityid")
        if location:
            self.entities[operation.id] = self._relative(unquote(urlsplit(location).path))
        elif operation.method in ("GET", "PATCH", "PUT") and _is_entity(headers, body):
            self.entities[operation.id] = self._relative(path)  # the URL it read or updated the entity at
        if "etag" in headers:
            self.etags[operation.id] = headers["etag"]

    def missing(self, operation: Operation) -> list[str]:
        """The ids `operation` references that stand for no entity."""
        return [name for name in operation.references if name not in self.entities]

    def path(self, path: str) -> str:
        """A request path whose first segment `$1` is replaced by the entity it stands for."""
        reference = referenced_id(path)
        if reference is None or reference[0] not in self.entities:
            return path
        return self.entities[reference[0]] + reference[1]

    def headers(self, headers: dict[str, str]) -> dict[str, str]:
        """`If-Match: $1` / `If-None-Match: $1`: the ETag request 1 answered with (Part 1 §11.7.5)."""
        replaced = dict(headers)
        for name, value in headers.items():
            if name.lower() in ("if-match", "if-none-match"):
                reference = referenced_id(value.strip())
                if reference is not None and not reference[1] and reference[0] in self.etags:
                    replaced[name] = self.etags[reference[0]]
        return replaced

    def body(self, body: bytes, content_type: str | None) -> bytes:
        """A JSON body whose `Nav@odata.bind` values `$1` become the entities they stand for."""
        if b'"$' not in body or "json" not in (content_type or "application/json").lower():
            return body
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            return body  # (the request answers 400 for it)
        if not isinstance(document, dict):
            return body
        changed = False
        for name, value in document.items():
            if name.endswith(_BIND_SUFFIXES):
                new = [self._bound(item) for item in value] if isinstance(value, list) else self._bound(value)
                changed = changed or new != value
                document[name] = new
        return dumps(document) if changed else body

    def _bound(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        reference = referenced_id(value)
        if reference is None or reference[0] not in self.entities:
            return value
        return self.entities[reference[0]] + reference[1]

    def _relative(self, path: str) -> str:
        """A path of this service as it is written below the service root (CustomersV3(...))."""
        marker = self.prefix + "/"
        return path.split(marker, 1)[1] if marker in path else path.lstrip("/")


def _is_entity(headers: dict[str, str], body: bytes) -> bool:
    """Whether a 2xx answer is one entity: it has an ETag (collections have none) and is no property
    (a raw `$value`, or an object with `value` — the individual property format, JSON Format §11)."""
    if "etag" not in headers:
        return False
    if not body:
        return True  # a PATCH or PUT with return=minimal
    if "json" not in headers.get("content-type", ""):
        return False
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    context = document.get("@odata.context", "") if isinstance(document, dict) else ""
    return isinstance(document, dict) and (str(context).endswith("/$entity") or "value" not in document)
