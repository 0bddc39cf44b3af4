"""$batch: multipart/mixed (OData 4.0) and JSON (4.01) batches over the service's own handlers.

The whole batch is read and checked first (batch_parse.py): an invalid one is a 400 and none of it
runs. Each operation is then dispatched to the application itself as an in-process ASGI request, so
it gets exactly the behaviour of a single request. A change set (multipart) or atomicity group
(JSON) shares one WriteUnit: all of its writes commit together or none does. `$1` references (in
URLs, If-Match and `@odata.bind` values) stand for the entity an earlier request created or returned
(batch_refs.py). A request that depends on one that failed (dependsOn, or a reference) is not run:
424 Failed Dependency.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote, urlsplit

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
from gateway.errors import BatchTooLarge, ODataError, UnsupportedMediaType
from gateway.principal import PRINCIPAL_SCOPE_KEY, request_principal
from gateway.threads import in_thread
from gateway.versions import accepts_401
from gateway.write.batch_parse import Operation, parse_json, parse_multipart
from gateway.write.batch_refs import References
from gateway.write.http import write_preferences
from gateway.write.unit import CommitHook, EventStamp, WriteUnit

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
_REASONS = {200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified", 400: "Bad Request",
            403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
            409: "Conflict", 412: "Precondition Failed", 415: "Unsupported Media Type", 424: "Failed Dependency",
            428: "Precondition Required", 500: "Internal Server Error", 501: "Not Implemented"}

__all__ = ["BatchProcessor", "Operation", "Outcome"]


@dataclass
class Outcome:
    operation: Operation
    status: int
    headers: dict[str, str]
    body: bytes
    path: str = ""  # the path the operation was sent to, its references resolved


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
            operations = parse_json(body)
        elif kind == "multipart/mixed":
            operations = parse_multipart(content_type, body)
        else:
            raise UnsupportedMediaType(f"$batch takes multipart/mixed or application/json, not {kind or 'nothing'}")
        if len(operations) > self.max_operations:
            raise BatchTooLarge(
                f"this batch has {len(operations)} operations; at most {self.max_operations} are allowed in one"
            )
        outcomes = await self._run(request, operations, continue_on_error, preferences.dry_run)
        # The JSON batch format is OData 4.01's: said so to a client that accepts 4.01 answers.
        json_401 = kind == "application/json" and accepts_401(request.headers.get("odata-maxversion"))
        version = "4.01" if json_401 else "4.0"
        headers = {"OData-Version": version}
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
        known = References(self.prefix)
        succeeded: dict[str, bool] = {}  # by request id and by atomicity group: whether it succeeded
        for group, members in itertools.groupby(operations, key=lambda operation: operation.group):
            if group is None:
                for operation in members:
                    if dry_run:  # Prefer: tx=rollback on the batch covers its lone writes too, not only change sets
                        operation = _rolled_back(operation)
                    outcome = self._blocked(operation, succeeded, known) or await self._dispatch(
                        request, operation, None, known)
                    outcomes.append(outcome)
                    known.learn(operation, outcome.status, outcome.headers, outcome.body, outcome.path)
                    if operation.id is not None:
                        succeeded[operation.id] = outcome.status < 400
                    if outcome.status >= 400 and not continue_on_error:
                        return outcomes
                continue
            batch = list(members)
            group_outcomes = await self._run_group(request, batch, dry_run, succeeded, known)
            outcomes.extend(group_outcomes)
            ok = all(outcome.status < 400 for outcome in group_outcomes)
            succeeded.update({group: ok, **{op.id: ok for op in batch if op.id is not None}})
            if not ok and not continue_on_error:
                break
        return outcomes

    def _blocked(self, operation: Operation, succeeded: dict[str, bool], known: References) -> Outcome | None:
        """A 424 for a request that is not to run: it has an `if` (not evaluated by this service, JSON
        Format §19.1), or a request it depends on or references failed or stands for no entity."""
        if operation.condition:
            return self._failed(operation, "this service does not evaluate the \"if\" of batch requests: not run")
        for name in operation.depends_on:
            if not succeeded.get(name, True):
                return self._failed(operation, f"not run: it depends on {name}, which failed")
        for name in known.missing(operation):
            why = "failed" if not succeeded.get(name, True) else "stands for no entity (only a request that creates, " \
                "reads or updates one entity can be referenced)"
            return self._failed(operation, f"not run: ${name} {why}")
        return None

    def _failed(self, operation: Operation, message: str) -> Outcome:
        return _error_outcome(self.prefix, operation, 424, "FailedDependency", message)

    async def _run_group(self, request: Request, group: list[Operation], dry_run: bool,
                         succeeded: dict[str, bool], known: References) -> list[Outcome]:
        """All of a change set in one transaction: committed only if every request succeeds."""
        refused = self._refused_group(group, succeeded, known)
        if refused is not None:
            return [refused if op is refused.operation else self._failed(
                op, "not applied: another request of its atomicity group could not run") for op in group]
        trail = self.audit.trail(request.scope) if self.audit is not None else None
        unit = await in_thread(WriteUnit, self.engine, self.catalog, dry_run, self.hook, trail, self.events)
        scoped = known.scoped()  # what the group's requests stand for counts once it commits
        outcomes: list[Outcome] = []
        failed: Outcome | None = None
        try:
            for operation in group:
                # A read of a JSON atomicity group runs outside its transaction: as if before its changes,
                # an order the group allows (JSON Format §19.4), since it depends on none of them.
                outcome = self._blocked(operation, succeeded, scoped) or await self._dispatch(
                    request, operation, unit if operation.changes else None, scoped)
                if outcome.status >= 400:
                    failed = outcome
                    break
                outcomes.append(outcome)
                scoped.learn(operation, outcome.status, outcome.headers, outcome.body, outcome.path)
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
            known.adopt(scoped)
            return outcomes
        # Nothing of the change set remains: the failing request says why, the others did not happen.
        return [failed if op is failed.operation else _error_outcome(self.prefix,
            op, 424, "FailedDependency", "not applied: another request of its change set failed") for op in group]

    def _refused_group(self, group: list[Operation], succeeded: dict[str, bool], known: References) -> Outcome | None:
        """The 424 of a group's request that cannot run, before any of the group runs (then none does)."""
        members = {op.id: op for op in group if op.id is not None}
        for operation in group:
            inside = [name for name in [*operation.depends_on, *operation.references] if name in members]
            if not operation.changes and any(members[name].changes for name in inside):
                return self._failed(operation, f"{operation.method} {operation.url[:80]} reads what a change of "
                                    "its own atomicity group writes, and a read sees no uncommitted change: put it "
                                    f"after the group, with \"dependsOn\": [\"{operation.group}\"]")
            outside = replace(operation, references=[name for name in operation.references if name not in members])
            blocked = self._blocked(outside, succeeded, known)
            if blocked is not None:
                return replace(blocked, operation=operation)
        return None

    async def _dispatch(
        self, request: Request, operation: Operation, unit: WriteUnit | None, references: References
    ) -> Outcome:
        path, query = self._target(operation.url, references)
        if unit is not None and not (path == self.prefix or path.startswith(self.prefix + "/")):
            # A change set is one transaction of this service's database: another service's request
            # would run its SQL there (and escape that service's own transaction and hooks).
            return _error_outcome(self.prefix, operation, 400, "BadRequest",
                                  f"a change set may only hold requests to this service ({self.prefix}/), not {path}")
        headers = {**{k.lower(): v for k, v in request.headers.items() if k.lower() in ("host", "accept")},
                   **{k.lower(): v for k, v in references.headers(operation.headers).items()}}
        if operation.body and "content-type" not in headers:
            headers["content-type"] = "application/json"
        body = references.body(operation.body, headers.get("content-type"))
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
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    response_headers[name.decode("latin-1").lower()] = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return Outcome(operation, status, response_headers, b"".join(chunks), path)

    def _target(self, url: str, references: References) -> tuple[str, str]:
        """A batch URL (relative to the service root, absolute path, or absolute URL) → (path, query),
        the path percent-decoded as an ASGI server hands it over, `$1` replaced by its entity."""
        parts = urlsplit(url)
        path = references.path(unquote(parts.path))
        if not path.startswith("/"):
            path = f"{self.prefix}/{path}"
        return path, parts.query


# ---------------------------------------------------------------------- responses
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
