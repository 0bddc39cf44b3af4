"""OData JSON response bodies: collections streamed as chunks of bytes, single objects at once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from gateway.serialize.values import JsonFormat

# Rows encoded per chunk written to the socket: large enough to amortise, small enough to stream.
ROWS_PER_CHUNK = 200


def collection_chunks(
    rows: list[dict[str, Any]],
    json_format: JsonFormat,
    context_url: str,
    count: int | None,
    next_link: str | None,
) -> Iterator[bytes]:
    head: dict[str, Any] = {}
    if json_format.annotations:
        head["@odata.context"] = context_url
    if count is not None:
        head["@odata.count"] = count
    yield orjson.dumps(head)[:-1] + (b',"value":[' if head else b'"value":[')
    for start in range(0, len(rows), ROWS_PER_CHUNK):
        encoded = b",".join(orjson.dumps(row) for row in rows[start : start + ROWS_PER_CHUNK])
        yield encoded if start == 0 else b"," + encoded
    tail = b"]"
    if next_link is not None:
        tail += b',"@odata.nextLink":' + orjson.dumps(next_link)
    yield tail + b"}"


def entity_body(row: dict[str, Any], json_format: JsonFormat, context_url: str) -> bytes:
    if not json_format.annotations:
        return orjson.dumps(row)
    return orjson.dumps({"@odata.context": context_url, **row})


def property_body(name: str, value: Any, json_format: JsonFormat, context_url: str) -> bytes:
    body: dict[str, Any] = {"@odata.context": context_url} if json_format.annotations else {}
    body["value"] = value
    return orjson.dumps(body)
