"""$batch: multipart/mixed (OData 4.0) and JSON (4.01) batches over the service's own handlers.

Each operation is dispatched to the application itself as an in-process ASGI request, so it gets
exactly the behaviour of a single request. A change set (multipart) or atomicity group (JSON)
shares one WriteUnit: all of its writes commit together or none does. `$1`-style Content-ID
references in later URLs of the same change set resolve to the entity an earlier request created.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from email import message_from_bytes
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

import anyio
import orjson
from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import Response

from gateway.audit.trail import Auditor
from gateway.catalog.model import Catalog
from gateway.dataverse.errors import dataverse_payload, is_dataverse
from gateway.edge.request_id import (
    CLIENT_REQUEST_ID_SCOPE_KEY,
    REQUEST_ID_SCOPE_KEY,
    client_request_id_of,
    request_id_of,
)
from gateway.errors import BadRequest, BatchTooLarge, ODataError, UnsupportedMediaType
from gateway.principal import PRINCIPAL_SCOPE_KEY, request_principal
from gateway.serialize.json import dumps
from gateway.threads import in_thread
from gateway.write.http import write_preferences
from gateway.write.unit import CommitHook, EventStamp, WriteUnit

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
_REASONS = {200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified", 400: "Bad Request",
            403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
            409: "Conflict", 412: "Precondition Failed", 415: "Unsupported Media Type", 424: "Failed Dependency",
            428: "Precondition Required", 500: "Internal Server Error", 501: "Not Implemented"}



@dataclass
class Operation:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    id: str | None = None  # Content-ID (multipart) or id (JSON)
    group: str | None = None  # change set / atomicity group
    depends_on: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    operation: Operation
    status: int
    headers: dict[str, str]
    body: bytes


class BatchProcessor:
    def __init__(self, app: ASGIApp, engine: Engine, catalog: Catalog, prefix: str, max_operations: int,
                 hook: CommitHook | None = None, audit: Auditor | None = None,
                 events: EventStamp | None = None) -> None:
        self.app = app
        self.hook = hook
        self.events = events
        self.audit = audit
        self.engine = engine
        self.catalog = catalog
        self.prefix = prefix
        self.max_operations = max_operations

    async def handle(self, request: Request) -> Response:
        content_type = request.headers.get("content-type", "")
        body = await request.body()
        preferences = write_preferences(request.headers.getlist("prefer"))
        continue_on_error = any(
            "continue-on-error" in part.strip().lower()
            for header in request.headers.getlist("prefer")
            for part in header.split(",")
            if not part.strip().lower().endswith("=false")
        )
        kind = content_type.split(";")[0].strip().lower()
        if kind == "application/json":
            operations = _parse_json(body)
        elif kind == "multipart/mixed":
            operations = _parse_multipart(content_type, body)
        else:
            raise UnsupportedMediaType(f"$batch takes multipart/mixed or application/json, not {kind or 'nothing'}")
        if len(operations) > self.max_operations:
            raise BatchTooLarge(
                f"this batch has {len(operations)} operations; at most {self.max_operations} are allowed in one"
            )
        outcomes = await self._run(request, operations, continue_on_error, preferences.dry_run)
        headers = {"OData-Version": "4.0"}
        applied = [p for p, on in (("odata.continue-on-error", continue_on_error), ("tx=rollback", preferences.dry_run)) if on]
        if applied:
            headers["Preference-Applied"] = ",".join(applied)
        if kind == "application/json":
            return Response(_json_response(outcomes), media_type="application/json", headers=headers)
        boundary = f"batchresponse_{uuid.uuid4()}"
        return Response(_multipart_response(outcomes, boundary), headers=headers,
                        media_type=f"multipart/mixed; boundary={boundary}")

    async def _run(
        self, request: Request, operations: list[Operation], continue_on_error: bool, dry_run: bool
    ) -> list[Outcome]:
        outcomes: list[Outcome] = []
        index = 0
        while index < len(operations):
            operation = operations[index]
            if operation.group is None:
                if dry_run:  # Prefer: tx=rollback on the batch covers its lone writes too, not only change sets
                    operation = _rolled_back(operation)
                outcome = await self._dispatch(request, operation, None, {})
                outcomes.append(outcome)
                index += 1
                if outcome.status >= 400 and not continue_on_error:
                    break
                continue
            group = [op for op in operations[index:] if op.group == operation.group]
            index += len(group)
            group_outcomes = await self._run_group(request, group, dry_run)
            outcomes.extend(group_outcomes)
            if any(o.status >= 400 for o in group_outcomes) and not continue_on_error:
                break
        return outcomes

    async def _run_group(self, request: Request, group: list[Operation], dry_run: bool) -> list[Outcome]:
        """All of a change set in one transaction: committed only if every request succeeds."""
        trail = self.audit.trail(request.scope) if self.audit is not None else None
        unit = await in_thread(WriteUnit, self.engine, self.catalog, dry_run, self.hook, trail, self.events)
        references: dict[str, str] = {}
        outcomes: list[Outcome] = []
        failed: Outcome | None = None
        try:
            for operation in group:
                if operation.method == "GET":
                    failed = _error_outcome(self.prefix, operation, 400, "BadRequest", "a change set may hold writes only, not GET")
                    break
                outcome = await self._dispatch(request, operation, unit, references)
                if outcome.status >= 400:
                    failed = outcome
                    break
                outcomes.append(outcome)
                location = outcome.headers.get("location") or outcome.headers.get("odata-entityid")
                if operation.id and location:
                    references[operation.id] = location.split(self.prefix + "/", 1)[-1]
        finally:
            ending: ODataError | None = None
            try:  # committing runs dual-write's live sync, which may refuse the change set
                await in_thread(unit.__exit__, Exception if failed is not None else None, None, None)
            except ODataError as error:
                ending = error
        if ending is not None and failed is None:
            return [_error_outcome(self.prefix, op, ending.status, ending.code, ending.message) if index == 0 else _error_outcome(self.prefix, 
                op, 424, "FailedDependency", "not applied: its change set failed") for index, op in enumerate(group)]
        if failed is None:
            return outcomes
        # Nothing of the change set remains: the failing request says why, the others did not happen.
        return [failed if op is failed.operation else _error_outcome(self.prefix, 
            op, 424, "FailedDependency", "not applied: another request of its change set failed") for op in group]

    async def _dispatch(
        self, request: Request, operation: Operation, unit: WriteUnit | None, references: dict[str, str]
    ) -> Outcome:
        path, query = self._target(operation.url, references)
        if unit is not None and not (path == self.prefix or path.startswith(self.prefix + "/")):
            # A change set is one transaction of this service's database: another service's request
            # would run its SQL there (and escape that service's own transaction and hooks).
            return _error_outcome(self.prefix, operation, 400, "BadRequest",
                                  f"a change set may only hold requests to this service ({self.prefix}/), not {path}")
        headers = {**{k.lower(): v for k, v in request.headers.items() if k.lower() in ("host", "accept")},
                   **{k.lower(): v for k, v in operation.headers.items()}}
        if operation.body and "content-type" not in headers:
            headers["content-type"] = "application/json"
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": operation.method,
            "scheme": request.url.scheme,
            "server": request.scope.get("server"),
            "client": request.scope.get("client"),
            "root_path": "",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "headers": [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()],
            "fno.unit": unit,
            # The batch's own principal: a sub-request is not authenticated (or counted) again.
            PRINCIPAL_SCOPE_KEY: request_principal(request.scope),
            "fno.batch": True,
            # ... and its request id: what it writes is audited under the id its answer carries.
            REQUEST_ID_SCOPE_KEY: request_id_of(request.scope),
            CLIENT_REQUEST_ID_SCOPE_KEY: client_request_id_of(request.scope),
        }
        sent = False
        status = 500
        response_headers: dict[str, str] = {}
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                # The "client" never goes away: a streaming response that listens for a disconnect
                # must not take the end of the body for one.
                await anyio.sleep_forever()
            sent = True
            return {"type": "http.request", "body": operation.body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    response_headers[name.decode("latin-1").lower()] = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return Outcome(operation, status, response_headers, b"".join(chunks))

    def _target(self, url: str, references: dict[str, str]) -> tuple[str, str]:
        """A batch URL (relative to the service root, absolute path, or absolute URL) → (path, query)."""
        parts = urlsplit(url)
        path = parts.path
        reference = re.match(r"^\$([A-Za-z0-9_.-]+)(.*)$", path)
        if reference and reference.group(1) in references:
            path = references[reference.group(1)] + reference.group(2)
        if not path.startswith("/"):
            path = f"{self.prefix}/{path}"
        return path, parts.query


# ---------------------------------------------------------------------- JSON batch (OData 4.01)
def _parse_json(body: bytes) -> list[Operation]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise BadRequest(f"the batch is not valid JSON: {error.msg}") from None
    requests = document.get("requests") if isinstance(document, dict) else None
    if not isinstance(requests, list):
        raise BadRequest('a JSON batch is an object with a "requests" array')
    operations = []
    for position, item in enumerate(requests):
        if not isinstance(item, dict) or "method" not in item or "url" not in item:
            raise BadRequest(f"batch request {position} needs at least method and url")
        payload = item.get("body")
        group = item.get("atomicityGroup")
        operations.append(Operation(
            method=str(item["method"]).upper(),
            url=str(item["url"]),
            headers=_json_headers(position, item.get("headers")),
            body=b"" if payload is None else dumps(payload),
            id=None if item.get("id") is None else str(item["id"]),
            group=None if group is None else str(group),
            depends_on=_json_depends_on(position, item.get("dependsOn")),
        ))
    return operations


def _json_headers(position: int, headers: Any) -> dict[str, str]:
    """A request's "headers": an object of header names and values."""
    if headers is None:
        return {}
    if not isinstance(headers, dict):
        raise BadRequest(f'batch request {position}: "headers" must be an object of header names and values')
    return _checked_headers(f"batch request {position}", {str(name): str(value) for name, value in headers.items()})


