"""Writes on virtual tables: passed through to the F&O entity's own write path.

A POST, PATCH, PUT or DELETE on `mserp_custcustomerv3entities` becomes the same request on /data's
`CustomersV3`: the row's Guid is turned into its F&O key (one seek on RECID), the body's `mserp_`
names into the entity's own, and /data's writer does the rest in one F&O transaction: validation,
defaults, number sequences, ETag concurrency (a virtual table's ETag *is* the entity's: both are
made from the same tables' RECID and RECVERSION), live dual-write where the entity is mapped, the
audit log. The answer comes back in the virtual table's shape and names, errors included.

A `$batch` change set is one transaction on the Dataverse-side store, so it cannot also write F&O
tables: a virtual-table write inside one is refused (F&O's provider refuses such a transaction too).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.catalog.model import Entity
from gateway.errors import BadRequest, MethodNotAllowed, NotFound, ODataError, UnknownProperty, did_you_mean
from gateway.identity.config import Operation
from gateway.options import parse_query
from gateway.read import _parse_path, handle_read, lookup_on, request_context
from gateway.resource import canonical_key, resolve
from gateway.serialize.values import etag_row_id
from gateway.virtual.naming import PRIMARY_FIELD
from gateway.virtual.rowguid import row_guid
from gateway.write.http import handle_write, write_preferences

if TYPE_CHECKING:
    from gateway.virtual.service import Served, VirtualTables


async def write_through(tables: VirtualTables, request: Request, resource_path: str, require_if_match: bool) -> Response:
    if request.scope.get("fno.unit") is not None:
        raise BadRequest("a change set is one transaction on the Dataverse side and cannot also write the F&O "
                         "tables of a virtual table: send this request outside the change set")
    served = tables.served()
    names = _Names(served, resource_path)
    try:
        return await _write(tables, served, names, request, resource_path, require_if_match)
    except ODataError as error:
        raise names.renamed(error) from None


class _Names:
    """The virtual table, its F&O entity and the property names between them."""

    def __init__(self, served: Served, resource_path: str) -> None:
        segments = _parse_path(resource_path)
        self.segments = segments
        name = segments[0].name
        self.virtual: Entity = served.read.catalog.entities[name]
        self.source: Entity = _fno_entity(served, name)
        self.to_source = served.generated.source_names[name]  # virtual -> F&O
        self.to_virtual = {source: virtual for virtual, source in self.to_source.items()}

    def body(self, body: dict[str, Any], raw: bytes) -> bytes:
        """The request body (`body` parsed from `raw`) with F&O names; what only the virtual table
        has is refused by name."""
        if not body:
            return raw  # empty, not JSON or not an object: /data's writer reports it, with the position
        renamed: dict[str, Any] = {}
        for name, value in body.items():
            if name.startswith("@"):
                continue  # @odata.type and other annotations of the virtual table
            if "@" in name:
                raise BadRequest(f"{name}: set a lookup of a virtual table through its columns "
                                 f"({', '.join(self._lookup_columns(name.split('@')[0]))})", target=name)
            if name in self.to_source:
                renamed[self.to_source[name]] = value
            elif name in self.virtual.properties:  # the Guid key, mserp_primaryfield
                raise BadRequest(f"{name} is made from the F&O row and cannot be written", target=name)
            else:
                raise UnknownProperty(f"{self.virtual.entity_type} has no property {name}."
                                      + did_you_mean(name, self.to_source), target=name)
        return orjson.dumps(renamed)

    def _lookup_columns(self, nav_name: str) -> list[str]:
        nav = self.virtual.navigation.get(nav_name)
        return list(nav.link) if nav is not None else []

    def renamed(self, error: ODataError) -> ODataError:
        """An F&O error in the virtual table's names: the target and every property named in the message."""
        if error.target in self.to_virtual:
            error.target = self.to_virtual[error.target]
        names = sorted(self.to_virtual, key=len, reverse=True)
        if names:
            pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
            error.message = pattern.sub(lambda match: self.to_virtual[match.group(1)], error.message)
        error.message = error.message.replace(self.source.entity_set, self.virtual.entity_set)
        error.message = re.sub(rf"\b{re.escape(self.source.entity_type)}\b", self.virtual.entity_type, error.message)
        return error


def _fno_entity(served: Served, name: str) -> Entity:
    source_set = served.generated.source_sets[name]
    entity = served.source_catalog.entities.get(source_set)
    if entity is None:
        raise NotFound(f"the F&O entity {source_set} behind {name} is no longer served")
    return entity


