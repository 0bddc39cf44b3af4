"""A $batch body → its operations, the whole batch refused (400) before any of it runs when it is invalid.

JSON batches (OData 4.01 JSON Format §19.1): an object with `requests` (and annotations); each request
an object with `id`, `method`, `url` and optionally `atomicityGroup`, `dependsOn`, `if`, `headers`,
`body` — nothing else, no name twice. Ids are unique `request-id`s (ABNF: 1*unreserved) and no
atomicity group is named like a request; a group's requests are adjacent; `dependsOn` names earlier
requests or groups (a request of another group through its group); GET and DELETE carry no body.
Multipart batches (Part 1 §11.7.7): a change set holds data modification requests only (§11.7.2),
Content-IDs are unique. Either way a `$id` reference (first URL segment, `@odata.bind` values) names
an earlier request, and no request is itself a batch.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

import orjson

from gateway.errors import BadRequest
from gateway.serialize.json import dumps

CHANGES = ("POST", "PUT", "PATCH", "DELETE")
# First segments that name system resources, never a request (Part 1 §11.7.4: they win over an id).
SYSTEM_RESOURCES = frozenset({"batch", "crossjoin", "all", "entity", "root", "id", "metadata"})
_REQUEST_ID = re.compile(r"[A-Za-z0-9._~-]+")  # request-id = 1*unreserved
_MEMBERS = ("id", "method", "url", "atomicityGroup", "dependsOn", "if", "headers", "body")
_METHODS = ("delete", "get", "patch", "post", "put")
_BIND_SUFFIXES = ("@odata.bind", "@bind")  # 4.01 JSON may leave out the odata. prefix


@dataclass
class Operation:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    id: str | None = None  # Content-ID (multipart) or id (JSON)
    group: str | None = None  # change set / atomicity group
    depends_on: list[str] = field(default_factory=list)
    condition: bool = False  # a JSON `if`, which this service does not evaluate (its request fails 424)
    references: list[str] = field(default_factory=list)  # the earlier requests its `$id`s name

    @property
    def changes(self) -> bool:
        return self.method in CHANGES


def referenced_id(value: str) -> tuple[str, str] | None:
    """(`1`, `/Orders`) for `$1/Orders`: a request reference as first segment, not a system resource."""
    match = re.match(r"^\$([^/?#(]+)(.*)$", value, re.DOTALL)
    if match is None or match.group(1) in SYSTEM_RESOURCES:
        return None
    return match.group(1), match.group(2)


def bound_references(body: Any) -> list[str]:
    """The `$id` references among a JSON body's `Nav@odata.bind` (or `Nav@bind`) values."""
    if not isinstance(body, dict):
        return []
    found = []
    for name, value in body.items():
        if isinstance(name, str) and name.endswith(_BIND_SUFFIXES):
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and (reference := referenced_id(item)) is not None:
                    found.append(reference[0])
    return found


# ---------------------------------------------------------------------- JSON batch (OData 4.01)
def parse_json(body: bytes) -> list[Operation]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise BadRequest(f"the batch is not valid JSON: {error.msg}") from None
    if not isinstance(document, dict) or not isinstance(document.get("requests"), list):
        raise BadRequest('a JSON batch is an object with a "requests" array')
    for name in document:
        if name != "requests" and not str(name).startswith("@"):
            raise BadRequest(f'a JSON batch holds "requests" (and annotations) only, not "{str(name)[:80]}"')
    _refuse_duplicate_names(body)
    operations = [_json_request(position, item) for position, item in enumerate(document["requests"])]
    check_batch(operations)
    return operations