def _checked_headers(label: str, headers: dict[str, str]) -> dict[str, str]:
    """Headers of a sub-request, which must be text that HTTP can carry (Latin-1), as in a real request."""
    for name, value in headers.items():
        try:
            (name + value).encode("latin-1")
        except UnicodeEncodeError:
            raise BadRequest(f"{label}: header {name[:80]!r} holds characters HTTP headers cannot carry "
                             "(only Latin-1)") from None
    return headers


def _json_depends_on(position: int, depends_on: Any) -> list[str]:
    if depends_on is None:
        return []
    if not isinstance(depends_on, list):
        raise BadRequest(f'batch request {position}: "dependsOn" must be an array of request ids')
    return [str(item) for item in depends_on]


def _json_response(outcomes: list[Outcome]) -> bytes:
    responses = []
    for outcome in outcomes:
        entry: dict[str, Any] = {"id": outcome.operation.id, "status": outcome.status}
        if outcome.operation.group is not None:
            entry["atomicityGroup"] = outcome.operation.group
        kept = {k: v for k, v in outcome.headers.items() if k in ("location", "etag", "odata-entityid", "content-type")}
        if kept:
            entry["headers"] = kept
        if outcome.body:
            kind = outcome.headers.get("content-type", "")
            entry["body"] = orjson.Fragment(outcome.body) if "json" in kind else outcome.body.decode("utf-8", "replace")
        responses.append(entry)
    return orjson.dumps({"responses": responses})


