"""OData JSON response bodies: collections streamed as chunks of bytes, single objects at once."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

from gateway.serialize.values import JsonFormat


def collection_chunks(
    chunks: Iterable[list[dict[str, Any]]],
    json_format: JsonFormat,
    context_url: str,
    count: int | None,
    next_link: Callable[[], str | None],
) -> Iterator[bytes]:
    """The collection document, written as the row chunks arrive; the nextLink is known only at the end."""
    head: dict[str, Any] = {}
    if json_format.annotations:
        head["@odata.context"] = context_url
    if count is not None:
        head["@odata.count"] = count
    yield orjson.dumps(head)[:-1] + (b',"value":[' if head else b'"value":[')
    separator = b""
    for rows in chunks:
        if rows:
            yield separator + orjson.dumps(rows)[1:-1]  # one call per chunk, without the brackets
            separator = b","
    tail = b"]"
    link = next_link()
    if link is not None:
        tail += b',"@odata.nextLink":' + orjson.dumps(link)
    yield tail + b"}"


def entity_body(row: dict[str, Any], json_format: JsonFormat, context_url: str) -> bytes:
    if not json_format.annotations:
        return orjson.dumps(row)
    return orjson.dumps({"@odata.context": context_url, **row})


def property_body(name: str, value: Any, json_format: JsonFormat, context_url: str) -> bytes:
    body: dict[str, Any] = {"@odata.context": context_url} if json_format.annotations else {}
    body["value"] = value
    return orjson.dumps(body)