def _json_request(position: int, item: Any) -> Operation:
    label = f"batch request {position}"
    if not isinstance(item, dict):
        raise BadRequest(f"{label} must be an object with id, method and url")
    if isinstance(item.get("id"), str):
        label += f" (id {item['id'][:40]!r})"
    for name in item:
        if name not in _MEMBERS:
            raise BadRequest(f'{label}: unknown member "{str(name)[:80]}" (a request has {", ".join(_MEMBERS)})')
    for name in ("id", "method", "url"):
        if name not in item:
            raise BadRequest(f'{label} needs "{name}" (every request has id, method and url)')
    identifier = _request_id(label, "id", item["id"])
    method = item["method"]
    if not isinstance(method, str) or method.lower() not in _METHODS:
        raise BadRequest(f'{label}: "method" must be one of {", ".join(_METHODS)} (in any case), not {method!r:.80}')
    url = item["url"]
    if not isinstance(url, str) or not url.strip():
        raise BadRequest(f'{label}: "url" must be a non-empty string')
    group = None if item.get("atomicityGroup") is None else _request_id(label, "atomicityGroup", item["atomicityGroup"])
    condition = item.get("if")
    if condition is not None and not isinstance(condition, str):
        raise BadRequest(f'{label}: "if" must be a string holding a URL expression')
    headers = _json_headers(label, item.get("headers"))
    payload = item.get("body")
    if payload is not None and method.lower() in ("get", "delete"):
        raise BadRequest(f"{label}: a {method.upper()} request has no body")
    references = [reference[0]] if (reference := referenced_id(url)) is not None else []
    return Operation(
        method=method.upper(),
        url=url,
        headers=headers,
        body=_json_body(label, payload, headers),
        id=identifier,
        group=group,
        depends_on=_json_depends_on(label, item.get("dependsOn")),
        condition=condition is not None,
        references=references + bound_references(payload),
    )


def _request_id(label: str, name: str, value: Any) -> str:
    if not isinstance(value, str) or not _REQUEST_ID.fullmatch(value):
        raise BadRequest(f'{label}: "{name}" must be a string of letters, digits, "-", ".", "_" and "~" '
                         f"(OData's request-id), not {json.dumps(value)[:80]}")
    return value


def _json_headers(label: str, headers: Any) -> dict[str, str]:
    """A request's "headers": an object of header names and string values."""
    if headers is None:
        return {}
    if not isinstance(headers, dict):
        raise BadRequest(f'{label}: "headers" must be an object of header names and values')
    for name, value in headers.items():
        if not isinstance(value, str):
            raise BadRequest(f'{label}: "headers" value of {str(name)[:80]} must be a string, '
                             f"not {json.dumps(value)[:40]}")
    return checked_headers(label, {str(name): value for name, value in headers.items()})


def _json_body(label: str, payload: Any, headers: dict[str, str]) -> bytes:
    """The body as bytes: JSON for JSON media types, the text for text/*, else base64url (§19.1)."""
    if payload is None:
        return b""
    kind = next((value for name, value in headers.items() if name.lower() == "content-type"), "application/json")
    media = kind.split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json") or media.startswith("application/json"):
        return dumps(payload)
    if not isinstance(payload, str):
        raise BadRequest(f'{label}: a {media} "body" must be a string')
    if media.startswith("text/"):
        return payload.encode("utf-8")
    try:
        return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    except (binascii.Error, ValueError):
        raise BadRequest(f'{label}: a {media} "body" must be base64url-encoded') from None


def _json_depends_on(label: str, depends_on: Any) -> list[str]:
    if depends_on is None:
        return []
    if not isinstance(depends_on, list) or not all(isinstance(item, str) for item in depends_on):
        raise BadRequest(f'{label}: "dependsOn" must be an array of request ids or atomicity groups')
    return list(depends_on)


class _Named(dict[str, Any]):
    """A JSON object that remembers a name it was given twice."""

    duplicate: str | None = None


def _pairs(pairs: list[tuple[str, Any]]) -> _Named:
    named = _Named(pairs)
    if len(named) < len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                named.duplicate = name
                break
            seen.add(name)
    return named


def _refuse_duplicate_names(body: bytes) -> None:
    """The batch object, its request objects and their headers objects name each member once (§19.1,
    RFC 7493): which of two values would count is otherwise anyone's guess."""
    try:
        document = json.loads(body, object_pairs_hook=_pairs)
    except (ValueError, RecursionError):
        return  # (orjson read it: whatever the standard library refuses, it is no duplicate)
    objects = [("the batch", document)]
    for position, item in enumerate(document.get("requests") or []):
        objects += [(f"batch request {position}", item), (f"batch request {position} headers", item.get("headers"))] \
            if isinstance(item, dict) else []
    for label, value in objects:
        if isinstance(value, _Named) and value.duplicate is not None:
            raise BadRequest(f'{label} names "{value.duplicate[:80]}" twice')


# ---------------------------------------------------------------------- multipart/mixed (OData 4.0)
def parse_multipart(content_type: str, body: bytes) -> list[Operation]:
    message = message_from_bytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise BadRequest("the multipart batch has no parts (is the boundary right?)")
    operations: list[Operation] = []
    for number, part in enumerate(_parts(message)):
        if part.get_content_type() == "multipart/mixed":
            group = f"changeset{number}"
            for inner in _parts(part):
                operation = _http_part(inner, group)
                if not operation.changes:
                    raise BadRequest(f"a change set holds data modification requests only (OData Part 1 §11.7.2), "
                                     f"not {operation.method} {operation.url[:80]}: put it outside the change set")
                operations.append(operation)
        else:
            operations.append(_http_part(part, None))
    check_batch(operations)
    return operations