# ---------------------------------------------------------------------- multipart/mixed (OData 4.0)
def _parse_multipart(content_type: str, body: bytes) -> list[Operation]:
    message = message_from_bytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise BadRequest("the multipart batch has no parts (is the boundary right?)")
    operations: list[Operation] = []
    for number, part in enumerate(_parts(message)):
        if part.get_content_type() == "multipart/mixed":
            group = f"changeset{number}"
            for inner in _parts(part):
                operations.append(_http_part(inner, group))
        else:
            operations.append(_http_part(part, None))
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
    headers = _checked_headers(f"batch request {request_line[1][:80]!r}", headers)
    return Operation(request_line[0].upper(), request_line[1], headers, body.rstrip(b"\n"), content_id, group)


def _multipart_response(outcomes: list[Outcome], boundary: str) -> bytes:
    out: list[bytes] = []
    index = 0
    while index < len(outcomes):
        outcome = outcomes[index]
        group = outcome.operation.group
        if group is None:
            out.append(f"--{boundary}\r\n".encode() + _http_block(outcome))
            index += 1
            continue
        members = [o for o in outcomes[index:] if o.operation.group == group]
        index += len(members)
        changeset = f"changesetresponse_{uuid.uuid4()}"
        failed = [o for o in members if o.status >= 400 and o.status != 424]
        out.append(f"--{boundary}\r\n".encode())
        if failed:  # OData 4.0: a failed change set answers with the one error response
            out.append(_http_block(failed[0]))
            continue
        out.append(f"Content-Type: multipart/mixed; boundary={changeset}\r\n\r\n".encode())
        for member in members:
            out.append(f"--{changeset}\r\n".encode() + _http_block(member))
        out.append(f"--{changeset}--\r\n".encode())
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


def _http_block(outcome: Outcome) -> bytes:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if outcome.operation.id:
        lines.append(f"Content-ID: {outcome.operation.id}")
    lines += ["", f"HTTP/1.1 {outcome.status} {_REASONS.get(outcome.status, '')}"]
    for name, value in outcome.headers.items():
        if name in ("content-type", "location", "etag", "odata-entityid", "odata-version", "preference-applied"):
            lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + outcome.body + b"\r\n"


def _error_outcome(prefix: str, operation: Operation, status: int, code: str, message: str) -> Outcome:
    payload: dict[str, Any] = {"error": {"code": code, "message": message, "details": []}}
    body = orjson.dumps(dataverse_payload(payload, status) if is_dataverse(prefix) else payload)
    return Outcome(operation, status, {"content-type": "application/json", "odata-version": "4.0"}, body)


def _rolled_back(operation: Operation) -> Operation:
    """The operation with `tx=rollback` added to its own Prefer header."""
    headers = {name: value for name, value in operation.headers.items() if name.lower() != "prefer"}
    own = [value for name, value in operation.headers.items() if name.lower() == "prefer"]
    headers["Prefer"] = ", ".join([*own, "tx=rollback"])
    return replace(operation, headers=headers)
