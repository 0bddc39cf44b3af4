"""The write handler: POST, PATCH, PUT and DELETE on entities, one transaction per request.

route → parse → bind (resolve the target, validate the body) → write in a WriteUnit → read the
result back in the same transaction → respond (201/200/204, Location, ETag, OData-EntityId).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.conditional import etag_list, etag_matches
from gateway.errors import (
    BadRequest,
    Conflict,
    InvalidQueryOption,
    MethodNotAllowed,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    UnsupportedMediaType,
    caret,
)
from gateway.execute import read_one
from gateway.negotiate import content_type, json_format
from gateway.options import parse_query
from gateway.plan.derived import cast_entity
from gateway.plan.keys import Fixed
from gateway.plan.query import OptionTexts, plan_read
from gateway.plan.scope import PlanContext
from gateway.read import ReadService, _parse_path, lookup_on, request_context
from gateway.resource import Target, key_url, resolve
from gateway.serialize.json import entity_body
from gateway.stream import is_stream, stream_values, write_stream
from gateway.structured_paths import is_structured, property_document, read_value, write_path
from gateway.threads import in_thread
from gateway.write.bind import bound_values
from gateway.write.entity import EntityWriter
from gateway.write.refs import ReferenceWriter, is_through_collection, reference_written
from gateway.write.unit import WriteUnit
from gateway.write.values import property_values
from grammar import ast


@dataclass(frozen=True)
class WritePreferences:
    representation: bool | None  # return=representation (True), return=minimal (False), not said (None)
    dry_run: bool  # tx=rollback: do everything, answer as usual, keep nothing

    @property
    def applied(self) -> str:
        parts = []
        if self.representation is not None:
            parts.append("return=representation" if self.representation else "return=minimal")
        if self.dry_run:
            parts.append("tx=rollback")
        return ",".join(parts)


def write_preferences(headers: list[str]) -> WritePreferences:
    representation: bool | None = None
    dry_run = False
    for header in headers:
        for part in header.split(","):
            name, _, value = part.strip().partition("=")
            name, value = name.strip().lower(), value.strip().strip('"').lower()
            if name == "return" and value in ("minimal", "representation"):
                representation = value == "representation"
            elif name in ("tx", "odata.tx") and value == "rollback":
                dry_run = True
    return WritePreferences(representation, dry_run)


def if_match_values(header: str | None) -> list[str] | None:
    return etag_list(header)


@dataclass(frozen=True)
class Conditions:
    """If-Match and If-None-Match of a write (None: the header is absent)."""

    if_match: list[str] | None
    if_none_match: list[str] | None

    @property
    def insert_only(self) -> bool:
        """`If-None-Match: *`: create, never update (Part 1 §8.2.4: an upsert is processed as an insert)."""
        return self.if_none_match is not None and "*" in self.if_none_match


async def handle_write(service: ReadService, request: Request, resource_path: str, require_if_match: bool) -> Response:
    query = parse_query(request.scope["query_string"].decode("latin-1"))
    segments = _parse_path(resource_path)
    fmt = json_format(request.headers.get("accept"), query.format)
    preferences = write_preferences(request.headers.getlist("prefer"))
    context = request_context(service, request, query.custom, query.aliases)
    base = str(request.base_url).rstrip("/") + service.prefix + "/"
    raw_body = await request.body() if request.method in ("POST", "PATCH", "PUT") else None
    if_match = if_match_values(request.headers.get("if-match"))
    conditions = Conditions(if_match, etag_list(request.headers.get("if-none-match")))
    # (If-None-Match: * addresses no existing entity, whose ETag a client could hold)
    if request.method != "POST" and if_match is None and require_if_match and not conditions.insert_only:
        raise PreconditionRequired(f"{request.method} needs an If-Match header with the entity's ETag (or *)")

    def write(unit: WriteUnit) -> Response:
        target = resolve(service.catalog, segments, query.aliases, lookup_on(unit.connection, context))
        if target.reference:  # .../Nav/$ref: add, remove or replace a relation (gateway/write/refs.py)
            references = ReferenceWriter(unit, context, lookup_on(unit.connection, context), service.prefix)
            references.write(request.method, target, _Body(request.headers.get("content-type"), raw_body or b"").json,
                             query.id, if_match)
            return reference_written(preferences.applied)
        if query.id is not None:
            raise InvalidQueryOption("$id belongs to DELETE .../Nav/$ref?$id=... (and /$entity?$id=...)", target="$id")
        writer = EntityWriter(unit, context, target.entity)  # 405 for read-only entities, before the body
        body = _Body(request.headers.get("content-type"), raw_body or b"")
        bind = _Binder(service.catalog, lookup_on(unit.connection, context), service.prefix)
        if is_structured(target):  # a complex or collection-valued property, member or item (structured_paths.py)
            write_path(request.method, writer, target, body.json, if_match, query.index)
            return _path_written(unit, context, target, preferences, fmt, base)
        if query.index is not None:
            raise InvalidQueryOption("$index belongs to a POST that inserts into a collection-valued property, "
                                     "e.g. POST Products(key)/Tags?$index=0", target="$index")
        # POST Products(x)/RelatedProducts (many-to-many): create the entity, then link it to x.
        linked = target if request.method == "POST" and is_through_collection(target) else None
        status, fixed = _apply(request.method, writer, replace(target, fixed=()) if linked else target, body,
                               conditions, bind)
        if linked is not None:
            ReferenceWriter(unit, context, lookup_on(unit.connection, context), service.prefix).link_new(linked, fixed)
        return _respond(service, unit, context, target, fixed, status, preferences, fmt, base)

    def run() -> Response:
        shared: WriteUnit | None = request.scope.get("fno.unit")
        if shared is not None:
            return write(shared)  # a $batch change set: the batch commits or rolls back all of it
        trail = service.audit.trail(request.scope) if service.audit is not None else None
        with WriteUnit(service.engine, service.catalog, preferences.dry_run, service.write_hook, trail,
                       service.events) as unit:
            return write(unit)

    return await in_thread(run)


@dataclass(frozen=True)
class _Body:
    """The request body, parsed only once the target is known to take one."""

    content_type: str | None
    raw: bytes

    def json(self) -> Any:
        return json_body(self.content_type, self.raw)


@dataclass(frozen=True)
class _Binder:
    """Turns `Nav@odata.bind` references of a body into link property values."""

    catalog: Any
    lookup: Any
    prefix: str

    def values(self, entity: Any, body: Any) -> dict[str, object]:
        return bound_values(self.catalog, entity, body, self.lookup, self.prefix)


def _apply(
    method: str, writer: EntityWriter, target: Target, body: _Body, conditions: Conditions, bind: _Binder
) -> tuple[int, Fixed]:
    entity = target.entity
    catalog = writer.catalog
    if_match = conditions.if_match
    if target.kind in ("property", "value") and is_stream(entity, target.property):
        assert target.property is not None
        write_stream(writer, method, target.fixed, target.property, body.raw, body.content_type, if_match)
        return 204, target.fixed
    if method == "POST":
        if target.kind != "collection":
            raise MethodNotAllowed("POST creates entities in a collection, e.g. POST /data/CustomersV3",
                                   headers={"Allow": "GET, PATCH, PUT, DELETE"})
        if entity.media is not None:  # a media entity is created from its bytes (OData §11.4.2.2)
            if (body.content_type or "").split(";")[0].strip().lower() == "application/json":
                raise UnsupportedMediaType(f"{entity.entity_set} holds media entities: POST the media itself "
                                           "(its own Content-Type), then PATCH the entity's properties")
            return 201, writer.create(stream_values(entity.properties[entity.media], body.raw, body.content_type))
        if if_match is not None and "*" not in if_match:
            # The target of a POST is the collection, which has no ETag: no tag can match it.
            raise PreconditionFailed(f"If-Match {', '.join(if_match) or '(empty)'} names an ETag, and a collection "
                                     "has none; send If-Match on the entity's own URL, or If-Match: *")
        payload = body.json()
        if isinstance(payload, dict) and isinstance(payload.get("@odata.type"), str):  # a derived type's entity
            entity = cast_entity(catalog, entity, payload["@odata.type"].removeprefix("#"))
            writer = EntityWriter(writer.unit, writer.context, entity)
        values = {**property_values(catalog, entity, payload), **bind.values(entity, payload)}
        for name, value in target.fixed:  # POST to a navigation collection: the link values are given
            if name in values and values[name] != value:
                raise BadRequest(f"{name} must be {value!r} here (it links to the parent)", target=name)
            values[name] = value
        try:
            return 201, writer.create(values)
        except Conflict as conflict:
            if conditions.insert_only:  # the client said "only if there is none": its precondition failed
                raise PreconditionFailed(f"If-None-Match: *, and {conflict.message}") from None
            raise
    _check_if_none_match(writer, target, conditions)
    if target.kind != "entity":
        if target.kind in ("property", "value"):
            raise MethodNotAllowed("write properties through their entity: PATCH the entity with the new value",
                                   headers={"Allow": "GET"})
        raise MethodNotAllowed(f"{method} needs one entity: address it with its key", headers={"Allow": "GET, POST"})
    if entity.singleton and method == "DELETE":  # a singleton always exists (OData §11.4.3)
        raise MethodNotAllowed(f"{entity.entity_set} is a singleton: it cannot be deleted",
                               headers={"Allow": "GET, PATCH, PUT"})
    if method == "DELETE":
        writer.delete(target.fixed, if_match)
        return 204, target.fixed
    values = {**property_values(catalog, entity, body.json()), **bind.values(entity, body.json())}
    if writer.current_etag(target.fixed) is None:
        # An upsert: PATCH to a key that does not exist, or PUT that says If-None-Match: * (an insert).
        if (method == "PATCH" or conditions.insert_only) and entity.upsert and if_match is None:
            for name, value in target.fixed:
                if name in values and values[name] != value:
                    raise BadRequest(f"{name} is part of the key: the body says {values[name]!r}, the URL {value!r}",
                                     target=name)
            return 201, writer.create({**values, **dict(target.fixed)})
        if if_match is not None and "*" in if_match:
            raise PreconditionFailed("If-Match: * needs an existing entity")
        raise NotFound(f"no {entity.entity_type} with key {target.key_text}")
    writer.update(target.fixed, values, if_match, replace=method == "PUT")
    return 204, target.fixed


def _check_if_none_match(writer: EntityWriter, target: Target, conditions: Conditions) -> None:
    """412 when If-None-Match matches the addressed entity (`*`: when it exists at all), Part 1 §8.2.4."""
    if conditions.if_none_match is None or target.kind != "entity":
        return
    current = writer.current_etag(target.fixed)
    if etag_matches(conditions.if_none_match, current, exists=current is not None):
        why = ("If-None-Match: * writes only an entity that does not exist, and this one does" if conditions.insert_only
               else f"If-None-Match {', '.join(conditions.if_none_match)} matches the entity's ETag {current}")
        raise PreconditionFailed(f"{why}: nothing was written", target=target.entity.entity_set)


def _respond(
    service: ReadService,
    unit: WriteUnit,
    context: PlanContext,
    target: Target,
    fixed: Fixed,
    status: int,
    preferences: WritePreferences,
    fmt: Any,
    base: str,
) -> Response:
    entity = target.entity
    headers = {"OData-Version": "4.0"}
    if preferences.applied:
        headers["Preference-Applied"] = preferences.applied
    location = f"{base}{entity.entity_set}" + ("" if entity.singleton else key_url(entity, dict(fixed)))
    # A create may go to another company than the request reads (dataAreaId in the body).
    written = replace(context, companies=context.writable_companies or context.companies)
    plan = plan_read(written, entity, ast.QueryOptions(), OptionTexts(), fixed)
    row = read_one(unit.connection, written, plan, fmt, base)
    if row is None:  # DELETE: nothing is left to show
        return Response(status_code=204, headers=headers)
    if "@odata.etag" in row:
        headers["ETag"] = row["@odata.etag"]
    if status == 201:
        headers["Location"] = location
    wants_body = preferences.representation if preferences.representation is not None else status == 201
    if not wants_body:
        headers["OData-EntityId"] = location
        return Response(status_code=204, headers=headers)
    headers["Content-Type"] = content_type(fmt)
    context_url = f"{base}$metadata#{entity.entity_set}" + ("" if entity.singleton else "/$entity")
    return Response(entity_body(row, fmt, context_url), status_code=200 if status == 204 else status,
                    headers=headers, media_type=None)


def _path_written(unit: WriteUnit, context: PlanContext, target: Target, preferences: WritePreferences, fmt: Any,
                  base: str) -> Response:
    """204 with the entity's new ETag; with return=representation, 200 and the property's new value."""
    headers = {"OData-Version": "4.0"}
    if preferences.applied:
        headers["Preference-Applied"] = preferences.applied
    whole = replace(target, index=None, kind="property") if target.index is not None else target
    found, value, tag = read_value(unit.connection, context, whole, fmt)
    if tag is not None:
        headers["ETag"] = tag
    if not preferences.representation or not found:
        return Response(status_code=204, headers=headers)
    headers["Content-Type"] = content_type(fmt)
    context_url = f"{base}$metadata#{target.entity.entity_set}{target.key_text}/{whole.property}"
    return Response(property_document(value, fmt, context_url), status_code=200, headers=headers, media_type=None)


def json_body(content_type_header: str | None, raw: bytes) -> Any:
    """A request body as JSON: 415 unless it is application/json, 400 with a caret where it is not valid."""
    kind = (content_type_header or "application/json").split(";")[0].strip().lower()
    if kind != "application/json":
        raise UnsupportedMediaType(f"the body must be application/json, not {kind}")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        text = raw.decode("utf-8", "replace")
        raise BadRequest(f"the body is not valid JSON: {error.msg} (at position {error.pos})\n"
                         f"{caret(text[:200], min(error.pos, 200))}") from None