def _parts(message: Message) -> list[Message]:
    payload = message.get_payload()
    return [part for part in payload if isinstance(part, Message)] if isinstance(payload, list) else []


def _http_part(part: Message, group: str | None) -> Operation:
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        raise BadRequest("a batch part is not an HTTP request")
    head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    try:
        lines = head.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        raise BadRequest("a batch part's request line and headers are not UTF-8") from None
    request_line = lines[0].split(" ")
    if len(request_line) < 2:
        raise BadRequest(f"a batch part does not start with a request line: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip():
            headers[name.strip()] = value.strip()
    content_id = part.get("Content-ID") or headers.pop("Content-ID", None)
    headers = checked_headers(f"batch request {request_line[1][:80]!r}", headers)
    url = request_line[1]
    payload = body.rstrip(b"\n")
    references = [reference[0]] if (reference := referenced_id(url)) is not None else []
    if b'"$' in payload:
        try:
            references += bound_references(orjson.loads(payload))
        except orjson.JSONDecodeError:
            pass  # (the request itself answers 400 for its body)
    return Operation(request_line[0].upper(), url, headers, payload, content_id, group, references=references)


def checked_headers(label: str, headers: dict[str, str]) -> dict[str, str]:
    """Headers of a sub-request, which must be text that HTTP can carry (Latin-1), as in a real request."""
    for name, value in headers.items():
        try:
            (name + value).encode("latin-1")
        except UnicodeEncodeError:
            raise BadRequest(f"{label}: header {name[:80]!r} holds characters HTTP headers cannot carry "
                             "(only Latin-1)") from None
    return headers


# ---------------------------------------------------------------------- both formats
def check_batch(operations: list[Operation]) -> None:
    """What holds between the requests: unique ids, adjacent groups, dependencies and references
    that name earlier requests (a 400 for the whole batch, naming the request)."""
    ids: dict[str, Operation] = {}
    groups: dict[str, int] = {}  # group -> position of its first request
    for position, operation in enumerate(operations):
        label = f"batch request {position}" + (f" (id {operation.id!r})" if operation.id is not None else "")
        if operation.id is not None:
            if operation.id in ids:
                raise BadRequest(f"{label}: the id {operation.id!r} is given twice; each request has its own")
            if operation.id in groups:
                raise BadRequest(f"{label}: the id {operation.id!r} is also the name of an atomicity group")
        group = operation.group
        if group is not None:
            if group in ids:
                raise BadRequest(f"{label}: the atomicity group {group!r} has the name of a request id")
            if group in groups and operations[position - 1].group != group:
                raise BadRequest(f"{label}: the requests of atomicity group {group!r} must be adjacent, "
                                 "not parted by other requests")
            groups.setdefault(group, position)
        if _is_batch(operation.url):
            raise BadRequest(f"{label}: a request inside a batch cannot itself be a batch")
        for name in operation.depends_on:
            _check_dependency(label, name, operation, ids, groups)
        for name in operation.references:
            if name not in ids:
                raise BadRequest(f"{label}: ${name} names no earlier request "
                                 f"(known: {', '.join('$' + known for known in ids) or 'none'})")
        if operation.id is not None:
            ids[operation.id] = operation


def _check_dependency(label: str, name: str, operation: Operation, ids: dict[str, Operation],
                      groups: dict[str, int]) -> None:
    if name in groups and name == operation.group:
        raise BadRequest(f"{label}: a request cannot depend on its own atomicity group {name!r}")
    if name in groups:
        return
    earlier = ids.get(name)
    if earlier is None:
        raise BadRequest(f"{label}: dependsOn names {name!r}, which is no earlier request or atomicity group "
                         "(a request depends only on requests before it)")
    if earlier.group is not None and earlier.group != operation.group:
        raise BadRequest(f"{label}: dependsOn names {name!r} of atomicity group {earlier.group!r}: "
                         f"depend on the group instead (\"dependsOn\": [\"{earlier.group}\"])")


def _is_batch(url: str) -> bool:
    path = urlsplit(url).path.rstrip("/")
    return path == "$batch" or path.endswith("/$batch")
