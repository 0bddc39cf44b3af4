"""OData JSON response bodies: collections streamed as chunks of bytes, single objects at once."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

from gateway.errors import BadRequest
from gateway.serialize.values import JsonFormat


def dumps(value: Any) -> bytes:
    """orjson.dumps, its nesting limit (255 levels) a client error: only a request as deep gets there
    (an $expand a hundred levels deep, a body nested as deep)."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError as error:
        if "recursion" not in str(error).lower():
            raise
        raise BadRequest("the JSON to write would be nested more than 255 levels deep; expand or nest less") from None


def collection_chunks(
    chunks: Iterable[list[dict[str, Any]]],
    json_format: JsonFormat,
    context_url: str,
    count: int | None,
    next_link: Callable[[], str | None],
    annotations: dict[str, Any] | None = None,
) -> Iterator[bytes]:
    """The collection document, written as the row chunks arrive; the nextLink is known only at the end."""
    head: dict[str, Any] = {}
    if json_format.annotations:
        head["@odata.context"] = context_url
    if count is not None:
        head["@odata.count"] = count
    if annotations:
        head.update(annotations)
    yield dumps(head)[:-1] + (b',"value":[' if head else b'"value":[')
    separator = b""
    for rows in chunks:
        if rows:
            yield separator + dumps(rows)[1:-1]  # one call per chunk, without the brackets
            separator = b","
    tail = b"]"
    link = next_link()
    if link is not None:
        tail += b',"@odata.nextLink":' + orjson.dumps(link)
    yield tail + b"}"


def entity_body(row: dict[str, Any], json_format: JsonFormat, context_url: str) -> bytes:
    if not json_format.annotations:
        return dumps(row)
    return dumps({"@odata.context": context_url, **row})


def property_body(name: str, value: Any, json_format: JsonFormat, context_url: str) -> bytes:
    body: dict[str, Any] = {"@odata.context": context_url} if json_format.annotations else {}
    body["value"] = value
    return dumps(body)