async def _write(tables: VirtualTables, served: Served, names: _Names, request: Request, resource_path: str,
                 require_if_match: bool) -> Response:
    segments = names.segments
    virtual = names.virtual
    if len(segments) > 1:
        raise MethodNotAllowed(f"write {virtual.entity_set} itself: {request.method} on a path below a row of a "
                               "virtual table is not supported", headers={"Allow": "GET"})
    query = parse_query(request.scope["query_string"].decode("latin-1"))
    context = request_context(served.read, request, query.custom, query.aliases)
    # The Dataverse privilege on the table, in the row's company; the F&O one is /data's writer's.
    operation: Operation = {"POST": "create", "DELETE": "delete"}.get(request.method, "update")  # type: ignore[assignment]
    lookup = lookup_on(tables.fno.engine, context)
    company_property = served.read.catalog.service.company_property
    fno_path = names.source.entity_set
    guid: str | None = None
    body = await request.body() if request.method in ("POST", "PATCH", "PUT") else b""
    parsed = _json_object(body)
    if segments[0].key is not None:  # type: ignore[union-attr]
        target = resolve(served.read.catalog, segments, query.aliases, lookup)
        key_names = tuple(names.to_virtual[name] for name in names.source.key)
        row = lookup(virtual, target.fixed, (virtual.key[0], *key_names))
        if row is None:
            raise NotFound(f"no {virtual.entity_type} with key {target.key_text}")
        guid = str(row[0])
        values = dict(zip(key_names, row[1:]))
        company = values.get(company_property)
        context.access.require(virtual, operation, None if company is None else str(company))
        fno_path += canonical_key(names.source, dict(zip(names.source.key, row[1:])))
    elif request.method != "POST":
        raise MethodNotAllowed(f"{request.method} needs one row: address it with its Guid",
                               headers={"Allow": "GET, POST"})
    else:
        company = parsed.get(company_property)
        context.access.require(virtual, operation, str(company or context.current_company).lower()
                               if virtual.company_specific else None)
    raw = names.body(parsed, body)
    # The F&O entity as refreshed, in every company the virtual table shows (not just the current one).
    writer = replace(tables.fno, catalog=served.source_catalog, every_company=True)
    response = await handle_write(writer, _sub_request(request, tables.fno.prefix, fno_path, raw), fno_path,
                                  require_if_match)
    return await _answer(served, names, request, response, guid)


def _json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or {} for anything else (which /data's writer then reports)."""
    try:
        parsed = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _sub_request(request: Request, prefix: str, path: str, body: bytes, keep_query: bool = False) -> Request:
    """The same request (caller, headers, Prefer, If-Match) addressed to /data, with the F&O body
    (and without the query string, which names virtual columns, unless `keep_query`)."""
    scope = dict(request.scope)
    scope.update(path=f"{prefix}/{path}", raw_path=f"{prefix}/{path}".encode())
    if not keep_query:
        scope["query_string"] = b""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, receive)


async def _answer(served: Served, names: _Names, request: Request, response: Response, guid: str | None) -> Response:
    """/data's answer in the virtual table's terms: its URL, and its row as a GET on the table shows it."""
    base = str(request.base_url).rstrip("/") + served.read.prefix + "/"
    key = names.virtual.properties[names.virtual.key[0]]
    if guid is None and "etag" in response.headers and key.row_guid is not None:
        # A create (a dry run's too, whose row is gone): its ETag begins with the root table's RECID
        # (serialize/values.etag), so its Guid needs no query.
        recid = etag_row_id(response.headers["etag"])
        guid = row_guid(key.row_guid, recid) if recid is not None else None
    headers = {name: value for name, value in response.headers.items()
               if name.lower() not in ("content-length", "location", "odata-entityid", "content-type")}
    url = f"{base}{names.virtual.entity_set}({guid})" if guid is not None else None
    if url is not None and "location" in response.headers:
        headers["Location"] = url
    if url is not None and "odata-entityid" in response.headers:
        headers["OData-EntityId"] = url
    if not response.body:
        return Response(status_code=response.status_code, headers=headers)
    dry_run = write_preferences(request.headers.getlist("prefer")).dry_run
    if guid is not None and not dry_run:  # the row as committed, read as any GET reads it
        read = await handle_read(served.read, _sub_request(request, served.read.prefix, "", b"", keep_query=True),
                                 f"{names.virtual.entity_set}({guid})")  # ($select applies, as on a GET)
        body = read.body
    else:  # a dry run left no row to read: /data's representation in the virtual table's shape
        body = orjson.dumps(_virtual_shape(names, orjson.loads(response.body), base, guid))
    return Response(body, status_code=response.status_code, headers=headers, media_type=response.media_type)


def _virtual_shape(names: _Names, shown: dict[str, Any], base: str, guid: str | None) -> dict[str, Any]:
    """/data's representation of a row as the virtual table shows it: the Guid key and the primary
    field first, then the columns by their mserp_ names, option sets as their integers (the default
    set of properties, as a GET without $select answers)."""
    virtual = names.virtual
    shaped: dict[str, Any] = {}
    if "@odata.context" in shown:
        shaped["@odata.context"] = f"{base}$metadata#{virtual.entity_set}/$entity"
    if "@odata.etag" in shown:
        shaped["@odata.etag"] = shown["@odata.etag"]
    shaped[virtual.key[0]] = guid
    shaped[PRIMARY_FIELD] = "|".join(str(shown.get(name, "")) for name in names.source.key)
    for name, value in shown.items():
        if name.startswith("@"):
            continue
        column = names.to_virtual.get(name, name)
        labels = virtual.properties[column].labels if column in virtual.properties else {}
        if labels and isinstance(value, str):
            value = {label: number for number, label in labels.items()}.get(value, value)
        shaped[column] = value
    return shaped
